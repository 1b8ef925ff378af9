"""Ctrl-C and SIGTERM during a send: stop, keep what was not delivered, print the summary.

Each test runs the installed `frigade` script against a slow recording server, signals it
mid-send, then resends the spool file and checks, by messageId, what the server received.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.support.installed import start
from tests.support.recorder import Recorder

KEY = "api_private_test0000abcd"
EVENTS = 400


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def received_ids(recorder: Recorder) -> Counter[str]:
    return Counter(m["messageId"] for body in recorder.bodies() for m in body)


def spool_lines(isolated: Path) -> tuple[Path, list[dict[str, Any]]]:
    (spool,) = sorted((isolated / "state" / "spool").glob("*.ndjson"))
    return spool, [json.loads(line) for line in spool.read_text().splitlines()]


def track(n: int) -> dict[str, Any]:
    return {
        "type": "track", "userId": f"user_{n}", "event": "Invoice Downloaded",
        "messageId": f"own-{n:05d}", "timestamp": "2026-11-28T10:40:02.235Z",
    }  # fmt: skip


def own_fixture(isolated: Path, events: int = EVENTS) -> Path:
    """The user's own messages, NDJSON: what a stopped run must keep, every one of them."""
    path = isolated / "own.ndjson"
    path.write_text("".join(json.dumps(track(n)) + "\n" for n in range(events)))
    return path


def sending(recorder: Recorder, isolated: Path, *extra: str) -> Any:
    recorder.delay = 0.2
    proc = start(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--fixture", str(own_fixture(isolated)), "--batch-size", "10", "--concurrency", "2",
        *extra,
    )  # fmt: skip
    wait_for(lambda: len(recorder.requests) >= 4)
    return proc


def resend(cli: Cli, spool: Path) -> None:
    result = cli("segment", "test-webhook", "--api-key", KEY, "--resend", str(spool))
    assert result.exit_code == 0, result.output
    assert not spool.exists()


