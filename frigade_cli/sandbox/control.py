"""The control API under `/_sandbox` (no auth: the sandbox listens on loopback).

- `GET  /_sandbox/health`         `{status, version, uptime, urls, persistent}`; status is "ok",
                                  or "stopping" while waiting batches are sent before a stop
- `POST /_sandbox/reset`          forget users, groups, integrations, counters, waiting batches
- `GET  /_sandbox/config`         the runtime settings (and keys, urls)
- `PATCH|POST /_sandbox/config`   change them, e.g. `{"fail_rate": 1, "latency": "50ms",
                                  "destination": {"batch_size": 10, "flush_interval": "50ms"}}`
- `GET  /_sandbox/stats`          counters per side, and `idle`
- `GET  /_sandbox/undeliverable`  batches the destination gave up on, with their messages
- `POST /_sandbox/flush?wait=2`   send waiting batches now; optionally wait until idle
- `GET  /_sandbox/events`         recent events (JSON), same filters as the stream plus `limit`
- `GET  /_sandbox/stream`         server-sent events (see `events.py`), filters `side`, `type`,
                                  `userId`, `event`; `replay=N` first sends the last N buffered
                                  events; `Last-Event-ID` resumes; a `: keep-alive` comment
                                  every `keepalive` seconds (default 15)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from frigade_cli import __version__
from frigade_cli.kernel.errors import InputError
from frigade_cli.sandbox.events import Item, StreamFilter, event_json, sse_bytes
from frigade_cli.sandbox.parts import SandboxParts
from frigade_cli.sandbox.responses import json_response

if TYPE_CHECKING:
    from frigade_cli.sandbox.destination import Destination

MAX_EVENTS_PER_CHUNK = 500


class ControlParts(SandboxParts, Protocol):
    """What the control API drives: settings, reset, counters, flushing and idleness."""

    @property
    def destination(self) -> Destination: ...

    @property
    def stopping(self) -> bool: ...

    def urls(self) -> dict[str, str]: ...

    def configure(self, changes: Any) -> None: ...

    def reset(self) -> None: ...

    def settings_json(self) -> dict[str, Any]: ...

    def stats_json(self) -> dict[str, Any]: ...

    def idle(self) -> bool: ...

    async def wait_idle(self, timeout: float) -> bool: ...


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def _number(request: Request, name: str, default: float) -> float:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise InputError(f"{name} must not be negative")
    return value


def _filter(request: Request) -> StreamFilter:
    multi = {key: request.query_params.getlist(key) for key in ("side", "type", "kind")}
    return StreamFilter.from_query(request.query_params, multi)


def routes(sandbox: ControlParts) -> list[Route]:
    started = time.monotonic()

    async def health(request: Request) -> Response:
        return json_response(
            {
                "status": "stopping" if sandbox.stopping else "ok",
                "version": __version__,
                "uptime": round(time.monotonic() - started, 3),
                "urls": sandbox.urls(),
                "persistent": sandbox.store.persistent,
            }
        )

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return json_response({"status": "reset"})

    async def config(request: Request) -> Response:
        if request.method != "GET":
            try:
                sandbox.configure(orjson.loads(await request.body()))
            except orjson.JSONDecodeError as exc:
                return _error(f"invalid JSON: {exc}")
            except InputError as exc:
                return _error(exc.message)
        return json_response(sandbox.settings_json())

    async def stats(request: Request) -> Response:
        return json_response(sandbox.stats_json())

    async def undeliverable(request: Request) -> Response:
        batches = sandbox.store.undeliverable
        return json_response(
            {
                "count": len(batches),
                "events": sum(int(b.get("events", 0)) for b in batches),
                "batches": batches,
            }
        )

    async def flush(request: Request) -> Response:
        try:
            wait = _number(request, "wait", 0.0)
        except InputError as exc:
            return _error(exc.message)
        batches = sandbox.destination.flush()
        idle = await sandbox.wait_idle(wait) if wait else sandbox.idle()
        return json_response({"flushed_batches": batches, "idle": idle})

    async def events(request: Request) -> Response:
        try:
            stream_filter = _filter(request)
            limit = int(_number(request, "limit", 100))
            after = int(_number(request, "after", 0))
        except InputError as exc:
            return _error(exc.message)
        items = sandbox.hub.recent(stream_filter, limit, after)
        return json_response({"events": [event_json(i) for i in items]})

    async def stream(request: Request) -> Response:
        try:
            stream_filter = _filter(request)
            replay = int(_number(request, "replay", 0))
            keepalive = _number(request, "keepalive", sandbox.config.keepalive) or 15.0
        except InputError as exc:
            return _error(exc.message)
        hub = sandbox.hub
        after = hub.resume_after(request.headers.get("last-event-id", ""))
        # Subscribe before reading the buffer, so nothing published in between is lost.
        subscription = hub.subscribe(stream_filter)
        backlog: list[Item] = []
        start = hub.seq
        if after is not None:
            backlog = hub.recent(stream_filter, None, after)
            start = after
        elif replay:
            backlog = hub.recent(stream_filter, replay)
            start = backlog[0][0] - 1 if backlog else start

        async def body() -> AsyncIterator[bytes]:
            sent = backlog[-1][0] if backlog else 0
            reported = 0
            try:
                opening = b"retry: 1000\n: connected\nid: %s.%d\n\n" % (hub.run.encode(), start)
                yield opening + b"".join(sse_bytes(i, hub.run) for i in backlog)
                while True:
                    try:
                        first = await asyncio.wait_for(subscription.queue.get(), keepalive)
                    except asyncio.TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    items = [first]
                    while len(items) < MAX_EVENTS_PER_CHUNK and not subscription.queue.empty():
                        items.append(subscription.queue.get_nowait())
                    parts = []
                    if subscription.dropped > reported:
                        lost = subscription.dropped - reported
                        reported = subscription.dropped
                        parts.append(b": dropped %d event(s): the reader is too slow\n\n" % lost)
                    ended = False
                    for item in items:
                        if item is None:
                            ended = True
                            break
                        if item[0] > sent:
                            parts.append(sse_bytes(item, hub.run))
                    if parts:
                        yield b"".join(parts)
                    if ended:
                        return
            finally:
                hub.unsubscribe(subscription)

        return StreamingResponse(
            body(),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    return [
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/config", config, methods=["GET", "PATCH", "POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/undeliverable", undeliverable, methods=["GET"]),
        Route("/_sandbox/flush", flush, methods=["POST"]),
        Route("/_sandbox/events", events, methods=["GET"]),
        Route("/_sandbox/stream", stream, methods=["GET"]),
    ]
