"""What docs/test-webhook.md promises about test-webhook and nothing else tested: the spool
file's mode, --timeout, --quiet, SEGMENT_SHARED_SECRET, and every `stopped_because`."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import stat
from pathlib import Path

import pytest

from tests.conftest import Cli, Run
from tests.support.recorder import Answer, Recorder

KEY = "api_private_test0000abcd"


def send(cli: Cli, recorder: Recorder, *args: str) -> Run:
    return cli("segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY, *args)


def test_the_spool_file_is_0600_in_a_0700_directory(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    recorder.default = Answer(503)

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--retries", "0",
    )  # fmt: skip

    assert result.exit_code == 5
    (spool,) = (isolated / "state" / "spool").glob("*.ndjson")
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.parent.stat().st_mode) == 0o700


def test_timeout_bounds_the_wait_for_each_response(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    recorder.delay = 3.0

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--timeout", "0.2", "--retries", "0", "--json",
    )  # fmt: skip

    assert result.exit_code == 5
    summary = json.loads(result.stdout)
    assert summary["errors"] == ["ReadTimeout"]
    assert summary["stopped_because"] == "network"
    assert summary["spool_file"] is not None
    assert len(recorder.requests) == 1


def test_quiet_leaves_stderr_empty_and_the_data_on_stdout(cli: Cli, recorder: Recorder) -> None:
    result = cli(
        "-q", "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY, "--json"
    )

    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout)["accepted"] == {"batches": 1, "events": 3}


def test_quiet_still_shows_errors(cli: Cli, recorder: Recorder) -> None:
    recorder.default = Answer(400, b'{"message":"bad payload"}')

    result = cli("-q", "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY)

    assert result.exit_code == 5
    assert result.stderr.startswith("error: 1 of 1 batch not accepted (HTTP 400: bad payload")
    assert result.stderr.count("\n") == 1


def test_segment_shared_secret_from_the_environment_signs_the_first_message(
    cli: Cli, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_SHARED_SECRET", "env-shared-secret")

    result = send(cli, recorder, "--count", "3")

    assert result.exit_code == 0
    (request,) = recorder.requests
    first = json.loads(request.body)[0]
    signed = json.dumps(first, separators=(",", ":"), ensure_ascii=False).encode()
    expected = hmac.new(b"env-shared-secret", signed, hashlib.sha1).hexdigest()
    assert request.headers["x-signature"] == expected


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/thirdParty/cdp/segment"


# `interrupted` is checked where the signals are: tests/segment/test_interrupts.py.
@pytest.mark.parametrize(
    ("answer", "stopped_because", "exit_code", "requests"),
    [
        (Answer(200), None, 0, 3),
        (Answer(401, b'{"message":"Unauthorized"}'), "auth", 4, 1),
        (Answer(403, b'{"message":"Forbidden"}'), "auth", 4, 1),
        (Answer(429, b'{"message":"Monthly active user limit reached"}'), "quota", 5, 1),
        (None, "network", 5, 0),
        (Answer(400, b'{"message":"bad"}'), None, 5, 3),  # a bad batch does not stop the run
    ],
)
def test_every_stopped_because(
    cli: Cli,
    recorder: Recorder,
    answer: Answer | None,
    stopped_because: str | None,
    exit_code: int,
    requests: int,
) -> None:
    url = recorder.webhook_url
    if answer is None:
        url = closed_port_url()
    else:
        recorder.default = answer

    result = cli(
        "segment", "test-webhook", "--url", url, "--api-key", KEY, "--count", "30",
        "--batch-size", "10", "--concurrency", "1", "--retries", "0", "--json",
    )  # fmt: skip

    assert result.exit_code == exit_code, result.output
    summary = json.loads(result.stdout)
    assert summary["stopped_because"] == stopped_because
    assert summary["interrupted"] is False
    # A run that stops early sends no more batches; one that does not stop tries them all.
    assert len(recorder.requests) == (
        3 if stopped_because is None and answer else 0 if not answer else 1
    )


def test_the_summary_counts_in_the_singular_when_there_is_one(cli: Cli, recorder: Recorder):
    recorder.default = Answer(400, b'{"message":"bad payload"}')

    result = cli("segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
                 "--count", "1")  # fmt: skip

    def row(name: str) -> str:
        found = re.search(rf"^\s*{name}\s+(.+?)\s*$", result.stdout, flags=re.MULTILINE)
        assert found, result.stdout
        return found.group(1)

    assert row("accepted") == "0 events in 0 batches"
    assert row("failed") == "1 event in 1 batch"
    assert row("not sent") == "0 events in 0 batches"
    assert "1 batches" not in result.output and "1 events" not in result.output


def test_an_error_line_quoting_a_long_server_answer_is_cut_to_400_characters(
    cli: Cli, recorder: Recorder
):
    recorder.default = Answer(400, json.dumps({"message": "bad payload " * 300}).encode())
    args = ("segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY)

    short = cli(*args)
    full = cli("-v", *args)

    (line,) = [line for line in short.stderr.splitlines() if line.startswith("error: ")]
    assert len(line) <= len("error: ") + 400
    assert "characters; -v shows all)" in line
    # What to do comes whole, after the cut.
    assert "; resend them with: frigade segment test-webhook --resend " in line
    assert line.endswith(".ndjson")
    (verbose_line,) = [line for line in full.stderr.splitlines() if line.startswith("error: ")]
    assert len(verbose_line) > len(line) and "-v shows all" not in verbose_line


def test_a_url_in_the_summary_stays_whole_on_a_narrow_terminal(
    cli: Cli, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("COLUMNS", "40")

    result = cli("segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY)

    assert result.exit_code == 0, result.output
    assert re.search(rf"^\s*url\s+{re.escape(recorder.webhook_url)}\s*$", result.stdout, re.M)
