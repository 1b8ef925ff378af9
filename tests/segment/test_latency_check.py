"""`frigade segment latency-check` end to end: every path against the sandbox on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frigade_cli.sandbox import RunningSandbox, run_sandbox
from frigade_cli.sandbox.testing import fast_config, wait_until
from tests.conftest import Cli, Run
from tests.support.recorder import Recorder

PREFIX = "frigade-cli-latency-"
EVENT = "frigade-cli latency check"


def measure(cli: Cli, sandbox: RunningSandbox, *args: str, key: str | None = None) -> Run:
    """latency-check against a running sandbox, as against a real workspace (URLs and keys)."""
    return cli(
        "segment",
        "latency-check",
        "--api-url",
        sandbox.url,
        "--api-key",
        key or sandbox.api_key,
        "--write-key",
        sandbox.write_key,
        "--segment-url",
        sandbox.segment_url,
        "--webhook-url",
        sandbox.webhook_url,
        *args,
    )


def marked_events(sandbox: RunningSandbox, user_id: str) -> list[dict[str, Any]]:
    """The marked events as the sandbox's Frigade side stores them (read directly)."""
    response = sandbox.client.get(
        "/v1/users", params={"userId": user_id}, headers=sandbox.auth_headers
    )
    if response.status_code == 404:
        return []
    return [e for e in response.json()["trackingEvents"] if e["event"] == EVENT]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def slow_frigade() -> Iterator[RunningSandbox]:
    """A sandbox whose every Frigade-side response is delayed by 150 ms."""
    with run_sandbox(fast_config(latency=0.15)) as running:
        yield running


@pytest.fixture
def failing_frigade() -> Iterator[RunningSandbox]:
    """A sandbox whose Frigade webhook answers every request with 503."""
    with run_sandbox(fast_config(fail_rate=1.0)) as running:
        yield running


@pytest.fixture
def string_properties() -> Iterator[RunningSandbox]:
    """A sandbox that reads `properties` back JSON-encoded (a form Frigade's answers may take)."""
    with run_sandbox(fast_config(properties="string")) as running:
        yield running


@pytest.fixture
def no_track_delivery() -> Iterator[RunningSandbox]:
    """A sandbox whose destination delivers identify only: a track event never reaches Frigade."""
    with run_sandbox(fast_config(destination={"event_types": ("identify",)})) as running:
        yield running


