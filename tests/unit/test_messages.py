"""Segment Spec rules for single messages: required fields, identity, ids, timestamps, size."""

from __future__ import annotations

import json
from typing import Any

import pytest

from frigade_cli.kernel.errors import InputError
from frigade_cli.segment.messages import (
    MAX_MESSAGE_BYTES,
    MESSAGE_TYPES,
    message_problem,
    validate_message,
)


def minimal(type_: str, **fields: Any) -> dict[str, Any]:
    """The smallest valid message of `type_`, with `fields` added or replaced."""
    required = {"group": {"groupId": "org_1"}, "track": {"event": "Clicked"}}
    alias = {"previousId": "anon_1"} if type_ == "alias" else {}
    return {"type": type_, "userId": "user_1", **required.get(type_, {}), **alias, **fields}


@pytest.mark.parametrize("type_", MESSAGE_TYPES)
def test_minimal_message_of_each_type_is_valid(type_: str) -> None:
    assert message_problem(minimal(type_)) is None


@pytest.mark.parametrize(
    ("type_", "field"), [("group", "groupId"), ("track", "event"), ("alias", "previousId")]
)
def test_type_specific_required_field_is_named_when_missing(type_: str, field: str) -> None:
    message = minimal(type_)
    del message[field]

    assert message_problem(message) == f"field '{field}' is required"


@pytest.mark.parametrize(("type_", "field"), [("group", "groupId"), ("track", "event")])
def test_type_specific_required_field_may_not_be_empty(type_: str, field: str) -> None:
    problem = message_problem(minimal(type_, **{field: ""}))

    assert problem is not None
    assert field in problem


def test_identify_needs_no_traits() -> None:
    assert message_problem({"type": "identify", "userId": "u"}) is None


@pytest.mark.parametrize("type_", MESSAGE_TYPES)
def test_message_without_user_id_or_anonymous_id_is_refused(type_: str) -> None:
    message = minimal(type_)
    del message["userId"]

    assert message_problem(message) == "either userId or anonymousId is required"


def test_empty_user_id_does_not_count_as_an_identity() -> None:
    assert message_problem(minimal("identify", userId="")) is not None


def test_anonymous_id_alone_is_enough() -> None:
    message = minimal("track", anonymousId="anon_1")
    del message["userId"]

    assert message_problem(message) is None


def test_message_id_of_100_characters_is_accepted() -> None:
    assert message_problem(minimal("identify", messageId="m" * 100)) is None


def test_message_id_over_100_characters_is_refused() -> None:
    problem = message_problem(minimal("identify", messageId="m" * 101))

    assert problem is not None
    assert "messageId" in problem
    assert "100" in problem


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-28T10:40:01.405Z",
        "2026-11-28T10:40:01Z",
        "2026-11-28T10:40:01+02:00",
        "2026-11-28T10:40:01.123456-0530",
        "2026-11-28",
    ],
)
@pytest.mark.parametrize("field", ["timestamp", "sentAt", "receivedAt", "originalTimestamp"])
def test_iso_8601_times_are_accepted(field: str, value: str) -> None:
    assert message_problem(minimal("track", **{field: value})) is None


@pytest.mark.parametrize(
    "value",
    ["yesterday", "28/11/2026 10:40", "2026-11-28T10:40:01.405Zjunk", "2026-13-01T10:40:01Z"],
)
def test_a_time_that_is_not_iso_8601_is_refused_and_named(value: str) -> None:
    problem = message_problem(minimal("identify", timestamp=value))

    assert problem is not None
    assert "timestamp" in problem
    assert "ISO-8601" in problem


@pytest.mark.parametrize(
    "value", ["2026-02-30T10:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T10:61:00Z"]
)
def test_an_impossible_date_or_time_is_refused(value: str) -> None:
    assert message_problem(minimal("identify", sentAt=value)) is not None


def test_a_numeric_timestamp_is_refused() -> None:
    problem = message_problem(minimal("identify", timestamp=1732790401))

    assert problem is not None
    assert "timestamp" in problem


def compact_size(message: dict[str, Any]) -> int:
    return len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())


def padded_to(size: int) -> dict[str, Any]:
    """A track message whose compact JSON is exactly `size` bytes."""
    message = minimal("track", properties={"blob": ""})
    message["properties"]["blob"] = "x" * (size - compact_size(message))
    assert compact_size(message) == size
    return message


def test_message_of_exactly_32_kb_is_accepted() -> None:
    assert message_problem(padded_to(MAX_MESSAGE_BYTES)) is None


def test_message_one_byte_over_32_kb_is_refused_with_its_size() -> None:
    problem = message_problem(padded_to(MAX_MESSAGE_BYTES + 1))

    assert problem is not None
    assert str(MAX_MESSAGE_BYTES + 1) in problem
    assert "32 KB" in problem


def test_size_limit_counts_utf8_bytes_not_characters() -> None:
    # 12,000 characters of "é" are 24,000 bytes: under; 17,000 are 34,000 bytes: over.
    assert message_problem(minimal("track", properties={"s": "é" * 12_000})) is None
    assert message_problem(minimal("track", properties={"s": "é" * 17_000})) is not None


@pytest.mark.parametrize("type_", ["Identify", "batch", "", "purchase"])
def test_unknown_type_lists_the_known_types(type_: str) -> None:
    problem = message_problem({"type": type_, "userId": "u"})

    assert problem is not None
    assert all(known in problem for known in MESSAGE_TYPES)


def test_message_without_a_type_is_refused() -> None:
    problem = message_problem({"userId": "u"})

    assert problem is not None
    assert "'type'" in problem


@pytest.mark.parametrize("value", [["a"], "identify", 3, None])
def test_a_message_that_is_not_an_object_is_refused(value: Any) -> None:
    problem = message_problem(value)

    assert problem is not None
    assert "JSON object" in problem
    assert type(value).__name__ in problem


def test_traits_must_be_an_object() -> None:
    problem = message_problem(minimal("identify", traits=["pro"]))

    assert problem is not None
    assert "traits" in problem


def test_unknown_fields_are_kept() -> None:
    message = minimal("track", version=2, custom={"a": 1})

    assert validate_message(message) == message


def test_validate_message_returns_the_same_message() -> None:
    message = minimal("group")

    assert validate_message(message) is message


def test_validate_message_error_names_where_and_the_problem() -> None:
    with pytest.raises(InputError) as info:
        validate_message({"type": "track", "userId": "u"}, where="events.ndjson line 7")

    assert str(info.value) == "events.ndjson line 7: field 'event' is required"


def test_validation_error_exits_with_the_validation_code() -> None:
    with pytest.raises(InputError) as info:
        validate_message([])

    assert int(info.value.exit_code) == 3
