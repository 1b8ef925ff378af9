"""One rule for every command: exit 2 when the command line does not parse, exit 3 when a value
parses but is not acceptable (README "Exit codes"; `frigade --help`)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Cli
from tests.support.recorder import Recorder


@pytest.mark.parametrize(
    "args",
    [
        ["segment", "test-webhook", "--count", "0"],
        ["segment", "test-webhook", "--batch-size", "4001"],
        ["segment", "test-webhook", "--types", "purchase"],
        ["segment", "latency-check", "--samples", "0"],
        ["segment", "latency-check", "--samples", "10001"],
        ["segment", "validate", "--timeout", "0", "mapping.json"],
        ["sandbox", "--port", "99999"],
        # inf and nan parse as floats (Click reads them) but no setting can use them.
        [
            "segment",
            "validate",
            "--url",
            "https://api.frigade.com/v1/thirdParty/cdp/segment",
            "--events-per-day",
            "inf",
        ],
        ["segment", "latency-check", "--sandbox", "--events-per-day", "inf"],
        ["sandbox", "--port", "0", "--fail-rate", "nan"],
    ],
)
def test_a_value_that_parses_but_is_not_acceptable_exits_3(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 3
    assert "a bug in frigade-cli" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["segment", "test-webhook", "--count", "many"],
        ["segment", "latency-check", "--samples", "abc"],
        ["segment", "validate", "--timeout", "soon", "mapping.json"],
        ["segment", "test-webhook", "--no-such-flag"],
        # A time is a duration everywhere: text that is not one does not parse.
        ["segment", "test-webhook", "--dry-run", "--timeout", "inf"],
        ["segment", "test-webhook", "--dry-run", "--timeout", "1e400"],
        ["segment", "test-webhook", "--dry-run", "--max-retry-wait", "abc"],
        ["segment", "test-webhook", "--dry-run", "--timeout", "abc"],
        # Options that cannot be used together, and an unknown profile.
        ["segment", "latency-check", "--compare", "--path", "api", "--sandbox"],
        ["-p", "no-such-profile", "segment", "test-webhook", "--dry-run"],
        ["segment", "test-webhook", "--dry-run", "-v", "-q"],
        ["no-such-command"],
    ],
)
def test_a_command_line_that_does_not_parse_exits_2(cli: Cli, args: list[str]) -> None:
    assert cli(*args).exit_code == 2


def test_help_states_the_rule(cli: Cli) -> None:
    run = cli("--help")

    text = re.sub(r"-\s+", "-", " ".join(run.stdout.split()))  # undo wrapping at a hyphen
    assert "Exit 2: the command line is wrong" in text
    assert "Exit 3: a value is well-formed but not acceptable" in text


KEY = "api_private_test0000abcd"


def test_an_empty_key_flag_is_refused_not_replaced_by_the_environment(
    cli: Cli, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--api-key "$FRIGADE_KEY"` with the secret missing in CI must not send another key.
    monkeypatch.setenv("FRIGADE_API_KEY", KEY)

    result = cli("segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", "")

    assert result.exit_code == 3
    assert "Frigade API key given on the command line is empty" in result.stderr
    assert recorder.requests == []


def test_an_empty_write_key_flag_is_refused_not_replaced_by_the_environment(
    cli: Cli, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_WRITE_KEY", "wk_env_0000wxyz")

    result = cli(
        "segment", "connect", "--write-key", "  ", "--api-key", KEY,
        "--api-url", recorder.url,
    )  # fmt: skip

    assert result.exit_code == 3
    assert "write key given on the command line is empty" in result.stderr
    assert recorder.requests == []
