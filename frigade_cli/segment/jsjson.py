"""JSON as JavaScript's JSON.stringify writes it, so bodies and signatures match Segment's bytes."""

from __future__ import annotations

import math
from typing import Any

import orjson


def _js_number(value: Any) -> Any:
    # JSON.stringify(129.0) is "129": integral floats lose their ".0"; NaN/Infinity become null.
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): _js_number(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_js_number(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON with non-ASCII kept and integral floats written as integers."""
    return orjson.dumps(_js_number(value))


def loads(data: bytes | str) -> Any:
    """Parse JSON (bytes or text)."""
    return orjson.loads(data)
