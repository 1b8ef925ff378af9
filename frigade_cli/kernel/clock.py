"""Timestamps as Segment and Frigade write them (`2026-11-28T10:40:01.123Z`), fast per event."""

from __future__ import annotations

import re
import time
from datetime import date

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


# One ISO-8601 reader for every Python from 3.10 (whose datetime.fromisoformat refuses `Z`,
# 1-2 or 4-9 fraction digits and `-0530`): a date, optionally a time to the minute, second or
# nanosecond, and a zone `Z`/`z`/`+HH:MM`/`-HHMM`. Without a zone the time is UTC.
_ISO_8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:[Zz]|([+-])(\d{2}):?(\d{2}))?)?",
    re.ASCII,
)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_DIGITS = re.compile(r"\d+", re.ASCII)

# "YYYY-MM-DDTHH:MM:SS" -> epoch seconds, for the common `...SS.mmmZ` form (events share seconds).
_seconds_of: dict[str, int] = {}


def parse_iso_ms(value: object) -> int | None:
    """Epoch milliseconds of an ISO-8601 date or date-time string, or None when it is not one.

    Accepts `2026-11-29`, `2026-11-29T10:00Z`, `2026-11-29T10:00:01.12Z`, `...+05:30`,
    `...-0530`, `...+0000`, `z` for `Z`, `t` or a space for `T`, 1 to 9 fraction digits (cut,
    not rounded, to milliseconds, as JavaScript's Date.parse does); no zone means UTC. A date or
    time that does not exist (30 February, 10:61, offset 24:00) is None. The same on every
    supported Python.
    """
    if not isinstance(value, str):
        return None
    if (
        len(value) == 24
        and value[19] == "."
        and value[23] == "Z"
        and _DIGITS.fullmatch(value, 20, 23)
    ):
        seconds = _seconds_of.get(value[:19])
        if seconds is None:
            whole = _parse(value[:19])
            if whole is None:
                return None
            if len(_seconds_of) > 4096:
                _seconds_of.clear()
            seconds = _seconds_of[value[:19]] = whole // 1000
        return seconds * 1000 + int(value[20:23])
    return _parse(value)


def is_iso_8601(value: str) -> bool:
    """Whether `value` is a date or date-time `parse_iso_ms` reads."""
    return parse_iso_ms(value) is not None


def _parse(text: str) -> int | None:
    match = _ISO_8601.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, zone_h, zone_m = match.groups()
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_DAY
    except ValueError:
        return None
    h, m, s = int(hour or 0), int(minute or 0), int(second or 0)
    if h > 23 or m > 59 or s > 59:
        return None
    offset = 0
    if sign:
        if int(zone_h) > 23 or int(zone_m) > 59:
            return None
        offset = (int(zone_h) * 60 + int(zone_m)) * (1 if sign == "+" else -1)
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    return (((days * 24 + h) * 60 + m - offset) * 60 + s) * 1000 + millis
