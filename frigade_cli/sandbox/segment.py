"""The Segment side: Segment's HTTP Tracking API under `/segment/v1/...`.

Endpoints: batch, track, identify, group, page, screen, alias.

Modelled on Segment's HTTP API: write key as HTTP Basic user (empty password) or `writeKey` in
the body; 32 KB per message, 500 KB per request, 2500 messages per batch, invalid JSON: 400;
`receivedAt`, `messageId`, `originalTimestamp` and `timestamp` filled in (timestamp corrected for
clock skew as `receivedAt - (sentAt - originalTimestamp)`); a batch's top-level `context` merged
into each message; answer `{"success": true}`.

Deliberate differences from real Segment:
- a missing or wrong write key gets 401 (real Segment answers 200 and silently drops the events,
  so a key cannot be checked there by the response alone);
- one invalid message rejects the whole request with 400 naming it (Segment is more lenient);
- by default only the cheap rules are checked per message (type, userId or anonymousId, groupId /
  event / previousId, messageId length, size); `strict_spec` validates each message against the
  full Spec model (`frigade_cli.segment.messages`), at several times the cost per event.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from frigade_cli.clock import iso_from_ms, now_ms, parse_iso_ms
from frigade_cli.sandbox.responses import (
    SUCCESS,
    basic_user,
    raw_json,
    read_body,
    segment_error,
)
from frigade_cli.segment.messages import (
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_ID_LENGTH,
    MESSAGE_TYPES,
    message_problem,
)

if TYPE_CHECKING:
    from frigade_cli.sandbox.app import Sandbox

ENDPOINTS = ("batch", *MESSAGE_TYPES)
# The field each type cannot do without (besides userId or anonymousId).
_REQUIRED = {
    "identify": None,
    "group": "groupId",
    "track": "event",
    "page": None,
    "screen": None,
    "alias": "previousId",
}


def quick_problem(message: Any) -> str | None:
    """The Spec's required-field rules, cheap; the full model names the problem when one fails."""
    if type(message) is not dict:
        return message_problem(message)
    type_ = message.get("type")
    if type_ not in _REQUIRED:
        return message_problem(message) or f"'type' must be one of {', '.join(MESSAGE_TYPES)}"
    if not (message.get("userId") or message.get("anonymousId")):
        return message_problem(message) or "either userId or anonymousId is required"
    required = _REQUIRED[type_]
    if required is not None and not message.get(required):
        return message_problem(message) or f"field '{required}' is required"
    message_id = message.get("messageId")
    if message_id is not None and (
        type(message_id) is not str or len(message_id) > MAX_MESSAGE_ID_LENGTH
    ):
        return (
            message_problem(message) or f"messageId must be at most {MAX_MESSAGE_ID_LENGTH} chars"
        )
    return None


class _Skew:
    """Clock-skew correction for one request: sentAt values repeat, so their parse is cached."""

    def __init__(self, received_ms: int, received_iso: str) -> None:
        self.received_ms = received_ms
        self.received_iso = received_iso
        self._sent: dict[str, int | None] = {}

    def timestamp(self, original: Any, sent: Any) -> Any:
        if not isinstance(sent, str):
            return original
        if original == sent:
            return self.received_iso
        sent_ms = self._sent.get(sent, -1)
        if sent_ms == -1:
            sent_ms = self._sent[sent] = parse_iso_ms(sent)
        original_ms = parse_iso_ms(original)
        if sent_ms is None or original_ms is None:
            return original
        return iso_from_ms(self.received_ms - (sent_ms - original_ms))


