"""Text a server sends never drives the reader's terminal: control characters are shown escaped."""

from __future__ import annotations

from pytest import CaptureFixture

from frigade_cli.kernel.output import Terminal, document_text, printable
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


def test_document_text_escapes_what_xml_cannot_hold_and_keeps_layout() -> None:
    import xml.etree.ElementTree as ET

    raw = "a\x1b[2J\x00\x0b\x0c\x7f\x85 \ud800\udcff \ufffe\uffff\tb\nc\r"
    text = document_text(raw)

    assert text == "a\\x1b[2J\\x00\\x0b\\x0c\\x7f\\x85 \\ud800\\udcff \\ufffe\\uffff\tb\nc\r"
    # The XML parser is the judge: the escaped text goes in an attribute and a text node.
    root = ET.fromstring(f'<r a="{text}">{text}</r>'.encode())
    assert root.text is not None and "\\x1b" in root.text
    assert document_text("plain é 🚀") == "plain é 🚀"


def test_an_error_message_is_one_line_whatever_it_holds(capsys: CaptureFixture[str]) -> None:
    Terminal().error("first\nsecond\x1b[1A", hint="hint")

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "first\\nsecond\\x1b[1A; hint" in err
