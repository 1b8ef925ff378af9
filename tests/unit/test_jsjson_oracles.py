"""jsjson against independent oracles: Node-made vectors, and Node itself on random values."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from frigade_cli.segment import jsjson, signing

# Made with Node as the oracle; see tests/vectors/README.md for how each field was computed.
VECTORS_FILE = Path(__file__).resolve().parents[1] / "vectors" / "js-json-signature.ndjson"


def _vectors() -> list[dict[str, Any]]:
    lines = VECTORS_FILE.read_bytes().split(b"\n")
    return [json.loads(line) for line in lines if line.strip()]


VECTORS = _vectors()


def test_the_vector_file_covers_the_documented_cases() -> None:
    assert len(VECTORS) >= 20
    assert any("signature_first" in v for v in VECTORS)


by_line = pytest.mark.parametrize(
    "given", VECTORS, ids=[f"line{n}" for n in range(1, len(VECTORS) + 1)]
)


@by_line
def test_every_vector_is_written_byte_for_byte_as_javascript(given: dict[str, Any]) -> None:
    value = jsjson.loads(given["input"].encode())

    assert jsjson.dumps(value) == given["js"].encode()
    assert jsjson.exact_dumps(value) == given["js"].encode()


@by_line
def test_every_vector_is_read_the_same_from_text(given: dict[str, Any]) -> None:

    assert jsjson.dumps(jsjson.loads(given["input"])) == given["js"].encode()


@by_line
def test_every_vector_signature_of_the_whole_value(given: dict[str, Any]) -> None:
    value = jsjson.loads(given["input"].encode())

    assert signing.signature(value, given["secret"]) == given["signature_whole"]


@by_line
def test_every_vector_signature_of_the_first_element(given: dict[str, Any]) -> None:
    value = jsjson.loads(given["input"].encode())
    if "signature_first" not in given:
        assert not (isinstance(value, list) and value)  # given for every non-empty array
        return

    assert signing.batch_signature(value, given["secret"]) == given["signature_first"]


# A second oracle: Node's own JSON.parse + JSON.stringify on random texts ---------------------

_NODE_ROUND_TRIP = (
    "const lines = require('fs').readFileSync(0, 'utf8').split('\\n').filter((l) => l.length);"
    "process.stdout.write(lines.map((l) => JSON.stringify(JSON.parse(l))).join('\\n'));"
)
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


def test_random_values_are_written_as_node_writes_them() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the second oracle (Node's JSON.stringify) is absent")
    rng = random.Random(20261129)
    texts = [_value_text(rng, 0) for _ in range(400)]
    texts += [_number_text(rng) for _ in range(400)]
    done = subprocess.run(
        [node, "-e", _NODE_ROUND_TRIP],
        input="\n".join(texts).encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    expected = done.stdout.split(b"\n")
    assert len(expected) == len(texts)

    for text, js in zip(texts, expected, strict=True):
        value = jsjson.loads(text.encode())
        assert jsjson.dumps(value) == js, text
        assert jsjson.exact_dumps(value) == js, text
        assert signing.signature(value, "k") == hmac.new(b"k", js, hashlib.sha1).hexdigest()
