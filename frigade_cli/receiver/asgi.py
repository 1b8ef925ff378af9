"""Starlette routes serving a `TrackingReceiver` (`POST {prefix}/v1/{endpoint}`) and, for a
standalone receiver, a `WebhookReceiver` on every path outside `/v1/`.

Imported only when a server starts (Starlette is not needed for `frigade --help`).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from frigade_cli.receiver.tracking import ENDPOINTS, Refused, Reply, TrackingReceiver
from frigade_cli.receiver.webhook import METHODS, WebhookReceiver


async def read_body(request: Request, limit: int) -> tuple[bytes, int]:
    """The body when at most `limit` bytes, else b"" (the rest read and dropped); and its size."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    return (b"".join(chunks) if size <= limit else b""), size


def _json(body: bytes, status: int) -> Response:
    return Response(body, status, media_type="application/json")


def routes(receiver: TrackingReceiver, prefix: str = "") -> list[Route]:
    """The tracking API's route under `prefix` (e.g. "/segment"; "" serves `/v1/...`)."""

    async def tracking_api(request: Request) -> Response:
        endpoint = request.path_params["endpoint"]
        limit = receiver.read_limit(endpoint) if endpoint in ENDPOINTS else 0
        body, size = await read_body(request, limit)
        reply = receiver.receive(
            endpoint,
            request.headers,
            body,
            size,
            raw_headers=request.headers.raw,
            path=request.url.path,
            query=request.url.query,
        )
        return await _handed_on(reply, receiver.on_accept)

    return [Route(f"{prefix}/v1/{{endpoint}}", tracking_api, methods=["POST"])]


async def _handed_on(reply: Reply, on_accept: Any) -> Response:
    """The reply, once an accepted request's messages are handed on (shown, queued): answered
    only then, so none is lost; an `on_accept` raising `Refused` answers that instead."""
    if reply.received is not None and on_accept is not None:
        try:
            pending = on_accept(reply.received)
            if pending is not None:
                await pending
        except Refused as refused:
            return _json(refused.reply(), refused.status)
    return _json(reply.body, reply.status)


def webhook_routes(receiver: WebhookReceiver) -> list[Route]:
    """Webhooks (Actions) deliveries on every path outside `/v1/` (POST, PUT or PATCH)."""

    async def delivery(request: Request) -> Response:
        path = request.url.path
        if path == "/v1" or path.startswith("/v1/"):
            return _json(
                b'{"success":false,"message":"not found: the tracking API is POST /v1/batch, '
                b'/v1/track, ...; webhook deliveries go to a path outside /v1/, e.g. /webhook"}',
                404,
            )
        body, size = await read_body(request, receiver.max_bytes)
        reply = receiver.receive(
            request.method,
            path,
            request.headers,
            body,
            size,
            query=request.url.query,
            raw_headers=request.headers.raw,
        )
        return await _handed_on(reply, receiver.on_accept)

    return [Route("/{path:path}", delivery, methods=list(METHODS))]


def create_app(receiver: TrackingReceiver, webhooks: WebhookReceiver | None = None) -> Starlette:
    """An app serving the tracking API at `/v1/...` and, with `webhooks`, Webhooks (Actions)
    deliveries on any other path; errors in the tracking API's JSON shape."""

    async def not_found(request: Request, exc: Exception) -> Response:
        return _json(
            b'{"success":false,"message":"not found: POST /v1/batch, /v1/track, ..."}', 404
        )

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _json(b'{"success":false,"message":"method not allowed: use POST"}', 405)

    return Starlette(
        routes=routes(receiver) + (webhook_routes(webhooks) if webhooks is not None else []),
        exception_handlers={404: not_found, 405: not_allowed},
    )
