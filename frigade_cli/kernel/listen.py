"""Listening sockets and event loops for the servers this tool runs (the sandbox, tail --listen)."""

from __future__ import annotations

import asyncio
import errno
import socket

from frigade_cli.kernel.errors import UpstreamError


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on host:port; UpstreamError (exit 5) when it cannot be had."""
    try:
        family, type_, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, type_, proto)
    except OSError as exc:
        raise UpstreamError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UpstreamError(
                f"port {port} on {host} is already in use",
                hint="stop what uses it, or pick another with --port (0 picks a free one)",
            ) from None
        raise UpstreamError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def base_url(sock: socket.socket, host: str) -> str:
    """The URL clients (and the sandbox itself) use: a wildcard bind is reached on loopback."""
    port = sock.getsockname()[1]
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (faster), asyncio's loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
