"""The live event stream behind `GET /_sandbox/stream` (server-sent events) and `/_sandbox/events`.

Every message that passes through the sandbox is published once, as this stable shape:

    {"seq": 42, "side": "segment", "kind": "track", "at": "2026-11-28T10:40:01.123Z",
     "message": {...}}

- `seq`: increasing per sandbox run. The SSE `id:` is `RUN.SEQ`, RUN naming this run of the
  sandbox, so `Last-Event-ID` resumes a stream after a reconnect (events after SEQ) and after a
  restart too (an id from another run: every event this run still holds). A stream opens with
  an event holding only `id:` (the position it starts after), so a reader that has seen no event
  yet still resumes from the right place.
- `side` and `kind`:
  - `segment` / a Segment type (`identify`, `track`, ...): a message the Segment side accepted,
    as enriched (`messageId`, `receivedAt`, `timestamp`, ...).
  - `frigade` / a Segment type: a message the Frigade webhook ingested, as it arrived.
  - `frigade` / `user`, `group`, `session`, `flowState`: a write on Frigade's public API
    (`message` is the request body).
  - `destination` / `delivered`, `retry`, `undeliverable`: a webhook batch; `message` is
    `{batchId, url, method, status, events, attempts, messageIds, error?}`.
  - `forward` / `track` or `failed`: a flowStates action sent to the Segment API as a track
    event (`message` is the track message; for `failed`, `{error, status, track}`).
- `at`: when the sandbox published it (ISO-8601 UTC, milliseconds).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from frigade_cli.kernel.clock import now_iso
from frigade_cli.kernel.errors import InputError

SIDES = ("segment", "frigade", "destination", "forward")
SUBSCRIBER_QUEUE = 10_000

# (seq, side, kind, at, message): kept as a tuple on the hot path, made a dict only when read.
Item = tuple[int, str, str, str, Any]


def event_json(item: Item) -> dict[str, Any]:
    seq, side, kind, at, message = item
    return {"seq": seq, "side": side, "kind": kind, "at": at, "message": message}


def sse_bytes(item: Item, run: str = "") -> bytes:
    """One server-sent event: `id: RUN.SEQ` (`id: SEQ` without a run) and `data: {json}`."""
    prefix = f"{run}.".encode() if run else b""
    return b"id: %s%d\ndata: %s\n\n" % (
        prefix,
        item[0],
        orjson.dumps(event_json(item), default=str),
    )


def _csv(values: Iterable[str]) -> frozenset[str] | None:
    parts = {p.strip() for v in values for p in v.split(",") if p.strip()}
    return frozenset(parts) or None


@dataclass(frozen=True)
class StreamFilter:
    """Which events a reader wants: `?side=frigade,segment&type=track&userId=u1&event=Signed Up`."""

    sides: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    user_id: str | None = None
    event: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str], multi: Mapping[str, list[str]]) -> StreamFilter:
        sides = _csv(multi.get("side", []))
        if sides and not sides <= set(SIDES):
            bad = sorted(sides - set(SIDES))[0]
            raise InputError(f"side {bad!r} is not one of {', '.join(SIDES)}")
        kinds = _csv([*multi.get("type", []), *multi.get("kind", [])])
        return cls(sides, kinds, query.get("userId") or None, query.get("event") or None)

    def matches(self, item: Item) -> bool:
        _, side, kind, _, message = item
        if self.sides is not None and side not in self.sides:
            return False
        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.user_id is not None or self.event is not None:
            if not isinstance(message, dict):
                return False
            if self.user_id is not None and str(message.get("userId")) != self.user_id:
                return False
            if self.event is not None and message.get("event") != self.event:
                return False
        return True


class Subscription:
    """One reader's queue; a reader too slow to keep up loses events and is told how many."""

    def __init__(self, stream_filter: StreamFilter) -> None:
        self.filter = stream_filter
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.dropped = 0

    def offer(self, item: Item) -> None:
        if not self.filter.matches(item):
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1

    def close(self) -> None:
        # The end marker must get through even to a full queue.
        while True:
            try:
                self.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()
                self.dropped += 1


class EventHub:
    """Publishes events to live subscribers and keeps the most recent ones for replay."""

    def __init__(self, recent: int = 1000) -> None:
        self.run = secrets.token_hex(4)
        self._seq = 0
        self._recent: deque[Item] = deque(maxlen=max(recent, 1))
        self._subscribers: set[Subscription] = set()
        self.closed = False

    @property
    def seq(self) -> int:
        """The seq of the latest event published (0 before the first)."""
        return self._seq

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, side: str, kind: str, message: Any, at: str | None = None) -> None:
        self._seq += 1
        item = (self._seq, side, kind, at or now_iso(), message)
        self._recent.append(item)
        for subscription in self._subscribers:
            subscription.offer(item)

    def publish_messages(self, side: str, messages: Iterable[dict[str, Any]], at: str) -> None:
        """Publish Segment messages, each with its type as the kind (the hot path: kept lean)."""
        seq = self._seq
        recent = self._recent
        subscribers = self._subscribers
        for message in messages:
            seq += 1
            item = (seq, side, str(message.get("type")), at, message)
            recent.append(item)
            for subscription in subscribers:
                subscription.offer(item)
        self._seq = seq

    def recent(
        self, stream_filter: StreamFilter, limit: int | None = None, after: int = 0
    ) -> list[Item]:
        """Buffered events matching the filter, oldest first: the last `limit` after seq `after`."""
        items = [i for i in self._recent if i[0] > after and stream_filter.matches(i)]
        return items[-limit:] if limit is not None and limit > 0 else items

    def resume_after(self, last_event_id: str) -> int | None:
        """The seq after which a stream resumes for this `Last-Event-ID`; None: no resume.

        `SEQ` or `RUN.SEQ` of this run: after SEQ; an id of another run (the sandbox restarted):
        0, every event this run still holds.
        """
        run, _, seq = last_event_id.strip().rpartition(".")
        if not seq.isdigit():
            return None
        return int(seq) if run in ("", self.run) else 0

    def subscribe(self, stream_filter: StreamFilter) -> Subscription:
        subscription = Subscription(stream_filter)
        if self.closed:
            subscription.close()
        else:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def clear(self) -> None:
        """Forget buffered events (sequence numbers keep increasing)."""
        self._recent.clear()

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        self.closed = True
        for subscription in self._subscribers:
            subscription.close()
        self._subscribers.clear()
