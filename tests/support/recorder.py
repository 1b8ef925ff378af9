"""A small recording HTTP server on 127.0.0.1 with scripted answers, for webhook tests."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    # Every header line as sent, repeats included (`headers` keeps one value per name).
    header_lines: list[tuple[str, str]] = field(default_factory=list)
    # The status it was answered with (set once the answer is chosen).
    status: int | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"success":true}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (beside the recorder's own `delay`)


class Recorder:
    """Records every request; answers from a script of `Answer`s, then with `default`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: deque[Answer] = deque()
        self.default = Answer()
        self.delay = 0.0
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: without TCP_NODELAY each answer waits for
            # the client's delayed ACK (about 40 ms).
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with recorder._lock:
                    answer = recorder.script.popleft() if recorder.script else recorder.default
                    recorder.requests.append(
                        Recorded(
                            self.command,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            list(self.headers.items()),
                            answer.status,
                        )
                    )
                if recorder.delay or answer.delay:
                    time.sleep(recorder.delay + answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = do_PUT = do_PATCH = do_GET = do_CONNECT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up mid-answer (an abandoned request) is not news

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval so shutdown() returns at once rather than after half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/v1/thirdParty/cdp/segment"

    def answer(self, *answers: Answer | int) -> None:
        """Queue answers for the next requests (an int is a status with a small JSON body)."""
        for a in answers:
            self.script.append(a if isinstance(a, Answer) else Answer(status=a))

    def bodies(self) -> list[Any]:
        return [r.json() for r in self.requests]

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
