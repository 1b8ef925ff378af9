"""JSON as JavaScript's JSON.stringify writes it, so bodies and signatures match Segment's bytes."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import orjson

_MAX_SAFE_INTEGER = 2**53  # beyond it a JavaScript number is a double that has lost digits


def _js_number(value: Any) -> Any:
    # JSON.stringify(129.0) is "129": integral floats lose their ".0"; NaN/Infinity become null.
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_SAFE_INTEGER:
        try:
            value = float(value)
        except OverflowError:
            return None
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < 1e21:
            if abs(value) <= _MAX_SAFE_INTEGER:
                return int(value)
            # JavaScript prints the shortest digits that identify the double, then zeros
            # (1e20 is "100000000000000000000"); past 64 bits orjson cannot write it as an int.
            return orjson.Fragment(str(int(Decimal(repr(value)))).encode())
        return value
    if isinstance(value, dict):
        return {str(k): _js_number(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_js_number(v) for v in value]
    return value


# orjson and JSON.stringify differ only on integral floats (orjson writes 129.0 and 1e+16 where
# JavaScript writes 129 and 10000000000000000) and on integers past 2**53. Substring searches
# (memchr-fast, unlike a regex over every digit) find anything that looks like either, even
# inside a string; only then is the exact path taken.
_INTEGRAL_FLOAT = re.compile(rb"\.0(?:[,\]}]|$)")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SIXTEEN_DIGITS = b"0" * 16


def _may_differ(data: bytes) -> bool:
    return (
        _INTEGRAL_FLOAT.search(data) is not None
        or b"e+" in data
        or _SIXTEEN_DIGITS in data.translate(_DIGITS_TO_ZERO)
    )


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON with non-ASCII kept and integral floats written as integers."""
    try:
        fast = orjson.dumps(value)
    except orjson.JSONEncodeError:  # an integer past 64 bits: JavaScript writes it as a double
        return orjson.dumps(_js_number(value))
    if _may_differ(fast):
        return orjson.dumps(_js_number(value))
    return fast


def loads(data: bytes | str) -> Any:
    """Parse JSON (bytes or text)."""
    return orjson.loads(data)