def enrich(
    message: dict[str, Any],
    skew: _Skew,
    sent_at: Any,
    context: dict[str, Any] | None,
) -> None:
    """Fill what Segment's API adds to an accepted message, in place."""
    message.pop("writeKey", None)
    if context:
        own = message.get("context")
        message["context"] = {**context, **own} if isinstance(own, dict) else dict(context)
    if not message.get("messageId"):
        message["messageId"] = f"sandbox-{uuid.uuid4()}"
    if sent_at is not None and "sentAt" not in message:
        message["sentAt"] = sent_at
    message["receivedAt"] = skew.received_iso
    original = message.get("originalTimestamp") or message.get("timestamp")
    if original is None:
        message["originalTimestamp"] = message["timestamp"] = skew.received_iso
        return
    message["originalTimestamp"] = original
    message["timestamp"] = skew.timestamp(original, message.get("sentAt"))


def routes(sandbox: Sandbox) -> list[Route]:
    stats = sandbox.stats

    def reject(status: int, message: str) -> Response:
        stats.segment_rejected_requests += 1
        if status == 401:
            stats.segment_auth_failures += 1
        return segment_error(status, message)

    async def tracking_api(request: Request) -> Response:
        endpoint = request.path_params["endpoint"]
        if endpoint not in ENDPOINTS:
            return segment_error(
                404, f"no such endpoint /v1/{endpoint}: use one of {', '.join(ENDPOINTS)}"
            )
        batch = endpoint == "batch"
        limit = MAX_BATCH_BYTES if batch else MAX_MESSAGE_BYTES
        body, size = await read_body(request, limit)
        if size > limit:
            what = "batch request" if batch else "message"
            return reject(
                400, f"{what} is {size} bytes; Segment's limit is {limit} bytes per {what}"
            )
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return reject(400, f"invalid JSON: {exc}")
        if not isinstance(document, dict):
            return reject(400, "the body must be a JSON object")

        given = None
        header = request.headers.get("authorization")
        if header:
            scheme, _, credential = header.strip().partition(" ")
            if scheme.lower() == "basic":
                given = basic_user(credential)
        if given is None and isinstance(document.get("writeKey"), str):
            given = document["writeKey"]
        if not given:
            return reject(401, "no write key: use HTTP Basic (write key as user) or writeKey")
        if given != sandbox.write_key:
            return reject(401, "invalid write key (real Segment would answer 200 and drop them)")

        if batch:
            messages = document.get("batch")
            if not isinstance(messages, list):
                return reject(400, "a batch body needs a 'batch' array of messages")
            if len(messages) > MAX_BATCH_MESSAGES:
                return reject(
                    400,
                    f"batch holds {len(messages)} messages; Segment's limit is "
                    f"{MAX_BATCH_MESSAGES} per batch",
                )
            sent_at = document.get("sentAt")
            context = document.get("context") if isinstance(document.get("context"), dict) else None
        else:
            document["type"] = endpoint
            messages, sent_at, context = [document], None, None

        check = message_problem if sandbox.config.strict_spec else quick_problem
        measure = batch and size > MAX_MESSAGE_BYTES
        for n, message in enumerate(messages, start=1):
            problem = check(message)
            if problem is None and measure:
                length = len(orjson.dumps(message))
                if length > MAX_MESSAGE_BYTES:
                    problem = (
                        f"message is {length} bytes; Segment's limit is {MAX_MESSAGE_BYTES} "
                        "bytes (32 KB)"
                    )
            if problem is not None:
                where = f"batch item {n}" if batch else "message"
                if isinstance(message, dict) and message.get("messageId"):
                    where += f" ({message['messageId']})"
                return reject(400, f"{where}: {problem}")

        received_ms = now_ms()
        skew = _Skew(received_ms, iso_from_ms(received_ms))
        received = stats.segment_received
        for message in messages:
            enrich(message, skew, sent_at, context)
            received[message["type"]] += 1
        stats.segment_accepted_requests += 1
        sandbox.hub.publish_messages("segment", messages, skew.received_iso)
        sandbox.destination.accept(messages)
        return raw_json(SUCCESS)

    return [Route("/segment/v1/{endpoint}", tracking_api, methods=["POST"])]
