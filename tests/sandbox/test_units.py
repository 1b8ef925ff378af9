"""Pure pieces of the sandbox: fast JSON, durations, quick validation, clock, masking."""

from __future__ import annotations

from typing import Any

import pytest

from frigade_cli.kernel.clock import iso_from_ms, parse_iso_ms
from frigade_cli.kernel.durations import parse_duration
from frigade_cli.kernel.errors import InputError
from frigade_cli.receiver.tracking import quick_problem
from frigade_cli.sandbox.graphql import masked_connection_data
from frigade_cli.segment import jsjson
from frigade_cli.segment.fixtures import load_fixtures, named_fixtures
from frigade_cli.segment.messages import message_problem


@pytest.mark.parametrize(
    "value",
    [
        [{"amount": 129.0, "n": -0.0}],
        [1e15, 1e16, 1.5e17, 1e20, 1e21, 2.5e-7, 0.1, float("nan"), float("inf")],
        {"text": "version 1.0, beta", "e": "1e+16,", "nested": [{"x": 3.0}]},
        {"plain": [1, "two", None, True, {"k": "v"}], "unicode": "Zoë ✓"},
        [123456789012345678.0, -5.0],
    ],
)
def test_the_fast_path_of_jsjson_gives_the_exact_paths_bytes(value: Any) -> None:
    exact = jsjson.exact_dumps(value)
    assert jsjson.dumps(value) == exact


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("2s", 2.0),
        ("1.5", 1.5),
        (".5s", 0.5),
        ("1m", 60.0),
        ("1h", 3600.0),
        (3, 3.0),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["abc", "1w", "", "-1s", "1 s s"])
def test_bad_durations_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match="duration"):
        parse_duration(text, "--flush-interval")


def test_quick_validation_accepts_every_shipped_fixture() -> None:
    for message in load_fixtures(named_fixtures()):
        assert quick_problem(message) is None


@pytest.mark.parametrize(
    "message",
    [
        {"type": "track", "event": "E"},
        {"type": "group", "anonymousId": "a"},
        {"type": "nope", "userId": "u"},
        "not an object",
    ],
)
def test_quick_validation_names_problems_as_the_full_model_does(message: Any) -> None:
    assert quick_problem(message) == message_problem(message)


def test_iso_timestamps_round_trip_in_milliseconds() -> None:
    for text in ("2026-11-28T10:40:01.123Z", "1999-12-31T23:59:59.999Z"):
        value = parse_iso_ms(text)
        assert value is not None
        assert iso_from_ms(value) == text
    assert parse_iso_ms("2026-11-28T12:40:01.123+02:00") == parse_iso_ms("2026-11-28T10:40:01.123Z")
    assert parse_iso_ms("yesterday") is None


def test_connection_data_secrets_are_masked() -> None:
    masked = masked_connection_data('{"writeKey": "wk_abcdefghij1234", "region": "eu"}')

    assert masked == {"writeKey": "****1234", "region": "eu"}
