"""Batches that could not be delivered, kept as NDJSON so `--resend FILE` can send them again.

One line per batch: `{url, status, error, failed_at, messages}`. A line may also carry the
request as it was received (`request`: `{kind, method, path, query, headers, body,
received_at}`, headers without secrets), as `frigade segment tail` writes them (`--save`, and
relays that failed), so `tail --replay FILE` can send it again as it came.

The file format is the kernel's; what a message is and how it is written (JSON as JavaScript
writes it, Segment's message checks) is the caller's, passed in as a `SpoolCodec`."""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from frigade_cli.kernel.clock import now_iso
from frigade_cli.kernel.config import state_dir, write_private
from frigade_cli.kernel.errors import InputError, UnsavedError
from frigade_cli.kernel.redact import redact_text


@dataclass(frozen=True)
class SpoolCodec:
    """How a spool's lines are written and read, and how one message is checked.

    `dumps(record) -> bytes` (one line, no newline); `loads(bytes) -> Any`, raising
    `decode_error` (which has a `msg`) on invalid JSON; `check(message) -> str | None`, the
    problem with one message or None.
    """

    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]
    decode_error: type[ValueError]
    check: Callable[[Any], str | None]


@dataclass
class SpooledBatch:
    """One undelivered batch: where it was going, why it failed, and its messages."""

    url: str
    messages: list[dict[str, Any]]
    status: int | None = None
    error: str | None = None

    def record(self, secrets: Iterable[str | None] = ()) -> dict[str, Any]:
        """The spool line; the URL and the error pass the redaction (a server may echo a key)."""
        secrets = list(secrets)
        return {
            "url": redact_text(self.url, secrets),
            "status": self.status,
            "error": redact_text(self.error, secrets) if self.error else self.error,
            "failed_at": now_iso(),
            "messages": self.messages,
        }


def spool_dir() -> Path:
    return state_dir() / "spool"


def new_spool_path(kind: str = "webhook") -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return spool_dir() / f"{kind}-{stamp}-{uuid.uuid4().hex[:6]}.ndjson"


def write_spool(
    batches: Iterable[SpooledBatch],
    path: Path | None = None,
    secrets: Iterable[str | None] = (),
    *,
    codec: SpoolCodec,
) -> Path | None:
    """Write the batches (one JSON line each, mode 0600); None when there is nothing to keep.

    Streamed: each batch is encoded and written as it comes, so memory stays flat however many
    batches there are. Raises UnsavedError (exit 7) naming the directory and the reason when it
    cannot be written.
    """
    secrets = list(secrets)
    items = iter(batches)
    first = next(items, None)
    if first is None:
        return None
    target = path or new_spool_path()
    partial = target.with_name(f".{target.name}.partial")
    events = 0
    pending = itertools.chain([first], items)
    try:
        # Written aside then renamed: a resend rewriting its own file never leaves it half-done.
        write_private(partial, b"")
        with open(partial, "wb", buffering=1 << 20) as out:
            for batch in pending:
                events += len(batch.messages)
                out.write(codec.dumps(batch.record(secrets)) + b"\n")
        os.replace(partial, target)
    except OSError as exc:
        # Count what was left to write too: the message must say how many events are lost.
        events += sum(len(b.messages) for b in pending)
        with contextlib.suppress(OSError):
            partial.unlink()
        reason = exc.strerror or type(exc).__name__
        if target.parent.exists() and not target.parent.is_dir():
            reason = "it is a file, not a directory"
        raise UnsavedError(
            f"could not save {events} undelivered event{'s' if events != 1 else ''} to "
            f"{target.parent}: {reason}",
            hint="make that directory writable, or point FRIGADE_STATE_DIR at one that is",
        ) from None
    return target


