"""The one output layer: data on stdout, messages and progress on stderr, JSON for machines."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from frigade_cli.kernel.redact import redact_text

# C0 and C1 control characters but tab and newline: text a server sent (an error body, an
# event name) must not move the cursor, recolour or clear the reader's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with control characters shown as escapes (`\\x1b`), for people's terminals.

    With `one_line`, newlines and tabs are escaped too. JSON output needs none of this: JSON
    escapes control characters itself.
    """
    pattern = _CONTROL_OR_NEWLINE if one_line else _CONTROL
    if pattern.search(text) is None:
        return text
    return pattern.sub(lambda m: repr(m.group())[1:-1], text)


# What XML 1.0 cannot hold (C0 controls but tab, newline and carriage return; lone surrogates;
# U+FFFE, U+FFFF) and what a reader's terminal or a Markdown page would act on (DEL, C1).
_NOT_IN_DOCUMENTS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def document_text(text: str) -> str:
    """`text` fit for a file other programs parse (JUnit XML, a Markdown step summary): each
    character XML 1.0 cannot hold, or that a terminal or a page would act on, is written as the
    escape people see on the terminal (`\\x1b`, `\\udcff`); tab and newlines stay.

    The one rule for every XML or Markdown file the tool writes: a value from outside (a flag, a
    server's message) is shown, escaped, never refused and never written raw.
    """
    if _NOT_IN_DOCUMENTS.search(text) is None:
        return text
    return _NOT_IN_DOCUMENTS.sub(lambda m: repr(m.group())[1:-1], text)


if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.text import Text


class Terminal:
    """Streams and display flags for one invocation; commands print only through it."""

    def __init__(self, *, verbose: int = 0, quiet: bool = False, secrets: Iterable[str] = ()):
        self.verbose = verbose
        self.quiet = quiet
        self._secrets: set[str] = {s for s in secrets if s}
        self._out: Console | None = None
        self._err: Console | None = None

    # Secrets -----------------------------------------------------------------------------------
    def add_secret(self, *secrets: str | None) -> None:
        """Register values that must never be printed verbatim."""
        self._secrets.update(s for s in secrets if s)

    def quieter(self) -> Terminal:
        """A terminal for work done on this one's behalf: messages off (debug lines still on
        with -v), the same secrets, shared, so a key one learns is redacted by both."""
        other = Terminal(verbose=self.verbose, quiet=True)
        other._secrets = self._secrets
        return other

    def redact(self, text: str) -> str:
        return redact_text(text, self._secrets)

    def shown(self, text: str, *, one_line: bool = False) -> str:
        """Text for people: redacted, control characters escaped (see `printable`)."""
        return printable(self.redact(text), one_line=one_line)

    # Streams (rich imported lazily: it is the heaviest import of a plain command) -------------
    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            # Piped output is for reading in logs: do not squeeze it into 80 columns.
            width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 200)
            self._out = _quiet_on_broken_pipe(
                Console(file=sys.stdout, highlight=False, soft_wrap=True, width=width)
            )
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
            setattr(self._err, "on_broken_pipe", _drop_messages)  # noqa: B010

        return self._err

    @property
    def stderr_is_tty(self) -> bool:
        return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"

    # Data on stdout -----------------------------------------------------------------------------
    def json(self, document: Any) -> None:
        """One JSON document on stdout (redacted), readable by jq."""
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2, default=str).decode()
        sys.stdout.write(self.redact(text) + "\n")
        sys.stdout.flush()

    def json_line(self, document: Any) -> None:
        """One JSON Lines record on stdout, flushed at once (for streams)."""
        sys.stdout.write(self.redact(orjson.dumps(document, default=str).decode()) + "\n")
        sys.stdout.flush()

    def json_lines(self, documents: Sequence[Any]) -> None:
        """JSON Lines on stdout (compact, redacted), in one write flushed at once: a stream's
        batch reaches a pipe whole and without delay."""
        if not documents:
            return
        data = b"\n".join(map(orjson.dumps, documents)) + b"\n"
        self.write_text_bytes(data)

    def lines(self, lines: Sequence[str]) -> None:
        """Plain lines of data on stdout (redacted), in one write flushed at once."""
        if lines:
            self.write_text_bytes(("\n".join(lines) + "\n").encode())

    def write_text_bytes(self, data: bytes) -> None:
        """UTF-8 text on stdout, redacted, flushed. BrokenPipeError when the reader is gone."""
        text = data.decode()
        shown = self.redact(text)
        if shown is not text and shown != text:
            data = shown.encode()
        binary = getattr(sys.stdout, "buffer", None)
        if binary is None:
            sys.stdout.write(shown)
            sys.stdout.flush()
            return
        sys.stdout.flush()  # anything written as text before goes first
        binary.write(data)
        binary.flush()

    def status_line(self, document: Any) -> None:
        """One JSON line on stderr for scripts (a ready line), redacted; shown even when quiet."""
        sys.stderr.write(self.redact(orjson.dumps(document, default=str).decode()) + "\n")
        sys.stderr.flush()

    def line(self, text: str = "") -> None:
        """A plain line of data on stdout."""
        sys.stdout.write(self.shown(text) + "\n")
        sys.stdout.flush()

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        title: str | None = None,
        show_header: bool = True,
    ) -> None:
        """A table on stdout for people."""
        from rich.table import Table

        table = Table(
            title=title, show_edge=False, header_style="bold", show_header=show_header, box=None
        )
        for column in columns:
            table.add_column(column, overflow="fold")  # never cut a value with '…'
        for row in rows:
            table.add_row(*(self.shown(str(cell)) for cell in row))
        self.out.print(table)

    # Messages on stderr -------------------------------------------------------------------------
    def info(self, text: str) -> None:
        if not self.quiet:
            # Text, not markup=False: that flag would also reach a live progress bar's columns.
            self.err.print(_plain(self.shown(text)))

    def success(self, text: str) -> None:
        if not self.quiet:
            self.err.print(f"[green]✓[/green] {_escape(self.shown(text))}")

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {_escape(self.shown(text))}")

    def error(self, text: str, hint: str | None = None) -> None:
        # One line, so a CI log shows the whole story where it failed.
        message = f"{text}; {hint}" if hint else text
        shown = _escape(self.shown(message, one_line=True))
        self.err.print(f"[red]error:[/red] {shown}", soft_wrap=True)

    def debug(self, text: str) -> None:
        if self.verbose:
            self.err.print(_plain(self.shown(text), "dim"))

    def progress(self, total: int, description: str) -> Progress | None:
        """A progress bar on stderr, only when stderr is a terminal and output is not quiet."""
        if self.quiet or not self.stderr_is_tty:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
        )
        progress.add_task(description, total=total)
        return progress


def _plain(text: str, style: str = "") -> Text:
    from rich.text import Text

    return Text(text, style=style)


def _raise_broken_pipe() -> None:
    raise BrokenPipeError()


def _quiet_on_broken_pipe(console: Console) -> Console:
    """rich exits 1 when its pipe closes; raise instead, so the CLI can end quietly with 0."""
    setattr(console, "on_broken_pipe", _raise_broken_pipe)  # noqa: B010  # a method, per instance
    return console


def _drop_messages() -> None:
    """Nobody reads stderr any more: drop messages from now on, and let the data go on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stderr.fileno())
    finally:
        os.close(devnull)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
