"""Secrets off the command line (README "Keys and safety"): every secret option also takes `-`
(one line of stdin) and `@FILE` (a file only its owner can read), so no key need appear in the
process list."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_option_walk import ALL, flag, ids
from tests.conftest import Cli
from tests.support.recorder import Recorder

KEY = "api_private_fromafile0000wxyz"
SECRET_WORDS = ("key", "secret", "token")
SECRETS = [(p, o) for p, o in ALL if flag(o).rsplit("-", 1)[-1] in SECRET_WORDS]


def private_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_walk_finds_every_kind_of_secret_option() -> None:
    flags = {flag(o) for _, o in SECRETS}
    assert {"--api-key", "--write-key", "--public-key", "--token"} <= flags
    assert {"--signing-secret", "--shared-secret"} <= flags


@pytest.mark.parametrize(("path", "param"), SECRETS, ids=ids(SECRETS))
def test_every_secret_option_reads_a_dash_from_stdin(
    cli: Cli, path: tuple[str, ...], param: object
) -> None:
    result = cli(*path, flag(param), "-", input="")

    assert result.exit_code == 3, result.output
    assert f"{flag(param)} -: stdin gave no line" in result.stderr


@pytest.mark.parametrize(("path", "param"), SECRETS, ids=ids(SECRETS))
def test_every_secret_option_refuses_a_file_others_can_read(
    cli: Cli, path: tuple[str, ...], param: object, tmp_path: Path
) -> None:
    loose = private_file(tmp_path / "key.txt", KEY + "\n", mode=0o640)

    result = cli(*path, flag(param), f"@{loose}")

    assert result.exit_code == 3, result.output
    assert "the file is readable by others (mode 0640)" in result.stderr
    assert f"chmod 600 {loose}" in result.stderr


def test_a_key_from_stdin_is_the_one_sent(cli: Cli, recorder: Recorder) -> None:
    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", "-",
        "--count", "1", input=KEY + "\r\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert [r.headers["authorization"] for r in recorder.requests] == [f"Bearer {KEY}"]
    assert KEY not in result.output


def test_a_key_from_a_private_file_is_the_one_sent(
    cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    key_file = private_file(tmp_path / "frigade-key", KEY + "\n")

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", f"@{key_file}",
        "--count", "1",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert [r.headers["authorization"] for r in recorder.requests] == [f"Bearer {KEY}"]


def test_a_refused_key_file_sends_nothing(cli: Cli, recorder: Recorder, tmp_path: Path) -> None:
    key_file = private_file(tmp_path / "frigade-key", KEY, mode=0o604)

    result = cli("segment", "test-webhook", "--url", recorder.webhook_url, "--api-key",
                 f"@{key_file}")  # fmt: skip

    assert result.exit_code == 3
    assert recorder.requests == []


def test_a_missing_key_file_is_one_line_naming_it(cli: Cli, tmp_path: Path) -> None:
    result = cli("segment", "test-webhook", "--dry-run", "--api-key", f"@{tmp_path}/nope")

    assert result.exit_code == 3
    assert result.stderr == f"error: --api-key @{tmp_path}/nope: no such file\n"


def test_config_set_reads_a_secret_from_stdin(cli: Cli) -> None:
    stored = cli("config", "set", "api_key", "-", input=KEY + "\n")
    shown = cli("config", "show")

    assert stored.exit_code == 0, stored.output
    assert KEY not in stored.output
    assert "api_private_****wxyz" in shown.stdout


def test_two_options_cannot_both_read_stdin(cli: Cli) -> None:
    result = cli(
        "segment", "connect", "--dry-run", "--api-key", "-", "--write-key", "-",
        input=KEY + "\nwk_second0000abcd\n",
    )  # fmt: skip

    assert result.exit_code == 2
    assert "--write-key -: stdin is already read for --api-key -" in result.stderr


def test_a_mapping_and_a_token_cannot_both_come_from_stdin(cli: Cli) -> None:
    result = cli("segment", "validate", "--mapping", "-", "--token", "-", input="tok\n{}\n")

    assert result.exit_code == 2
    assert "--mapping - and --token - both read stdin" in result.stderr
