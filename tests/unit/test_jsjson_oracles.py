"""jsjson against Node-made vectors (tests/oracles runs Node itself on random values)."""

from __future__ import annotations

import json
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
