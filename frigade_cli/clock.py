"""Timestamps as Segment and Frigade write them (`2026-11-28T10:40:01.123Z`), fast per event."""

from __future__ import annotations

import time
from datetime import datetime, timezone

# (epoch second, its "YYYY-MM-DDTHH:MM:SS" text); replaced as one object, so threads never mix them.
_second_text: tuple[int, str] = (-1, "")


def iso_from_ms(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds and `Z`; the seconds part is cached (events share seconds)."""
    global _second_text
    second, millis = divmod(epoch_ms, 1000)
    cached = _second_text
    if cached[0] != second:
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _second_text = cached
    return f"{cached[1]}.{millis:03d}Z"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def now_iso() -> str:
    return iso_from_ms(now_ms())


# "YYYY-MM-DDTHH:MM:SS" -> epoch seconds, for the common `...SS.mmmZ` form (events share seconds).
_seconds_of: dict[str, int] = {}


def parse_iso_ms(value: object) -> int | None:
    """Epoch milliseconds from an ISO-8601 string (naive means UTC), or None when unreadable."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    if len(value) == 24 and value[19] == "." and value[23] == "Z" and value[20:23].isdigit():
        seconds = _seconds_of.get(value[:19])
        if seconds is None:
            if len(_seconds_of) > 4096:
                _seconds_of.clear()
            parsed = _parse(value[:19] + "+00:00")
            if parsed is None:
                return None
            seconds = _seconds_of[value[:19]] = parsed // 1000
        return seconds * 1000 + int(value[20:23])
    return _parse(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)


def _parse(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)
