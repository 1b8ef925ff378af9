"""Webhook batches: by count, by bytes, bodies exactly the JSON arrays Segment would send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from frigade_cli.kernel.errors import InputError
from frigade_cli.segment.batching import MAX_BATCH_SIZE, batch_encoded, make_batches
from frigade_cli.segment.factory import MessageFactory
from frigade_cli.segment.messages import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES


def messages(count: int, seed: int = 1) -> list[dict[str, Any]]:
    return list(MessageFactory(seed=seed).mix(count, ["identify", "group", "track"]))


def large(count: int, size: int = 30_000) -> list[dict[str, Any]]:
    """Track messages of about `size` bytes each, under the 32 KB limit."""
    return [
        {
            "type": "track",
            "userId": f"u{n}",
            "event": "Big",
            "messageId": f"big-{n}",
            "properties": {"blob": "x" * size},
        }
        for n in range(count)
    ]


def js_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def test_250_messages_by_100_give_100_100_50() -> None:
    batches = list(make_batches(messages(250), 100))

    assert [b.size for b in batches] == [100, 100, 50]
    assert [b.index for b in batches] == [0, 1, 2]


def test_batches_keep_every_message_once_in_order() -> None:
    source = messages(250)

    batched = [m for b in make_batches(source, 100) for m in b.messages]

    assert batched == source


def test_exact_multiple_gives_no_empty_batch() -> None:
    assert [b.size for b in make_batches(messages(200), 100)] == [100, 100]


def test_no_messages_give_no_batches() -> None:
    assert list(make_batches([], 100)) == []


def test_body_is_exactly_the_compact_json_array_of_the_messages() -> None:
    source = messages(7)
    source[0]["traits"]["name"] = "Zoë Ångström"

    [batch] = make_batches(source, 100)

    assert batch.body == js_json(source)
    assert json.loads(batch.body) == source


def test_each_body_holds_only_its_own_messages() -> None:
    batches = list(make_batches(messages(5), 2))

    assert [json.loads(b.body) for b in batches] == [b.messages for b in batches]


def test_body_writes_integral_floats_as_javascript_does() -> None:
    message = {"type": "track", "userId": "u", "event": "Paid", "properties": {"amount": 129.0}}

    [batch] = make_batches([message], 1)

    assert (
        batch.body == b'[{"type":"track","userId":"u","event":"Paid","properties":{"amount":129}}]'
    )


def test_large_messages_split_by_bytes_before_count() -> None:
    batches = list(make_batches(large(40), 100))

    assert len(batches) > 1
    assert all(len(b.body) <= MAX_BATCH_BYTES for b in batches)
    assert sum(b.size for b in batches) == 40


def test_byte_cap_fills_each_batch_as_far_as_it_can() -> None:
    batches = list(make_batches(large(40), 100))
    per_message = len(js_json(large(1)[0]))

    for batch in batches[:-1]:
        assert len(batch.body) + per_message + 1 > MAX_BATCH_BYTES


def test_a_custom_byte_cap_is_respected() -> None:
    batches = list(make_batches(messages(100), 100, max_bytes=5_000))

    assert len(batches) > 1
    assert all(len(b.body) <= 5_000 for b in batches)


def test_message_at_32_kb_is_batched() -> None:
    message = large(1, size=0)[0]
    message["properties"]["blob"] = "x" * (MAX_MESSAGE_BYTES - len(js_json(message)))

    [batch] = make_batches([message], 1)

    assert len(batch.body) == MAX_MESSAGE_BYTES + 2


def test_message_over_32_kb_is_refused_naming_its_message_id() -> None:
    source = messages(3) + large(1, size=MAX_MESSAGE_BYTES)

    with pytest.raises(InputError) as info:
        list(make_batches(source, 100))

    assert "big-0" in str(info.value)
    assert "32 KB" in str(info.value)


def test_oversize_message_without_id_is_named_by_position() -> None:
    message = large(1, size=MAX_MESSAGE_BYTES)[0]
    del message["messageId"]

    with pytest.raises(InputError, match="message 3"):
        list(make_batches([*messages(2), message], 100))


@pytest.mark.parametrize("size", [1, 4000])
def test_batch_size_bounds_are_allowed(size: int) -> None:
    assert sum(b.size for b in make_batches(messages(5), size)) == 5


@pytest.mark.parametrize("size", [0, -1, MAX_BATCH_SIZE + 1])
def test_batch_size_out_of_range_is_refused_when_called(size: int) -> None:
    with pytest.raises(InputError, match="1 to 4000"):
        make_batches(messages(5), size)


def test_batch_size_one_gives_one_message_per_batch() -> None:
    assert [b.size for b in make_batches(messages(3), 1)] == [1, 1, 1]


def test_a_number_javascript_writes_differently_is_written_as_javascript_does() -> None:
    source = [*messages(3), {"type": "track", "userId": "u", "event": "E", "messageId": "m1",
                             "properties": {"amount": 129.0, "big": 1e16}}]  # fmt: skip

    (batch,) = make_batches(source, 100)

    assert b'"properties":{"amount":129,"big":10000000000000000}' in batch.body
    assert json.loads(batch.body) == source


def test_batches_are_split_by_the_bytes_javascript_writes_not_a_shorter_form() -> None:
    # orjson writes 1e16 in 4 characters, JSON.stringify in 17: the limit applies to the latter.
    source = [
        {"type": "track", "userId": "u", "event": "E", "messageId": f"m{n}", "properties":
         {"v": [1e16] * 10}}
        for n in range(6)
    ]  # fmt: skip
    exact_size = len(js_json(source[0]).replace(b"1e+16", b"10000000000000000"))
    limit = 2 + 3 * exact_size + 2  # three exact messages fit, four do not

    batches = list(make_batches(source, 100, max_bytes=limit))

    assert [b.size for b in batches] == [3, 3]
    assert [b.index for b in batches] == [0, 1]
    assert all(len(b.body) <= limit for b in batches)
    assert b"10000000000000000" in batches[0].body
    assert [m for b in batches for m in b.messages] == source


def test_indexes_stay_consecutive_around_a_batch_made_the_slow_way() -> None:
    source = messages(250)
    source[150]["properties"] = {"amount": 5.0}

    batches = list(make_batches(source, 100))

    assert [b.index for b in batches] == [0, 1, 2]
    assert [b.size for b in batches] == [100, 100, 50]
    assert b'"amount":5}' in batches[1].body


def test_a_message_over_32_kb_only_as_javascript_writes_it_is_refused_by_id() -> None:
    numbers = [1e16] * ((MAX_MESSAGE_BYTES - 200) // 5)  # about 32 KB as 1e16, 3.4x as digits
    source = [{"type": "track", "userId": "u", "event": "E", "messageId": "wide-one",
               "properties": {"v": numbers}}]  # fmt: skip

    with pytest.raises(InputError, match="wide-one"):
        list(make_batches(source, 100))


def broken_after(good: int) -> Iterator[dict[str, Any]]:
    """`good` messages, then the error a bad fixture line raises."""
    yield from messages(good)
    raise InputError("events.ndjson line 999: invalid JSON")


def test_batches_are_made_lazily_one_when_asked() -> None:
    made: list[int] = []

    def counted() -> Iterator[dict[str, Any]]:
        for n, message in enumerate(messages(1000), start=1):
            made.append(n)
            yield message

    batches = make_batches(counted(), 100)
    first = next(batches)

    assert first.size == 100
    assert len(made) <= 101  # the 101st is read to know the first batch is full


def test_a_bad_message_after_the_first_batch_sends_those_before_it_then_stops() -> None:
    batches = make_batches(broken_after(250), 100)

    sizes = [next(batches).size, next(batches).size, next(batches).size]
    with pytest.raises(InputError, match="line 999"):
        next(batches)

    assert sizes == [100, 100, 50]


def test_a_bad_message_in_the_first_batch_stops_before_any_batch() -> None:
    with pytest.raises(InputError, match="line 999"):
        next(make_batches(broken_after(40), 100))


def test_an_oversize_message_further_on_stops_after_the_messages_before_it() -> None:
    source = [*messages(150), *large(1, size=40_000), *messages(10, seed=2)]
    source[150]["messageId"] = "too-big"
    batches = make_batches(source, 100)

    sizes = [next(batches).size, next(batches).size]
    with pytest.raises(InputError, match="too-big"):
        next(batches)

    assert sizes == [100, 50]


def test_encoded_messages_are_batched_as_the_messages_themselves_would_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from frigade_cli.segment import factory

    monkeypatch.setattr(factory, "now_ms", lambda: 1_790_000_000_123)  # same instant both ways
    made = MessageFactory(seed=4, run_id="r").mix(2500, ["identify", "group", "track"])
    encoded = MessageFactory(seed=4, run_id="r").encoded(2500, ["identify", "group", "track"])

    from_dicts = list(make_batches(made, 100, max_bytes=40_000))
    from_bytes = list(batch_encoded(encoded, 100, max_bytes=40_000))

    assert [(b.index, b.size, b.body) for b in from_bytes] == [
        (b.index, b.size, b.body) for b in from_dicts
    ]
    assert from_bytes[0].size < 100  # the byte cap split them
    assert from_bytes[3].messages == from_dicts[3].messages  # read back from the body


def test_encoded_batches_are_lazy_and_check_the_batch_size() -> None:
    batches = batch_encoded(MessageFactory(seed=1).encoded(10_000_000, ["track"]), 100)

    assert next(batches).size == 100
    with pytest.raises(InputError, match="4001"):
        batch_encoded([], 4001)
