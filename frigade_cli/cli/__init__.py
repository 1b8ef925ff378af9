"""The `frigade` command: the Typer layer only (flags in, service called, result rendered)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from frigade_cli import __version__
from frigade_cli.app import App, current_app
from frigade_cli.config import Config
from frigade_cli.errors import FrigadeCliError
from frigade_cli.exit_codes import ExitCode
from frigade_cli.output import Terminal

# Click's own exceptions (usage errors, exits) are left to Typer, whichever Click it ships.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_PASS_THROUGH: tuple[type[BaseException], ...] = (_CLICK_EXCEPTION, typer.Exit, typer.Abort)


class FrigadeGroup(TyperGroup):
    """Turns every failure of a command into a one-line message and a documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except KeyboardInterrupt:
            _app().terminal.error("interrupted")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except FrigadeCliError as exc:
            app_ = _app()
            if app_.traceback:
                _print_traceback(app_)
            app_.terminal.error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
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


app = typer.Typer(
    cls=FrigadeGroup,
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

    Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 validation, 4 auth rejected,
    5 upstream/network failure, 6 threshold breached, 130 interrupted.
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
    from frigade_cli.cli import sandbox as sandbox_cli
    from frigade_cli.cli import segment as segment_cli

    app.add_typer(config_cli.app, name="config")
    app.add_typer(segment_cli.app, name="segment")
    app.command("sandbox")(sandbox_cli.sandbox)


_register()


def main() -> None:
    """Console-script entry point."""
    app()
