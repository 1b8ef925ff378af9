"""Segment's HTTP Tracking API: `POST {base}/v1/{track,identify,group,page,screen,alias,batch}`.

Source: Segment docs, "HTTP Tracking API" (segment.com/docs/connections/sources/catalog/libraries/
server/http-api) and segmentio/analytics-python (how a library fills a message before sending).

- Base URL: `https://api.segment.io` (US), `https://events.eu1.segmentapis.com` (EU workspaces),
  or any receiver of the same API (the sandbox's Segment side, `tail --listen`).
- Auth: HTTP Basic with the source's write key as the user name and an empty password.
- Each message gets what Segment's libraries add when the caller has not: a `messageId` (a UUID,
  Segment's de-duplication key), a `timestamp` (when it happened, ISO-8601 UTC), `context.library`
  naming the sender; `sentAt` is set on the request at the moment it is sent, so Segment can
  correct the client's clock skew (`timestamp = receivedAt - (sentAt - originalTimestamp)`).
- Limits: 32 KB per message, 500 KB per batch request, 2500 messages per batch; oversize or
  invalid JSON is answered 400.
- **Real Segment answers 200 `{"success": true}` even for an unknown or wrong write key** (the
  events are silently dropped), so a 200 proves the request was well-formed, not that the key is
  right. Only a receiver that checks keys (the sandbox) answers 401, reported here as AuthError.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from frigade_cli import __version__
from frigade_cli.clients.base import ServiceClient
from frigade_cli.kernel.clock import now_iso
from frigade_cli.kernel.config import DEFAULT_SEGMENT_API_URL
from frigade_cli.kernel.errors import AuthError, InputError, UpstreamError
from frigade_cli.kernel.http import RetryPolicy, check_url, describe_error, send_with_retry
from frigade_cli.kernel.redact import redact_key
from frigade_cli.segment import jsjson
from frigade_cli.segment.messages import MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MESSAGE_TYPES

if TYPE_CHECKING:
    import httpx

EU_SEGMENT_API_URL = "https://events.eu1.segmentapis.com"
LIBRARY = {"name": "frigade-cli", "version": __version__}


def complete_message(
    message: Mapping[str, Any], type_: str | None = None, now: str | None = None
) -> dict[str, Any]:
    """A copy of `message` with what Segment's libraries fill in when the caller has not.

    Adds `type` (when given), `messageId` (a UUID4 string), `timestamp` (`now`, default the
    current UTC time as `2026-11-28T10:40:01.123Z`) and `context.library`. Existing values are
    kept. No I/O; `sentAt` is left to the request (see `SegmentTrackingClient`).
    """
    out = dict(message)
    if type_ is not None:
        out["type"] = type_
    if not out.get("messageId"):
        out["messageId"] = str(uuid.uuid4())
    if not out.get("timestamp"):
        out["timestamp"] = now or now_iso()
    context = out.get("context")
    context = dict(context) if isinstance(context, Mapping) else {}
    context.setdefault("library", dict(LIBRARY))
    out["context"] = context
    return out


@dataclass(frozen=True)
class TrackingResponse:
    """What the tracking API answered: status, the messageIds sent, and the request's sentAt.

    A 200 does not prove the write key is valid (real Segment accepts any key).
    """

    status: int
    message_ids: tuple[str, ...]
    sent_at: str


class SegmentTrackingClient(ServiceClient):
    """Sends messages to Segment's tracking API with Basic auth, retries and optional gzip.

    Use as an async context manager, or pass an `httpx.AsyncClient` (then it is not closed here).
    Errors: InputError for a malformed base URL, an unknown type, or a message the API refused
    (400); AuthError for 401/403 (only key-checking receivers such as the sandbox send them);
    UpstreamError for a network failure or a non-2xx answer that retries did not fix.
    """

    def __init__(
        self,
        write_key: str,
        *,
        base_url: str = DEFAULT_SEGMENT_API_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        gzip: bool = False,
        policy: RetryPolicy | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if not write_key or not write_key.strip():
            raise InputError(
                "no Segment write key",
                hint="pass --write-key, set SEGMENT_WRITE_KEY, or run "
                "'frigade config set segment_write_key ...'",
            )
        self.write_key = write_key.strip()
        self.base_url = check_url(base_url.rstrip("/"), carries_secret=True, what="Segment API URL")
        self.gzip = gzip
        super().__init__(http=http, timeout=timeout, policy=policy, log=log)

    # One call per message type --------------------------------------------------------------------
    async def track(
        self, event: str, *, user_id: str | None = None, **fields: Any
    ) -> TrackingResponse:
        """`POST /v1/track`: an event (`properties=` optional) by `user_id` or `anonymousId=`."""
        return await self.send("track", {"event": event, "userId": user_id, **fields})

    async def identify(self, *, user_id: str | None = None, **fields: Any) -> TrackingResponse:
        """`POST /v1/identify`: who the user is (`traits=` optional)."""
        return await self.send("identify", {"userId": user_id, **fields})

    async def group(
        self, group_id: str, *, user_id: str | None = None, **fields: Any
    ) -> TrackingResponse:
        """`POST /v1/group`: the user joins `group_id` (`traits=` optional)."""
        return await self.send("group", {"groupId": group_id, "userId": user_id, **fields})

    async def send(self, type_: str, message: Mapping[str, Any]) -> TrackingResponse:
        """`POST /v1/{type_}` with one message (None-valued fields dropped, the rest completed)."""
        if type_ not in MESSAGE_TYPES:
            raise InputError(f"unknown Segment message type {type_!r}")
        body = complete_message({k: v for k, v in message.items() if v is not None}, type_)
        return await self._post(type_, body, (body["messageId"],))

    async def batch(
        self, messages: Sequence[Mapping[str, Any]], context: Mapping[str, Any] | None = None
    ) -> TrackingResponse:
        """`POST /v1/batch` with `{"batch": [...], "sentAt", "context"?}`; each message completed.

        Refuses (InputError) more than 2500 messages or a body over 500 KB before sending.
        """
        if not messages:
            raise InputError("a batch needs at least one message")
        if len(messages) > MAX_BATCH_MESSAGES:
            raise InputError(
                f"{len(messages)} messages in one batch; Segment's limit is {MAX_BATCH_MESSAGES}"
            )
        completed = [complete_message(m) for m in messages]
        for n, m in enumerate(completed, start=1):
            if m.get("type") not in MESSAGE_TYPES:
                raise InputError(
                    f"batch item {n}: 'type' must be one of {', '.join(MESSAGE_TYPES)}"
                )
        body: dict[str, Any] = {"batch": completed}
        if context:
            body["context"] = dict(context)
        return await self._post("batch", body, tuple(m["messageId"] for m in completed))

    # The request ----------------------------------------------------------------------------------
    def encode(self, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The request body (with `sentAt` now) and its content headers, gzipped when asked."""
        body["sentAt"] = now_iso()
        data = jsjson.dumps(body)
        if len(data) > MAX_BATCH_BYTES:
            raise InputError(
                f"request is {len(data)} bytes; Segment's limit is {MAX_BATCH_BYTES} bytes"
            )
        headers = {"Content-Type": "application/json"}
        if self.gzip:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        return data, headers

    async def _post(
        self, endpoint: str, body: dict[str, Any], message_ids: tuple[str, ...]
    ) -> TrackingResponse:
        import httpx

        url = f"{self.base_url}/v1/{endpoint}"
        client = self._client()

        async def attempt() -> httpx.Response:
            # sentAt is the moment of each attempt, as the libraries set it per request.
            content, headers = self.encode(body)
            return await client.post(
                url, content=content, headers=headers, auth=(self.write_key, "")
            )

        try:
            response = await send_with_retry(attempt, self.policy)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"cannot reach Segment's tracking API at {self.base_url}: {describe_error(exc)}"
            ) from None
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                f"the tracking API at {self.base_url} rejected the write key "
                f"{redact_key(self.write_key)} (HTTP {status})",
                hint="copy the write key of an HTTP API source (Segment: Connections > Sources > "
                "the source > Settings > API Keys)",
            )
        if status == 400:
            raise InputError(f"Segment refused the message: {_detail(response)}")
        if not 200 <= status < 300:
            raise UpstreamError(
                f"Segment's tracking API answered HTTP {status}: {_detail(response)}"
            )
        return TrackingResponse(status, message_ids, str(body["sentAt"]))


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200] or "(empty body)"
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])[:200]
    return response.text.strip()[:200]
