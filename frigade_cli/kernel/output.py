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
# event name) must not move the cursor, recolour or clear the reader's terminal; nor may the
# bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what it shows.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with control characters shown as escapes (`\\x1b`), for people's terminals.

    With `one_line`, newlines and tabs are escaped too. JSON output needs none of this: JSON
    escapes control characters itself.
    """
    pattern = _CONTROL_OR_NEWLINE if one_line else _CONTROL
    if pattern.search(text) is None:
        return text
    return pattern.sub(lambda m: repr(m.group())[1:-1], text)


MAX_ERROR_LINE = 400  # characters of an error line (after `error: `), hint included
_MAX_HINT = 200


def capped(text: str, hint: str | None = None, limit: int = MAX_ERROR_LINE) -> str:
    """`text; hint` in at most `limit` characters: the text is cut, saying how much was left
    out; the hint (what to do) is kept whole unless it is itself too long."""
    if hint and len(hint) > _MAX_HINT:
        hint = hint[: _MAX_HINT - 1].rstrip() + "…"
    tail = f"; {hint}" if hint else ""
    if len(text) + len(tail) <= limit:
        return text + tail
    cut = limit - len(tail) - len(" … (+000000 characters; -v shows all)")
    left_out = len(text) - cut
    return f"{text[:cut].rstrip()} … (+{left_out} characters; -v shows all){tail}"


def counted(n: int, noun: str) -> str:
    """`1 batch`, `2 batches`, `0 events`: a count with its noun in the right number."""
    if n == 1:
        return f"{n} {noun}"
    plural = noun + "es" if noun.endswith(("ch", "sh", "s", "x")) else noun + "s"
    return f"{n} {plural}"


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
        """A table on stdout for people.

        Text wraps at spaces; a word is never folded (a URL or a path stays whole, to be copied):
        when the longest words of the columns do not fit the terminal, the table is laid out
        wider and the terminal wraps its lines.
        """
        from rich.table import Table

        table = Table(
            title=title, show_edge=False, header_style="bold", show_header=show_header, box=None
        )
        for column in columns:
            table.add_column(column, overflow="fold")  # never cut a value with '…'
        shown = [[self.shown(str(cell)) for cell in row] for row in rows]
        for row in shown:
            table.add_row(*row)
        cells = [[*row, *[""] * (len(columns) - len(row))] for row in [list(columns), *shown]]
        words = [max((len(w) for row in cells for w in row[i].split()), default=0)
                 for i in range(len(columns))]  # fmt: skip
        width = self.out.width
        if sum(words) + 2 * len(columns) <= width:  # one space of padding each side of a cell
            self.out.print(table)
            return
        # Some word cannot fit: lay the table out at its natural width, nothing wrapped.
        natural = [max(len(row[i]) for row in cells) for i in range(len(columns))]
        self.out.width = sum(natural) + 2 * len(columns)  # rich caps a print at this width
        try:
            self.out.print(table)
        finally:
            self.out.width = width

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
        # One line, so a CI log shows the whole story where it failed; a readable one (a
        # server's whole error page is cut), unless -v asks for everything.
        text = self.shown(text, one_line=True)
        hint = self.shown(hint, one_line=True) if hint else None
        message = (f"{text}; {hint}" if hint else text) if self.verbose else capped(text, hint)
        self.err.print(f"[red]error:[/red] {_escape(message)}", soft_wrap=True)

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
