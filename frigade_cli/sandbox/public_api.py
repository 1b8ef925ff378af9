"""The sandbox's Webhooks destination as Segment's Public API shows it, under `/segmentapis`.

- `GET  /segmentapis/destinations/{id}`                 `{"data": {"destination": {...}}}`
- `GET  /segmentapis/destinations/{id}/subscriptions`   one page of `{"data": {"subscriptions",
  "pagination": {current, next, previous, totalEntries}}}`; `pagination[count]` (1 to 200,
  default 200) and `pagination[cursor]` (the dotted `pagination.count` form works too)
- `POST /segmentapis/destinations/{id}/subscriptions`   add a subscription (listed and validated,
  never delivered through: the sandbox delivers with its one configured mapping; kept until the
  sandbox stops)

The destination id is `dst_sandbox_webhooks`; its first subscription is `sub_sandbox_frigade`, built
from the sandbox's current destination settings, so `PATCH /_sandbox/config` changes what these
routes return. The Bearer token is the sandbox's private key (`api_private_...`). Secrets
(header values, the shared secret) are masked as Segment masks them: `••••••••••` and the last
four characters. Errors use the Public API's shape `{"errors": [{"type", "message"}]}`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from frigade_cli.sandbox.config import SandboxConfig
from frigade_cli.sandbox.responses import json_response

PREFIX = "/segmentapis"
DESTINATION_ID = "dst_sandbox_webhooks"
SUBSCRIPTION_ID = "sub_sandbox_frigade"
ACTION_ID = "sandbox_webhook_send"  # the real `send` action has a workspace-independent id
MAX_PAGE = 200
MASK = "••••••••••"


class PublicApiSource(Protocol):
    """What these routes read from the running sandbox (the `Sandbox` object provides it)."""

    @property
    def config(self) -> SandboxConfig: ...

    @property
    def api_key(self) -> str: ...

    @property
    def webhook_url(self) -> str: ...


def _field(order: int, key: str, label: str, kind: str, description: str, **more: Any) -> Any:
    return {
        "id": f"sandbox_field_{key}",
        "sortOrder": order,
        "fieldKey": key,
        "label": label,
        "type": kind,
        "description": description,
        "required": more.pop("required", False),
        "multiple": False,
        "dynamic": False,
        "allowNull": False,
        **more,
    }


# The catalog entry of Webhooks (Actions), every field the Public API's DestinationMetadataV1 has;
# the `send` action's fields as segmentio/action-destinations defines them (webhook/send). Ids
# are the sandbox's own.
METADATA: dict[str, Any] = {
    "id": "sandbox_actions_webhook",
    "name": "Webhooks (Actions)",
    "description": "Send events to a custom HTTP endpoint.",
    "slug": "actions-webhook",
    "logos": {"default": "", "mark": None, "alt": None},
    "options": [
        {
            "name": "sharedSecret",
            "type": "password",
            "required": False,
            "label": "Shared Secret",
            "description": "If set, Segment signs requests with an HMAC in the X-Signature header.",
        }
    ],
    "status": "PUBLIC",
    "previousNames": ["Webhooks (Actions)"],
    "categories": ["Raw Data"],
    "website": "https://segment.com/docs/connections/destinations/catalog/actions-webhook/",
    "components": [],
    "supportedFeatures": {},
    "supportedMethods": {
        "pageview": True,
        "identify": True,
        "alias": True,
        "track": True,
        "group": True,
    },
    "supportedPlatforms": {"browser": True, "server": True, "mobile": True},
    "actions": [
        {
            "id": ACTION_ID,
            "slug": "send",
            "name": "Send",
            "description": "Send an HTTP request.",
            "platform": "CLOUD",
            "hidden": False,
            "defaultTrigger": None,
            "fields": [
                _field(0, "url", "URL", "STRING", "URL to deliver data to.", required=True),
                _field(
                    1,
                    "method",
                    "Method",
                    "STRING",
                    "HTTP method to use.",
                    required=True,
                    defaultValue="POST",
                    choices=["POST", "PUT", "PATCH"],
                ),
                _field(
                    2,
                    "batch_size",
                    "Batch Size",
                    "NUMBER",
                    "Maximum number of events to include in each batch.",
                    defaultValue=0,
                ),
                _field(
                    3, "headers", "Headers", "OBJECT", "HTTP headers to send with each request."
                ),
                _field(
                    4,
                    "data",
                    "Data",
                    "OBJECT",
                    "Payload to deliver to webhook URL (JSON-encoded).",
                    defaultValue={"@path": "$."},
                ),
                _field(
                    5,
                    "enable_batching",
                    "Enable Batching",
                    "BOOLEAN",
                    "Send events in batches.",
                    defaultValue=False,
                ),
            ],
        }
    ],
    "presets": [],
}


def mask(value: str) -> str:
    """A secret as Segment's Public API shows it: bullets and the last four characters."""
    return MASK + value[-4:] if len(value) > 4 else MASK


def api_error(status: int, kind: str, message: str) -> Response:
    """The Public API's error shape: `{"errors": [{"type", "message"}]}`."""
    return json_response({"errors": [{"type": kind, "message": message}]}, status)


