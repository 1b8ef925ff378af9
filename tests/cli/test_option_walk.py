"""Every option of every command follows one rule (docs/exit-codes.md), found by walking the
command tree, so a command or option added later is held to it without touching this file.

- a value that is not of the option's type (`--count many`, `--timeout abc`): exit 2;
- a number outside the option's declared range: exit 3;
- an option without its value, an unknown option: exit 2;
- a time is a duration (`2s`, `250ms`) wherever it is asked for;
- each of these is one line on stderr, `error: ...`, naming the option; never Click's block;
- help shows what to write (`URL`, `N`, `DURATION`), not a Python type (`<str>`, `<float range>`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer

from frigade_cli.cli import app
from frigade_cli.kernel.exit_codes import ExitCode
from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
# Words that make an option a time: its value must be a duration.
TIME_WORDS = re.compile(r"(timeout|wait|interval|latency|window|poll|since|^every$|^max-p\d\d$)")


def commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) for every command that runs (not the groups)."""

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield path, command
            return
        for name, sub in subcommands.items():
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def options() -> Iterator[tuple[tuple[str, ...], Any]]:
    """(command path, option) for every option that takes a value."""
    for path, command in commands():
        for param in command.params:
            takes_value = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
            if param.param_type_name == "option" and takes_value and not param.hidden:
                yield path, param


def base_type(param: Any) -> Any:
    annotation = param.type_descriptor.annotation
    while get_origin(annotation) is list or type(None) in get_args(annotation):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    return annotation


def flag(param: Any) -> str:
    return str(max(param.opts, key=len))


def ids(items: list[tuple[tuple[str, ...], Any]]) -> list[str]:
    return [" ".join(path) + " " + flag(param) for path, param in items]


def one_error_line(stderr: str) -> bool:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("error: ")


ALL = list(options())
NUMBERS = [(p, o) for p, o in ALL if base_type(o) in (int, float) and o.metavar != "DURATION"]
RANGED = [(p, o) for p, o in NUMBERS if getattr(o, "min", None) is not None]
DURATIONS = [(p, o) for p, o in ALL if o.metavar == "DURATION"]
TIMES = [(p, o) for p, o in ALL if TIME_WORDS.search(flag(o).lstrip("-"))]


def test_the_walk_finds_the_commands_and_their_options() -> None:
    # The walk itself could silently find nothing: it must see the tool as the README shows it.
    paths = {path for path, _ in commands()}
    assert {("segment", "test-webhook"), ("segment", "tail"), ("sandbox",)} <= paths
    assert len(ALL) > 80 and len(NUMBERS) > 10 and len(RANGED) > 3 and len(DURATIONS) > 10


@pytest.mark.parametrize(("path", "param"), NUMBERS, ids=ids(NUMBERS))
def test_a_number_option_given_text_exits_2_with_one_line(
    cli: Cli, path: tuple[str, ...], param: Any
) -> None:
    result = cli(*path, flag(param), "abc")

    assert result.exit_code == ExitCode.USAGE, result.output
    assert one_error_line(result.stderr), result.stderr
    assert flag(param) in result.stderr


@pytest.mark.parametrize(("path", "param"), RANGED, ids=ids(RANGED))
def test_a_number_below_the_options_range_exits_3_with_the_tools_one_line(
    cli: Cli, path: tuple[str, ...], param: Any
) -> None:
    below = param.min - 1 if base_type(param) is int else param.min - 0.5

    result = cli(*path, flag(param), str(below))

    assert result.exit_code == ExitCode.VALIDATION, result.output
    assert one_error_line(result.stderr), result.stderr
    assert f"{flag(param)} {below:g} is out of range: use a number " in result.stderr


@pytest.mark.parametrize(("path", "param"), DURATIONS, ids=ids(DURATIONS))
def test_a_duration_option_given_text_exits_2_with_one_line(
    cli: Cli, path: tuple[str, ...], param: Any
) -> None:
    result = cli(*path, flag(param), "soon")

    assert result.exit_code == ExitCode.USAGE, result.output
    assert one_error_line(result.stderr), result.stderr
    assert f"{flag(param)} 'soon' is not a duration" in result.stderr


@pytest.mark.parametrize(("path", "param"), TIMES, ids=ids(TIMES))
def test_every_time_option_takes_a_duration(path: tuple[str, ...], param: Any) -> None:
    assert param.metavar == "DURATION"
    assert param.type_descriptor.parameter_info.parser is not None


@pytest.mark.parametrize(("path", "param"), ALL, ids=ids(ALL))
def test_an_option_without_its_value_exits_2_with_one_line(
    cli: Cli, path: tuple[str, ...], param: Any
) -> None:
    result = cli(*path, flag(param))

    assert result.exit_code == ExitCode.USAGE, result.output
    assert one_error_line(result.stderr), result.stderr


@pytest.mark.parametrize("path", [path for path, _ in commands()], ids=" ".join)
def test_an_unknown_option_exits_2_with_one_line(cli: Cli, path: tuple[str, ...]) -> None:
    result = cli(*path, "--no-such-option")

    assert result.exit_code == ExitCode.USAGE, result.output
    assert one_error_line(result.stderr), result.stderr
    assert "no such option: --no-such-option" in result.stderr


@pytest.mark.parametrize("path", [path for path, _ in commands()], ids=" ".join)
def test_help_names_what_to_write_not_a_python_type(cli: Cli, path: tuple[str, ...]) -> None:
    text = cli(*path, "--help").stdout
    options_part = text.split("Options:", 1)[1]

    assert re.findall(r"<(?:str|int|float|list|file|path|text)[^>]*>", options_part) == []
    assert "range>" not in options_part


@pytest.mark.parametrize("path", [path for path, _ in commands()], ids=" ".join)
def test_global_options_are_accepted_after_the_command(cli: Cli, path: tuple[str, ...]) -> None:
    # Both together is a usage error wherever they stand: it shows they were read there.
    result = cli(*path, "-v", "--quiet", "--help")

    assert result.exit_code == ExitCode.USAGE, result.output
    assert "-v/--verbose and -q/--quiet cannot be used together" in result.stderr


def test_the_exit_code_table_lists_every_code_the_tool_uses() -> None:
    section = (ROOT / "docs" / "exit-codes.md").read_text().split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", section, flags=re.MULTILINE))

    assert sorted(int(code) for code in rows) == sorted(int(code) for code in ExitCode)
    assert "unknown profile" in rows["2"] and "unknown profile" not in rows["3"]
    assert "cannot be used together" in rows["2"]
    assert "not a duration" in rows["2"]
    assert "out of range" in rows["3"]


URL_OR_PATH = re.compile(r"(?:https?://|/v1/)[^\s,;)'\"]+")


@pytest.mark.parametrize("path", [path for path, _ in commands()], ids=" ".join)
def test_help_on_a_narrow_terminal_never_breaks_a_url_or_a_path(
    cli: Cli, path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    command = dict(commands())[path]
    written = {m.rstrip(".") for p in command.params for m in URL_OR_PATH.findall(p.help or "")}

    text = cli(*path, "--help").stdout

    assert [url for url in written if url not in text] == []
