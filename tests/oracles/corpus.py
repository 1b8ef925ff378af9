"""Seeded corpora of Segment messages and mapping headers, as JSON text, for the differentials.

Messages are written as text (not Python values) so that both sides read the same characters:
numbers at JavaScript's decimal/exponent edges and past 2**53, integer-like keys, repeated keys,
escapes, lone surrogates, U+2028. Every message is Spec-valid and carries a unique `messageId`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

_KEYS = ["0", "1", "2", "10", "01", "-1", "1.5", "4294967294", "4294967295", "a", "b", "z"]
_KEYS += ["plan", "amount", "é", "\u2028", "k\u0000", "🚀", "\ud800"]
_CHARS = list('aZ09 /"\\é日\u2028\u2029\u007f\u0000\u0008\u0009\u000a\u001f🚀')
_SURROGATES = ["\\ud800", "\\udfff", "\\ud83d\\ude80", "\\ude80\\ud83d"]
_NUMBERS = ["-0", "0.0", "1e-7", "1E21", "1e21", "0.000001", "123456789012345678901", "5e-324"]
EMPTY_STRING, SIGNED_UP = '""', '"Signed Up"'  # the Spec wants a non-empty event name
_NUMBERS += ["9007199254740993", "-9007199254740993", "1.50", "100.0", "0.1", "1e300", "2.5e-8"]


def number_text(rng: random.Random) -> str:
    """A JSON number as a file or a server could write it."""
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(_NUMBERS)
    if kind == 1:
        return f"{rng.choice(['', '-'])}{rng.randint(1, 99999)}e{rng.randint(-12, 25)}"
    if kind == 2:
        return repr(rng.uniform(-1, 1) * 10.0 ** rng.randint(-25, 25))
    if kind == 3:
        return str(rng.randint(-(2**63), 2**63))
    return str(rng.randint(-1000, 1000))


class Writer:
    """Writes JSON texts from `rng`. `lone_surrogates`: whether strings and keys may hold them
    (JavaScript takes them; Segment's tracking API and the Spec's typed fields may not)."""

    def __init__(self, rng: random.Random, lone_surrogates: bool = True) -> None:
        self.rng = rng
        self.lone_surrogates = lone_surrogates
        self.keys = [k for k in _KEYS if lone_surrogates or k != "\ud800"]

    def string(self, length: int = 8, lone_surrogates: bool | None = None) -> str:
        """A JSON string literal with escapes, raw non-ASCII and, maybe, lone surrogates."""
        rng = self.rng
        surrogates = self.lone_surrogates if lone_surrogates is None else lone_surrogates
        parts = []
        for _ in range(rng.randint(0, length)):
            if rng.random() < 0.1:
                pick = rng.choice(_SURROGATES)
                if surrogates or pick == "\\ud83d\\ude80":  # a proper pair is always fine
                    parts.append(pick)
                    continue
            char = rng.choice(_CHARS)
            if char in "\u2028\u2029" and rng.random() < 0.5:
                parts.append(char)  # raw: JSON allows it, JavaScript keeps it raw
            else:
                parts.append(json.dumps(char, ensure_ascii=rng.random() < 0.3)[1:-1])
        return '"' + "".join(parts) + '"'

    def value(self, depth: int = 0) -> str:
        """Any JSON value, nested up to four levels."""
        kind = self.rng.randrange(10 if depth < 3 else 6)
        if kind < 3:
            return number_text(self.rng)
        if kind < 5:
            return self.string()
        if kind == 5:
            return self.rng.choice(["true", "false", "null"])
        if kind < 8:
            items = [self.value(depth + 1) for _ in range(self.rng.randint(0, 3))]
            return "[" + self.rng.choice([",", ", "]).join(items) + "]"
        return self.object(depth + 1)

    def object(self, depth: int = 0) -> str:
        """A JSON object; keys may repeat (the last value wins, in the first key's place)."""
        keys = [self.rng.choice(self.keys) for _ in range(self.rng.randint(0, 5))]
        members = [f"{json.dumps(k)}:{self.value(depth + 1)}" for k in keys]
        return "{" + ",".join(members) + "}"

    def _plain(self, prefix: str) -> str:
        return json.dumps(f"{prefix}{self.rng.randrange(10**6)}")

    def message(self, message_id: str, types: tuple[str, ...]) -> str:
        """One Spec-valid Segment message of a type drawn from `types`, as JSON text."""
        rng = self.rng
        kind = rng.choice(types)
        fields = [f'"type":"{kind}"']
        if rng.random() < 0.85:
            fields.append(f'"userId":{self._plain("user_")}')
        else:
            fields.append(f'"anonymousId":{self._plain("anon_")}')
        fields.append(f'"messageId":{json.dumps(message_id)}')
        if kind in ("identify", "group"):
            fields.append(f'"traits":{self.object()}')
        if kind == "group":
            fields.append(f'"groupId":{self._plain("group_")}')
        if kind == "track":
            name = rng.choice(['"Signed Up"', '"Zoë ✓"', self.string(lone_surrogates=False)])
            fields.append(f'"event":{name if name != EMPTY_STRING else SIGNED_UP}')
        if kind in ("track", "page", "screen"):
            fields.append(f'"properties":{self.object()}')
        if kind in ("page", "screen") and rng.random() < 0.5:
            fields.append(f'"name":{self.string()}')
        if kind == "alias":
            fields.append(f'"previousId":{self._plain("prev_")}')
        if rng.random() < 0.5:
            fields.append(f'"context":{self.object()}')
        if rng.random() < 0.3:
            fields.append('"timestamp":"2026-11-28T10:40:01.123Z"')
        if rng.random() < 0.3:  # a custom top-level field (its key a plain string)
            key = rng.choice([k for k in _KEYS if k != "\ud800"])
            fields.append(f"{json.dumps(key)}:{self.value()}")
        rng.shuffle(fields)
        return "{" + ",".join(fields) + "}"


def plain_value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value as an application would send it (Python, JavaScript agree on each)."""
    kind = rng.randrange(6 if depth < 2 else 4)
    if kind == 0:
        return rng.randint(-(10**6), 10**6)
    if kind == 1:
        return rng.choice(["pro", "Zoë", "日本", "a b", "", "🚀"])
    if kind == 2:
        return rng.choice([True, False, None, 0.5])
    if kind == 3:
        return f"v{rng.randrange(1000)}"
    if kind == 4:
        return [plain_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {f"k{n}": plain_value(rng, depth + 1) for n in range(rng.randint(0, 3))}


def plain_properties(rng: random.Random) -> dict[str, Any]:
    """0 to 4 properties of `plain_value`s."""
    return {f"p{n}": plain_value(rng) for n in range(rng.randint(0, 4))}


# Mapping headers: realistic names, Segment's own names in other cases, repeats by case, values a
# runtime treats specially ("undefined", surrounding spaces, empty).
_HEADER_NAMES = ["Authorization", "authorization", "X-Team", "x-request-id", "X-Api-Version"]
_HEADER_NAMES += ["User-Agent", "user-agent", "Content-Type", "CONTENT-TYPE", "Accept", "accept"]
_HEADER_NAMES += ["Accept-Encoding", "X-Signature", "x-signature", "X-Dup", "x-dup", "Connection"]
_HEADER_VALUES = ["Bearer api_private_oracle0000abcd", "growth", "a b", "1, 2", "", "undefined"]
_HEADER_VALUES += [" padded ", "text/plain", "application/json; charset=utf-8", "*/*", "identity"]
_HEADER_VALUES += ["keep-alive", "'quoted'", '"dq"', "tab\there", "v=1;q=0.5", "UNDEFINED"]


def mapping_headers(rng: random.Random) -> dict[str, str]:
    """A mapping's `headers`: 0 to 5 entries drawn from the lists above."""
    headers: dict[str, str] = {}
    for _ in range(rng.randint(0, 5)):
        headers[rng.choice(_HEADER_NAMES)] = rng.choice(_HEADER_VALUES)
    return headers


@dataclass
class Difference:
    """Where two requests differ: what, and the smallest excerpt of each side that shows it."""

    what: str
    product: str
    oracle: str

    def __str__(self) -> str:
        return f"{self.what}: product {self.product} | Segment {self.oracle}"


def body_difference(product: bytes, oracle: bytes) -> Difference | None:
    """The first differing byte of two bodies, shown with 30 bytes of context on each side."""
    if product == oracle:
        return None
    at = next(
        (i for i, (a, b) in enumerate(zip(product, oracle, strict=False)) if a != b),
        min(len(product), len(oracle)),
    )
    start = max(0, at - 30)
    return Difference(
        f"body differs at byte {at}", repr(product[start : at + 30]), repr(oracle[start : at + 30])
    )


def header_differences(
    product: list[tuple[str, str]], oracle: list[tuple[str, str]]
) -> list[Difference]:
    """Header lines one side sent and the other did not (names compared case-insensitively;
    whitespace around a value is not part of it, RFC 9110 section 5.5)."""

    def lines(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, value in headers:
            found.setdefault(name.lower(), []).append(value.strip(" \t"))
        return found

    mine, theirs = lines(product), lines(oracle)
    return [
        Difference(f"header {name!r}", repr(mine.get(name)), repr(theirs.get(name)))
        for name in sorted(mine.keys() | theirs.keys())
        if mine.get(name) != theirs.get(name)
    ]
