"""A loopback HTTP sink for benchmarks: reads each request whole, answers 200 at once or late.

    python benchmarks/sink.py [--delay-ms 5] [--port 0]

Prints one JSON line when ready (`{"url": ..., "port": ...}`), then serves until killed. It is
a bare asyncio protocol on httptools' parser (uvloop when present): no framework, so its own
ceiling is far above what the clients under test reach. `GET /_count` answers the number of
requests and of JSON array elements received so far (a check that nothing was lost).
With `--delay-ms`, each answer is sent that many milliseconds after the request ended, without
blocking other connections, as a remote service's latency would.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from typing import Any

import httptools

RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 16\r\n"
    b"connection: keep-alive\r\n\r\n"
    b'{"success":true}'
)


class Counters:
    """What the sink has received."""

    requests = 0
    events = 0


class SinkProtocol(asyncio.Protocol):
    """One connection: parse requests with httptools, answer each as soon as (or after) it ends."""

    def __init__(self, delay: float, counters: Counters) -> None:
        self.delay = delay
        self.counters = counters
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        body = b"".join(self.body)
        self.body = []
        if self.url.startswith(b"/_count"):
            payload = b'{"requests":%d,"events":%d}' % (
                self.counters.requests,
                self.counters.events,
            )
            head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(payload)
            self.transport.write(head + payload)
            return
        self.counters.requests += 1
        # Every Segment message carries exactly one messageId: count messages without parsing.
        self.counters.events += body.count(b'"messageId"')
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self._answer)
        else:
            self.transport.write(RESPONSE)

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(RESPONSE)


async def serve(sock: socket.socket, delay: float) -> None:
    counters = Counters()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(delay, counters), sock=sock)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    port = sock.getsockname()[1]
    sys.stdout.write(f'{{"url": "http://127.0.0.1:{port}", "port": {port}}}\n')
    sys.stdout.flush()
    try:
        import uvloop

        uvloop.run(serve(sock, args.delay_ms / 1000))
    except ImportError:
        asyncio.run(serve(sock, args.delay_ms / 1000))


if __name__ == "__main__":
    main()
