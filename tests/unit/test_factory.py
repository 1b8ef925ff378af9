"""Synthetic messages: Spec-valid, unique ids, Segment-style timestamps, every type covered."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from frigade_cli import __version__
from frigade_cli.segment.factory import MessageFactory, iso_millis
from frigade_cli.segment.messages import MESSAGE_TYPES, message_problem

SEGMENT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")


@pytest.mark.parametrize("type_", MESSAGE_TYPES)
def test_each_type_is_spec_valid(type_: str) -> None:
    message = MessageFactory(seed=1).make(type_)

    assert message["type"] == type_
    assert message_problem(message) is None


def test_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="purchase"):
        MessageFactory().make("purchase")


def test_message_ids_are_unique_across_thousands() -> None:
    factory = MessageFactory(seed=7)

    ids = [m["messageId"] for m in factory.mix(5000, MESSAGE_TYPES)]

    assert len(set(ids)) == len(ids) == 5000


def test_two_factories_with_the_same_seed_never_share_a_message_id() -> None:
    first = [m["messageId"] for m in MessageFactory(seed=3).mix(500, ["track"])]
    second = [m["messageId"] for m in MessageFactory(seed=3).mix(500, ["track"])]

    assert not set(first) & set(second)


def test_message_ids_fit_segments_100_character_limit() -> None:
    message = MessageFactory(run_id="r" * 8).make("identify")

    assert len(message["messageId"]) <= 100


def test_run_id_appears_in_ids_so_a_run_can_be_found_again() -> None:
    message = MessageFactory(run_id="run42abc").make("identify")

    assert "run42abc" in message["messageId"]
    assert "run42abc" in message["userId"]


@pytest.mark.parametrize("field", TIME_FIELDS)
def test_timestamps_are_iso_8601_utc_with_milliseconds_and_z(field: str) -> None:
    message = MessageFactory().make("track")

    assert SEGMENT_TIME.match(message[field]), message[field]


def test_timestamp_is_the_current_time() -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    stamp = MessageFactory().make("track")["timestamp"]
    after = datetime.now(timezone.utc) + timedelta(seconds=1)

    assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_original_timestamp_is_not_after_sent_at() -> None:
    message = MessageFactory(seed=5).make("group")

    assert message["originalTimestamp"] <= message["sentAt"]


def test_iso_millis_converts_to_utc_and_truncates_to_milliseconds() -> None:
    moment = datetime(2026, 11, 28, 12, 40, 1, 405_999, tzinfo=timezone(timedelta(hours=2)))

    assert iso_millis(moment) == "2026-11-28T10:40:01.405Z"


def test_mix_cycles_through_the_types_in_order() -> None:
    types = ["identify", "group", "track"]

    produced = [m["type"] for m in MessageFactory().mix(7, types)]

    assert produced == [types[i % 3] for i in range(7)]


def test_mix_represents_every_type_evenly() -> None:
    counts = Counter(m["type"] for m in MessageFactory().mix(600, MESSAGE_TYPES))

    assert counts == dict.fromkeys(MESSAGE_TYPES, 100)


@pytest.mark.parametrize("type_", MESSAGE_TYPES)
def test_context_library_names_the_tool_and_its_version(type_: str) -> None:
    library = MessageFactory().make(type_)["context"]["library"]

    assert library == {"name": "frigade-cli", "version": __version__}


def test_group_id_of_a_track_is_in_its_context_as_segment_puts_it() -> None:
    message = MessageFactory(seed=2).make("track")

    assert message["context"]["groupId"].startswith("cli_org_")


def test_alias_previous_id_is_the_anonymous_id() -> None:
    message = MessageFactory(seed=2).make("alias")

    assert message["previousId"] == message["anonymousId"]


def test_same_seed_gives_the_same_values() -> None:
    def values(factory: MessageFactory) -> list[object]:
        return [
            (m.get("traits"), m.get("event"), m["anonymousId"])
            for m in factory.mix(30, MESSAGE_TYPES)
        ]

    assert values(MessageFactory(seed=11, run_id="a")) == values(
        MessageFactory(seed=11, run_id="b")
    )
