"""JSON written byte for byte as JavaScript's JSON.stringify writes it."""

from __future__ import annotations

import math
import random
import struct
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


@pytest.mark.parametrize(
    ("value", "js"),
    [
        (0.000001, b"0.000001"),
        (0.0000015, b"0.0000015"),
        (1e-7, b"1e-7"),
        (1.5e-7, b"1.5e-7"),
        (0.00001, b"0.00001"),
        (1e16, b"10000000000000000"),
        (1.5e17, b"150000000000000000"),
        (123456789012345678901234567890, b"1.2345678901234568e+29"),
        (1.5e300, b"1.5e+300"),
        (5e-324, b"5e-324"),
        (-1.25e-10, b"-1.25e-10"),
        (2**53, b"9007199254740992"),
        (-(2**53) - 1, b"-9007199254740992"),
    ],
)
def test_number_forms_follow_ecmascript_number_to_string(value: float, js: bytes) -> None:
    assert jsjson.dumps(value) == js
    assert jsjson.dumps({"n": [value]}) == b'{"n":[' + js + b"]}"


def test_array_index_keys_come_first_ascending_then_the_others_in_order() -> None:
    value = {"b": 1, "10": 2, "a": 3, "9": 4, "01": 5, "-1": 6, "4294967295": 7, "4294967294": 8}

    assert jsjson.dumps(value) == (
        b'{"9":4,"10":2,"4294967294":8,"b":1,"a":3,"01":5,"-1":6,"4294967295":7}'
    )


def test_key_order_is_applied_inside_nested_objects_and_arrays() -> None:
    value = [{"x": {"z": 0, "1": 1}}, {"2": 2, "0": 0}]

    assert jsjson.dumps(value) == b'[{"x":{"1":1,"z":0}},{"0":0,"2":2}]'


def test_non_string_keys_are_written_as_javascript_property_names() -> None:
    assert jsjson.dumps({2: "b", "a": 1, 1: "a"}) == b'{"1":"a","2":"b","a":1}'


def test_lone_surrogates_are_escaped_in_lower_case_and_pairs_joined() -> None:
    value = {"s": "a\ud800b\udfff", "\udc00": "\ud83d\ude80"}

    assert jsjson.dumps(value) == '{"s":"a\\ud800b\\udfff","\\udc00":"🚀"}'.encode()


def test_line_separators_stay_raw_and_delete_is_not_escaped() -> None:
    assert jsjson.dumps("\u2028\u2029\x7f") == '"\u2028\u2029\x7f"'.encode()


def test_control_characters_use_short_escapes_or_lower_case_hex() -> None:
    text = "\b\f\n\r\t\x00\x0b\x1f"

    assert jsjson.dumps(text) == b'"\\b\\f\\n\\r\\t\\u0000\\u000b\\u001f"'


def test_loads_rounds_integers_past_2_to_the_53_to_the_nearest_double() -> None:
    assert jsjson.loads(b'{"x":9007199254740993}') == {"x": 9007199254740992.0}
    assert jsjson.loads("[123456789012345678901234567890, 12]") == [1.2345678901234568e29, 12]


def test_loads_keeps_escaped_lone_surrogates_that_orjson_refuses() -> None:
    assert jsjson.loads(b'{"s":"\\ud800 \\ud83d\\ude80"}') == {"s": "\ud800 🚀"}


def test_loads_reads_numbers_too_large_for_a_double_as_javascript_does() -> None:
    value = jsjson.loads(b'{"x":1e400,"y":[-1e400]}')

    assert jsjson.dumps(value) == b'{"x":null,"y":[null]}'


def test_loads_resolves_duplicate_keys_as_json_parse_does() -> None:
    value = jsjson.loads(b'{"a":1,"b":2,"a":3}')

    assert list(value.items()) == [("a", 3), ("b", 2)]


@pytest.mark.parametrize(
    "text", [b"NaN", b"[Infinity]", b"[1,]", b"\xef\xbb\xbf{}", b'"\\ud800" x', b'"\\ud800\x01"']
)
def test_loads_refuses_what_json_parse_refuses(text: bytes) -> None:
    with pytest.raises(jsjson.JSONDecodeError):
        jsjson.loads(text)


def test_loads_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(jsjson.JSONDecodeError):
        jsjson.loads(b'{"userId":"caf\xe9"}')


def test_generated_messages_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from frigade_cli.segment.factory import MessageFactory

    def slow(value: Any) -> bytes:
        raise AssertionError(f"exact path taken for {value!r}")

    monkeypatch.setattr(jsjson, "exact_dumps", slow)
    for message in MessageFactory(seed=7).mix(300, ["identify", "group", "track", "page"]):
        jsjson.dumps(message)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 5)
    if kind == 0:
        return struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
    if kind == 1:
        return rng.choice([1, -1]) * rng.randrange(10 ** rng.randint(1, 25))
    if kind == 2:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-9, 23)
    if kind == 3:
        return "".join(rng.choice('ab"\\\n\x00\u2028é🚀\ud800\udc00') for _ in range(5))
    if kind == 4:
        return rng.choice([None, True, False, 0, -0.0, 5.0, float(2**53), float("nan")])
    if kind < 7:
        items = [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return items if kind == 5 else tuple(items)
    keys = ["0", "7", "10", "01", "-1", "4294967295", "a", "é", "\ud800", "k"]
    return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_the_fast_path_and_the_exact_path_agree_on_random_values() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        value = _random_value(rng)
        assert jsjson.dumps(value) == jsjson.exact_dumps(value), repr(value)
