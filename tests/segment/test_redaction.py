"""Nothing leaked: keys echoed by a server and secrets inside URLs never reach the terminal,
the --json summary, -v logs, spool files or tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli
from tests.support.recorder import Answer, Recorder

KEY = "api_private_test0000abcd"
KEY_BODY = "test0000"  # the part of KEY its redacted form never shows


def spool_text(isolated: Path) -> tuple[Path, str]:
    (spool,) = sorted((isolated / "state" / "spool").glob("*.ndjson"))
    return spool, spool.read_text()


def test_an_error_body_echoing_the_authorization_header_is_redacted_everywhere(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    echo = {"statusCode": 400, "message": f"bad header 'authorization: Bearer {KEY}'"}
    recorder.default = Answer(400, json.dumps(echo).encode())

    result = cli(
        "-v", "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY, "--json"
    )

    assert result.exit_code == 5
    _, text = spool_text(isolated)
    (line,) = [json.loads(x) for x in text.splitlines()]
    assert line["error"] == "HTTP 400: bad header 'authorization: Bearer api_private_****abcd'"
    assert json.loads(result.stdout)["errors"] == [line["error"]]
    assert KEY_BODY not in result.output
    assert KEY_BODY not in text


def test_a_key_echoed_where_the_error_is_cut_leaves_no_part_of_it(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    secret = "sEcReTsHaReDvAlUe42"  # a signing secret has no recognisable shape
    body = ("x" * 190 + " " + secret + " " + KEY).encode()
    recorder.default = Answer(400, body)

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--signing-secret", secret,
    )  # fmt: skip

    assert result.exit_code == 5
    _, text = spool_text(isolated)
    for fragment in (secret[:6], secret[-6:], KEY_BODY):
        assert fragment not in text
        assert fragment not in result.output


def test_secrets_inside_the_url_are_redacted_everywhere(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    url = f"http://bob:hunter2secret@{recorder.url[7:]}/v1/thirdParty/cdp/segment?token=tok_abcd1234wxyz"
    recorder.default = Answer(503)

    result = cli(
        "-v", "segment", "test-webhook", "--url", url, "--api-key", KEY, "--retries", "0", "--json"
    )

    assert result.exit_code == 5
    summary = json.loads(result.stdout)
    assert summary["url"].startswith("http://bob:****@127.0.0.1:")
    assert summary["url"].endswith("?token=****wxyz")
    _, text = spool_text(isolated)
    for secret in ("hunter2secret", "tok_abcd1234"):
        assert secret not in result.output
        assert secret not in text
    assert "> POST http://" in result.stderr  # the -v log line is there, redacted


def test_a_spool_whose_url_was_redacted_needs_the_url_again(
    cli: Cli, recorder: Recorder, isolated: Path
) -> None:
    url = f"{recorder.webhook_url}?token=tok_abcd1234wxyz"
    recorder.answer(503)
    cli("segment", "test-webhook", "--url", url, "--api-key", KEY, "--retries", "0")
    spool, _ = spool_text(isolated)

    refused = cli("segment", "test-webhook", "--api-key", KEY, "--resend", str(spool))
    resent = cli("segment", "test-webhook", "--api-key", KEY, "--resend", str(spool), "--url", url)

    assert refused.exit_code == 3
    assert "give the URL again with --url" in refused.stderr
    assert resent.exit_code == 0, resent.output
    assert recorder.requests[-1].path.endswith("?token=tok_abcd1234wxyz")


def test_traceback_is_redacted(cli: Cli, monkeypatch) -> None:
    # The error names the URL, which carries the key and a password: the traceback shows both
    # unless it passes through the redaction.
    monkeypatch.setenv("FRIGADE_API_URL", f"http://bob:hunter2secret@127.0.0.1:99999/?key={KEY}")

    run = cli("--traceback", "segment", "test-webhook", "--api-key", KEY)

    assert run.exit_code == 3
    assert "Traceback (most recent call last)" in run.stderr
    assert "InputError: webhook URL 'http://bob:****@127.0.0.1:99999/" in run.stderr
    assert KEY_BODY not in run.output
    assert "hunter2secret" not in run.output


def test_a_usage_error_quoting_a_key_shows_it_redacted(cli: Cli) -> None:
    # A key pasted where no argument belongs: Click quotes it back in its usage error.
    extra = cli("segment", "test-webhook", KEY)
    command = cli(KEY)

    assert (extra.exit_code, command.exit_code) == (2, 2)
    assert "api_private_****abcd" in extra.output
    assert "api_private_****abcd" in command.output
    assert KEY_BODY not in extra.output + command.output
