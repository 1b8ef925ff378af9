"""uvicorn's Server, made to stop promptly, deliver waiting batches first, exit 0 on a signal.

Imported only when a sandbox starts (uvicorn is not needed for `frigade --help`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from frigade_cli.sandbox.app import Sandbox


class SandboxServer(uvicorn.Server):
    """One sandbox's uvicorn server."""

    def __init__(self, config: uvicorn.Config, sandbox: Sandbox) -> None:
        super().__init__(config)
        self.sandbox = sandbox
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        # uvicorn polls every 0.1 s; waiting on an event makes `request_stop()` immediate.
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter += 10  # on_tick refreshes the Date header when counter % 10 == 0
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)

    def request_stop(self) -> None:
        """Ask the server to stop; callable from any thread or a signal handler."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop without sending what waits
        self.request_stop()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Unlike uvicorn, do not re-raise the signal afterwards: Ctrl-C or SIGTERM is how a
        # foreground sandbox is meant to stop, so a clean stop exits 0.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Deliver what waits while the server still answers (it may be its own destination).
        if not self.force_exit:
            drained = await self.sandbox.drain(self.sandbox.config.drain_timeout)
            if not drained:
                self.sandbox.log("stopped with deliveries still pending")
        self.sandbox.hub.close()  # end event streams, or uvicorn would wait for them
        await super().shutdown(sockets)


def make_server(sandbox: Sandbox) -> SandboxServer:
    """A server for the sandbox's app: httptools when installed, quiet logs, bounded shutdown."""
    from frigade_cli.sandbox.app import create_app

    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    config = uvicorn.Config(
        create_app(sandbox),
        http=http,
        lifespan="on",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=3,
    )
    return SandboxServer(config, sandbox)
