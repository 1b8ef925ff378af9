"""jsjson against JavaScript's own JSON.parse and JSON.stringify, run in Node on random texts:
the bytes Segment's runtime writes and signs."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import struct

from frigade_cli.segment import jsjson, signing
from tests.oracles.harness import Oracles

SEED = 20261129

_KEYS = ["0", "1", "2", "9", "10", "01", "-1", "1.5", "4294967294", "4294967295", "a", "b", "z"]
_KEYS += ["type", "userId", "é", "\u2028", "k\u0000", "🚀", "\ud800", "\udc00x"]
_CHARS = list('aZ09 /"\\é日\u2028\u2029\u007f\u0000\u0008\u0009\u000a\u000c\u000d\u001f🚀')
_SURROGATES = ["\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\ud83d\\ude80", "\\ude80\\ud83d"]


def _number_text(rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind == 0:  # any double at all, as its shortest text
        bits = rng.getrandbits(64)
        number = struct.unpack("<d", struct.pack("<Q", bits))[0]
        return repr(number) if number == number and abs(number) != float("inf") else "0"
    if kind == 1:  # around JavaScript's decimal/exponent switches
        return f"{rng.choice(['', '-'])}{rng.randint(1, 99999)}e{rng.randint(-12, 25)}"
    if kind == 2:  # integers of every length, past 2**53 and past 64 bits
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
        return rng.choice(["", "-"]) + (digits.lstrip("0") or "0")
    if kind == 3:  # written with trailing zeros or an integral fraction
        return f"{rng.randint(-1000, 1000)}.{rng.choice(['0', '50', '000', '25'])}"
    if kind == 4:
        return rng.choice(["-0", "-0.0", "0.0", "1e400", "-1e400", "5e-324", "1E21", "1e-7"])
    if kind == 5:
        return repr(rng.uniform(-1, 1) * 10.0 ** rng.randint(-25, 25))
    return str(rng.randint(-(2**31), 2**31))


def _string_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 8)):
        if rng.random() < 0.2:
            parts.append(rng.choice(_SURROGATES))
            continue
        char = rng.choice(_CHARS)
        # Sometimes an escape where a raw character would do, as files and servers vary.
        parts.append(
            json.dumps(char, ensure_ascii=rng.random() < 0.3)[1:-1]
            if char not in "\u2028\u2029" or rng.random() < 0.5
            else char
        )
    return '"' + "".join(parts) + '"'


def _value_text(rng: random.Random, depth: int) -> str:
    kind = rng.randrange(10 if depth < 4 else 6)
    if kind < 3:
        return _number_text(rng)
    if kind < 5:
        return _string_text(rng)
    if kind == 5:
        return rng.choice(["true", "false", "null"])
    if kind < 8:
        items = [_value_text(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return "[" + rng.choice([",", ", "]).join(items) + "]"
    keys = [rng.choice(_KEYS) for _ in range(rng.randint(0, 6))]  # duplicates included
    members = [f"{json.dumps(k)}:{_value_text(rng, depth + 1)}" for k in keys]
    return "{" + ",".join(members) + "}"


def test_random_values_are_written_as_node_writes_them(oracles: Oracles) -> None:
    rng = random.Random(SEED)
    texts = [_value_text(rng, 0) for _ in range(400)]
    texts += [_number_text(rng) for _ in range(400)]

    answers = oracles.map("json.mjs", [{"text": text} for text in texts])

    wrong = []
    for text, answer in zip(texts, answers, strict=True):
        js = answer["js"].encode()
        value = jsjson.loads(text.encode())
        if (jsjson.dumps(value), jsjson.exact_dumps(value)) != (js, js):
            wrong.append(f"{text!r}: jsjson {jsjson.dumps(value)!r}, JavaScript {js!r}")
        elif signing.signature(value, "k") != hmac.new(b"k", js, hashlib.sha1).hexdigest():
            wrong.append(f"{text!r}: signature")
    assert not wrong, f"{len(wrong)} of {len(texts)} (seed {SEED}):\n" + "\n".join(wrong[:20])
