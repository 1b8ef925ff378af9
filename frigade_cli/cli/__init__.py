"""The `frigade` command: the Typer layer only (flags in, service called, result rendered)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from frigade_cli import __version__
from frigade_cli.kernel.app import App, current_app
from frigade_cli.kernel.config import Config
from frigade_cli.kernel.errors import FrigadeCliError
from frigade_cli.kernel.exit_codes import USAGE_RULE, ExitCode
from frigade_cli.kernel.interrupts import TerminateSignal, sigterm_as_interrupt
from frigade_cli.kernel.output import Terminal

# Click's own exceptions (usage errors, exits) are left to Typer, whichever Click it ships.
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
_PASS_THROUGH: tuple[type[BaseException], ...] = (_CLICK_EXCEPTION, typer.Exit, typer.Abort)


class FrigadeGroup(TyperGroup):
    """Turns every failure of a command into a one-line message and a documented exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _CLICK_EXCEPTION as exc:
            _settle_click_error(exc)
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH as exc:
            _settle_click_error(exc)
            raise
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, TerminateSignal)
            _report(lambda: _app().terminal.error("terminated" if terminated else "interrupted"))
            raise typer.Exit(ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED) from None
        except FrigadeCliError as exc:
            app_ = _app()
            if app_.traceback:
                _report(lambda: _print_traceback(app_))
            message, hint = exc.message, exc.hint
            _report(lambda: app_.terminal.error(message, hint))
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`frigade ... | head`): that is how pipes end, not an error.
            silence_closed_streams()
            raise typer.Exit(ExitCode.OK) from None
        except Exception as exc:
            app_ = _app()
            if app_.traceback:
                _print_traceback(app_)
            app_.terminal.error(
                f"unexpected {type(exc).__name__}: {exc}",
                hint="this is a bug in frigade-cli; run again with --traceback and report it",
            )
            raise typer.Exit(ExitCode.ERROR) from None


def _settle_click_error(exc: BaseException) -> None:
    """Click's own errors, made to follow the tool's rules before Typer prints them.

    The message is redacted (a usage error quotes the value given, which may be a key), and a
    number outside an option's range is exit 3 like every other unacceptable value (USAGE_RULE):
    Click checks the range, but the command line itself parsed.
    """
    from frigade_cli.kernel.redact import redact_text

    message = getattr(exc, "message", None)
    if isinstance(message, str):
        exc.message = redact_text(message)  # type: ignore[attr-defined]
        if _is_out_of_range(exc):
            exc.exit_code = ExitCode.VALIDATION  # type: ignore[attr-defined]


_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def _is_out_of_range(exc: BaseException) -> bool:
    """A number that parsed but is outside the option's `min`/`max` (Click's IntRange or
    FloatRange, or Typer's coercion, whose cause lists the bound that failed)."""
    param_type = getattr(getattr(exc, "param", None), "type", None)
    if type(param_type).__name__ in ("IntRange", "FloatRange"):
        return True
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return False
    try:
        kinds = {error.get("type") for error in errors()}
    except Exception:
        return False
    return bool(kinds) and kinds <= _RANGE_ERRORS


def silence_closed_streams() -> None:
    """Point a closed stdout or stderr at /dev/null, so exiting does not write to it again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (BrokenPipeError, ValueError):
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def _report(write: Any) -> None:
    """Write an error report; a closed stderr (the reader went away) is not a second error."""
    try:
        write()
    except BrokenPipeError:
        silence_closed_streams()


def _app() -> App:
    app_ = current_app.get()
    return app_ if app_ is not None else App()


def _print_traceback(app: App) -> None:
    import traceback

    sys.stderr.write(app.terminal.redact(traceback.format_exc()))


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"frigade-cli {__version__}\n")
        raise typer.Exit(0)


EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 unexpected error (a bug), 2 usage, 3 invalid input, 4 auth rejected, "
    "5 upstream/network failure, 6 threshold breached, 7 undelivered events not saved, "
    f"130 interrupted (Ctrl-C), 143 terminated (SIGTERM). {USAGE_RULE}"
)

app = typer.Typer(
    cls=FrigadeGroup,
    epilog=EXIT_CODES_HELP,
    name="frigade",
    help="Test, validate and observe a Segment <-> Frigade integration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    # Plain Click help and usage errors: rich's help formatter costs more than all of Typer.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            envvar="FRIGADE_PROFILE",
            help="Config profile to use (default: 'default').",
            show_envvar=True,
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="Log each HTTP request to stderr (keys redacted)."
        ),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors on stderr; data still on stdout.")
    ] = False,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Print the full traceback on errors (redacted).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Test, validate and observe a Segment <-> Frigade integration.

    Exit codes: see `frigade --help`.
    """
    current_app.set(
        App(
            terminal=Terminal(verbose=verbose, quiet=quiet),
            config=Config(profile=profile),
            traceback=traceback,
        )
    )


def _register() -> None:
    from frigade_cli.cli import config as config_cli
    from frigade_cli.cli import doctor as doctor_cli
    from frigade_cli.cli import sandbox as sandbox_cli
    from frigade_cli.cli import segment as segment_cli

    app.add_typer(config_cli.app, name="config")
    app.add_typer(segment_cli.app, name="segment")
    app.command("sandbox")(sandbox_cli.sandbox)
    app.command("doctor")(doctor_cli.doctor)


_register()


def main() -> None:
    """Console-script entry point: SIGTERM is handled as Ctrl-C is; a closed pipe exits 0."""
    sigterm_as_interrupt()
    stdout_was_devnull = _is_devnull(sys.stdout)
    try:
        app()
    except BrokenPipeError:
        silence_closed_streams()
        sys.exit(ExitCode.OK)
    except SystemExit as exc:
        # Click (wrapping the streams) and rich (pointing stdout at /dev/null) answer a closed
        # pipe outside a command, e.g. `frigade --help | head -1`, with exit 1; a reader that
        # stopped reading is not an error.
        pacified = type(sys.stdout).__name__.lstrip("_") == "PacifyFlushWrapper"
        if exc.code == 1 and (pacified or (not stdout_was_devnull and _is_devnull(sys.stdout))):
            silence_closed_streams()
            sys.exit(ExitCode.OK)
        raise


def _is_devnull(stream: Any) -> bool:
    try:
        return os.path.samestat(os.fstat(stream.fileno()), os.stat(os.devnull))
    except (OSError, ValueError, AttributeError):
        return False
