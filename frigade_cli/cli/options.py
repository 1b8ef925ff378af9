"""Option value parsers shared by every command, so one kind of value behaves one way everywhere.

A time is a duration everywhere (`250ms`, `2s`, `1.5`, `1m`): text that is not a duration is a
usage error (exit 2, like `--count many`); a duration out of the option's range is a value that
is not acceptable (exit 3).
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

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


# Secrets off the command line -------------------------------------------------------------------
# A key given as `--api-key api_private_...` is visible to every local user in the process list;
# `-` and `@FILE` keep it out of it, as `docker login --password-stdin` and curl's `@file` do.
SECRET_HELP = "'-' reads it from stdin, @FILE from a file only you can read."
_stdin_reader: ContextVar[str | None] = ContextVar("stdin_reader", default=None)


def new_command_line() -> None:
    """Forget which option read stdin (each invocation may read it once)."""
    _stdin_reader.set(None)


def stdin_reader() -> str | None:
    """The option that read its secret from stdin in this invocation, or None."""
    return _stdin_reader.get()


def read_secret(value: str, flag: str) -> str:
    """The secret `value` names: `-` one line of stdin, `@FILE` the first line of FILE, anything
    else itself. Trailing CR/LF are dropped, nothing else (the key checks judge the rest).

    BadParameter (exit 2) when stdin was already read for another option; InputError (exit 3)
    when stdin or the file gives no line, the file cannot be read, or it is readable by its
    group or others (ssh refuses such a private key file the same way).
    """
    if value == "-":
        owner = stdin_reader()
        if owner is not None:
            raise typer.BadParameter(f"{flag} -: stdin is already read for {owner} -")
        _stdin_reader.set(flag)
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InputError(
                f"{flag} -: stdin gave no line",
                hint=f"pipe the secret in: ... | frigade ... {flag} -",
            )
        return line
    if value.startswith("@") and len(value) > 1:
        return _secret_file(Path(value[1:]).expanduser(), flag)
    return value


def _secret_file(path: Path, flag: str) -> str:
    try:
        status = path.stat()
        if stat.S_ISDIR(status.st_mode):
            raise InputError(f"{flag} @{path}: is a directory")
        if status.st_mode & 0o077:
            raise InputError(
                f"{flag} @{path}: the file is readable by others (mode "
                f"{stat.S_IMODE(status.st_mode):04o}); a secret's file must be private",
                hint=f"chmod 600 {path}",
            )
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError(f"{flag} @{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{flag} @{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{flag} @{path}: {exc.strerror or exc}") from None
    line = text.split("\n", 1)[0].rstrip("\r")
    if not line:
        raise InputError(f"{flag} @{path}: the file's first line is empty")
    return line


def secret(flag: str) -> Callable[[Any], str]:
    """A Typer `parser` for a secret option: `-`, `@FILE` or the value (see `read_secret`)."""

    def parse(value: Any) -> str:
        return read_secret(str(value), flag)

    return parse


# Options several commands declare alike (one declaration, the same help everywhere) ----------
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
HttpTimeoutOption = Annotated[
    float,
    typer.Option(
        parser=duration("--timeout", minimum=0.1),
        metavar=DURATION,
        show_default="30s",
        help=f"How long to wait for each HTTP response (at least 100ms): {DURATION_HELP}.",
    ),
]
FrigadeApiUrlOption = Annotated[
    str | None,
    typer.Option(
        help="Frigade API base URL [env FRIGADE_API_URL; default https://api.frigade.com].",
        show_default=False,
    ),
]