class SpoolAppender:
    """Writes spool lines one at a time as they happen, flushed each, to a file made 0600.

    The file is opened on the first line (`path`, or a new file in the spool directory named
    after `kind`) and appended to when it exists. Raises UnsavedError (exit 7) naming the file
    and the reason when it cannot be opened or written.
    """

    def __init__(self, codec: SpoolCodec, path: Path | None = None, kind: str = "tail") -> None:
        self.codec = codec
        self.path = path
        self.kind = kind
        self.lines = 0
        self.events = 0
        self._handle: Any = None

    def open(self) -> Path:
        """Open (create, or append to) the file now; its path."""
        if self._handle is None:
            target = self.path or new_spool_path(self.kind)
            try:
                if self.path is None:
                    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.fchmod(fd, 0o600)  # an existing file gets the mode of one holding events
                self._handle = os.fdopen(fd, "ab")
            except OSError as exc:
                raise UnsavedError(
                    f"cannot write {target}: {exc.strerror or type(exc).__name__}",
                    hint="name a file in a writable directory",
                ) from None
            self.path = target
        assert self.path is not None
        return self.path

    def write(self, record: dict[str, Any], events: int = 0) -> None:
        """Append one record (`events` of them counted) and flush it to the file."""
        path = self.open()
        try:
            self._handle.write(self.codec.dumps(record) + b"\n")
            self._handle.flush()
        except OSError as exc:
            raise UnsavedError(
                f"cannot write {path}: {exc.strerror or type(exc).__name__}",
                hint="free some space or name another file",
            ) from None
        self.lines += 1
        self.events += events

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None


def iter_records(path: Path, codec: SpoolCodec) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each non-empty line of a spool file, without checking the
    records' messages (`check_spool` does). InputError (exit 3) naming the file and line for an
    unreadable file or a line that is not a JSON object."""
    try:
        handle = open(path, "rb")  # noqa: SIM115  # closed below; the generator owns it
    except OSError as exc:
        raise InputError(f"{path}: cannot read spool file ({exc.strerror})") from None
    with handle:
        number = 0
        while True:
            try:
                line = handle.readline()
            except OSError as exc:
                raise InputError(f"{path}: cannot read spool file ({exc.strerror})") from None
            if not line:
                return
            number += 1
            if not line.strip():
                continue
            try:
                record = codec.loads(line)
            except codec.decode_error as exc:
                raise InputError(
                    f"{path} line {number}: invalid JSON ({getattr(exc, 'msg', exc)})"
                ) from None
            if not isinstance(record, dict):
                raise InputError(f"{path} line {number}: not a spool record (a JSON object)")
            yield number, record


@dataclass
class SpoolSummary:
    """A checked spool file: where its first batch was going and how many events it holds."""

    path: Path
    url: str
    batches: int
    events: int
    codec: SpoolCodec

    def batches_iter(self) -> Iterator[SpooledBatch]:
        """Its batches, read again one line at a time (memory stays flat); InputError (exit 3)
        if the file changed into something invalid since it was checked."""
        return _iter_spool(self.path, self.codec)


def check_spool(path: Path, codec: SpoolCodec) -> SpoolSummary:
    """Read a spool file once, line by line, checking every message as a fixture message is,
    keeping only counts (memory stays flat however large the file).

    InputError (exit 3) naming the file and line for: unreadable file, invalid JSON, a line
    without a non-empty `messages` array, a message that is not a valid Segment message, and
    a file with no batches.
    """
    url: str | None = None
    batches = events = 0
    for batch in _iter_spool(path, codec):
        if url is None:
            url = batch.url
        batches += 1
        events += len(batch.messages)
    if not batches:
        raise InputError(f"{path}: the spool file holds no batches")
    return SpoolSummary(path=path, url=url or "", batches=batches, events=events, codec=codec)


def read_spool(path: Path, codec: SpoolCodec) -> list[SpooledBatch]:
    """Every batch of a spool file, in a list (small files; `check_spool` streams). Errors as
    `check_spool`."""
    batches = list(_iter_spool(path, codec))
    if not batches:
        raise InputError(f"{path}: the spool file holds no batches")
    return batches


def _iter_spool(path: Path, codec: SpoolCodec) -> Iterator[SpooledBatch]:
    for number, record in iter_records(path, codec):
        messages = record.get("messages")
        if not isinstance(messages, list):
            raise InputError(f"{path} line {number}: not a spooled batch (no 'messages' array)")
        if not messages:
            raise InputError(f"{path} line {number}: the 'messages' array is empty")
        for index, message in enumerate(messages, start=1):
            problem = codec.check(message)
            if problem:
                raise InputError(f"{path} line {number} message {index}: {problem}")
        yield SpooledBatch(
            url=str(record.get("url") or ""),
            messages=messages,
            status=record.get("status"),
            error=record.get("error"),
        )
