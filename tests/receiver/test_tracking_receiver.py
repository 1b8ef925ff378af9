"""The one tracking-API receiver: gzip, messageId de-duplication, limits; as a unit and served."""

from __future__ import annotations

import base64
import gzip
import uuid
from typing import Any

import orjson
import pytest

from frigade_cli.receiver.tracking import TrackingReceiver
from frigade_cli.sandbox import run_sandbox
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config, post_batch, wait_until
from tests.sandbox.conftest import recent_events, track

WRITE_KEY = "wk_test0000abcd"


class Clock:
    """Epoch milliseconds that a test moves by hand."""

    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def receive(receiver: TrackingReceiver, body: Any, **headers: str) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    basic = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    names = {"authorization": f"Basic {basic}", **headers}
    reply = receiver.receive("batch", names, raw, len(raw))
    return reply.status, reply.received


def test_a_repeated_message_id_is_answered_200_and_dropped_within_the_window() -> None:
    clock = Clock()
    receiver = TrackingReceiver(write_keys=[WRITE_KEY], dedup_window=60.0, clock=clock)

    first = receive(receiver, {"batch": [track(messageId="m1"), track(messageId="m1")]})
    clock.now += 59_000
    again = receive(receiver, {"batch": [track(messageId="m1"), track(messageId="m2")]})
    clock.now += 2_000  # m1 was received 61 s ago: out of a 60 s window
    later = receive(receiver, {"batch": [track(messageId="m1"), track(messageId="m2")]})

    assert first[0] == again[0] == later[0] == 200
    assert [m["messageId"] for m in first[1].messages] == ["m1"]
    assert first[1].duplicates == 1
    assert [m["messageId"] for m in again[1].messages] == ["m2"]
    assert [m["messageId"] for m in later[1].messages] == ["m1"]


def test_a_zero_window_accepts_every_repeat() -> None:
    receiver = TrackingReceiver(write_keys=[WRITE_KEY], dedup_window=0)

    status, received = receive(receiver, {"batch": [track(messageId="m1")] * 3})

    assert status == 200
    assert len(received.messages) == 3


def test_the_oldest_ids_are_forgotten_past_the_capacity() -> None:
    receiver = TrackingReceiver(write_keys=[WRITE_KEY], max_remembered_ids=2)

    receive(receiver, {"batch": [track(messageId="a")]})
    receive(receiver, {"batch": [track(messageId="b")]})
    receive(receiver, {"batch": [track(messageId="c")]})
    _, received = receive(receiver, {"batch": [track(messageId="a"), track(messageId="c")]})

    assert [m["messageId"] for m in received.messages] == ["a"]


def test_a_gzip_body_is_read_and_relayed_compressed() -> None:
    receiver = TrackingReceiver(write_keys=[WRITE_KEY])
    body = gzip.compress(orjson.dumps({"batch": [track(messageId="g1")]}))

    status, received = receive(receiver, body, **{"content-encoding": "gzip"})

    assert status == 200
    assert [m["messageId"] for m in received.messages] == ["g1"]
    assert received.body == body  # the request as it arrived, for relaying unchanged


@pytest.mark.parametrize(
    ("body", "encoding", "status", "words"),
    [
        (b"not gzip at all", "gzip", 400, "gzip"),
        (gzip.compress(b"{not json"), "gzip", 400, "invalid JSON"),
        (b'{"batch": []}', "br", 415, "br"),
        (gzip.compress(b'{"batch": [], "pad": "' + b"x" * 600_000 + b'"}'), "gzip", 400, "500000"),
    ],
    ids=["corrupt", "gzipped-malformed", "unknown-encoding", "oversize-decompressed"],
)
def test_bad_bodies_are_refused_with_the_reason(
    body: bytes, encoding: str, status: int, words: str
) -> None:
    problems: list[tuple[int, str]] = []
    receiver = TrackingReceiver(
        write_keys=[WRITE_KEY], on_reject=lambda s, p: problems.append((s, p))
    )

    got, received = receive(receiver, body, **{"content-encoding": encoding})

    assert (got, received) == (status, None)
    assert problems[0][0] == status
    assert words in problems[0][1]


