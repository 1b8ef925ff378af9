"""Expected failures: each carries its exit code and a one-line message for the user."""

from __future__ import annotations

from frigade_cli.kernel.exit_codes import ExitCode


class FrigadeCliError(Exception):
    """Base of every expected error; rendered as one line on stderr, never a traceback."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(FrigadeCliError):
    """The command line itself is wrong, e.g. options that cannot be used together (exit 2)."""

    exit_code = ExitCode.USAGE


class InputError(FrigadeCliError):
    """A value (flag, env var, setting, file, key type) is well-formed but not acceptable."""

    exit_code = ExitCode.VALIDATION


class ConfigError(InputError):
    """A configuration file or value is unusable."""


class AuthError(FrigadeCliError):
    """The server rejected the credentials (401 or 403)."""

    exit_code = ExitCode.AUTH


class UpstreamError(FrigadeCliError):
    """The network or the server failed and retries did not help."""

    exit_code = ExitCode.UPSTREAM


class ThresholdBreached(FrigadeCliError):
    """A measured value is past the threshold the user set."""

    exit_code = ExitCode.THRESHOLD


class UnsavedError(FrigadeCliError):
    """Events that were not delivered could not be saved either: they exist nowhere else."""

    exit_code = ExitCode.UNSAVED


class Interrupted(FrigadeCliError):
    """The user pressed Ctrl-C; whatever was pending has been saved."""

    exit_code = ExitCode.INTERRUPTED


class Terminated(Interrupted):
    """The process got SIGTERM (a cancelled CI job, `timeout`); pending work has been saved."""

    exit_code = ExitCode.TERMINATED