def bearer_denied(request: Request, api_key: str) -> Response | None:
    """401 unless the request carries `Authorization: Bearer <api_key>`; None when it does."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return api_error(401, "unauthorized", "Unauthorized: missing Bearer token")
    if not secrets.compare_digest(token.strip().encode(), api_key.encode()):
        return api_error(401, "unauthorized", "Unauthorized: invalid token")
    return None


def page_cursor(offset: int) -> str:
    """The opaque `pagination.cursor` for the page starting at `offset`."""
    return base64.b64encode(str(offset).encode()).decode()


def cursor_offset(cursor: str) -> int:
    """The offset a `page_cursor` names (0 for none); ValueError for any other text."""
    try:
        return int(base64.b64decode(cursor, validate=True).decode()) if cursor else 0
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"not a cursor of this API: {cursor!r}") from exc


def _masked_settings(settings: dict[str, Any]) -> dict[str, Any]:
    headers = settings.get("headers") or {}
    return {**settings, "headers": {name: mask(str(v)) for name, v in headers.items()}}


def routes(source: PublicApiSource) -> list[Route]:
    """The Public API routes reading `source`'s destination settings at each request."""
    created: list[dict[str, Any]] = []

    def denied(request: Request) -> Response | None:
        return bearer_denied(request, source.api_key)

    def unknown(destination_id: str) -> Response | None:
        if destination_id != DESTINATION_ID:
            return api_error(404, "not-found", "Resource not found")
        return None

    def own_subscription() -> dict[str, Any]:
        d = source.config.destination
        headers = {"Authorization": f"Bearer {source.api_key}"} if d.headers is None else d.headers
        return {
            "id": SUBSCRIPTION_ID,
            "name": "Send identify, group and track to Frigade",
            "actionId": ACTION_ID,
            "actionSlug": "send",
            "destinationId": DESTINATION_ID,
            "enabled": d.enabled,
            "trigger": d.effective_trigger,
            "settings": _masked_settings(
                {
                    "url": d.url or source.webhook_url,
                    "method": d.method,
                    "headers": headers,
                    "data": {"@path": "$."},
                    "enable_batching": d.enable_batching,
                    "batch_size": d.batch_size,
                }
            ),
        }

    async def destination(request: Request) -> Response:
        problem = denied(request) or unknown(request.path_params["destination_id"])
        if problem is not None:
            return problem
        d = source.config.destination
        return json_response(
            {
                "data": {
                    "destination": {
                        "id": DESTINATION_ID,
                        "name": "Frigade (sandbox)",
                        "enabled": d.enabled,
                        "sourceId": "src_sandbox",
                        "metadata": METADATA,
                        "settings": {
                            "sharedSecret": mask(d.shared_secret) if d.shared_secret else ""
                        },
                    }
                }
            }
        )

    async def subscriptions(request: Request) -> Response:
        problem = denied(request) or unknown(request.path_params["destination_id"])
        if problem is not None:
            return problem
        if request.method == "POST":
            return await create(request)
        query = request.query_params
        count_text = query.get("pagination[count]") or query.get("pagination.count") or "200"
        cursor = query.get("pagination[cursor]") or query.get("pagination.cursor") or ""
        try:
            count = int(count_text)
            start = cursor_offset(cursor)
        except ValueError:
            return api_error(
                422,
                "validation",
                "pagination: count must be a number and cursor one returned by this API",
            )
        if not 1 <= count <= MAX_PAGE:
            return api_error(
                422, "validation", f"pagination.count must be between 1 and {MAX_PAGE}"
            )
        everything = [own_subscription(), *created]
        page = everything[start : start + count]
        following = start + count
        return json_response(
            {
                "data": {
                    "subscriptions": page,
                    "pagination": {
                        "current": page_cursor(start),
                        "next": page_cursor(following) if following < len(everything) else None,
                        "previous": page_cursor(max(0, start - count)) if start else None,
                        "totalEntries": len(everything),
                    },
                }
            }
        )

    async def create(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            return api_error(400, "bad-request", f"invalid JSON: {exc}")
        if not isinstance(body, dict) or not isinstance(body.get("settings", {}), dict):
            return api_error(422, "validation", "a subscription object with settings is required")
        subscription = {
            "id": f"sub_sandbox_{len(created) + 1}",
            "name": str(body.get("name") or f"subscription {len(created) + 2}"),
            "actionId": str(body.get("actionId") or ACTION_ID),
            "actionSlug": "send",
            "destinationId": DESTINATION_ID,
            "enabled": bool(body.get("enabled", True)),
            "trigger": str(body.get("trigger") or ""),
            "settings": _masked_settings(dict(body.get("settings") or {})),
        }
        created.append(subscription)
        return json_response({"data": {"destinationSubscription": subscription}})

    return [
        Route(f"{PREFIX}/destinations/{{destination_id}}", destination, methods=["GET"]),
        Route(
            f"{PREFIX}/destinations/{{destination_id}}/subscriptions",
            subscriptions,
            methods=["GET", "POST"],
        ),
    ]
