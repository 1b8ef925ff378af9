"""What one request to Segment's HTTP Tracking API means, and the answer it gets.

Endpoints `/v1/batch`, `/v1/track`, `/v1/identify`, `/v1/group`, `/v1/page`, `/v1/screen`,
`/v1/alias` (Segment docs, "HTTP Tracking API"). Modelled on Segment:

- auth: the write key as HTTP Basic user with an empty password, or `writeKey` in the body;
- `Content-Encoding: gzip` bodies, as Segment's libraries send them (segment-analytics-python
  with `gzip=True`); limits apply to the decompressed JSON;
- 32 KB per message, 500 KB per request, 2500 messages per batch; invalid JSON: 400;
- a message whose `messageId` was already received within the de-duplication window is answered
  200 and dropped, as Segment's de-duplication does (Segment docs, "Handling Duplicate Data");
- `receivedAt`, a missing `messageId`, `originalTimestamp` and `timestamp` filled in (timestamp
  corrected for clock skew as `receivedAt - (sentAt - originalTimestamp)`); a batch's top-level
  `context` merged into each message; `writeKey` removed; answer `{"success": true}`.

Deliberate differences from real Segment:
- with accepted write keys given, a missing or other key gets 401 (real Segment answers 200 and
  drops the events, so a key cannot be checked there by the response alone); with none given,
  any non-empty key is accepted;
- one invalid message rejects the whole request with 400 naming it (Segment is more lenient);
- by default only the cheap rules are checked per message (type, userId or anonymousId, groupId /
  event / previousId, messageId length, size); `strict_spec` validates each message against the
  full Spec model (`frigade_cli.segment.messages`), at several times the cost per event.

No I/O here: `TrackingReceiver.receive` takes the request's endpoint, headers and body bytes and
returns a `Reply`; `frigade_cli.receiver.asgi` serves it.
"""

from __future__ import annotations

import uuid
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from frigade_cli.kernel.clock import iso_from_ms, now_ms, parse_iso_ms
from frigade_cli.kernel.keys import basic_user
from frigade_cli.receiver import DEFAULT_DEDUP_WINDOW, MAX_REMEMBERED_IDS
from frigade_cli.segment.messages import (
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_ID_LENGTH,
    MESSAGE_TYPES,
)

ENDPOINTS = ("batch", *MESSAGE_TYPES)
SUCCESS = b'{"success":true}'
# The field each type cannot do without (besides userId or anonymousId).
_REQUIRED = {
    "identify": None,
    "group": "groupId",
    "track": "event",
    "page": None,
    "screen": None,
    "alias": "previousId",
}


def _full_problem(message: Any) -> str | None:
    # The pydantic model is imported only when a message needs the full check.
    from frigade_cli.segment.messages import message_problem

    return message_problem(message)


def quick_problem(message: Any) -> str | None:
    """The Spec's required-field rules, cheap; the full model names the problem when one fails.

    Returns None for an acceptable message, else a one-line description of the problem.
    """
    if type(message) is not dict:
        return _full_problem(message) or "a message must be a JSON object"
    type_ = message.get("type")
    if type_ not in _REQUIRED:
        return _full_problem(message) or f"'type' must be one of {', '.join(MESSAGE_TYPES)}"
    if not (message.get("userId") or message.get("anonymousId")):
        return _full_problem(message) or "either userId or anonymousId is required"
    required = _REQUIRED[type_]
    if required is not None and not message.get(required):
        return _full_problem(message) or f"field '{required}' is required"
    message_id = message.get("messageId")
    if message_id is not None and (
        type(message_id) is not str or len(message_id) > MAX_MESSAGE_ID_LENGTH
    ):
        return _full_problem(message) or (
            f"messageId must be at most {MAX_MESSAGE_ID_LENGTH} chars"
        )
    return None