def test_sigterm_saves_prints_the_json_summary_and_exits_143(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    proc = sending(recorder, isolated, "--json")

    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 143, stderr
    summary = json.loads(stdout)
    spool, lines = spool_lines(isolated)
    assert summary["stopped_because"] == "interrupted"
    assert summary["spool_file"] == str(spool)
    assert "terminated" in stderr
    assert "Traceback" not in stderr
    saved = sum(len(line["messages"]) for line in lines)
    assert summary["accepted"]["events"] + saved == EVENTS
    # Every saved event counts as not sent: a check of `.unsent.events == 0` cannot pass.
    assert summary["unsent"] == {"batches": len(lines), "events": saved, "not_generated": 0}
    assert summary["events"] == EVENTS
    assert summary["accepted"]["events"] == sum(received_ids(recorder).values())

    resend(cli, spool)

    ids = received_ids(recorder)
    assert len(ids) == EVENTS
    assert set(ids.values()) == {1}  # every event delivered exactly once


def test_two_ctrl_c_abandon_requests_in_flight_and_still_lose_nothing(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    proc = sending(recorder, isolated)

    proc.send_signal(signal.SIGINT)
    time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    spool, lines = spool_lines(isolated)
    abandoned = {
        m["messageId"] for line in lines if "in flight" in line["error"] for m in line["messages"]
    }

    resend(cli, spool)

    ids = received_ids(recorder)
    assert len(ids) == EVENTS
    # Only a request cut off mid-flight can have reached the server twice.
    assert {i for i, n in ids.items() if n > 1} <= abandoned


def test_ctrl_c_again_and_again_while_saving_cannot_lose_the_spool(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    proc = sending(recorder, isolated)

    for _ in range(8):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.01)
    _, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    spool, _ = spool_lines(isolated)
    resend(cli, spool)
    assert len(received_ids(recorder)) == EVENTS


def test_an_unwritable_state_directory_is_one_line_the_summary_and_exit_7(
    recorder: Recorder, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = isolated / "not-a-directory"
    blocker.write_text("a file where the state directory should be")
    monkeypatch.setenv("FRIGADE_STATE_DIR", str(blocker / "state"))
    recorder.default.status = 503

    proc = start(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--retries", "0", "--json",
    )  # fmt: skip
    stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 7, stderr
    summary = json.loads(stdout)
    assert summary["spool_file"] is None
    assert summary["spool_error"].startswith(f"could not save 3 undelivered events to {blocker}")
    assert "Not a directory" in summary["spool_error"]
    assert stderr.count("\n") == 2  # "sending ..." and the one error line
    assert f"error: could not save 3 undelivered events to {blocker / 'state' / 'spool'}" in stderr


def test_ctrl_c_during_a_sandbox_run_prints_no_traceback(isolated: Path) -> None:
    proc = start("segment", "test-webhook", "--sandbox", "--count", "30000", "--batch-size", "10")
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("sandbox started at http://127.0.0.1:")
    wait_for(lambda: proc.stderr is not None and "sending" in proc.stderr.readline())
    time.sleep(0.3)

    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert "Exception" not in stderr


def test_ctrl_c_in_a_huge_synthetic_run_makes_nothing_more_and_says_what_was_not_sent(
    recorder: Recorder, isolated: Path
) -> None:
    recorder.delay = 0.2
    count = 1_000_000_000
    proc = start(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--count", str(count), "--batch-size", "10", "--concurrency", "2", "--json",
    )  # fmt: skip
    wait_for(lambda: len(recorder.requests) >= 4)

    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)  # it stops: nothing left to generate

    assert proc.returncode == 130, stderr
    summary = json.loads(stdout)
    received = sum(received_ids(recorder).values())
    saved = (
        sum(len(m["messages"]) for m in spool_lines(isolated)[1]) if summary["spool_file"] else 0
    )
    unsent = summary["unsent"]
    assert summary["events"] == count
    assert summary["accepted"]["events"] == received
    assert received + summary["failed"]["events"] + unsent["events"] == count
    assert unsent["not_generated"] == count - received - saved - summary["failed"]["events"]
    assert f"{unsent['not_generated']} synthetic events not sent" in stderr
    assert "cannot be interrupted" not in stderr


def test_a_count_over_a_billion_is_refused_before_anything_is_sent(
    cli: Cli, recorder: Recorder
) -> None:
    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--count", "99999999999999999999",
    )  # fmt: skip
    assert result.exit_code == 3
    assert "--count 99999999999999999999 is out of range" in result.stderr
    assert recorder.requests == []


def test_ctrl_c_keeps_the_untaken_rest_of_the_users_own_file_streamed_to_the_spool(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    events = 20_000
    proc = start(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--fixture", str(own_fixture(isolated, events)), "--batch-size", "10",
        "--concurrency", "1", "--json",
    )  # fmt: skip
    recorder.delay = 0.2
    wait_for(lambda: len(recorder.requests) >= 2)

    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 130, stderr
    summary = json.loads(stdout)
    spool, lines = spool_lines(isolated)
    saved = sum(len(line["messages"]) for line in lines)
    assert summary["unsent"] == {"batches": len(lines), "events": saved, "not_generated": 0}
    assert summary["accepted"]["events"] + saved == events
    assert not list(spool.parent.glob(".*.partial"))

    resend(cli, spool)
    ids = received_ids(recorder)
    assert set(ids) == {f"own-{n:05d}" for n in range(events)}


def test_ctrl_c_keeps_the_pass_over_the_users_file_but_makes_no_further_copies(
    recorder: Recorder, isolated: Path
) -> None:
    count = 1_000_000_000
    proc = start(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--fixture", str(own_fixture(isolated, 50)), "--count", str(count),
        "--batch-size", "10", "--concurrency", "1", "--json",
    )  # fmt: skip
    wait_for(lambda: len(recorder.requests) >= 12)  # into the second pass over the file
    recorder.delay = 0.2

    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    summary = json.loads(stdout)
    # No spool file when the stop came just as a pass over the file ended.
    lines = spool_lines(isolated)[1] if summary["spool_file"] else []
    saved = sum(len(line["messages"]) for line in lines)
    received = sum(received_ids(recorder).values())
    unsent = summary["unsent"]
    # What was sent and saved ends exactly at the end of a pass over the 50 messages.
    assert (received + saved) % 50 == 0
    assert saved <= 50 + 10
    assert summary["events"] == count
    assert received + summary["failed"]["events"] + unsent["events"] == count
    assert unsent["events"] == saved + unsent["not_generated"]
    assert f"{unsent['not_generated']} repeated fixture events not sent" in stderr
