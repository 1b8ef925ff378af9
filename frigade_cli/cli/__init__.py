"""The `frigade` command: the Typer layer only (flags in, service called, result rendered)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from frigade_cli import __version__
from frigade_cli.cli import options
from frigade_cli.kernel import interrupts
from frigade_cli.kernel.app import App, current_app
from frigade_cli.kernel.config import Config
from frigade_cli.kernel.errors import FrigadeCliError
from frigade_cli.kernel.exit_codes import USAGE_RULE, ExitCode
from frigade_cli.kernel.interrupts import TerminateSignal
from frigade_cli.kernel.output import Terminal

# Click's own exceptions (usage errors, exits) are left to Typer, whichever Click it ships.
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
_PASS_THROUGH: tuple[type[BaseException], ...] = (_CLICK_EXCEPTION, typer.Exit, typer.Abort)


# Commands whose normal end is a signal (README): stopped at any moment, they exit 0.
SIGNAL_ENDS_NORMALLY = frozenset({("segment", "tail"), ("sandbox",)})


_ClickHelpFormatter: Any = typer.Context.formatter_class


class HelpFormatter(_ClickHelpFormatter):  # type: ignore[misc]
    """Click's help layout, except that a URL or a path is never broken mid-word on a narrow
    terminal: a row holding a word longer than the column is laid out wider (the terminal
    wraps the line, and a copied URL still works)."""

    width: int  # Click's: the line width the help is laid out in

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        terms = [len(term) for term, _ in rows]
        first = min(max(terms, default=0), col_max)
        width = self.width
        for term, text in rows:
            longest = max((len(word) for word in text.split()), default=0)
            # Click wraps the second column at width - (first column + spacing) - 2.
            self.width = max(width, longest + first + col_spacing + 2)
            try:
                # Padded so that each row, laid out alone, keeps the list's first column.
                padded = term.ljust(first) if len(term) <= first else term
                super().write_dl([(padded, text)], col_max, col_spacing)
            finally:
                self.width = width


class FrigadeContext(typer.Context):
    """The context of every command: help laid out by `HelpFormatter`."""

    formatter_class = HelpFormatter


class FrigadeGroup(TyperGroup):
    """Turns every failure of a command into a one-line message and a documented exit code."""

    context_class = FrigadeContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_placeholders(self)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        current_app.set(App())  # this invocation's, even when its command line is wrong
        options.new_command_line()
        try:
            remaining, chosen = lift_global_options(self, ctx, args)
            current_app.set(
                App(
                    terminal=Terminal(verbose=chosen.verbose, quiet=chosen.quiet),
                    config=Config(profile=chosen.profile),
                    traceback=chosen.traceback,
                )
            )
            rest = super().parse_args(ctx, remaining)
        except _CLICK_EXCEPTION as exc:
            _settle_click_error(exc)
            raise
        ctx.meta["frigade.command"] = self._command_path(ctx)
        return rest

    def format_options(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Global options (before or after the command)"):
            formatter.write_dl([(names, help_) for names, _, help_ in GLOBAL_OPTIONS])
        super().format_options(ctx, formatter)

    def _command_path(self, ctx: Any) -> tuple[str, ...]:
        """The names of the command about to run (`("segment", "tail")`), from the words left
        after the global options; as far as they name commands."""
        words = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        path: list[str] = []
        command: Any = self
        for word in words:
            # A group is what has subcommands (Typer's groups are not Click's Group class).
            if not hasattr(command, "get_command") or word.startswith("-"):
                break
            command = command.get_command(ctx, word)
            if command is None:
                break
            path.append(word)
        return tuple(path)

    def invoke(self, ctx: Any) -> Any:
        try:
            # The command is known: a signal that came during start-up acts now, and later
            # ones raise where they land (the handlers below turn them into exit codes).
            interrupts.arm()
            return super().invoke(ctx)
        except _PASS_THROUGH as exc:
            _settle_click_error(exc)
            raise
        except KeyboardInterrupt as exc:
            _stopped_by_signal(ctx, isinstance(exc, TerminateSignal))
        except FrigadeCliError as exc:
            if interrupts.signal_was_raised():
                # The signal's exception was caught on the way and turned into an outcome
                # (a request "not sent", a finding): the run was cut short all the same.
                _stopped_by_signal(ctx, interrupts.terminate_was_raised())
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
            if interrupts.signal_was_raised():
                # A library caught the signal's exception and raised its own instead.
                _stopped_by_signal(ctx, interrupts.terminate_was_raised())
            app_ = _app()
            if app_.traceback:
                _print_traceback(app_)
            app_.terminal.error(
                f"unexpected {type(exc).__name__}: {exc}",
                hint="this is a bug in frigade-cli; run again with --traceback and report it",
            )
            raise typer.Exit(ExitCode.ERROR) from None


def _stopped_by_signal(ctx: Any, terminated: bool) -> NoReturn:
    """End a command a signal cut short: one line and 143 (SIGTERM) or 130 (Ctrl-C); 0 and
    "stopped" for the commands whose normal end is a signal (tail, sandbox)."""
    interrupts.ignore_signals()
    if ctx.meta.get("frigade.command") in SIGNAL_ENDS_NORMALLY:
        _report(lambda: _app().terminal.info("stopped"))
        raise typer.Exit(ExitCode.OK) from None
    raise typer.Exit(_ended_by_signal(terminated)) from None


def _settle_click_error(exc: BaseException) -> None:
    """Click's own errors, reported as the tool's: one line on stderr, the rule's exit code.

    Raises typer.Exit for a Click error (usage errors: 2; a number outside an option's range:
    3, like every other unacceptable value, USAGE_RULE); returns, for the caller to re-raise,
    for anything else (an exit, an abort, the help shown for a bare group). The message is
    redacted (a usage error quotes the value given, which may be a key).
    """
    if not isinstance(exc, _CLICK_EXCEPTION) or type(exc).__name__ == "NoArgsIsHelpError":
        return
    ctx = getattr(exc, "ctx", None)
    if _is_out_of_range(exc):
        message, code, hint = _range_message(exc), ExitCode.VALIDATION, None
    else:
        message = str(getattr(exc, "message", exc))
        if getattr(exc, "param", None) is not None and not message.startswith("-"):
            message = exc.format_message()  # type: ignore[attr-defined]  # names the option
        code = getattr(exc, "exit_code", ExitCode.USAGE)
        hint = f"see '{ctx.command_path} --help'" if ctx is not None else None
    message = message[:1].lower() + message[1:].rstrip(".")
    _report(lambda: _app().terminal.error(message, hint))
    raise typer.Exit(code) from None


def usage_error(message: str, ctx: Any = None) -> Exception:
    """A Click usage error (exit 2, reported as one line) for checks made while parsing."""
    usage = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
    return usage(message, ctx=ctx)  # type: ignore[no-any-return]


def _range_message(exc: BaseException) -> str:
    """`--limit 0 is out of range: use a number from 1 to 10000` (the tool's own wording)."""
    param = getattr(exc, "param", None)
    names = sorted(getattr(param, "opts", None) or ["the value"], key=len, reverse=True)
    value = None
    errors = getattr(exc.__cause__, "errors", None)
    if callable(errors):
        with contextlib.suppress(Exception):
            value = errors()[0].get("input")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        allowed = f"from {low:g} to {high:g}"
    elif low is not None:
        allowed = f"of at least {low:g}"
    else:
        allowed = f"of at most {high:g}" if high is not None else "in range"
    given = f" {value}" if value is not None else ""
    return f"{names[0]}{given} is out of range: use a number {allowed}"


_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def _is_out_of_range(exc: BaseException) -> bool:
    """A number that parsed but is outside the option's `min`/`max` (Typer's coercion, whose
    cause lists the bound that failed)."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return False
    try:
        kinds = {error.get("type") for error in errors()}
    except Exception:
        return False
    return bool(kinds) and kinds <= _RANGE_ERRORS


def _name_placeholders(command: Any) -> None:
    """Give every option of the tree a placeholder that says what to write (`URL`, `N`,
    `FILE`, `DURATION`) where Typer would show a Python type (`<str>`, `<list[str]>`,
    `<float range>`). An option's own `metavar` wins; choices keep their list."""
    command.context_class = FrigadeContext
    for param in getattr(command, "params", ()):
        if getattr(param, "metavar", None) is None and not getattr(param, "is_flag", False):
            param.metavar = _placeholder(param)
    for sub in getattr(command, "commands", {}).values():
        _name_placeholders(sub)


def _placeholder(param: Any) -> str | None:
    from typing import get_args, get_origin

    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or descriptor.is_choice:
        return None
    if descriptor.is_path:
        return "FILE"
    annotation = descriptor.annotation
    while get_origin(annotation) is list or type(None) in get_args(annotation):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if annotation is int:
        return "N"
    if annotation is float:
        return "NUMBER"
    if param.param_type_name == "argument":
        return str(param.name).upper()
    longest: str = max([*param.opts, *param.secondary_opts], key=len)
    return longest.lstrip("-").rsplit("-", 1)[-1].upper()


# Global options ---------------------------------------------------------------------------------
# Read by our own small parser wherever they stand (`frigade -v segment tail` or `frigade segment
# tail -v`), so the root group declares none for Typer to coerce on every run.
GLOBAL_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("-p, --profile NAME", "profile", "Config profile to use (default: 'default').  [env var: "
     "FRIGADE_PROFILE]"),
    ("-v, --verbose", "verbose", "Log each HTTP request to stderr (keys redacted)."),
    ("-q, --quiet", "quiet", "Only errors on stderr; data still on stdout. Not with -v."),
    ("--traceback", "traceback", "Print the full traceback on errors (redacted)."),
)  # fmt: skip
_GLOBAL_NAMES = {
    "--profile": "profile", "-p": "profile", "--verbose": "verbose", "-v": "verbose",
    "--quiet": "quiet", "-q": "quiet", "--traceback": "traceback",
}  # fmt: skip


