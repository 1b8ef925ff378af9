"""Text a server sends never drives the reader's terminal: control characters are shown escaped."""

from __future__ import annotations

from pytest import CaptureFixture

from frigade_cli.kernel.output import Terminal, printable
from tests.conftest import Cli
from tests.support.recorder import Answer, Recorder

KEY = "api_private_test0000abcd"
HOSTILE = b"\x00\x1b[31mRED\x1b[0m\x07\x9b2J"


def test_an_error_body_with_escape_sequences_reaches_stderr_escaped(
    cli: Cli, recorder: Recorder
) -> None:
    recorder.default = Answer(500, HOSTILE, {"content-type": "text/plain"})

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--retries", "0",
    )  # fmt: skip

    assert result.exit_code == 5
    assert "HTTP 500" in result.stderr
    for raw in ("\x00", "\x1b", "\x07", "\x9b"):
        assert raw not in result.stderr
    assert "\\x1b[31mRED" in result.stderr


def test_printable_escapes_controls_as_python_escapes() -> None:
    assert printable("a\x1b[2Jb\x7f") == "a\\x1b[2Jb\\x7f"
    assert printable("tab\tand\nnewline") == "tab\tand\nnewline"
    assert printable("one\nline\r", one_line=True) == "one\\nline\\r"
    assert printable("plain text, é, ✓") == "plain text, é, ✓"


def test_an_error_message_is_one_line_whatever_it_holds(capsys: CaptureFixture[str]) -> None:
    Terminal().error("first\nsecond\x1b[1A", hint="hint")

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "first\\nsecond\\x1b[1A; hint" in err
