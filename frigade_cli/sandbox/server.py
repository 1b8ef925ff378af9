"""Running the sandbox on uvicorn, always on a thread of its own: in tests and `--sandbox` modes
(`run_sandbox`), or for `frigade sandbox`, whose main thread waits for SIGINT or SIGTERM.

    from frigade_cli.sandbox import DestinationConfig, SandboxConfig, run_sandbox

    with run_sandbox(SandboxConfig(destination=DestinationConfig(flush_interval=0.05))) as sb:
        httpx.post(f"{sb.segment_url}/v1/batch", auth=(sb.write_key, ""), json={"batch": [...]})
        sb.wait_idle()  # flush waiting batches, wait until they are delivered
        httpx.get(f"{sb.url}/v1/users", params={"userId": "u1"}, headers=sb.auth_headers)

The socket is bound before the server starts, so the port (0 picks a free one) and the URLs are
known up front and a port in use is reported as an error, not a traceback. `run_sandbox` returns
once the server accepts connections and stops it (sending waiting batches first) on exit.
Stopping happens around uvicorn's public API (`Server.should_exit`), not inside its internals.
uvicorn and Starlette are imported only when a sandbox starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from frigade_cli.kernel.errors import UpstreamError
from frigade_cli.kernel.listen import base_url, bind, new_event_loop
from frigade_cli.sandbox.config import SandboxConfig

if TYPE_CHECKING:
    import httpx
    import uvicorn

STARTUP_TIMEOUT = 10.0


class RunningSandbox:
    """A sandbox served on a background thread; URLs, keys and a few control helpers."""

    def __init__(
        self, config: SandboxConfig | None = None, log: Callable[[str], None] | None = None
    ):
        from frigade_cli.sandbox.app import Sandbox

        self.config = (config or SandboxConfig()).validate()
        self._sock = bind(self.config.host, self.config.port)
        try:
            self.url = base_url(self._sock, self.config.host)
            self.sandbox = Sandbox(self.config, self.url, log=log)
        except BaseException:
            self._sock.close()
            raise
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.Client | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        # Set by a second Ctrl-C or SIGTERM: stop without waiting for deliveries.
        self._forced = threading.Event()

    # What clients need ----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def frigade_url(self) -> str:
        return self.url

    @property
    def segment_url(self) -> str:
        return self.sandbox.segment_url

    @property
    def webhook_url(self) -> str:
        return self.sandbox.webhook_url

    @property
    def stream_url(self) -> str:
        return self.sandbox.urls()["stream_url"]

    @property
    def control_url(self) -> str:
        return self.sandbox.urls()["control_url"]

    @property
    def api_key(self) -> str:
        return self.sandbox.api_key

    @property
    def public_key(self) -> str:
        return self.sandbox.public_key

    @property
    def write_key(self) -> str:
        return self.sandbox.write_key

    @property
    def auth_headers(self) -> dict[str, str]:
        """`Authorization: Bearer <private key>` for the Frigade side."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def ready_info(self) -> dict[str, Any]:
        """The `--json` ready line: URLs and keys (generated keys in full, given keys redacted)."""
        return {
            "status": "ready",
            **self.sandbox.urls(),
            **self.sandbox.shown_keys(),
            "persistent": self.sandbox.store.persistent,
        }

    # Control over HTTP (thread-safe: the sandbox itself lives on the server's loop) --------------
    @property
    def client(self) -> httpx.Client:
        """A keep-alive HTTP client for this sandbox (base URL set, no proxies), for tests."""
        if self._client is None:
            import httpx

            self._client = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False)
        return self._client

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/_sandbox{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._control("GET", "/stats")
        return stats

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change runtime settings, as `PATCH /_sandbox/config` takes them."""
        settings: dict[str, Any] = self._control("PATCH", "/config", json=changes)
        return settings

    def reset(self) -> None:
        self._control("POST", "/reset")

    def flush(self) -> None:
        """Send the waiting batches now."""
        self._control("POST", "/flush")

    def wait_idle(self, timeout: float = 10.0, flush: bool = True) -> bool:
        """Wait until nothing waits or is in flight (flushing waiting batches first by default)."""
        if flush:
            result = self._control("POST", "/flush", params={"wait": timeout})
            return bool(result["idle"])
        deadline = time.monotonic() + timeout
        while not self.stats()["idle"]:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    # Life cycle -----------------------------------------------------------------------------------
    def start(self) -> RunningSandbox:
        """Serve on a daemon thread; return once connections are accepted."""
        from frigade_cli.sandbox.uvicorn_server import make_server

        server = self._server = make_server(self.sandbox)
        self._thread = threading.Thread(target=self._run, name="frigade-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if self._error is not None or not self._thread.is_alive():
                self._thread.join(1.0)
                self._thread = None
                raise UpstreamError(f"the sandbox failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise UpstreamError(f"the sandbox did not start within {STARTUP_TIMEOUT:g} s")
            time.sleep(0.002)
        return self

    def _run(self) -> None:
        assert self._server is not None
        loop = self._loop = new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:
            self._error = exc
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._sock.close()

    async def _before_stop(self) -> None:
        # Deliver what waits while the server still answers (it may be its own destination),
        # then end the event streams, which uvicorn would otherwise wait for.
        self.sandbox.stopping = True
        try:
            if not await self.sandbox.drain(self.sandbox.config.drain_timeout):
                self.sandbox.log("stopped with deliveries still pending")
        finally:
            self.sandbox.hub.close()

    def _prepare_stop(self) -> None:
        """Run `_before_stop` on the server's loop; give up waiting when a stop is forced."""
        loop, server = self._loop, self._server
        if loop is None or server is None or not server.started or loop.is_closed():
            return
        try:
            done = asyncio.run_coroutine_threadsafe(self._before_stop(), loop)
        except RuntimeError:  # the loop stopped meanwhile
            return
        deadline = time.monotonic() + self.sandbox.config.drain_timeout + 5.0
        while not done.done():
            forced = self._forced.is_set()
            if forced or time.monotonic() > deadline:
                done.cancel()
                self.sandbox.log(
                    "stopped at once: deliveries in flight were not waited for"
                    if forced
                    else "stopped with deliveries still pending"
                )
                return
            with contextlib.suppress(Exception):
                done.result(timeout=0.05)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (waiting batches are sent first, within `drain_timeout`)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._thread is None:
            self._sock.close()
            return
        self._prepare_stop()
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout)
        self._thread = None

    def serve_forever(self, on_ready: Callable[[RunningSandbox], None]) -> None:
        """Serve until SIGINT or SIGTERM (a second one stops without waiting for deliveries);
        `on_ready` runs once connections are accepted."""
        _tune_gc_for_serving()
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if stop.is_set():
                self._forced.set()
            stop.set()

        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, on_signal) for sig in handled}
        try:
            self.start()
            if not stop.is_set():
                on_ready(self)
            while not stop.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    break
            crashed = self._error
            self.stop()
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
        if crashed is not None:
            raise UpstreamError(f"the sandbox stopped: {crashed!r}")

    def __enter__(self) -> RunningSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def run_sandbox(
    config: SandboxConfig | None = None, log: Callable[[str], None] | None = None
) -> Iterator[RunningSandbox]:
    """Serve a sandbox on a background thread for the duration of the `with` block."""
    with RunningSandbox(config, log) as running:
        yield running


def _tune_gc_for_serving() -> None:
    """The sandbox keeps many small long-lived objects (events) and parses thousands per request;
    with the default thresholds a fifth of its time went to the cyclic collector. Only for a
    process that is the sandbox (the foreground command), never for an in-process one."""
    gc.freeze()  # what is loaded so far lives for the whole run
    gc.set_threshold(20_000, 50, 100)


def serve_forever(
    config: SandboxConfig,
    on_ready: Callable[[RunningSandbox], None],
    log: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM; return after a clean stop."""
    RunningSandbox(config, log).serve_forever(on_ready)