@dataclass
class GlobalChoices:
    """The global options a command line gave."""

    profile: str | None = None
    verbose: int = 0
    quiet: bool = False
    traceback: bool = False


def lift_global_options(root: Any, ctx: Any, args: list[str]) -> tuple[list[str], GlobalChoices]:
    """The arguments without the global options, and what those said.

    Walks the command line with the command tree: a word naming a subcommand descends into it,
    an option of the command reached keeps its value (so `--user-id -v` is not taken for -v),
    and `--` ends the options. Raises a Click usage error (exit 2) for `--profile` without a
    name and for `-v` with `-q`.
    """
    chosen = GlobalChoices()
    remaining: list[str] = []
    command: Any = root
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        own = _takes_value(command)
        if word == "--":
            remaining += args[i - 1 :]
            break
        name, equals, attached = word.partition("=")
        if not word.startswith("-") or len(word) < 2:
            sub = command.get_command(ctx, word) if hasattr(command, "get_command") else None
            command = sub or command
            remaining.append(word)
            continue
        if name in own or word[:2] in own:
            remaining.append(word)
            takes = own.get(name if name in own else word[:2])
            if takes and not equals and name in own and i < len(args):
                remaining.append(args[i])  # the option's value, whatever it looks like
                i += 1
            continue
        if name in _GLOBAL_NAMES and _GLOBAL_NAMES[name] == "profile":
            if not equals:
                if i >= len(args):
                    raise usage_error(f"option '{name}' requires an argument", ctx)
                attached, i = args[i], i + 1
            chosen.profile = attached
        elif word in _GLOBAL_NAMES:
            _set_flag(chosen, _GLOBAL_NAMES[word])
        elif word.startswith("-p") and not word.startswith("--"):
            chosen.profile = word[2:]
        elif not word.startswith("--") and set(word[1:]) <= {"v", "q"}:
            for letter in word[1:]:
                _set_flag(chosen, _GLOBAL_NAMES["-" + letter])
        else:
            remaining.append(word)
    if chosen.verbose and chosen.quiet:
        raise usage_error("-v/--verbose and -q/--quiet cannot be used together", ctx)
    return remaining, chosen


