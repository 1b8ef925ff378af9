"""The exit codes every `frigade` command uses (documented in the README and `frigade --help`).

The rule between 2 and 3: exit 2 when the command line itself is wrong (an unknown command or
option, a missing argument, a value that is not of the option's type, options that cannot be used
together); exit 3 when a value is well-formed but not acceptable, wherever it came from (a flag,
an environment variable, the config file, a fixture or spool file).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status; one enum for the whole tool."""

    OK = 0
    ERROR = 1  # unexpected error (a bug): run again with --traceback
    USAGE = 2  # the command line is wrong: unknown option, not a number, conflicting options
    VALIDATION = 3  # a value is not acceptable: range, key, URL, fixture, message, setting
    AUTH = 4  # the server rejected the key (401/403)
    UPSTREAM = 5  # network failure or an upstream error that retries did not fix
    THRESHOLD = 6  # a measured value breached the configured threshold
    UNSAVED = 7  # undelivered events could not be saved (the state directory is not writable)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM), e.g. a cancelled CI job or `timeout`


USAGE_RULE = (
    "Exit 2: the command line is wrong (unknown option, a value of the wrong type, options that "
    "cannot be used together). Exit 3: a value is well-formed but not acceptable, whether it came "
    "from a flag, the environment, the config file or a file."
)