class _Skew:
    """Clock-skew correction for one request: sentAt values repeat, so their parse is cached."""

    def __init__(self, received_ms: int, received_iso: str) -> None:
        self.received_ms = received_ms
        self.received_iso = received_iso
        self._offset: dict[str, int | None] = {}  # sentAt -> receivedAt - sentAt (ms)
        self._valid_seconds: dict[str, bool] = {}  # "YYYY-MM-DDTHH:MM:SS" -> a real time

    def timestamp(self, original: Any, sent: Any) -> Any:
        """`receivedAt - (sentAt - original)` in Segment's format; `original` when unreadable."""
        if not isinstance(sent, str):
            return original
        if original == sent:
            return self.received_iso
        if sent in self._offset:
            offset = self._offset[sent]
        else:
            sent_ms = parse_iso_ms(sent)
            offset = self._offset[sent] = None if sent_ms is None else self.received_ms - sent_ms
        if offset is None:
            return original
        # The common `...SS.mmmZ` form within the same second: shift the milliseconds in place.
        if (
            type(original) is str
            and len(original) == 24
            and original[19] == "."
            and original[23] == "Z"
            and original[20:23].isdigit()
            and 0 <= int(original[20:23]) + offset < 1000
        ):
            second = original[:19]
            valid = self._valid_seconds.get(second)
            if valid is None:
                valid = self._valid_seconds[second] = parse_iso_ms(original) is not None
            if valid:
                return f"{second}.{int(original[20:23]) + offset:03d}Z"
        original_ms = parse_iso_ms(original)
        if original_ms is None:
            return original
        return iso_from_ms(original_ms + offset)


def _enrich(
    message: dict[str, Any],
    skew: _Skew,
    sent_at: Any,
    context: dict[str, Any] | None,
    id_prefix: str,
) -> None:
    """Fill what Segment's API adds to an accepted message, in place."""
    message.pop("writeKey", None)
    if context:
        own = message.get("context")
        message["context"] = {**context, **own} if isinstance(own, dict) else dict(context)
    if not message.get("messageId"):
        message["messageId"] = f"{id_prefix}{uuid.uuid4()}"
    if sent_at is not None and "sentAt" not in message:
        message["sentAt"] = sent_at
    message["receivedAt"] = skew.received_iso
    original = message.get("originalTimestamp") or message.get("timestamp")
    if original is None:
        message["originalTimestamp"] = message["timestamp"] = skew.received_iso
        return
    message["originalTimestamp"] = original
    message["timestamp"] = skew.timestamp(original, message.get("sentAt"))


class MessageIdWindow:
    """The messageIds received within the last `window_ms`, at most `capacity` of them.

    Ids are remembered per request (one deque entry per request), and forgotten oldest first when
    they leave the window or when more than `capacity` are held.
    """

    def __init__(self, window_ms: int, capacity: int = MAX_REMEMBERED_IDS) -> None:
        self.window_ms = window_ms
        self.capacity = capacity
        self.seen: set[str] = set()
        self._by_time: deque[tuple[int, list[str]]] = deque()

    def forget_before(self, now: int) -> None:
        """Forget the ids received `window_ms` or more before `now` (epoch ms)."""
        horizon = now - self.window_ms
        by_time, seen = self._by_time, self.seen
        while by_time and by_time[0][0] <= horizon:
            for message_id in by_time.popleft()[1]:
                seen.discard(message_id)

    def remember(self, ids: list[str], now: int) -> None:
        """Record `ids` (already added to `seen`) as received at `now`; keep within capacity."""
        if ids:
            self._by_time.append((now, ids))
        by_time, seen = self._by_time, self.seen
        while len(seen) > self.capacity and by_time:
            for message_id in by_time.popleft()[1]:
                seen.discard(message_id)

    def fresh(self, messages: list[Any], now: int) -> tuple[list[dict[str, Any]], int]:
        """The messages whose messageId was not received within the window (now remembered as
        received at `now`, epoch ms), in order; and how many were. A message without a
        messageId is always fresh."""
        self.forget_before(now)
        seen = self.seen
        fresh: list[dict[str, Any]] = []
        new_ids: list[str] = []
        for message in messages:
            message_id = message.get("messageId")
            if message_id:
                if message_id in seen:
                    continue
                seen.add(message_id)
                new_ids.append(message_id)
            fresh.append(message)
        self.remember(new_ids, now)
        return fresh, len(messages) - len(fresh)

    def clear(self) -> None:
        self.seen.clear()
        self._by_time.clear()


class Refused(Exception):
    """Raised by an `on_accept` callback that cannot take the messages: answered with `status`
    (e.g. 503 while the server stops), so the sender keeps them."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def reply(self) -> bytes:
        return orjson.dumps({"success": False, "message": self.message})


@dataclass(frozen=True)
class Limits:
    """Segment's size limits: bytes per message, bytes per request, messages per batch."""

    message_bytes: int = MAX_MESSAGE_BYTES
    batch_bytes: int = MAX_BATCH_BYTES
    batch_messages: int = MAX_BATCH_MESSAGES

    def request_bytes(self, endpoint: str) -> int:
        """The most bytes a request to `endpoint` may hold (decompressed)."""
        return self.batch_bytes if endpoint == "batch" else self.message_bytes