def _set_flag(chosen: GlobalChoices, name: str) -> None:
    if name == "verbose":
        chosen.verbose += 1
    else:
        setattr(chosen, name, True)


def _takes_value(command: Any) -> dict[str, bool]:
    """The option names of `command` and whether each takes a value."""
    names: dict[str, bool] = {}
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", "") != "option":
            continue
        takes = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
        for opt in [*param.opts, *param.secondary_opts]:
            names[opt] = takes
    return names


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
    """Console-script entry point (after `frigade_cli.__main__` deferred the signals): a signal
    at any moment ends the run with its documented code and one line; a closed pipe exits 0."""
    stdout_was_devnull = _is_devnull(sys.stdout)
    code: Any = ExitCode.OK
    try:
        app()
    except BrokenPipeError:
        silence_closed_streams()
        code = ExitCode.OK
    except KeyboardInterrupt as exc:
        # Raised outside a command (while Click builds or closes its context).
        code = _ended_by_signal(isinstance(exc, TerminateSignal))
    except Exception:
        if not interrupts.signal_was_raised():
            raise
        # A library caught the signal's exception outside a command and raised its own.
        code = _ended_by_signal(interrupts.terminate_was_raised())
    except SystemExit as exc:
        code = exc.code
        # Click (wrapping the streams) and rich (pointing stdout at /dev/null) answer a closed
        # pipe outside a command, e.g. `frigade --help | head -1`, with exit 1; a reader that
        # stopped reading is not an error.
        pacified = type(sys.stdout).__name__.lstrip("_") == "PacifyFlushWrapper"
        if code == 1 and (pacified or (not stdout_was_devnull and _is_devnull(sys.stdout))):
            silence_closed_streams()
            code = ExitCode.OK
        elif code == ExitCode.INTERRUPTED and interrupts.terminate_was_raised():
            # Typer answers a KeyboardInterrupt outside a command with a silent 130.
            code = _ended_by_signal(True)
    lost = interrupts.swallowed_signal()
    if lost is not None and code in (None, 0):
        # The signal came while Python ran a callback, which lost its exception; the command
        # then finished as if it had not come.
        code = _ended_by_signal(lost == signal.SIGTERM)
    _exit(code)


def _ended_by_signal(terminated: bool) -> ExitCode:
    """A run a signal cut short, outside a command: later signals ignored (so none cuts the
    line short), one line, and 143 (SIGTERM) or 130 (Ctrl-C)."""
    interrupts.ignore_signals()
    _report(lambda: _app().terminal.error("terminated" if terminated else "interrupted"))
    return ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED


def _exit(code: Any) -> None:
    """Exit with `code`; after a signal, without waiting on threads a stop left behind."""
    import threading

    interrupts.ignore_signals()
    stopped = isinstance(code, int) and code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED)
    if stopped and any(t.is_alive() and not t.daemon for t in threading.enumerate()[1:]):
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(int(code))
    sys.exit(code)


def _is_devnull(stream: Any) -> bool:
    try:
        return os.path.samestat(os.fstat(stream.fileno()), os.stat(os.devnull))
    except (OSError, ValueError, AttributeError):
        return False
