"""Option value parsers shared by every command, so one kind of value behaves one way everywhere.

A time is a duration everywhere (`250ms`, `2s`, `1.5`, `1m`): text that is not a duration is a
usage error (exit 2, like `--count many`); a duration out of the option's range is a value that
is not acceptable (exit 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from frigade_cli.kernel.durations import NotADuration, parse_duration
from frigade_cli.kernel.errors import InputError

DURATION = "DURATION"  # the metavar of every time option
DURATION_HELP = "250ms, 2s, 1.5 (seconds), 1m"


def _seconds(value: Any, flag: str, minimum: float | None) -> float:
    try:
        seconds = parse_duration(value, flag)
    except NotADuration as exc:
        raise typer.BadParameter(exc.message) from None
    if minimum is not None and seconds < minimum:
        raise InputError(f"{flag} {value} is out of range: use at least {minimum * 1000:g}ms")
    return seconds


def duration(flag: str, *, minimum: float | None = None) -> Callable[[Any], float]:
    """A Typer `parser` reading a duration as seconds (float). BadParameter (exit 2) for text
    that is not a duration; InputError (exit 3) below `minimum` seconds or negative."""
    return lambda value: _seconds(value, flag, minimum)


def duration_text(flag: str) -> Callable[[Any], str]:
    """A Typer `parser` that checks a duration and keeps its text (the service reads it with
    `parse_duration` and checks its range). BadParameter (exit 2) for text that is not one."""

    def parse(value: Any) -> str:
        _seconds(value, flag, None)
        return str(value)

    return parse
