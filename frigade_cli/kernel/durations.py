"""Durations as users write them on the command line (`250ms`, `2s`, `1.5`, `1m`, `2d`): one
parser."""

from __future__ import annotations

import math
import re

from frigade_cli.kernel.errors import InputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | float | int, what: str = "duration") -> float:
    """Seconds from `250ms`, `2s`, `1.5` (seconds), `1m`, `1h` or `2d`; InputError when
    unreadable."""
    if isinstance(value, bool):
        raise InputError(f"{what} {value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if not match:
            raise InputError(
                f"{what} {value!r} is not a duration: use e.g. 250ms, 2s, 1.5 (seconds) or 1m"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    if seconds < 0 or seconds != seconds:
        raise InputError(f"{what} {value!r} must not be negative")
    return seconds


def finite(value: float, what: str) -> float:
    """`value` when it is a finite number; InputError (exit 3) for `inf` or `nan`.

    Click reads `inf` and `nan` as floats, and a range check alone lets `inf` through.
    """
    if not math.isfinite(value):
        raise InputError(f"{what} {value} is not a finite number")
    return value
