"""Frigade's REST API: read-back of users and groups, and writes through the public endpoints.

Source: docs.frigade.com (REST API reference) and the FrigadeHQ/javascript SDK.

- Base URL `https://api.frigade.com`; `Authorization: Bearer <key>`.
- `GET /v1/users?userId=X` and `GET /v1/groups?groupId=X` need the private key
  (`api_private_...`) and answer 404 until the user or group exists; the record is
  `{userId|groupId, createdAt, modifiedAt, properties, trackingEvents: [{event, properties,
  createdAt}], ...}` where `properties` may be an object **or a JSON-encoded string**.
- `POST /v1/public/users {userId, properties?, events?: [{event, properties?}]}` takes the public
  or the private key; Frigade recommends it for read-after-write consistency.
- Errors are `{statusCode, message, error}`; 401 and 403 both mean a bad key (AuthError); a 429
  without Retry-After is the account's monthly-active-user cap, which retrying cannot lift
  (UpstreamError, never retried). A 429 with Retry-After is a rate limit and is retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from frigade_cli.clients.base import ServiceClient
from frigade_cli.frigade.rules import QUOTA_MESSAGE, is_quota_exhausted, parse_properties
from frigade_cli.kernel.clock import parse_iso_ms
from frigade_cli.kernel.config import DEFAULT_API_URL
from frigade_cli.kernel.errors import AuthError, InputError, UpstreamError
from frigade_cli.kernel.http import RetryPolicy, check_url, describe_error, send_with_retry
from frigade_cli.kernel.keys import strip_bearer
from frigade_cli.kernel.redact import redact_key

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class TrackingEvent:
    """One entry of a record's `trackingEvents` (Frigade documents `{event, properties,
    createdAt}`); `created_at_ms` is epoch ms, None if unreadable."""

    event: str
    properties: dict[str, Any]
    created_at: str | None
    created_at_ms: int | None

    @classmethod
    def parse(cls, raw: Any) -> TrackingEvent | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("event"), str):
            return None
        created = raw.get("createdAt")
        created_at = created if isinstance(created, str) else None
        return cls(
            raw["event"],
            parse_properties(raw.get("properties")),
            created_at,
            parse_iso_ms(created),
        )


@dataclass(frozen=True)
class FrigadeRecord:
    """A user or a group as the read-back returns it, `properties` parsed; `raw` is the body."""

    id: str
    created_at: str | None
    modified_at: str | None
    properties: dict[str, Any]
    tracking_events: list[TrackingEvent] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: Any, id_field: str) -> FrigadeRecord:
        """From `GET /v1/users` (`id_field="userId"`) or `/v1/groups` (`"groupId"`) JSON."""
        if not isinstance(body, dict):
            raise UpstreamError(
                f"Frigade's read-back answered {type(body).__name__}, not an object"
            )
        events = body.get("trackingEvents")
        parsed = [TrackingEvent.parse(e) for e in events] if isinstance(events, list) else []
        created, modified = body.get("createdAt"), body.get("modifiedAt")
        return cls(
            id=str(body.get(id_field, "")),
            created_at=created if isinstance(created, str) else None,
            modified_at=modified if isinstance(modified, str) else None,
            properties=parse_properties(body.get("properties")),
            tracking_events=[e for e in parsed if e is not None],
            raw=body,
        )


_MISSING = object()  # what `_request` returns for a 404 when told to tell it from an empty 2xx


class QuotaExhausted(UpstreamError):
    """Frigade's monthly-active-user cap is reached: every further call fails the same way."""


class _QuotaReached(Exception):
    """Raised inside an attempt so the shared retry loop stops at once."""


class FrigadeClient(ServiceClient):
    """Frigade's REST API on the shared HTTP layer.

    Use as an async context manager, or pass an `httpx.AsyncClient` (then it is not closed here).
    Errors: InputError (no key, unsafe URL), AuthError (401/403), UpstreamError (network,
    monthly-active-user 429 as its subclass QuotaExhausted, other non-2xx after retries).
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_API_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        key = strip_bearer(api_key or "")
        if not key:
            raise InputError(
                "no Frigade API key",
                hint="pass --api-key, set FRIGADE_API_KEY, or run "
                "'frigade config set api_key api_private_...'",
            )
        self.api_key = key
        self.base_url = check_url(base_url.rstrip("/"), carries_secret=True, what="Frigade API URL")
        super().__init__(http=http, timeout=timeout, policy=policy, log=log)

    # Read-back (private key) ----------------------------------------------------------------------
    async def get_user(self, user_id: str) -> FrigadeRecord | None:
        """`GET /v1/users?userId=`: the user, or None while Frigade answers 404."""
        body = await self._request("GET", "/v1/users", params={"userId": user_id}, missing_ok=True)
        return None if body is None else FrigadeRecord.parse(body, "userId")

    async def get_group(self, group_id: str) -> FrigadeRecord | None:
        """`GET /v1/groups?groupId=`: the group, or None while Frigade answers 404."""
        body = await self._request(
            "GET", "/v1/groups", params={"groupId": group_id}, missing_ok=True
        )
        return None if body is None else FrigadeRecord.parse(body, "groupId")

    async def delete_user(self, user_id: str) -> bool:
        """`DELETE /v1/users?userId=` (private key): hard-deletes the user and their data
        (docs.frigade.com, Users: delete). True when deleted, False when Frigade answers 404."""
        body = await self._request(
            "DELETE", "/v1/users", params={"userId": user_id}, missing_ok=True, missing=_MISSING
        )
        return body is not _MISSING

    # Writes (public or private key) ---------------------------------------------------------------
    async def write_user(
        self,
        user_id: str,
        *,
        properties: Mapping[str, Any] | None = None,
        events: Sequence[Mapping[str, Any]] | None = None,
    ) -> Any:
        """`POST /v1/public/users {userId, properties?, events?: [{event, properties?}]}`.

        Returns the decoded answer; None for the empty 201 Frigade sends (a NestJS handler
        returning nothing).
        """
        body: dict[str, Any] = {"userId": user_id}
        if properties is not None:
            body["properties"] = dict(properties)
        if events is not None:
            body["events"] = [dict(e) for e in events]
        return await self._request("POST", "/v1/public/users", json=body)

    async def write_flow_state(
        self, user_id: str, flow_slug: str, action_type: str, step_id: str | None = None
    ) -> Any:
        """`POST /v1/public/flowStates {userId, flowSlug, stepId?, actionType}`: a user's move
        in a flow (actionType STARTED_FLOW, COMPLETED_STEP, ...); the decoded answer."""
        body: dict[str, Any] = {"userId": user_id, "flowSlug": flow_slug, "actionType": action_type}
        if step_id is not None:
            body["stepId"] = step_id
        return await self._request("POST", "/v1/public/flowStates", json=body)

    # The request ----------------------------------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        missing_ok: bool = False,
        missing: Any = None,
    ) -> Any:
        import httpx

        client = self._client()
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {self.api_key}"}
        content = None if json is None else orjson.dumps(json)
        if content is not None:
            headers["Content-Type"] = "application/json"

        async def attempt() -> httpx.Response:
            response = await client.request(
                method, url, params=params, content=content, headers=headers
            )
            if response.status_code == 429 and (
                "retry-after" not in response.headers or is_quota_exhausted(response)
            ):
                raise _QuotaReached
            return response

        try:
            response = await send_with_retry(attempt, self.policy)
        except _QuotaReached:
            raise QuotaExhausted(
                QUOTA_MESSAGE, hint="raise the plan's limit in Frigade, then run again"
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"cannot reach Frigade at {self.base_url}: {describe_error(exc)}"
            ) from None
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                f"Frigade rejected the key {redact_key(self.api_key)} on {method} {path} "
                f"(HTTP {status}): {error_message(response)}",
                hint="use the private key (api_private_...) from the Frigade dashboard",
            )
        if status == 404 and missing_ok:
            return missing
        if not 200 <= status < 300:
            raise UpstreamError(
                f"Frigade answered HTTP {status} to {method} {path}: {error_message(response)}"
            )
        if not response.content:  # 201 with nothing: what Frigade's public writes answer
            return None
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(f"Frigade answered {method} {path} with invalid JSON") from None


def error_message(response: httpx.Response) -> str:
    """The `message` of Frigade's `{statusCode, message, error}` body, or the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or "(empty body)"
    if isinstance(body, dict):
        message = body.get("message") or body.get("error")
        if isinstance(message, list):
            return ", ".join(str(m) for m in message)
        if message:
            return str(message)[:200]
    return response.text.strip()[:200]
