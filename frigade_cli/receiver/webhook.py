"""What one Segment Webhooks (Actions) delivery means to a receiver, and the answer it gets.

Segment's Webhooks (Actions) destination (segmentio/action-destinations,
`packages/destination-actions/src/destinations/webhook/`) sends each event's `data` (by default
the whole event) as the request's body, or, with batching, a bare JSON array of them; POST, PUT or
PATCH as the mapping says; `X-Signature` when the destination has a shared secret: the hex
HMAC-SHA1 of `JSON.stringify` of the event, of the *first element only* when batched. A
receiver pointed at by such a mapping (`frigade segment tail --listen`, through a tunnel) sees
exactly what Segment sends before it reaches Frigade.

- the body is read as `JSON.parse` reads it (`frigade_cli.segment.jsjson`), so the signature is
  checked over the bytes JavaScript writes for the first element (`frigade_cli.segment.signing`);
  a mismatch or a missing signature is reported on the accepted request, never refused (the
  receiver watches; refusing would make Segment retry, then drop, what Frigade may well accept);
- `api_keys`: the `Authorization` header is checked as Frigade checks its webhook's
  (`frigade_cli.frigade.rules.auth_problem`); 401 or 403 otherwise, in Frigade's error shape;
- every element must be a Segment message (the Spec's required fields); one that is not
  rejects the request with 400 naming it;
- a message whose `messageId` was already delivered within the de-duplication window is
  answered and not handed on again (Segment retries a batch whose answer it did not get).

No I/O here: `WebhookReceiver.receive` takes the request and returns a `Reply`;
`frigade_cli.receiver.asgi` serves it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import orjson

from frigade_cli.frigade.rules import auth_problem, error_body
from frigade_cli.kernel.clock import iso_from_ms, now_ms
from frigade_cli.receiver import DEFAULT_DEDUP_WINDOW, MAX_REMEMBERED_IDS
from frigade_cli.receiver.tracking import (
    MessageIdWindow,
    Received,
    Reply,
    decoded_body,
    quick_problem,
)
from frigade_cli.segment import jsjson, signing
from frigade_cli.segment.batching import MAX_BATCH_SIZE
from frigade_cli.segment.messages import MAX_MESSAGE_BYTES

METHODS = ("POST", "PUT", "PATCH")  # the `send` action's `method` choices
SIGNATURE_HEADER = "x-signature"
# A full batch of the largest messages: Segment sends at most `batch_size` (4000) events of at
# most 32 KB each in one request.
MAX_DELIVERY_BYTES = MAX_BATCH_SIZE * MAX_MESSAGE_BYTES
ANSWER = b"{}"


def _frigade_error(status: int, message: str) -> bytes:
    return orjson.dumps(error_body(status, message))


class WebhookReceiver:
    """Webhooks (Actions) deliveries for one server: checks them, answers them, hands them on.

    - `shared_secret`: the destination's; each request's `X-Signature` is checked against it;
    - `api_keys`: Frigade private keys accepted in `Authorization` (None: no check);
    - `on_accept(received)`, `on_reject(status, problem)`: as `TrackingReceiver`'s;
    - `dedup_window`: seconds a messageId is remembered (0 disables de-duplication);
    - `clock`: epoch milliseconds, for the receipt time and the de-duplication window.
    """

    def __init__(
        self,
        *,
        shared_secret: str | None = None,
        api_keys: Collection[str] | None = None,
        on_accept: Callable[[Received], Awaitable[None] | None] | None = None,
        on_reject: Callable[[int, str], None] | None = None,
        dedup_window: float = DEFAULT_DEDUP_WINDOW,
        clock: Callable[[], int] = now_ms,
        max_bytes: int = MAX_DELIVERY_BYTES,
        max_remembered_ids: int = MAX_REMEMBERED_IDS,
    ) -> None:
        self.shared_secret = shared_secret or None
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.on_accept = on_accept
        self.on_reject = on_reject
        self.clock = clock
        self.max_bytes = max_bytes
        self.dedup = (
            MessageIdWindow(round(dedup_window * 1000), max_remembered_ids)
            if dedup_window > 0
            else None
        )

    def reject(self, status: int, message: str) -> Reply:
        if self.on_reject is not None:
            self.on_reject(status, message)
        return Reply(status, _frigade_error(status, message), problem=message)

    def receive(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        size: int,
        *,
        query: str = "",
        raw_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> Reply:
        """The answer to one delivery to `path`.

        `headers` maps lower-case names to values; `body` is the request body when `size` (its
        length in bytes) is at most `max_bytes`, else anything (it is refused with 413).
        """
        method = method.upper()
        if method not in METHODS:
            return Reply(
                405,
                _frigade_error(405, f"{method} is not a webhook method: use POST, PUT or PATCH"),
                problem=f"method {method}",
            )
        if self.api_keys is not None:
            refusal = auth_problem(headers.get("authorization"), self.api_keys)
            if refusal is not None:
                return self.reject(*refusal)
        if size > self.max_bytes:
            return self.reject(
                413, f"the delivery is {size} bytes; at most {self.max_bytes} are read"
            )
        raw = body
        body, failure = decoded_body(headers, body, self.max_bytes, "the delivery")
        if failure is not None:
            return self.reject(*failure)
        try:
            document = jsjson.loads(body)
        except jsjson.JSONDecodeError as exc:
            return self.reject(400, f"invalid JSON: {exc.msg} (line {exc.lineno})")
        batched = type(document) is list
        messages: list[Any] = document if batched else [document]
        if not batched and type(document) is not dict:
            return self.reject(400, "the body must be a JSON array of events, or one event")
        if not messages:
            return self.reject(400, "the batch is empty")
        for n, message in enumerate(messages, start=1):
            problem = quick_problem(message)
            if problem is not None:
                where = f"batch item {n}" if batched else "event"
                if isinstance(message, dict) and message.get("messageId"):
                    where += f" ({message['messageId']})"
                return self.reject(400, f"{where}: {problem}")

        received_ms = self.clock()
        fresh, duplicates = (
            self.dedup.fresh(messages, received_ms) if self.dedup else (list(messages), 0)
        )
        received = Received(
            "webhook",
            fresh,
            iso_from_ms(received_ms),
            duplicates,
            raw_headers or [],
            raw,
            kind="webhook",
            method=method,
            path=path,
            query=query,
            sent=messages,
            signature=self._signature(headers.get(SIGNATURE_HEADER), messages[0]),
        )
        return Reply(200, ANSWER, received)

    def _signature(self, given: str | None, first: Any) -> str | None:
        """ "verified", "mismatch" or "missing" with a shared secret; None without one."""
        if self.shared_secret is None:
            return None
        if not given or not given.strip():
            return "missing"
        if not given.isascii():  # a hex digest is ASCII; compare_digest refuses anything else
            return "mismatch"
        # Segment signs the first element of a batch, or the event itself, as JavaScript
        # writes it: the parsed value written again gives those bytes.
        return "verified" if signing.verify(first, self.shared_secret, given) else "mismatch"
