"""`tail --sandbox` against a stream that sends what it should not: each bad event is skipped
with a warning and the tail goes on."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.tail import Tail


def good(n: int) -> str:
    message = {"type": "track", "userId": f"u-{n}", "event": "Signed Up", "messageId": f"m-{n}"}
    item = {
        "side": "segment",
        "kind": "track",
        "at": "2026-11-29T10:00:00.000Z",
        "message": message,
    }
    return json.dumps(item)


# Valid events around a proxy's error page, a JSON array, a JSON string, an object of odd shape.
EVENTS = [
    good(1),
    good(2),
    "<html><body>502 Bad Gateway</body></html>",
    good(3),
    "[1, 2]",
    '"just a string"',
    json.dumps({"side": {"odd": 1}, "kind": 7, "at": 5, "message": "not a message"}),
    good(4),
]


@pytest.fixture
def hostile_stream() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for seq, data in enumerate(EVENTS, start=1):
                self.wfile.write(f"id: run.{seq}\ndata: {data}\n\n".encode())
            self.wfile.flush()
            time.sleep(30)  # held open, as a live stream is

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_events_that_are_not_json_objects_are_skipped_and_the_tail_goes_on(
    hostile_stream: str,
) -> None:
    tail = Tail("--sandbox", hostile_stream, "--limit", "5", ready=False)

    assert tail.wait() == 0
    assert [line.split()[1:3] for line in tail.stdout[:2]] == [["segment", "track"]] * 2
    ids = [word for line in tail.stdout for word in line.split() if word.startswith("id=")]
    assert ids == ["id=m-1", "id=m-2", "id=m-3", "id=m-4"]
    assert len(tail.stdout) == 5  # the odd object is an event too, shown as it can be
    assert tail.err.count("skipped stream event") == 3
    assert "skipped stream event run.3: not a JSON object" in tail.err
    assert "3 unreadable stream event(s) skipped" in tail.err
    assert "Traceback" not in tail.err and "bug" not in tail.err
