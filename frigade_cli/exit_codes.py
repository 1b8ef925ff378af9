"""The exit codes every `frigade` command uses (documented in the README)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status; one enum for the whole tool."""

    OK = 0
    ERROR = 1  # unexpected error (a bug): run again with --traceback
    USAGE = 2  # bad flags or arguments, as reported by Click/Typer
    VALIDATION = 3  # the input or settings are wrong (findings, bad key type, bad fixture)
    AUTH = 4  # the server rejected the key (401/403)
    UPSTREAM = 5  # network failure or an upstream error that retries did not fix
    THRESHOLD = 6  # a measured value breached the configured threshold
    INTERRUPTED = 130  # Ctrl-C
