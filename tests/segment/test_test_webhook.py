"""`frigade segment test-webhook` end to end against a recording server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from frigade_cli.segment.messages import message_problem
from tests.conftest import Cli
from tests.support.recorder import Answer, Recorder

KEY = "api_private_testkey_0123456789"


def send(cli: Cli, recorder: Recorder, *args: str, key: str | None = KEY) -> Any:
    base = ["segment", "test-webhook", "--url", recorder.webhook_url]
    if key is not None:
        base += ["--api-key", key]
    return cli(*base, *args)


def spooled_messages(path: Path) -> list[dict[str, Any]]:
    return [m for line in path.read_text().splitlines() for m in json.loads(line)["messages"]]


def spool_files(isolated: Path) -> list[Path]:
    return sorted((isolated / "state" / "spool").glob("*.ndjson"))


def test_250_events_are_sent_as_three_arrays_of_100_100_and_50(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, "--count", "250", "--batch-size", "100")

    assert result.exit_code == 0, result.output
    bodies = recorder.bodies()
    assert sorted(len(b) for b in bodies) == [50, 100, 100]
    messages = [m for body in bodies for m in body]
    assert len({m["messageId"] for m in messages}) == 250
    assert {m["type"] for m in messages} == {"identify", "group", "track"}
    assert all(message_problem(m) is None for m in messages)
    for request in recorder.requests:
        assert request.method == "POST"
        assert request.path == "/v1/thirdParty/cdp/segment"
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "Segment (Actions)"


def test_each_request_carries_exactly_the_headers_segments_runtime_sends(
    cli: Cli, recorder: Recorder
):
    result = send(cli, recorder, "--signing-secret", "s3cret")

    assert result.exit_code == 0, result.output
    [request] = recorder.requests
    lines = [(name.lower(), value) for name, value in request.header_lines]
    first = json.dumps(request.json()[0], separators=(",", ":"), ensure_ascii=False)
    # What Segment's own destination code sent when run in Node (tests/oracles compares many more).
    assert sorted(lines) == sorted(
        {
            "accept": "*/*",
            "accept-encoding": "gzip,deflate",
            "connection": "keep-alive",
            "content-type": "application/json",
            "user-agent": "Segment (Actions)",
            "authorization": f"Bearer {KEY}",
            "x-signature": hmac.new(b"s3cret", first.encode(), hashlib.sha1).hexdigest(),
            "host": recorder.url.removeprefix("http://"),
            "content-length": str(len(request.body)),
        }.items()
    )


def test_default_sends_one_message_of_each_type_in_one_batch(cli: Cli, recorder: Recorder):
    result = send(cli, recorder)

    assert result.exit_code == 0, result.output
    (body,) = recorder.bodies()
    assert [m["type"] for m in body] == ["identify", "group", "track"]


def test_a_key_given_with_bearer_prefix_is_not_doubled(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, key=f"Bearer {KEY}")

    assert result.exit_code == 0, result.output
    assert recorder.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_key_comes_from_env_then_profile(cli: Cli, recorder: Recorder, monkeypatch):
    cli("config", "set", "api_key", "api_private_fromprofile_1")
    assert send(cli, recorder, key=None).exit_code == 0
    monkeypatch.setenv("FRIGADE_API_KEY", "api_private_fromenv_22")
    assert send(cli, recorder, key=None).exit_code == 0

    auth = [r.headers["authorization"] for r in recorder.requests]
    assert auth == ["Bearer api_private_fromprofile_1", "Bearer api_private_fromenv_22"]


@pytest.mark.parametrize("status", [401, 403])
def test_a_rejected_key_exits_4_keeps_the_events_and_never_shows_the_key(
    cli: Cli, recorder: Recorder, isolated: Path, status: int
):
    recorder.default = Answer(status, b'{"statusCode":403,"message":"Forbidden"}')

    result = send(cli, recorder, "--count", "250", "--concurrency", "1", "--json")

    assert result.exit_code == 4
    assert "api_private_****6789" in result.stderr
    assert f"HTTP {status}" in result.stderr
    assert KEY not in result.output
    assert len(recorder.requests) == 1  # no point sending the rest with a bad key
    (spool,) = spool_files(isolated)
    # The refused batch is kept; the 150 synthetic events never made are reported, not made.
    assert len(spooled_messages(spool)) == 100
    assert KEY not in spool.read_text()
    summary = json.loads(result.stdout)
    assert summary["failed"]["events"] == 100
    assert summary["unsent"] == {"batches": 0, "events": 150, "not_generated": 150}
    assert "150 synthetic events not sent" in result.stderr
    assert "--count 150" in result.stderr


def test_transient_503_and_429_are_retried_and_nothing_is_lost(cli: Cli, recorder: Recorder):
    recorder.answer(503, Answer(429, headers={"Retry-After": "0"}), 502)

    result = send(cli, recorder, "--count", "250", "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["retries"] == 3
    assert summary["accepted"] == {"batches": 3, "events": 250}
    accepted_ids = {
        m["messageId"]
        for r, status in zip(recorder.requests, [503, 429, 502, 200, 200, 200], strict=True)
        if status == 200
        for m in r.json()
    }
    assert len(accepted_ids) == 250


def test_retry_after_is_honoured(cli: Cli, recorder: Recorder):
    recorder.answer(Answer(429, headers={"Retry-After": "1"}))

    started = time.monotonic()
    result = send(cli, recorder)

    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.95
    assert len(recorder.requests) == 2


def test_501_is_not_retried_and_the_batch_is_spooled_then_resent(
    cli: Cli, recorder: Recorder, isolated: Path
):
    recorder.answer(501)

    failed = send(cli, recorder, "--count", "5")

    assert failed.exit_code == 5
    assert len(recorder.requests) == 1
    (spool,) = spool_files(isolated)
    assert str(spool) in failed.stderr
    sent_ids = [m["messageId"] for m in recorder.requests[0].json()]
    assert [m["messageId"] for m in spooled_messages(spool)] == sent_ids

    resent = cli("segment", "test-webhook", "--api-key", KEY, "--resend", str(spool))

    assert resent.exit_code == 0, resent.output
    assert [m["messageId"] for m in recorder.requests[1].json()] == sent_ids
    assert not spool.exists()


def test_a_resend_that_fails_again_keeps_the_file(cli: Cli, recorder: Recorder, isolated: Path):
    recorder.default = Answer(400, b'{"statusCode":400,"message":"bad payload"}')
    assert send(cli, recorder, "--count", "3").exit_code == 5
    (spool,) = spool_files(isolated)

    again = cli("segment", "test-webhook", "--api-key", KEY, "--resend", str(spool))

    assert again.exit_code == 5
    assert "bad payload" in again.stderr
    assert spool_files(isolated) == [spool]
    assert len(spooled_messages(spool)) == 3


def test_monthly_active_user_cap_is_not_retried(cli: Cli, recorder: Recorder):
    recorder.default = Answer(
        429, b'{"statusCode":429,"message":"Monthly active user limit reached"}'
    )

    result = send(cli, recorder)

    assert result.exit_code == 5
    assert len(recorder.requests) == 1
    assert "monthly active user cap" in result.stderr
    assert "cannot help" in result.stderr


def test_retries_exhausted_exit_5_with_the_batch_saved(
    cli: Cli, recorder: Recorder, isolated: Path
):
    recorder.default = Answer(503)

    result = send(cli, recorder, "--retries", "2", "--json")

    assert result.exit_code == 5
    assert len(recorder.requests) == 3
    summary = json.loads(result.stdout)
    assert summary["failed"] == {"batches": 1, "events": 3}
    assert summary["spool_file"] == str(spool_files(isolated)[0])


def test_an_unreachable_server_exits_5_and_keeps_the_events(cli: Cli, isolated: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/v1/thirdParty/cdp/segment"

    result = cli("segment", "test-webhook", "--url", url, "--api-key", KEY, "--retries", "1")

    assert result.exit_code == 5
    assert "ConnectError" in result.stderr
    assert len(spooled_messages(spool_files(isolated)[0])) == 3


def test_dry_run_sends_nothing_and_prints_the_exact_requests(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, "--count", "4", "--batch-size", "2", "--dry-run")

    assert result.exit_code == 0, result.output
    assert recorder.requests == []
    assert result.stdout.count(f"POST {recorder.webhook_url}") == 2
    assert "Authorization: Bearer api_private_****6789" in result.stdout
    assert KEY not in result.output


def test_dry_run_json_is_one_document(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, "--count", "3", "--batch-size", "2", "--dry-run", "--json")

    document = json.loads(result.stdout)
    assert [len(r["body"]) for r in document["requests"]] == [2, 1]
    assert document["requests"][0]["headers"]["Authorization"] == "Bearer api_private_****6789"


def test_dry_run_works_without_a_key(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, "--dry-run", key=None)

    assert result.exit_code == 0
    assert "no API key" in result.stderr
    assert recorder.requests == []


def test_no_key_exits_3_and_says_where_keys_come_from(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, key=None)

    assert result.exit_code == 3
    assert "FRIGADE_API_KEY" in result.stderr
    assert "frigade config set api_key" in result.stderr
    assert recorder.requests == []


def test_a_public_key_is_refused_before_sending(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, key="api_public_abcdef123456")

    assert result.exit_code == 3
    assert "public key" in result.stderr
    assert "api_public_abcdef123456" not in result.output
    assert recorder.requests == []


def test_a_key_over_plain_http_to_a_remote_host_is_refused(cli: Cli):
    result = cli(
        "segment", "test-webhook", "--url", "http://frigade.example.com/hook", "--api-key", KEY
    )

    assert result.exit_code == 3
    assert "plain http" in result.stderr


def test_requests_stay_under_500_kb(cli: Cli, recorder: Recorder, tmp_path: Path):
    big = {"type": "track", "userId": "u1", "event": "Big", "properties": {"blob": "x" * 30000}}
    fixture = tmp_path / "big.json"
    fixture.write_text(json.dumps(big))

    result = send(cli, recorder, "--fixture", str(fixture), "--count", "40")

    assert result.exit_code == 0, result.output
    sizes = [len(r.body) for r in recorder.requests]
    assert len(sizes) == 3
    assert max(sizes) <= 500_000
    assert sum(len(b) for b in recorder.bodies()) == 40


def test_a_message_over_32_kb_is_refused_by_name(cli: Cli, recorder: Recorder, tmp_path: Path):
    huge = {"type": "track", "userId": "u1", "event": "Huge", "messageId": "huge-1"}
    huge["properties"] = {"blob": "x" * 40000}
    fixture = tmp_path / "huge.json"
    fixture.write_text(json.dumps(huge))

    result = send(cli, recorder, "--fixture", str(fixture))

    assert result.exit_code == 3
    assert "32 KB" in result.stderr
    assert recorder.requests == []


def test_malformed_fixture_names_file_and_line(cli: Cli, recorder: Recorder, tmp_path: Path):
    fixture = tmp_path / "events.ndjson"
    fixture.write_text('{"type":"identify","userId":"a"}\n{"type": "track",\n')

    result = send(cli, recorder, "--fixture", str(fixture))

    assert result.exit_code == 3
    assert f"{fixture} line 2" in result.stderr
    assert "Traceback" not in result.output


def test_invalid_fixture_message_names_the_field(cli: Cli, recorder: Recorder, tmp_path: Path):
    fixture = tmp_path / "events.json"
    messages = [{"type": "identify", "userId": "a"}, {"type": "track", "userId": "b"}]
    fixture.write_text(json.dumps(messages))

    result = send(cli, recorder, "--fixture", str(fixture))

    assert result.exit_code == 3
    assert "item 2" in result.stderr
    assert "'event' is required" in result.stderr


def test_named_fixtures_and_overrides(cli: Cli, recorder: Recorder):
    result = send(
        cli,
        recorder,
        "--fixture",
        "identify",
        "--fixture",
        "track",
        "--override",
        "userId=user_42",
        "--override",
        "track:properties.amount=5",
        "--count",
        "4",
    )

    assert result.exit_code == 0, result.output
    (body,) = recorder.bodies()
    assert [m["type"] for m in body] == ["identify", "track", "identify", "track"]
    assert {m["userId"] for m in body} == {"user_42"}
    assert [m["properties"]["amount"] for m in body if m["type"] == "track"] == [5, 5]
    assert "amount" not in body[0].get("traits", {})
    assert len({m["messageId"] for m in body}) == 4


def test_signing_secret_adds_segments_x_signature(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, "--signing-secret", "shh-secret", "--count", "3")

    assert result.exit_code == 0, result.output
    request = recorder.requests[0]
    first = request.json()[0]
    expected = hmac.new(
        b"shh-secret",
        json.dumps(first, separators=(",", ":"), ensure_ascii=False).encode(),
        hashlib.sha1,
    ).hexdigest()
    assert request.headers["x-signature"] == expected


def test_json_summary_has_the_documented_fields(cli: Cli, recorder: Recorder):
    result = send(cli, recorder, "--count", "7", "--batch-size", "3", "--json")

    summary = json.loads(result.stdout)
    assert summary["batches"] == 3
    assert summary["events"] == 7
    assert summary["accepted"] == {"batches": 3, "events": 7}
    assert summary["failed"] == {"batches": 0, "events": 0}
    assert summary["status_codes"] == {"200": 3}
    assert set(summary["latency_ms"]) == {"count", "p50", "p95", "max"}
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["max"]
    assert summary["spool_file"] is None


def test_verbose_logs_requests_with_the_key_redacted(cli: Cli, recorder: Recorder):
    result = cli("-v", "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY)

    assert result.exit_code == 0, result.output
    assert f"> POST {recorder.webhook_url}" in result.stderr
    assert "Bearer api_private_****6789" in result.stderr
    assert KEY not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "4001"], "--batch-size 4001 is out of range"),
        (["--batch-size", "0"], "--batch-size 0 is out of range"),
        (["--count", "0"], "--count 0 is out of range"),
        (["--count", "-5"], "--count -5 is out of range"),
        (["--concurrency", "65"], "--concurrency 65 is out of range"),
        (["--retries", "21"], "--retries 21 is out of range"),
        (["--timeout", "0"], "--timeout 0 must be more than 0"),
        (["--types", "identify,purchase"], "unknown type purchase"),
    ],
)
def test_a_well_formed_but_unacceptable_value_exits_3(
    cli: Cli, recorder: Recorder, args: list[str], message: str
):
    result = send(cli, recorder, *args)

    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert recorder.requests == []


def test_a_time_that_is_not_a_duration_exits_2_like_any_value_of_the_wrong_type(
    cli: Cli, recorder: Recorder
):
    retry_wait = send(cli, recorder, "--max-retry-wait", "soon")
    timeout = send(cli, recorder, "--timeout", "abc")

    assert (retry_wait.exit_code, timeout.exit_code) == (2, 2)
    assert "--max-retry-wait 'soon' is not a duration" in retry_wait.stderr
    assert retry_wait.stderr.count("\n") == 1
    assert recorder.requests == []


@pytest.mark.parametrize(
    "args",
    [["--count", "many"], ["--batch-size", "1.5"], ["--frobnicate"], ["--timeout", "x"]],
)
def test_a_command_line_that_does_not_parse_exits_2(cli: Cli, recorder: Recorder, args):
    assert send(cli, recorder, *args).exit_code == 2
    assert recorder.requests == []


def test_ctrl_c_stops_a_synthetic_run_without_making_the_rest_and_the_counts_add_up(
    recorder: Recorder, isolated: Path
):
    recorder.delay = 0.05
    args = ["segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY]
    args += ["--count", "2000", "--batch-size", "10", "--concurrency", "1", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 20
    while len(recorder.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)

    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    summary = json.loads(stdout)
    spooled = [m["messageId"] for s in spool_files(isolated) for m in spooled_messages(s)]
    received = {m["messageId"] for body in recorder.bodies() for m in body}
    assert summary["accepted"]["events"] == len(received)
    unsent = summary["unsent"]
    assert summary["events"] == 2000
    assert len(received) + summary["failed"]["events"] + unsent["events"] == 2000
    assert 0 < unsent["events"] == len(spooled) + unsent["not_generated"]
    assert f"{unsent['not_generated']} synthetic events not sent" in stderr
    assert f"--count {unsent['not_generated']}" in stderr


def test_https_proxy_from_the_environment_is_used(cli: Cli, monkeypatch):
    # The "proxy" is a recorder on loopback that refuses the tunnel: nothing leaves the machine.
    with Recorder() as proxy:
        proxy.default = Answer(403, b"")
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY")

        result = cli(
            "segment", "test-webhook", "--url", "https://frigade.example.test/hook",
            "--api-key", KEY, "--retries", "0",
        )  # fmt: skip

    assert result.exit_code == 5
    assert [(r.method, r.path) for r in proxy.requests] == [("CONNECT", "frigade.example.test:443")]
    assert KEY not in str(proxy.requests[0].headers)


def test_loopback_targets_bypass_the_proxy(cli: Cli, recorder: Recorder, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY")

    result = send(cli, recorder)

    assert result.exit_code == 0, result.output
    assert len(recorder.requests) == 1


def test_types_filters_the_fixture_messages(cli: Cli, recorder: Recorder, tmp_path: Path):
    fixture = tmp_path / "mixed.json"
    fixture.write_text(
        json.dumps(
            [
                {"type": "identify", "userId": "a"},
                {"type": "page", "userId": "a", "name": "Home"},
                {"type": "track", "userId": "a", "event": "E"},
            ]
        )
    )

    result = send(cli, recorder, "--fixture", str(fixture), "--types", "track,page")

    assert result.exit_code == 0, result.output
    assert [m["type"] for m in recorder.bodies()[0]] == ["page", "track"]
    assert send(cli, recorder, "--fixture", str(fixture), "--types", "group").exit_code == 3


def test_frigade_api_url_in_the_environment_beats_the_profiles_webhook_url(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two recording servers: the profile names one, the environment the other. The key must go
    # where the environment says (flag > environment > profile), never to the profile's host.
    with Recorder() as profile_host, Recorder() as env_host:
        assert cli("config", "set", "webhook_url", profile_host.webhook_url).exit_code == 0
        monkeypatch.setenv("FRIGADE_API_URL", env_host.url)

        result = cli("segment", "test-webhook", "--api-key", KEY, "--count", "1")

        assert result.exit_code == 0, result.output
        assert len(env_host.requests) == 1 and profile_host.requests == []
        assert env_host.requests[0].path == "/v1/thirdParty/cdp/segment"

        monkeypatch.delenv("FRIGADE_API_URL")
        again = cli("segment", "test-webhook", "--api-key", KEY, "--count", "1")

        assert again.exit_code == 0, again.output
        assert len(profile_host.requests) == 1  # without the variable, the profile's URL


def test_a_resend_of_a_file_the_user_holds_goes_to_frigade_and_never_changes_the_file(
    cli: Cli, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A `tail --save` session (or a copied spool) records where its requests went (here the
    # tail's own address): a resend sends to Frigade's webhook as configured, and the file is
    # the user's: never rewritten, never removed, whether the resend fails or succeeds.
    with Recorder() as recorded_host, Recorder() as frigade:
        messages = [
            {"type": "track", "userId": "u1", "event": "Saved", "messageId": f"saved-{n}"}
            for n in (1, 2)
        ]
        session = isolated / "session.ndjson"
        line = {"url": recorded_host.url + "/v1/batch", "status": 200, "messages": messages}
        session.write_text(json.dumps(line) + "\n")
        before = session.read_bytes()
        monkeypatch.setenv("FRIGADE_API_URL", frigade.url)

        frigade.default = Answer(400, b'{"statusCode":400,"message":"bad payload"}')
        failed = cli("segment", "test-webhook", "--api-key", KEY, "--resend", str(session))

        assert failed.exit_code == 5
        assert recorded_host.requests == [] and len(frigade.requests) == 1
        assert session.read_bytes() == before
        (saved,) = spool_files(isolated)  # what failed went to a new spool file
        assert [m["messageId"] for m in spooled_messages(saved)] == ["saved-1", "saved-2"]

        frigade.default = Answer(200, b"{}")
        sent = cli("segment", "test-webhook", "--api-key", KEY, "--resend", str(session))

        assert sent.exit_code == 0, sent.output
        assert session.read_bytes() == before
        assert [m["messageId"] for m in frigade.requests[-1].json()] == ["saved-1", "saved-2"]


@pytest.mark.parametrize("key", ["notakey", "5", "sk_live_0123456789abcdef"])
def test_a_key_that_is_not_a_frigade_private_key_is_refused_before_anything_is_sent(
    cli: Cli, recorder: Recorder, isolated: Path, key: str
) -> None:
    result = send(cli, recorder, "--count", "2", key=key)

    assert result.exit_code == 3
    assert "is not a Frigade private key (api_private_...)" in result.stderr
    assert recorder.requests == [] and spool_files(isolated) == []
    assert len(result.stderr.strip().splitlines()) == 1