# The headline run and its gate ----------------------------------------------------------------
def test_sandbox_run_with_json_and_junit_exits_0_with_ordered_percentiles(cli: Cli, tmp_path: Path):
    junit = tmp_path / "out.xml"

    result = cli(
        "segment",
        "latency-check",
        "--sandbox",
        "--samples",
        "15",
        "--flush-interval",
        "100ms",
        "--json",
        "--junit",
        str(junit),
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["path"] == "segment"
    assert (report["samples"], report["failures"]) == (15, 0)
    assert report["min_ms"] <= report["p50_ms"] <= report["p90_ms"] <= report["p95_ms"]
    assert report["p95_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["min_ms"] <= report["mean_ms"] <= report["max_ms"]
    samples = report["each_sample"]
    assert len({s["marker"] for s in samples}) == 15
    assert all(s["marker"].startswith(PREFIX) and s["arrived"] for s in samples)
    # Each sample waits out the destination's 100 ms flush timer before it can be delivered.
    assert all(s["latency_ms"] >= 100 for s in samples)
    assert report["settings"]["batch_size"] == 100
    assert report["settings"]["flush_interval_s"] == 0.1
    suite = ET.parse(junit).getroot()
    cases = suite.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["failures <= 0"]
    assert suite.findall(".//failure") == []


def test_a_breached_gate_exits_6_after_printing_the_whole_report(cli: Cli):
    result = cli(
        "segment",
        "latency-check",
        "--sandbox",
        "--samples",
        "3",
        "--flush-interval",
        "50ms",
        "--max-p95",
        "0.0001",
    )

    assert result.exit_code == 6, result.output
    assert "p95 ms" in result.stdout and "segment" in result.stdout
    assert "FAIL" in result.stdout
    assert "p95 <= 0.1 ms" in result.stdout
    assert "latency gate breached" in result.stderr


# Paths --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["segment", "direct", "api"])
def test_each_path_delivers_its_marked_events_to_frigade(
    cli: Cli, sandbox: RunningSandbox, path: str
):
    result = measure(cli, sandbox, "--path", path, "--samples", "3", "--keep-user", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["path"] == path and report["failures"] == 0
    user_id = report["settings"]["user_id"]
    assert user_id.startswith(PREFIX)
    stored = marked_events(sandbox, user_id)
    assert sorted(e["properties"]["marker"] for e in stored) == sorted(
        s["marker"] for s in report["each_sample"]
    )
    assert {e["properties"]["path"] for e in stored} == {path}
    received = sandbox.stats()["segment"]["received_by_type"].get("track", 0)
    assert received == (3 if path == "segment" else 0)
    assert sandbox.api_key not in result.output and sandbox.write_key not in result.output


def test_samples_are_found_when_properties_come_back_json_encoded(
    cli: Cli, string_properties: RunningSandbox
):
    result = measure(cli, string_properties, "--path", "direct", "--samples", "2", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["failures"] == 0


def test_compare_measures_every_path_and_the_api_is_faster_than_batching(cli: Cli):
    result = cli(
        "segment",
        "latency-check",
        "--sandbox",
        "--compare",
        "--samples",
        "3",
        "--flush-interval",
        "300ms",
        "--json",
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["path"] == "compare"
    by_path = {p["path"]: p for p in report["paths"]}
    assert list(by_path) == ["segment", "direct", "api"]
    assert all(p["samples"] == 3 and p["failures"] == 0 for p in by_path.values())
    # Only the segment path goes through the destination's 300 ms batch timer.
    assert by_path["segment"]["min_ms"] >= 300
    assert by_path["api"]["p50_ms"] < by_path["segment"]["p50_ms"]
    # Alone in its batch, a sample waits the whole flush interval: the model says just that.
    assert report["model"]["expected_wait_ms"] == report["model"]["p95_wait_ms"] == 300.0
    assert {g["path"] for g in report["gates"]} == {"segment", "direct", "api"}


def test_compare_without_a_write_key_skips_the_segment_path_and_says_so(
    cli: Cli, sandbox: RunningSandbox
):
    result = cli(
        "segment",
        "latency-check",
        "--api-url",
        sandbox.url,
        "--api-key",
        sandbox.api_key,
        "--compare",
        "--samples",
        "1",
        "--json",
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [p["path"] for p in report["paths"]] == ["direct", "api"]
    assert report["settings"]["skipped_paths"] == {"segment": "no Segment write key"}
    assert "skipping the segment path" in result.stderr


def test_compare_table_has_a_row_per_path(cli: Cli, sandbox: RunningSandbox):
    result = measure(cli, sandbox, "--compare", "--samples", "2")

    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    table = [r for r in rows if r and r[0] in ("segment", "direct", "api") and r[1].isdigit()]
    assert [r[0] for r in table] == ["segment", "direct", "api"]
    assert all(r[1:3] == ["2", "0"] for r in table)


# Injected latency and failures --------------------------------------------------------------------
def test_injected_frigade_latency_trips_the_p50_gate(cli: Cli, slow_frigade: RunningSandbox):
    result = measure(
        cli, slow_frigade, "--path", "api", "--samples", "2", "--max-p50", "100ms", "--json"
    )

    assert result.exit_code == 6, result.output
    report = json.loads(result.stdout)
    # A write then a read-back, each answered 150 ms late.
    assert report["min_ms"] >= 300
    gate = next(g for g in report["gates"] if g["gate"] == "p50")
    assert gate == {**gate, "limit": 100.0, "passed": False, "path": "api"}


def test_a_sample_that_never_arrives_is_a_failure_with_its_marker(
    cli: Cli, no_track_delivery: RunningSandbox, tmp_path: Path
):
    junit = tmp_path / "junit.xml"
    result = measure(
        cli,
        no_track_delivery,
        "--samples",
        "2",
        "--timeout",
        "300ms",
        "--junit",
        str(junit),
    )

    assert result.exit_code == 6, result.output
    assert "2 samples never seen" in result.stdout
    assert result.stdout.count("not seen within 0.3s") == 2
    markers = [w for w in result.stdout.split() if w.startswith(PREFIX) and "-segment-" in w]
    assert len(set(markers)) == 2
    assert "Segment answers 200 even to a wrong write key" in result.stderr
    failure = ET.parse(junit).getroot().find(".//failure")
    assert failure is not None
    assert failure.get("message") == "failures 2 > 0"
    assert all(m in (failure.text or "") for m in markers)


def test_deliveries_segment_gives_up_on_are_failures_with_their_markers(
    cli: Cli, failing_frigade: RunningSandbox
):
    result = measure(cli, failing_frigade, "--samples", "2", "--timeout", "1s", "--json")

    assert result.exit_code == 6, result.output
    report = json.loads(result.stdout)
    assert report["failures"] == 2 and report["p50_ms"] is None
    given_up = failing_frigade.client.get("/_sandbox/undeliverable").json()
    undelivered = [m["messageId"] for batch in given_up["batches"] for m in batch["messages"]]
    assert sorted(undelivered) == sorted(report["failed_markers"])


def test_a_webhook_that_keeps_failing_exits_5_for_the_direct_path(
    cli: Cli, failing_frigade: RunningSandbox
):
    result = measure(cli, failing_frigade, "--path", "direct", "--samples", "2", "--json")

    assert result.exit_code == 5, result.output
    report = json.loads(result.stdout)
    assert [s["error"] for s in report["each_sample"]] == [
        "send failed: HTTP 503: Service Unavailable (sandbox fault injection)"
    ] * 2
    assert "the direct path failed for every sample" in result.stderr


def test_the_direct_path_posts_with_exactly_the_headers_segments_runtime_sends(
    cli: Cli, sandbox: RunningSandbox, recorder: Recorder
):
    # The webhook is a recorder (the sample then never reads back: that is not the point here).
    result = cli(
        "segment", "latency-check", "--path", "direct", "--samples", "1", "--timeout", "200ms",
        "--api-url", sandbox.url, "--api-key", sandbox.api_key,
        "--webhook-url", recorder.webhook_url, "--json",
    )  # fmt: skip

    assert result.exit_code != 0 and recorder.requests, result.output
    [request] = recorder.requests
    # As Segment's own destination code sends them, run in Node (tests/oracles).
    assert sorted((n.lower(), v) for n, v in request.header_lines) == sorted(
        {
            "accept": "*/*",
            "accept-encoding": "gzip,deflate",
            "connection": "keep-alive",
            "content-type": "application/json",
            "user-agent": "Segment (Actions)",
            "authorization": f"Bearer {sandbox.api_key}",
            "host": recorder.url.removeprefix("http://"),
            "content-length": str(len(request.body)),
        }.items()
    )


def test_lost_samples_are_counted_apart_from_the_ones_that_arrived(
    cli: Cli, sandbox: RunningSandbox
):
    def stop_delivery_after_the_first() -> None:
        wait_until(
            lambda: sandbox.stats()["destination"]["delivered_events"] >= 1,
            timeout=10,
            interval=0.002,
            what="the first delivery",
        )
        sandbox.configure(destination={"enabled": False})

    switch = threading.Thread(target=stop_delivery_after_the_first)
    switch.start()
    result = measure(
        cli,
        sandbox,
        "--samples",
        "3",
        "--interval",
        "1.5s",
        "--timeout",
        "1s",
        "--max-failures",
        "2",
        "--json",
    )
    switch.join()

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["samples"], report["failures"]) == (3, 2)
    arrived = [s for s in report["each_sample"] if s["arrived"]]
    assert [s["index"] for s in arrived] == [1]
    assert report["p50_ms"] == report["max_ms"] == arrived[0]["latency_ms"]
    assert report["failed_markers"] == [report["each_sample"][i]["marker"] for i in (1, 2)]


# Reports for CI -----------------------------------------------------------------------------------
def test_step_summary_gets_a_markdown_table_appended(
    cli: Cli, sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    result = measure(cli, sandbox, "--path", "api", "--samples", "2", "--max-p99", "30s")

    assert result.exit_code == 0, result.output
    text = summary.read_text()
    assert text.startswith("# earlier step\n### frigade latency-check: passed")
    lines = text.splitlines()
    header = lines.index("| path | samples | failures | min | p50 | p90 | p95 | p99 | max | mean |")
    assert lines[header + 2].startswith("| api | 2 | 0 | ")
    assert "| p99 <= 30,000 ms | api | pass |" in text


@pytest.mark.parametrize(
    ("given", "written"),
    [("ci\x1b[31m", "ci\\x1b[31m"), ("ci\x00\x85", "ci\\x00\\x85"), ("ci\x7f\t", "ci\\x7f\t")],
)
def test_control_characters_from_flags_are_escaped_in_the_junit_and_summary_files(
    cli: Cli,
    sandbox: RunningSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    given: str,
    written: str,
):
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    user_id = PREFIX + given
    result = measure(
        cli, sandbox, "--path", "api", "--samples", "1", "--junit", str(junit), "--user-id", user_id
    )

    assert result.exit_code == 0, result.output
    root = ET.parse(junit).getroot()  # well-formed XML: it parses
    [user] = [p for p in root.iter("property") if p.get("name") == "user_id"]
    assert user.get("value") == PREFIX + written
    for text in (junit.read_text(encoding="utf-8"), summary.read_text(encoding="utf-8")):
        assert not any((ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F for c in text)


def test_a_user_id_that_is_not_utf8_is_refused_with_exit_3(cli: Cli, sandbox: RunningSandbox):
    # What Python makes of a command-line argument holding invalid UTF-8 bytes.
    result = measure(cli, sandbox, "--path", "api", "--user-id", PREFIX + "ci\udcff")

    assert result.exit_code == 3
    assert "not UTF-8" in result.stderr


def test_junit_has_one_testcase_per_gate_and_the_breach_as_failure(
    cli: Cli, sandbox: RunningSandbox, tmp_path: Path
):
    junit = tmp_path / "junit.xml"

    result = measure(
        cli,
        sandbox,
        "--path",
        "api",
        "--samples",
        "2",
        "--max-p50",
        "30s",
        "--max-p95",
        "0.0001",
        "--junit",
        str(junit),
    )

    assert result.exit_code == 6
    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["p50 <= 30,000 ms", "p95 <= 0.1 ms", "failures <= 0"]
    assert {c.get("classname") for c in cases} == {"latency-check.api"}
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["p95 <= 0.1 ms"]
    failure = failed[0].find("failure")
    assert failure is not None and failure.get("message", "").startswith("p95 ")
    assert "samples 2, failures 0" in (failure.text or "")
    assert root.get("tests") == "3" and root.get("failures") == "1"


# Batch-size advice --------------------------------------------------------------------------------
def test_advice_for_a_real_workspace_uses_segments_minute_long_wait(
    cli: Cli, sandbox: RunningSandbox
):
    result = measure(
        cli, sandbox, "--path", "api", "--samples", "1", "--events-per-day", "300", "--json"
    )

    assert result.exit_code == 0, result.output
    advice = json.loads(result.stdout)["advice"]
    # Closed form for a batch that never fills: E[W] = T (1 + mu/2) / (1 + mu), mu = lam T,
    # lam = 300 / 86400 per s, T = 60 s: mu = 0.208333..., E[W] = 54.828 s.
    assert advice["expected_wait_ms"] == pytest.approx(54_828, rel=1e-3)
    # Batch size 2 already waits (T / mu) (1 - e^-mu) / (2 - e^-mu) = 45.6 s on average.
    assert advice["largest_batch_size"] == 1
    assert advice["target_wait_ms"] == 2000
    assert (
        "batch size 1 keeps the average under 2,000"
        in cli(
            "segment",
            "latency-check",
            "--api-url",
            sandbox.url,
            "--api-key",
            sandbox.api_key,
            "--path",
            "api",
            "--samples",
            "1",
            "--events-per-day",
            "300",
        ).stdout
    )


# Exit codes ---------------------------------------------------------------------------------------
def test_a_key_frigade_rejects_exits_4_before_any_event_is_sent(cli: Cli, sandbox: RunningSandbox):
    result = measure(cli, sandbox, key="api_private_not_the_sandbox_key")

    assert result.exit_code == 4, result.output
    assert "HTTP 403" in result.stderr
    assert sandbox.stats()["segment"]["received_by_type"].get("track", 0) == 0
    assert "api_private_not_the_sandbox_key" not in result.output


def test_a_write_key_the_sandbox_rejects_exits_4(cli: Cli, sandbox: RunningSandbox):
    result = cli(
        "segment",
        "latency-check",
        "--api-url",
        sandbox.url,
        "--api-key",
        sandbox.api_key,
        "--segment-url",
        sandbox.segment_url,
        "--write-key",
        "wk_wrong0000abcd",
        "--samples",
        "2",
    )

    assert result.exit_code == 4, result.output
    assert "rejected the write key" in result.stderr


def test_unreachable_frigade_exits_5(cli: Cli):
    result = cli(
        "segment",
        "latency-check",
        "--api-url",
        f"http://127.0.0.1:{free_port()}",
        "--api-key",
        "api_private_test0000abcd",
        "--path",
        "api",
    )

    assert result.exit_code == 5, result.output
    assert "cannot reach Frigade" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-p95", "fast"], "--max-p95 'fast' is not a duration"),
        (["--timeout", "0"], "--timeout must be above 0"),
        (["--flush-interval", "2s"], "--flush-interval sets the sandbox"),
        (["--compare", "--path", "api"], "--compare measures every path"),
        (["--path", "carrier-pigeon"], "--path 'carrier-pigeon'"),
        (["--user-id", "alice"], "--user-id must start with 'frigade-cli-latency-'"),
        (["--events-per-day", "0"], "--events-per-day must be above 0"),
    ],
)
def test_bad_settings_exit_3_before_anything_is_sent(
    cli: Cli, recorder: Recorder, args: list[str], message: str
):
    result = cli(
        "segment",
        "latency-check",
        "--api-url",
        recorder.url,
        "--api-key",
        "api_private_test0000abcd",
        "--write-key",
        "wk_test0000abcd",
        "--segment-url",
        recorder.url,
        *args,
    )

    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert recorder.requests == []


def test_a_public_key_or_no_write_key_exit_3_before_anything_is_sent(cli: Cli, recorder: Recorder):
    public = cli(
        "segment",
        "latency-check",
        "--api-url",
        recorder.url,
        "--api-key",
        "api_public_test0000abcd",
        "--path",
        "api",
    )
    no_write_key = cli(
        "segment",
        "latency-check",
        "--api-url",
        recorder.url,
        "--api-key",
        "api_private_test0000abcd",
    )

    assert public.exit_code == 3 and "needs the private key" in public.stderr
    assert "api_public_test0000abcd" not in public.stderr
    assert no_write_key.exit_code == 3 and "write key" in no_write_key.stderr
    assert recorder.requests == []


def test_sandbox_refuses_urls_and_keys_of_its_own(cli: Cli):
    result = cli("segment", "latency-check", "--sandbox", "--api-key", "api_private_x0000abcd")

    assert result.exit_code == 3
    assert "drop --api-key" in result.stderr


def test_ctrl_c_prints_the_samples_measured_so_far_and_exits_130(sandbox: RunningSandbox):
    sandbox.configure(destination={"flush_interval": "30s"})
    args = ["segment", "latency-check", "--api-url", sandbox.url, "--api-key", sandbox.api_key]
    args += ["--path", "segment", "--write-key", sandbox.write_key, "--samples", "3"]
    args += ["--segment-url", sandbox.segment_url, "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    # The first sample waits in a batch for 30 s: interrupt it while it is being looked for.
    wait_until(
        lambda: sandbox.stats()["segment"]["received"] >= 1, timeout=20, what="the first sample"
    )
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)

    assert proc.returncode == 130, stderr
    report = json.loads(stdout)
    assert report["interrupted"] is True and report["passed"] is False
    assert report["each_sample"][0]["error"] == "interrupted before it was seen"
    assert "interrupted" in stderr


def test_keys_and_urls_come_from_the_environment_and_sandbox_ignores_them(
    cli: Cli, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("FRIGADE_API_KEY", sandbox.api_key)
    monkeypatch.setenv("FRIGADE_API_URL", sandbox.url)
    monkeypatch.setenv("SEGMENT_WRITE_KEY", sandbox.write_key)
    monkeypatch.setenv("SEGMENT_API_URL", sandbox.segment_url)

    from_env = cli("segment", "latency-check", "--samples", "1", "--json")
    on_sandbox = cli(
        "segment", "latency-check", "--sandbox", "--samples", "1", "--flush-interval", "50ms"
    )

    assert from_env.exit_code == 0, from_env.output
    assert json.loads(from_env.stdout)["settings"]["frigade_url"] == sandbox.url
    assert sandbox.stats()["segment"]["received_by_type"].get("track") == 1
    assert on_sandbox.exit_code == 0, on_sandbox.output
    assert sandbox.url not in on_sandbox.output
