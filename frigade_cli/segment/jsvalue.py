"""JSON values as JavaScript code sees them: member access, `String(x)`, `Number(x)`, truthiness.

Segment's Actions runtime is JavaScript, so a trigger compares what `JSON.parse` made of an event
with JavaScript's rules, not Python's: `"abc".length` is 3, `{}.constructor` exists, `0 && x` is
`0`, `Number("0x10")` is 16, `String(1e21)` is `1e+21`. Facts from ECMA-262 (StringToNumber,
Number::toString, property lookup along the prototype chain) and the prototypes of Node 20.

Values: `dict`, `list`, `str`, `int`/`float`, `bool`, `None` (JSON null), plus `UNDEFINED` (a
missing member), `FUNCTION` (a member found on a prototype, such as `toString`) and
`PROTOTYPE` (what `__proto__` answers). Strings are measured and indexed in UTF-16 code units,
as JavaScript does.
"""

from __future__ import annotations

import math
import re
from typing import Any

from frigade_cli.segment.jsjson import number_text


class _Special:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


UNDEFINED: Any = _Special("undefined")
FUNCTION: Any = _Special("[function]")
PROTOTYPE: Any = _Special("[prototype]")


def words(text: str) -> frozenset[str]:
    """The space-separated words of `text`, as a set (for the name lists below)."""
    return frozenset(text.split())


# Own property names of the prototypes (Node 20), the ones a path can reach on a JSON value.
_OBJECT_MEMBERS = words(
    "__defineGetter__ __defineSetter__ __lookupGetter__ __lookupSetter__ constructor "
    "hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString toString valueOf"
)
_ARRAY_MEMBERS = words(
    "at concat constructor copyWithin entries every fill filter find findIndex findLast "
    "findLastIndex flat flatMap forEach includes indexOf join keys lastIndexOf map pop push "
    "reduce reduceRight reverse shift slice some sort splice toLocaleString toReversed "
    "toSorted toSpliced toString unshift values with"
)
_STRING_MEMBERS = words(
    "anchor at big blink bold charAt charCodeAt codePointAt concat constructor endsWith "
    "fixed fontcolor fontsize includes indexOf isWellFormed italics lastIndexOf link "
    "localeCompare match matchAll normalize padEnd padStart repeat replace replaceAll "
    "search slice small split startsWith strike sub substr substring sup toLocaleLowerCase "
    "toLocaleUpperCase toLowerCase toString toUpperCase toWellFormed trim trimEnd trimLeft "
    "trimRight trimStart valueOf"
)
_NUMBER_MEMBERS = words(
    "constructor toExponential toFixed toLocaleString toPrecision toString valueOf"
)
_BOOLEAN_MEMBERS = words("constructor toString valueOf")
_MAX_ARRAY_INDEX = 2**32 - 2

# StringToNumber (ECMA-262 7.1.4.1.1): JavaScript's white space and line terminators.
_JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = {
    "x": (16, re.compile(r"[0-9a-fA-F]+")),
    "o": (8, re.compile(r"[0-7]+")),
    "b": (2, re.compile(r"[01]+")),
}


def utf16(text: str) -> bytes:
    """`text` as UTF-16 code units (lone surrogates kept), for JavaScript's string operations."""
    return text.encode("utf-16-le", "surrogatepass")


def from_utf16(units: bytes) -> str:
    return units.decode("utf-16-le", "surrogatepass")


def js_length(text: str) -> int:
    """`text.length`: UTF-16 code units."""
    return len(utf16(text)) // 2


def js_slice(text: str, start: int, end: int | None = None) -> str:
    """`text.slice(start, end)` in UTF-16 code units (may leave a lone surrogate, as JS does)."""
    units = utf16(text)
    n = len(units) // 2

    def clamp(i: int) -> int:
        return max(0, n + i) if i < 0 else min(i, n)

    a, b = clamp(start), clamp(n if end is None else end)
    return from_utf16(units[2 * a : 2 * b]) if a < b else ""


def is_number(value: Any) -> bool:
    """`typeof value === "number"`."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_double(value: int | float) -> float:
    """A JSON number as the double JavaScript holds (huge integers become +-Infinity)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def to_number(value: Any) -> float:
    """`Number(value)` for the values a trigger holds: strings, numbers, booleans, undefined."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if is_number(value):
        return as_double(value)
    if isinstance(value, str):
        return _string_to_number(value)
    if value is None:
        return 0.0
    return math.nan


def _string_to_number(text: str) -> float:
    body = text.strip(_JS_SPACE)
    if not body:
        return 0.0
    if body in ("Infinity", "+Infinity"):
        return math.inf
    if body == "-Infinity":
        return -math.inf
    if len(body) > 2 and body[0] == "0" and body[1].lower() in _RADIX:
        radix, digits = _RADIX[body[1].lower()]
        return float(int(body[2:], radix)) if digits.fullmatch(body[2:]) else math.nan
    if _DECIMAL.fullmatch(body):
        return float(body)
    return math.nan


def to_string(value: Any) -> str:
    """`String(value)` for the values a trigger holds."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        number = as_double(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return number_text(number)
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    return str(value)


def truthy(value: Any) -> bool:
    """JavaScript truthiness."""
    if value is UNDEFINED or value is None or value is False:
        return False
    if is_number(value):
        number = as_double(value)
        return number != 0 and not math.isnan(number)
    if isinstance(value, str):
        return value != ""
    return True


def _array_index(key: str) -> int | None:
    if key.isascii() and key.isdigit() and (key == "0" or not key.startswith("0")):
        index = int(key)
        return index if index <= _MAX_ARRAY_INDEX else None
    return None


def member(value: Any, key: str) -> Any:
    """`value[key]` for a JSON value (own members first, then the prototype chain)."""
    if key == "__proto__":
        if isinstance(value, dict) and key in value:
            return value[key]
        return None if value is PROTOTYPE else PROTOTYPE
    if isinstance(value, dict):
        if key in value:
            return value[key]
        return FUNCTION if key in _OBJECT_MEMBERS else UNDEFINED
    own: frozenset[str] = frozenset()
    if isinstance(value, list):
        index = _array_index(key)
        if index is not None:
            return value[index] if index < len(value) else UNDEFINED
        if key == "length":
            return len(value)
        own = _ARRAY_MEMBERS
    elif isinstance(value, str):
        index = _array_index(key)
        if index is not None:
            units = utf16(value)
            return (
                from_utf16(units[2 * index : 2 * index + 2])
                if 2 * index < len(units)
                else UNDEFINED
            )
        if key == "length":
            return js_length(value)
        own = _STRING_MEMBERS
    elif isinstance(value, bool):
        own = _BOOLEAN_MEMBERS
    elif is_number(value):
        own = _NUMBER_MEMBERS
    elif value is UNDEFINED or value is None:
        raise TypeError(f"Cannot read properties of {to_string(value)} (reading '{key}')")
    if key in own or key in _OBJECT_MEMBERS:
        return FUNCTION
    return UNDEFINED
