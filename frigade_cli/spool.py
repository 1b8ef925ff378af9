"""Batches that could not be delivered, kept as NDJSON so `--resend FILE` can send them again."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from frigade_cli.clock import now_iso
from frigade_cli.config import state_dir, write_private
from frigade_cli.errors import InputError, UnsavedError
from frigade_cli.redact import redact_text
from frigade_cli.segment import jsjson


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
) -> Path | None:
    """Write the batches (one JSON line each, mode 0600); None when there is nothing to keep.

    Raises UnsavedError (exit 7) naming the directory and the reason when it cannot be written.
    """
    secrets = list(secrets)
    records = [b.record(secrets) for b in batches]
    if not records:
        return None
    events = sum(len(r["messages"]) for r in records)
    target = path or new_spool_path()
    # As JavaScript writes them: messages a fixture may hold (a lone surrogate, a big integer)
    # are kept exactly, so a resend sends the bytes the first attempt did.
    data = b"".join(jsjson.dumps(r) + b"\n" for r in records)
    partial = target.with_name(f".{target.name}.partial")
    try:
        # Written aside then renamed: a resend rewriting its own file never leaves it half-done.
        write_private(partial, data)
        os.replace(partial, target)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if target.parent.exists() and not target.parent.is_dir():
            reason = "it is a file, not a directory"
        raise UnsavedError(
            f"could not save {events} undelivered event{'s' if events != 1 else ''} to "
            f"{target.parent}: {reason}",
            hint="make that directory writable, or point FRIGADE_STATE_DIR at one that is",
        ) from None
    return target


def read_spool(path: Path) -> list[SpooledBatch]:
    """The batches of a spool file, each message checked as a fixture message is.

    InputError (exit 3) naming the file and line for: unreadable file, invalid JSON, a line
    without a non-empty `messages` array, a message that is not a valid Segment message.
    """
    from frigade_cli.segment.messages import message_problem

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read spool file ({exc.strerror})") from None
    batches: list[SpooledBatch] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = jsjson.loads(line)
        except jsjson.JSONDecodeError as exc:
            raise InputError(f"{path} line {number}: invalid JSON ({exc.msg})") from None
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list):
            raise InputError(f"{path} line {number}: not a spooled batch (no 'messages' array)")
        if not messages:
            raise InputError(f"{path} line {number}: the 'messages' array is empty")
        for index, message in enumerate(messages, start=1):
            problem = message_problem(message)
            if problem:
                raise InputError(f"{path} line {number} message {index}: {problem}")
        batches.append(
            SpooledBatch(
                url=str(record.get("url") or ""),
                messages=messages,
                status=record.get("status"),
                error=record.get("error"),
            )
        )
    if not batches:
        raise InputError(f"{path}: the spool file holds no batches")
    return batches
