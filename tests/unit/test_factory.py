"""Synthetic messages: Spec-valid, unique ids, Segment-style timestamps, every type covered."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import tracemalloc
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from frigade_cli import __version__
from frigade_cli.segment import factory as factory_module
from frigade_cli.segment import jsjson
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


def test_every_message_of_a_long_mixed_run_is_spec_valid() -> None:
    problems = [
        (m["messageId"], message_problem(m))
        for m in MessageFactory(seed=9).mix(3000, MESSAGE_TYPES)
        if message_problem(m) is not None
    ]

    assert problems == []


def test_messages_share_no_nested_object_so_an_override_changes_one_only() -> None:
    first, second = MessageFactory(seed=4).mix(2, ["track"])

    first["context"]["library"]["name"] = "changed"
    first["properties"]["extra"] = 1

    assert second["context"]["library"]["name"] == "frigade-cli"
    assert "extra" not in second["properties"]


def test_a_users_identify_traits_are_the_same_in_every_message_about_them() -> None:
    traits_by_user: dict[str, set[str]] = {}
    for message in MessageFactory(seed=6).mix(2000, ["identify"]):
        traits_by_user.setdefault(message["userId"], set()).add(repr(message["traits"]))

    assert len(traits_by_user) > 10
    assert all(len(traits) == 1 for traits in traits_by_user.values())


def test_a_group_call_names_the_organisation_its_users_tracks_carry() -> None:
    factory = MessageFactory(seed=8)
    groups = {m["userId"]: m["groupId"] for m in factory.mix(1500, ["group"])}
    tracks = {m["userId"]: m["context"]["groupId"] for m in factory.mix(1500, ["track"])}

    shared = groups.keys() & tracks.keys()
    assert shared
    assert all(groups[user] == tracks[user] for user in shared)


def test_mix_refuses_an_unknown_type_before_making_anything() -> None:
    with pytest.raises(ValueError, match="purchase"):
        next(MessageFactory().mix(3, ["track", "purchase"]))


def test_mix_is_a_generator_that_makes_each_message_when_asked() -> None:
    factory = MessageFactory(seed=1)
    produced = factory.mix(1_000_000, ["identify", "group", "track"])

    assert inspect.isgenerator(produced)
    assert next(produced)["messageId"].endswith("-0000001")
    assert next(produced)["messageId"].endswith("-0000002")


def test_a_long_run_is_made_without_holding_its_messages() -> None:
    # A message is about 1.4 KB of Python objects: holding 100,000 would take over 100 MB.
    tracemalloc.start()
    try:
        seen, last = 0, ""
        for message in MessageFactory(seed=2).mix(100_000, MESSAGE_TYPES):
            seen, last = seen + 1, message["messageId"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert seen == 100_000
    assert last.endswith("-0100000")
    assert peak < 4_000_000


FROZEN_MS = 1_790_000_000_123


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """One instant for every message, so two ways of making the same draws can be compared."""
    monkeypatch.setattr(factory_module, "now_ms", lambda: FROZEN_MS)


def test_encoded_messages_are_the_bytes_each_message_encodes_to(frozen_clock: None) -> None:
    made = MessageFactory(seed=5, run_id="r1").mix(3000, MESSAGE_TYPES)
    encoded = MessageFactory(seed=5, run_id="r1").encoded(3000, MESSAGE_TYPES)

    pairs = list(zip(made, encoded, strict=True))

    assert all(jsjson.dumps(message) == data for message, data in pairs)
    assert {json.loads(data)["type"] for _, data in pairs} == set(MESSAGE_TYPES)


def test_encoded_messages_are_spec_valid_and_unique_with_the_real_clock() -> None:
    encoded = list(MessageFactory(seed=3).encoded(1200, MESSAGE_TYPES))
    messages = [json.loads(data) for data in encoded]

    assert [message_problem(m) for m in messages] == [None] * 1200
    assert len({m["messageId"] for m in messages}) == 1200
    assert all(SEGMENT_TIME.match(m[field]) for m in messages for field in TIME_FIELDS)


def test_encoded_is_a_generator() -> None:
    encoded = MessageFactory(seed=1).encoded(10_000_000, ["track"])

    assert inspect.isgenerator(encoded)
    assert json.loads(next(encoded))["messageId"].endswith("-0000001")


def test_encoded_bytes_are_what_javascript_writes_for_them() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: JavaScript's JSON.stringify is the oracle here")
    encoded = list(MessageFactory(seed=8).encoded(60, MESSAGE_TYPES))
    script = (
        "const lines = require('fs').readFileSync(0, 'utf8').split('\\n').filter(Boolean);"
        "process.stdout.write(lines.map(l => JSON.stringify(JSON.parse(l))).join('\\n'));"
    )

    out = subprocess.run(
        [node, "-e", script], input=b"\n".join(encoded), capture_output=True, check=True
    ).stdout

    assert out.split(b"\n") == encoded


def test_the_same_seed_gives_the_same_users_in_every_run_and_new_message_ids() -> None:
    def run(seed: int | None) -> list[dict[str, object]]:
        return list(MessageFactory(seed=seed).mix(60, ["identify", "group", "track"]))

    first, second, other, unseeded = run(42), run(42), run(43), run(None)

    assert [m["userId"] for m in first] == [m["userId"] for m in second]
    assert [m.get("groupId") for m in first] == [m.get("groupId") for m in second]
    assert all(str(m["userId"]).startswith("cli_user_s42_") for m in first)
    assert {m["messageId"] for m in first}.isdisjoint(m["messageId"] for m in second)
    assert {m["userId"] for m in first}.isdisjoint(m["userId"] for m in other)
    assert {m["userId"] for m in first}.isdisjoint(m["userId"] for m in unseeded)