@dataclass
class Received:
    """One accepted request: its new messages as enriched, and the request as it arrived.

    `messages` excludes duplicates (counted in `duplicates`); `sent` is every message of the
    request in its order (the new ones as enriched); `headers` and `body` are the raw request
    (body still compressed when it came gzipped), for relaying it unchanged. `kind` is
    "tracking" (Segment's tracking API) or "webhook" (a Webhooks (Actions) delivery, see
    `frigade_cli.receiver.webhook`), whose `signature` is "verified", "mismatch" or "missing"
    when a shared secret was given, else None.
    """

    endpoint: str
    messages: list[dict[str, Any]]
    received_at: str
    duplicates: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    kind: str = "tracking"
    method: str = "POST"
    path: str = ""
    query: str = ""
    sent: list[Any] = field(default_factory=list)
    signature: str | None = None

    @property
    def batch_size(self) -> int:
        """Messages the request held, duplicates included."""
        return len(self.sent)


@dataclass(frozen=True)
class Reply:
    """The answer to one request: status and JSON body; `received` when it was accepted."""

    status: int
    body: bytes
    received: Received | None = None
    problem: str | None = None


def decoded_body(
    headers: Mapping[str, str], body: bytes, limit: int, what: str = "request"
) -> tuple[bytes, tuple[int, str] | None]:
    """The body decompressed as its `Content-Encoding` says (gzip, or none), and None; or b""
    and the (status, problem) to refuse it with: a bad gzip stream, over `limit` bytes once
    decompressed (400), an encoding other than gzip (415)."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return body, None
    if encoding not in ("gzip", "x-gzip"):
        return b"", (415, f"Content-Encoding {encoding!r} is not supported: use gzip")
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = decoder.decompress(body, limit + 1)
    except zlib.error as exc:
        return b"", (400, f"the gzip body cannot be decompressed: {exc}")
    if len(body) > limit or decoder.unconsumed_tail:
        return b"", (400, f"{what} is over {limit} bytes decompressed; Segment's limit is {limit}")
    return body, None


def _error(status: int, message: str) -> Reply:
    return Reply(status, orjson.dumps({"success": False, "message": message}), problem=message)


class TrackingReceiver:
    """Segment's tracking API for one server: checks requests, answers them, hands on messages.

    - `write_keys`: keys accepted (401 for any other); None accepts any non-empty key;
    - `on_accept(received)`: called once per accepted request, before it is answered (it may be a
      coroutine function; the answer waits for it; raising `Refused` answers that instead);
      `on_reject(status, problem)` per rejection;
    - `dedup_window`: seconds a messageId is remembered (0 disables de-duplication);
    - `strict_spec`: a flag or a callable read per request (the full Spec model per message);
    - `clock`: epoch milliseconds, for `receivedAt` and the de-duplication window;
    - `message_id_prefix`: begins the messageId given to a message that has none.
    """

    def __init__(
        self,
        *,
        write_keys: Collection[str] | None = None,
        on_accept: Callable[[Received], Awaitable[None] | None] | None = None,
        on_reject: Callable[[int, str], None] | None = None,
        limits: Limits = Limits(),
        dedup_window: float = DEFAULT_DEDUP_WINDOW,
        strict_spec: bool | Callable[[], bool] = False,
        clock: Callable[[], int] = now_ms,
        max_remembered_ids: int = MAX_REMEMBERED_IDS,
        message_id_prefix: str = "api-",
    ) -> None:
        self.message_id_prefix = message_id_prefix
        self.write_keys = frozenset(write_keys) if write_keys is not None else None
        self.on_accept = on_accept
        self.on_reject = on_reject
        self.limits = limits
        self.dedup = (
            MessageIdWindow(round(dedup_window * 1000), max_remembered_ids)
            if dedup_window > 0
            else None
        )
        self._strict = strict_spec if callable(strict_spec) else (lambda: strict_spec)
        self.clock = clock

    def read_limit(self, endpoint: str) -> int:
        """Bytes of request body worth reading for `endpoint`; a longer body is refused."""
        return self.limits.request_bytes(endpoint)

    def reject(self, status: int, message: str) -> Reply:
        if self.on_reject is not None:
            self.on_reject(status, message)
        return _error(status, message)

    def receive(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        body: bytes,
        size: int,
        raw_headers: list[tuple[bytes, bytes]] | None = None,
        *,
        path: str | None = None,
        query: str = "",
    ) -> Reply:
        """The answer to a POST to `/v1/{endpoint}`.

        `headers` maps lower-case names to values; `body` is the request body when `size` (its
        length in bytes) is at most `read_limit(endpoint)`, else anything (it is refused).
        `path` (default `/v1/{endpoint}`) and `query` are kept on the `Received` for a relay.
        """
        if endpoint not in ENDPOINTS:
            known = ", ".join(ENDPOINTS)
            return _error(404, f"no such endpoint /v1/{endpoint}: use one of {known}")
        batch = endpoint == "batch"
        limit = self.limits.request_bytes(endpoint)
        what = "batch request" if batch else "message"
        if size > limit:
            return self.reject(
                400, f"{what} is {size} bytes; Segment's limit is {limit} bytes per {what}"
            )
        raw = body
        body, failure = decoded_body(headers, body, limit, what)
        if failure is not None:
            return self.reject(*failure)
        size = len(body)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return self.reject(400, f"invalid JSON: {exc}")
        if type(document) is not dict:
            return self.reject(400, "the body must be a JSON object")

        problem = self._auth_problem(headers.get("authorization"), document)
        if problem is not None:
            return self.reject(401, problem)

        if batch:
            messages = document.get("batch")
            if type(messages) is not list:
                return self.reject(400, "a batch body needs a 'batch' array of messages")
            if len(messages) > self.limits.batch_messages:
                return self.reject(
                    400,
                    f"batch holds {len(messages)} messages; Segment's limit is "
                    f"{self.limits.batch_messages} per batch",
                )
            sent_at = document.get("sentAt")
            context = document.get("context")
            if type(context) is not dict:
                context = None
        else:
            document["type"] = endpoint
            messages, sent_at, context = [document], None, None

        problem = self._messages_problem(
            messages, batch, measure=batch and size > self.limits.message_bytes
        )
        if problem is not None:
            return self.reject(400, problem)

        received_ms = self.clock()
        skew = _Skew(received_ms, iso_from_ms(received_ms))
        fresh, duplicates = self.dedup.fresh(messages, received_ms) if self.dedup else (messages, 0)
        for message in fresh:
            _enrich(message, skew, sent_at, context, self.message_id_prefix)
        received = Received(
            endpoint,
            fresh,
            skew.received_iso,
            duplicates,
            raw_headers or [],
            raw,
            path=path or f"/v1/{endpoint}",
            query=query,
            sent=messages,
        )
        return Reply(200, SUCCESS, received)

    def _auth_problem(self, authorization: str | None, document: dict[str, Any]) -> str | None:
        given = None
        if authorization:
            scheme, _, credential = authorization.strip().partition(" ")
            if scheme.lower() == "basic":
                given = basic_user(credential)
        if not given and isinstance(document.get("writeKey"), str):
            given = document["writeKey"]
        if not given:
            return "no write key: use HTTP Basic (write key as user) or writeKey"
        if self.write_keys is not None and given not in self.write_keys:
            return "invalid write key (real Segment would answer 200 and drop the events)"
        return None

    def _messages_problem(self, messages: list[Any], batch: bool, measure: bool) -> str | None:
        check = _full_problem if self._strict() else quick_problem
        most = self.limits.message_bytes
        for n, message in enumerate(messages, start=1):
            problem = check(message)
            # Only a request big enough to hold an oversize message pays for measuring each one.
            if problem is None and measure:
                length = len(orjson.dumps(message))
                if length > most:
                    problem = f"message is {length} bytes; Segment's limit is {most} bytes (32 KB)"
            if problem is not None:
                where = f"batch item {n}" if batch else "message"
                if isinstance(message, dict) and message.get("messageId"):
                    where += f" ({message['messageId']})"
                return f"{where}: {problem}"
        return None

    def forget(self) -> None:
        """Forget the remembered messageIds (a reset)."""
        if self.dedup is not None:
            self.dedup.clear()
