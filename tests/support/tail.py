"""`frigade segment tail` run as a child process, and what real senders give it on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

import httpx

from frigade_cli.sandbox.testing import wait_until

WRITE_KEY = "wk_test0000tail0abcd"


class Tail:
    """`python -m frigade_cli segment tail ARGS` in a child process, its output collected."""

    def __init__(self, *args: str, ready: bool = True) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "frigade_cli", "segment", "tail", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.ready: dict[str, Any] = {}
        if ready:
            line = wait_until(
                lambda: next((x for x in self.stderr if x.startswith("{")), None),
                timeout=30,
                what=f"the ready line of tail {args}",
            )
            self.ready = json.loads(line)

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout]

    def wait_lines(self, count: int, timeout: float = 30) -> list[str]:
        wait_until(lambda: len(self.stdout) >= count, timeout, what=f"{count} lines from tail")
        return self.stdout

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(10)
        return code

    @property
    def err(self) -> str:
        return "\n".join(self.stderr)

    def __enter__(self) -> Tail:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def track(n: int | str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": f"user-{n}",
        "event": "Signed Up",
        "messageId": f"m-{n}",
        **fields,
    }


def post(url: str, path: str, body: Any, key: str = WRITE_KEY, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{url}{path}",
        content=content,
        auth=(key, ""),
        headers={"content-type": "application/json", **kwargs.pop("headers", {})},
        trust_env=False,
        timeout=kwargs.pop("timeout", 30),
        **kwargs,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Segment's own algorithm, run in Node: X-Signature is the hex HMAC-SHA1 of `JSON.stringify` of
# the event (of the first element when the body is a batch), as the Webhooks destination does.
_NODE_SIGN = """
const { createHmac } = require('node:crypto')
let input = ''
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', () => {
  const { body, secret } = JSON.parse(input)
  const parsed = JSON.parse(body)
  const signed = Array.isArray(parsed) ? parsed[0] : parsed
  process.stdout.write(createHmac('sha1', secret).update(JSON.stringify(signed)).digest('hex'))
})
"""


def node_signature(body: bytes | str, secret: str) -> str:
    """The X-Signature Segment's JavaScript computes for a delivery body (needs `node`)."""
    import shutil

    import pytest

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the signature oracle (Segment's JavaScript) is absent")
    text = body.decode() if isinstance(body, bytes) else body
    proc = subprocess.run(
        [node, "-e", _NODE_SIGN],
        input=json.dumps({"body": text, "secret": secret}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout.strip()
