"""JSON as JavaScript reads and writes it, so bodies and signatures match Segment's bytes.

Segment's Actions runtime is JavaScript: a webhook body is `JSON.stringify` of the events, and
`X-Signature` is an HMAC over those bytes. `dumps` writes what `JSON.stringify` writes and `loads`
reads a text into the values `JSON.parse` would see (ECMA-262: JSON.parse, JSON.stringify,
Number::toString, OrdinaryOwnPropertyKeys).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

JSONDecodeError = json.JSONDecodeError  # raised by `loads`; orjson's own error is a subclass

_MAX_SAFE_INTEGER = 2**53  # beyond it a JavaScript number is a double that has lost digits
_MAX_ARRAY_INDEX = 2**32 - 2  # ECMA-262 array index: a canonical integer below 2**32 - 1


def number_text(value: float | int) -> str:
    """The text `JSON.stringify` writes for a number (ECMA-262 Number::toString, radix 10).

    Shortest digits that read back as the same double; plain decimals for 1e-6 <= |x| < 1e21
    (`0.000001`, `100000000000000000000`), otherwise exponent form (`1.5e-7`, `1e+21`); `-0`
    is `0`; NaN and the infinities are `null`. Integers are first rounded to the nearest
    double, as JavaScript stores every number as one.
    """
    if isinstance(value, int):
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return str(int(value))
        try:
            value = float(value)
        except OverflowError:  # past the largest double: JavaScript reads Infinity
            return "null"
    if math.isnan(value) or math.isinf(value):
        return "null"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + number_text(-value)
    # repr gives the shortest round-trip digits, nearest the double when several are as short.
    mantissa, _, exponent = float.__repr__(float(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    point = len(whole) - (len(all_digits) - len(digits)) + int(exponent or 0)
    digits = digits.rstrip("0")
    k = len(digits)  # the value is 0.DIGITS x 10**point; ECMA-262 calls point "n"
    if k <= point <= 21:
        return digits + "0" * (point - k)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    power = point - 1
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{head}e{'+' if power >= 0 else '-'}{abs(power)}"


def _is_array_index(key: str) -> bool:
    if key == "0":
        return True
    canonical = key[:1] in "123456789" and key.isascii() and key.isdigit() and len(key) <= 10
    return canonical and int(key) <= _MAX_ARRAY_INDEX


def _key_text(key: Any) -> str:
    # Property keys are strings in JavaScript; a Python key is converted as String(key) would.
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return "null" if key is None else ("true" if key else "false")
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if math.isnan(key) else ("Infinity" if key > 0 else "-Infinity")
    if isinstance(key, (int, float)):
        text = number_text(key)
        return text if text != "null" else "Infinity" if key > 0 else "-Infinity"
    return str(key)


_LONE_SURROGATE = re.compile(r"([\ud800-\udfff])")


def _string(text: str) -> bytes:
    try:
        return orjson.dumps(text)
    except orjson.JSONEncodeError:  # surrogates: JSON.stringify escapes lone ones as \udXXX
        pass
    # A high surrogate followed by a low one is one character to JavaScript: join such pairs.
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    out = [b'"']
    for n, part in enumerate(_LONE_SURROGATE.split(joined)):
        if n % 2:
            out.append(b"\\u%04x" % ord(part))
        elif part:
            out.append(orjson.dumps(part)[1:-1])
    out.append(b'"')
    return b"".join(out)


def _ordered(mapping: dict[Any, Any]) -> list[tuple[str, Any]]:
    # Duplicate keys after conversion keep the first one's place and the last one's value.
    named: dict[str, Any] = {}
    for key, item in mapping.items():
        named[_key_text(key)] = item
    indices = sorted((k for k in named if _is_array_index(k)), key=int)
    if not indices:
        return list(named.items())
    taken = set(indices)
    return [(k, named[k]) for k in indices] + [(k, v) for k, v in named.items() if k not in taken]


def _encode(value: Any, out: list[bytes]) -> None:
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None or isinstance(value, bool):
        out.append(b"null" if value is None else (b"true" if value else b"false"))
    elif isinstance(value, (int, float)):
        out.append(number_text(value).encode())
    elif isinstance(value, dict):
        out.append(b"{")
        for n, (key, item) in enumerate(_ordered(value)):
            if n:
                out.append(b",")
            out.append(_string(key))
            out.append(b":")
            _encode(item, out)
        out.append(b"}")
    elif isinstance(value, (list, tuple)):
        out.append(b"[")
        for n, item in enumerate(value):
            if n:
                out.append(b",")
            _encode(item, out)
        out.append(b"]")
    else:  # datetimes, UUIDs and the like: written as orjson writes them
        out.append(orjson.dumps(value))


def exact_dumps(value: Any) -> bytes:
    """`dumps` computed value by value, with no fast path: the reference `dumps` must equal."""
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


# Where orjson's compact UTF-8 output differs from JSON.stringify's (ECMA-262 vs orjson 3):
# integral floats (orjson `129.0`, `-0.0`), floats written in exponent form between 1e-6 and 1e-5
# (`1e-6` where JavaScript writes `0.000001`) and from 1e16 to 1e21 (`1e+16`), and keys that are
# array indices (ordered first by JavaScript). Substring searches (memchr-fast, unlike a regex
# over every byte) look for any of them, even inside strings; a digit key is confirmed by a
# regex anchored where a key starts; only then is the exact path taken. What orjson cannot
# write as JavaScript does makes it raise, and takes the exact path too: integers from 2**53
# on (OPT_STRICT_INTEGER), lone surrogates, keys that are not strings.
_FAST_OPTIONS = orjson.OPT_STRICT_INTEGER
_INTEGRAL_FLOAT = re.compile(rb"\.0(?:[,\]}]|$)")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_DIGIT_KEY = re.compile(rb'[{,]"\d+":')


def _may_differ(data: bytes) -> bool:
    return (
        (b"+" in data and b"e+" in data)
        or b"e-6" in data
        or _INTEGRAL_FLOAT.search(data) is not None
        or (b'0":' in data.translate(_DIGITS_TO_ZERO) and _DIGIT_KEY.search(data) is not None)
    )


def dumps(value: Any) -> bytes:
    """The UTF-8 bytes of `JSON.stringify(value)`: compact, non-ASCII kept, JavaScript's numbers.

    `value` is made of dicts, lists/tuples, str, int, float, bool and None (other types orjson
    knows are written as orjson writes them). Object keys that are array indices ("0" to
    "4294967294") come first, ascending, then the others in insertion order; lone surrogates
    are written as `\\udXXX` escapes; U+2028 and U+2029 are kept raw. Never raises for those
    types; `value` is not changed.
    """
    try:
        fast = orjson.dumps(value, option=_FAST_OPTIONS)
    except orjson.JSONEncodeError:
        return exact_dumps(value)
    if _may_differ(fast):
        return exact_dumps(value)
    return fast


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _js_integer(text: str) -> int | float:
    # JSON.parse reads every number as a double: past 2**53 an integer is rounded to the nearest.
    if len(text) > 17:  # 10**16 or more, whatever the sign: past 2**53
        return float(text)
    number = int(text)
    return number if abs(number) <= _MAX_SAFE_INTEGER else float(number)


_PYTHON_DECODER = json.JSONDecoder(parse_int=_js_integer, parse_constant=_reject_constant)


def loads(data: bytes | str) -> Any:
    """Parse one JSON text (UTF-8 bytes or str) into the values `JSON.parse` would see.

    Integers past 2**53 become the nearest double (a float); `-0` is 0; a number too large for
    a double is infinite (written `null`); a duplicate key keeps its first place and its last
    value; escaped lone surrogates (`"\\ud800"`) are kept, where orjson refuses them. NaN and
    Infinity are not JSON, nor is a byte-order mark (strip it before). Raises `JSONDecodeError`
    (a ValueError with `msg`, `lineno`, `colno`) for anything JSON.parse refuses and for bytes
    that are not UTF-8.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return _loads_slowly(data, exc)
    # orjson keeps integers exact up to 64 bits; only a run of 16 digits can be one past 2**53.
    if isinstance(data, str):
        long_run = _DIGIT_RUN.search(data) is not None
    else:
        long_run = _SIXTEEN_DIGITS in data.translate(_DIGITS_TO_ZERO)
    return _as_doubles(value) if long_run else value


_DIGIT_RUN = re.compile(r"\d{16}", re.ASCII)
_SIXTEEN_DIGITS = b"0" * 16


def _as_doubles(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_doubles(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) <= _MAX_SAFE_INTEGER else float(value)
    return value


def _loads_slowly(data: bytes | str, first_error: orjson.JSONDecodeError) -> Any:
    # orjson refuses what JSON.parse accepts: lone surrogate escapes and numbers past a double.
    try:
        text = data if isinstance(data, str) else data.decode("utf-8")
    except UnicodeDecodeError:
        raise first_error from None
    # Past what only orjson refuses, the fault it stopped at is not the one to report.
    blame_python = "surrogate" in first_error.msg or "infinity" in first_error.msg
    try:
        value, end = _PYTHON_DECODER.raw_decode(text, _skip_space(text, 0))
    except JSONDecodeError as exc:
        raise (exc if blame_python else first_error) from None
    except (ValueError, RecursionError):
        raise first_error from None
    end = _skip_space(text, end)
    if end != len(text):
        raise (JSONDecodeError("Extra data", text, end) if blame_python else first_error)
    return value


_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace only, unlike str.isspace


def _skip_space(text: str, start: int) -> int:
    match = _SPACE.match(text, start)
    return match.end() if match else start
