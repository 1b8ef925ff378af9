"""The sandbox's ASGI app: one `Sandbox` (state, counters, stream, delivery) on Starlette routes.

Starlette rather than FastAPI: the sandbox needs a router, requests and streaming responses, not
OpenAPI or dependency injection, and every microsecond per request counts on the hot path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from frigade_cli.kernel.config import WEBHOOK_PATH
from frigade_cli.kernel.http import is_loopback, make_client
from frigade_cli.kernel.redact import redact_headers, redact_key
from frigade_cli.receiver import asgi as tracking_asgi
from frigade_cli.sandbox import control, delivery_overview, frigade, public_api, segment
from frigade_cli.sandbox.config import SandboxConfig
from frigade_cli.sandbox.destination import Destination
from frigade_cli.sandbox.events import EventHub
from frigade_cli.sandbox.forward import MAX_CONCURRENT, SegmentForwarder
from frigade_cli.sandbox.responses import frigade_error
from frigade_cli.sandbox.state import Store
from frigade_cli.sandbox.stats import Stats

if TYPE_CHECKING:
    import httpx

SEGMENT_PREFIX = "/segment"


class Sandbox:
    """One sandbox run: settings, Frigade-side state, counters, event stream, delivery, forwarding.

    Used only from the server's event loop (the in-process runner talks to it over HTTP).
    """

    def __init__(
        self,
        config: SandboxConfig,
        base_url: str,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config.validate()
        self.base_url = base_url.rstrip("/")
        self._log = log
        self.stopping = False  # a stop was asked for: sending what waits before closing
        self.store = Store(config.data_path, log=self.log)
        self.stats = Stats()
        self.hub = EventHub(config.recent_events)
        self.telemetry = delivery_overview.Telemetry()
        self.destination = Destination(self)
        self.forwarder = SegmentForwarder(self)
        self.segment = segment.tracking_receiver(
            write_key=self.write_key,
            stats=self.stats,
            telemetry=self.telemetry,
            accept=self._accept_segment,
            strict_spec=lambda: self.config.strict_spec,
            dedup_window=config.dedup_window,
        )
        self._client: httpx.AsyncClient | None = None

    def _accept_segment(self, messages: list[dict[str, Any]], received_at: str) -> None:
        self.hub.publish_messages("segment", messages, received_at)
        self.destination.accept(messages)

    # Keys and URLs --------------------------------------------------------------------------------
    @property
    def api_key(self) -> str:
        return self.config.keys[0]

    @property
    def public_key(self) -> str:
        return self.config.keys[1]

    @property
    def write_key(self) -> str:
        return self.config.keys[2]

    @property
    def webhook_url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    @property
    def segment_url(self) -> str:
        return self.base_url + SEGMENT_PREFIX

    @property
    def segment_api_url(self) -> str:
        """Where flowStates forwards go: the configured Segment API, else the own Segment side."""
        return self.config.segment_api_url or self.segment_url

    def urls(self) -> dict[str, str]:
        return {
            "url": self.base_url,
            "frigade_api_url": self.base_url,
            "webhook_url": self.webhook_url,
            "segment_api_url": self.segment_url,
            "forward_segment_api_url": self.segment_api_url,
            "stream_url": self.base_url + "/_sandbox/stream",
            "control_url": self.base_url + "/_sandbox",
        }

    def shown_keys(self) -> dict[str, str]:
        """Keys as the sandbox prints them: generated (fake) keys in full, given keys redacted."""
        names = {
            "api_key": self.api_key,
            "public_key": self.public_key,
            "write_key": self.write_key,
        }
        return {
            name: key if name in self.config.generated else redact_key(key)
            for name, key in names.items()
        }

    # Life cycle -----------------------------------------------------------------------------------
    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the sandbox is not started"
        return self._client

    async def start(self) -> None:
        if _proxied(self.base_url):
            self.log(
                "a proxy is set (HTTP_PROXY/ALL_PROXY) and NO_PROXY does not cover "
                f"{urlsplit(self.base_url).hostname}: the sandbox's deliveries to itself go "
                "through the proxy; "
                "add 127.0.0.1 to NO_PROXY"
            )
        self._client = make_client(
            timeout=10.0, max_connections=self.config.max_in_flight + MAX_CONCURRENT
        )
        await self.destination.start()

    async def drain(self, timeout: float) -> bool:
        """Send what waits (batches, forwards) while the server still answers; True if all went."""
        deadline = time.monotonic() + timeout
        delivered = await self.destination.drain(timeout)
        await self.forwarder.drain(max(0.0, deadline - time.monotonic()))
        return delivered and self.forwarder.in_flight == 0

    async def stop(self) -> None:
        await self.destination.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self.store.close()

    def log(self, message: str) -> None:
        if self._log is not None:
            self._log(message)

    # Control --------------------------------------------------------------------------------------
    def idle(self) -> bool:
        return self.destination.idle() and self.forwarder.in_flight == 0

    async def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def configure(self, changes: Any) -> None:
        """Apply `PATCH /_sandbox/config` changes (validated first); InputError when unusable."""
        self.config = self.config.patched(changes)

    def reset(self) -> None:
        self.destination.clear()
        self.store.reset()
        self.stats.reset()
        self.hub.clear()
        self.telemetry.clear()
        self.segment.forget()

    def settings_json(self) -> dict[str, Any]:
        """Settings as the control API shows them: secrets (headers, shared secret) redacted."""
        settings = self.config.settings_json()
        destination = settings["destination"]
        if destination["headers"] is not None:
            destination["headers"] = dict(redact_headers(destination["headers"].items()))
        if destination["shared_secret"]:
            destination["shared_secret"] = redact_key(destination["shared_secret"])
        return {**settings, "keys": self.shown_keys(), "urls": self.urls()}

    def stats_json(self) -> dict[str, Any]:
        return self.stats.to_json(
            pending=self.destination.waiting_events,
            in_flight=self.destination.in_flight + self.forwarder.in_flight,
            subscribers=self.hub.subscribers,
        )


def _proxied(url: str) -> bool:
    """Whether httpx (trust_env) would send requests for `url` through an environment proxy
    (never for loopback: `make_client` sends those direct)."""
    import urllib.request

    proxies = urllib.request.getproxies()
    host = urlsplit(url).hostname or ""
    if not (proxies.get("http") or proxies.get("all")) or is_loopback(host):
        return False
    no_proxy = [h.strip() for h in proxies.get("no", "").split(",") if h.strip()]
    return "*" not in no_proxy and host not in no_proxy


async def _not_found(request: Request, exc: Exception) -> Response:
    # NestJS's words for an unknown route.
    return frigade_error(404, f"Cannot {request.method} {request.url.path}")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return frigade_error(405, f"Cannot {request.method} {request.url.path}")


async def _server_error(request: Request, exc: Exception) -> Response:
    return frigade_error(500, f"sandbox error: {type(exc).__name__}: {exc}")


def create_app(sandbox: Sandbox) -> Starlette:
    """The ASGI app serving `sandbox`; its lifespan starts and stops the sandbox's services."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await sandbox.start()
        try:
            yield
        finally:
            await sandbox.stop()

    app = Starlette(
        routes=[
            *tracking_asgi.routes(sandbox.segment, SEGMENT_PREFIX),
            *frigade.routes(sandbox),
            *control.routes(sandbox),
            *public_api.routes(sandbox),
            *delivery_overview.routes(sandbox),
        ],
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _method_not_allowed, 500: _server_error},
    )
    # Fastify (Frigade) answers a trailing slash with 404; Starlette would redirect to the path.
    app.router.redirect_slashes = False
    app.state.sandbox = sandbox
    return app
