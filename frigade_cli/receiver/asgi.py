"""Starlette routes serving a `TrackingReceiver`: `POST {prefix}/v1/{endpoint}`.

Imported only when a server starts (Starlette is not needed for `frigade --help`).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from frigade_cli.receiver.tracking import ENDPOINTS, Refused, TrackingReceiver


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
            endpoint, request.headers, body, size, raw_headers=request.headers.raw
        )
        if reply.received is not None and receiver.on_accept is not None:
            # Answered only once the messages are handed on (shown, queued): none is lost.
            try:
                pending = receiver.on_accept(reply.received)
                if pending is not None:
                    await pending
            except Refused as refused:
                return _json(refused.reply(), refused.status)
        return _json(reply.body, reply.status)

    return [Route(f"{prefix}/v1/{{endpoint}}", tracking_api, methods=["POST"])]


def create_app(receiver: TrackingReceiver) -> Starlette:
    """An app serving only the tracking API at `/v1/...`, errors in the same JSON shape."""

    async def not_found(request: Request, exc: Exception) -> Response:
        return _json(
            b'{"success":false,"message":"not found: POST /v1/batch, /v1/track, ..."}', 404
        )

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _json(b'{"success":false,"message":"method not allowed: use POST"}', 405)

    return Starlette(
        routes=routes(receiver),
        exception_handlers={404: not_found, 405: not_allowed},
    )
