"""JSON written byte for byte as JavaScript's JSON.stringify writes it."""

from __future__ import annotations

import math
from typing import Any

import pytest

from frigade_cli.segment import jsjson


def test_compact_separators_and_key_order_kept() -> None:
    assert jsjson.dumps({"b": [1, 2], "a": {"c": None}}) == b'{"b":[1,2],"a":{"c":null}}'


@pytest.mark.parametrize(
    ("value", "js"),
    [
        (129.0, b"129"),
        (-3.0, b"-3"),
        (0.0, b"0"),
        (-0.0, b"0"),
        (129.5, b"129.5"),
        (0.1, b"0.1"),
        (1e20, b"100000000000000000000"),
        (2.0**63, b"9223372036854776000"),
        (1e21, b"1e+21"),
    ],
)
def test_numbers_are_written_as_json_stringify_writes_them(value: float, js: bytes) -> None:
    assert jsjson.dumps(value) == js


def test_integral_floats_nested_in_objects_and_arrays_lose_their_fraction() -> None:
    assert jsjson.dumps({"a": [1.0, {"b": 2.0}], "c": (3.0,)}) == b'{"a":[1,{"b":2}],"c":[3]}'


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_become_null(value: float) -> None:
    assert jsjson.dumps({"x": value}) == b'{"x":null}'


def test_booleans_stay_booleans() -> None:
    assert jsjson.dumps([True, False, 1, 0]) == b"[true,false,1,0]"


def test_non_ascii_is_kept_as_utf8_not_escaped() -> None:
    assert jsjson.dumps({"a": 1, "b": "é"}) == '{"a":1,"b":"é"}'.encode()
    assert jsjson.dumps(["日本", "🚀"]) == '["日本","🚀"]'.encode()


def test_quotes_backslashes_and_control_characters_are_escaped() -> None:
    assert jsjson.dumps('a"b\\c\nd\te\x01') == b'"a\\"b\\\\c\\nd\\te\\u0001"'


def test_slash_is_not_escaped() -> None:
    assert jsjson.dumps("https://x.test/a") == b'"https://x.test/a"'


def test_large_integer_from_a_fixture_does_not_crash() -> None:
    # orjson reads integers past 64 bits as floats; JavaScript prints them in full.
    value: Any = jsjson.loads(b'{"id": 100000000000000000000}')

    assert jsjson.dumps(value) == b'{"id":100000000000000000000}'


def test_loads_accepts_text_and_bytes() -> None:
    assert jsjson.loads('{"a":"é"}') == jsjson.loads('{"a":"é"}'.encode()) == {"a": "é"}


def test_dumps_does_not_change_its_input() -> None:
    value = {"a": 1.0}

    jsjson.dumps(value)

    assert isinstance(value["a"], float)


@pytest.mark.parametrize(
    ("value", "js"),
    [
        (9007199254740993, b"9007199254740992"),
        (12345678901234567890, b"12345678901234567000"),
        (-(2**70), b"-1.1805916207174113e+21"),
        (10**400, b"null"),
    ],
)
def test_integers_past_2_to_the_53_are_written_as_javascript_numbers(value: int, js: bytes) -> None:
    assert jsjson.dumps(value) == js
