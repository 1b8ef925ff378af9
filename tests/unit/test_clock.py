"""One ISO-8601 reader, the same on every supported Python; expected values from Date.parse."""

from __future__ import annotations

import pytest

from frigade_cli.kernel.clock import is_iso_8601, iso_from_ms, parse_iso_ms

# 2026-11-29T10:00:01Z is 1795946401 s after the epoch (Node: Date.parse gives 1795946401000).
AT = 1_795_946_401_000


@pytest.mark.parametrize(
    ("text", "epoch_ms"),
    [
        ("2026-11-29T10:00:01.12Z", AT + 120),
        ("2026-11-29T10:00:01.1Z", AT + 100),
        ("2026-11-29T10:00:01.123Z", AT + 123),
        ("2026-11-29T10:00:01.1239Z", AT + 123),  # cut to milliseconds, as Date.parse does
        ("2026-11-29T10:00:01.123456789Z", AT + 123),
        ("2026-11-29T10:00:01.999999999z", AT + 999),
        ("2026-11-29T15:30:01.12+05:30", AT + 120),
        ("2026-11-29T04:30:01.12-0530", AT + 120),
        ("2026-11-29T04:30:01.12-05:30", AT + 120),
        ("2026-11-29T10:00:01+0000", AT),
        ("2026-11-29T10:00:01+00:00", AT),
        ("2026-11-29T10:00:01", AT),  # no zone: UTC
        ("2026-11-29t10:00:01Z", AT),
        ("2026-11-29 10:00:01Z", AT),
        ("2026-11-29T10:00Z", AT - 1000),
        ("2026-11-29", AT - 36_001_000),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
    ],
)
def test_iso_8601_forms_are_read_to_epoch_milliseconds(text: str, epoch_ms: int) -> None:
    assert parse_iso_ms(text) == epoch_ms
    assert is_iso_8601(text)


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "",
        "2026-11-29T10:00:01.12+05",  # an hour-only offset: Date.parse refuses it too
        "2026-11-29T10:00:01.1234567890Z",  # ten fraction digits
        "2026-11-29T10:00:01.Z",
        "2026-02-30T10:00:00Z",
        "2026-11-29T24:00:00Z",
        "2026-11-29T10:61:00Z",
        "2026-11-29T10:00:60Z",
        "2026-11-29T10:00:00+24:00",
        "2026-11-29T10:00:00.123Zjunk",
        "2026-11-29T10:00:00.\u0661\u0662\u0663Z",  # digits, but not ASCII ones
        "29/11/2026 10:00",
    ],
)
def test_what_is_not_an_iso_8601_date_time_is_none(text: str) -> None:
    assert parse_iso_ms(text) is None
    assert not is_iso_8601(text)


def test_non_strings_are_none() -> None:
    assert parse_iso_ms(1795946401) is None
    assert parse_iso_ms(None) is None


def test_the_common_form_round_trips_through_the_formatter() -> None:
    for text in (
        "2026-11-29T10:00:01.120Z",
        "1999-12-31T23:59:59.999Z",
        "2026-11-29T10:61:01.000Z",
    ):
        value = parse_iso_ms(text)
        assert value is None or iso_from_ms(value) == text
    assert parse_iso_ms("2026-11-29T10:61:01.000Z") is None
