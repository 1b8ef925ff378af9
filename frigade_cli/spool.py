"""Batches that could not be delivered, kept as NDJSON so `--resend FILE` can send them again."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from frigade_cli.clock import now_iso
from frigade_cli.config import state_dir, write_private
from frigade_cli.errors import InputError


@dataclass
class SpooledBatch:
    """One undelivered batch: where it was going, why it failed, and its messages."""

    url: str
    messages: list[dict[str, Any]]
    status: int | None = None
    error: str | None = None

    def record(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "failed_at": now_iso(),
            "messages": self.messages,
        }


def spool_dir() -> Path:
    return state_dir() / "spool"


def new_spool_path(kind: str = "webhook") -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return spool_dir() / f"{kind}-{stamp}-{uuid.uuid4().hex[:6]}.ndjson"


def write_spool(batches: Iterable[SpooledBatch], path: Path | None = None) -> Path | None:
    """Write the batches (one JSON line each, mode 0600); None when there is nothing to keep."""
    lines = [orjson.dumps(b.record()) for b in batches]
    if not lines:
        return None
    target = path or new_spool_path()
    write_private(target, b"\n".join(lines) + b"\n")
    return target


def read_spool(path: Path) -> list[SpooledBatch]:
    """The batches of a spool file; a malformed line is an error naming the file and line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read spool file ({exc.strerror})") from None
    batches: list[SpooledBatch] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{path} line {number}: invalid JSON ({exc.msg})") from None
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise InputError(f"{path} line {number}: not a spooled batch (no 'messages' array)")
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