def test_a_batch_message_over_32_kb_is_refused_naming_it() -> None:
    receiver = TrackingReceiver(write_keys=[WRITE_KEY])
    big = track(messageId="big", properties={"blob": "x" * 33_000})

    status, received = receive(receiver, {"batch": [track(), big]})

    assert (status, received) == (400, None)


def test_any_key_is_accepted_when_no_keys_are_given_but_a_key_is_needed() -> None:
    receiver = TrackingReceiver()
    body = orjson.dumps({"batch": [track()]})

    keyed = receiver.receive("batch", {}, orjson.dumps({"batch": [track()], "writeKey": "x"}), 40)
    keyless = receiver.receive("batch", {}, body, len(body))

    assert keyed.status == 200
    assert keyless.status == 401


# The sandbox's Segment side is this receiver ------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Any:
    with run_sandbox(fast_config()) as running:
        yield running


def test_the_official_python_library_with_gzip_reaches_the_sandbox(
    sandbox: RunningSandbox,
) -> None:
    from segment.analytics import Client

    errors: list[Any] = []
    client = Client(
        sandbox.write_key,
        host=sandbox.segment_url,
        gzip=True,
        sync_mode=True,
        max_retries=0,
        on_error=lambda error, batch: errors.append(error),
    )
    user = f"user-{uuid.uuid4()}"
    client.identify(user, {"plan": "pro"})
    client.track(user, "Signed Up", {"source": "gzip"})
    client.flush()

    events = wait_until(
        lambda: [e for e in recent_events(sandbox, side="segment", userId=user)],
        what="the library's events",
    )
    assert errors == []
    assert [(e["kind"], e["message"].get("event")) for e in events] == [
        ("identify", None),
        ("track", "Signed Up"),
    ]
    assert events[1]["message"]["properties"] == {"source": "gzip"}
    assert events[0]["message"]["context"]["library"]["name"] == "analytics-python"


def test_the_sandbox_drops_a_repeated_message_id(sandbox: RunningSandbox) -> None:
    message_id = f"dup-{uuid.uuid4()}"

    first = post_batch(sandbox, [track(messageId=message_id)])
    second = post_batch(sandbox, [track(messageId=message_id)])

    assert first.status_code == second.status_code == 200
    found = [
        e for e in recent_events(sandbox, side="segment") if e["message"]["messageId"] == message_id
    ]
    assert len(found) == 1


def test_the_sandbox_dedup_window_is_configurable() -> None:
    with run_sandbox(fast_config(dedup_window=0)) as running:
        post_batch(running, [track(messageId="same")])
        post_batch(running, [track(messageId="same")])

        assert len(recent_events(running, side="segment")) == 2


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_timestamps_are_corrected_for_clock_skew_as_segment_does() -> None:
    import random
    from datetime import datetime, timedelta, timezone

    from frigade_cli.receiver.tracking import _Skew

    rng = random.Random(7)
    base = datetime(2026, 11, 29, 10, 0, 0, tzinfo=timezone.utc)
    for _ in range(2000):
        sent = base + timedelta(milliseconds=rng.randint(0, 5000))
        original = sent - timedelta(milliseconds=rng.randint(0, 3000))
        received = sent + timedelta(milliseconds=rng.randint(-2000, 2000))
        received_ms = round(received.timestamp() * 1000)
        skew = _Skew(received_ms, _iso(received))

        # Segment: timestamp = receivedAt - (sentAt - originalTimestamp), by datetime arithmetic.
        assert skew.timestamp(_iso(original), _iso(sent)) == _iso(received - (sent - original))
    assert skew.timestamp("2026-02-30T10:00:00.100Z", _iso(sent)) == "2026-02-30T10:00:00.100Z"
