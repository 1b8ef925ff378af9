"""A `TrackingReceiver` served by uvicorn in the foreground, stopped by the command running it.

Imported only when a receiver starts (uvicorn is not needed for `frigade --help`).
"""

from __future__ import annotations

import contextlib
import gc
import signal
import threading
from collections.abc import Callable, Iterator

import uvicorn
from starlette.types import ASGIApp


class ReceiverServer(uvicorn.Server):
    """uvicorn's server with SIGINT/SIGTERM handed to the command (`on_signal`), which decides
    how the run ends (a count, exit 0), instead of re-raised after shutdown as uvicorn does."""

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[int], None]) -> None:
        super().__init__(config)
        self.on_signal = on_signal

    def stop(self) -> None:
        """Stop accepting and finish the requests in flight; callable from the server's loop."""
        self.should_exit = True

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(sig: int, frame: object) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: do not wait for requests in flight
            self.on_signal(sig)
            self.should_exit = True

        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, handle) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def make_server(app: ASGIApp, on_signal: Callable[[int], None]) -> ReceiverServer:
    """A quiet server for `app`: httptools when installed, no access log, bounded shutdown."""
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    config = uvicorn.Config(
        app,
        http=http,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=3,
    )
    return ReceiverServer(config, on_signal)


def tune_gc_for_receiving() -> None:
    """A receiver parses thousands of small objects per request and keeps few: with the default
    thresholds the cyclic collector takes a large share of its time. Only for a process that is
    the receiver (a foreground command)."""
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
