"""The pooled sender of the HTTP layer, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from frigade_cli.kernel.http import USER_AGENT, PooledSender, environment_proxy
from tests.support.recorder import Answer, Recorder

KEY = "api_private_8f3k2Lq9ZxW7abcd"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


def send(
    sender: PooledSender, body: bytes, headers: dict[str, str], method: str = "POST"
) -> httpx.Response:
    async def go() -> httpx.Response:
        try:
            return await sender.request(method, body, headers)
        finally:
            sender.close()

    return asyncio.run(go())


def test_sends_the_body_and_headers_and_returns_the_answer(recorder: Recorder) -> None:
    recorder.answer(Answer(status=201, body=b'{"ok":1}', headers={"retry-after": "3"}))
    sender = PooledSender(recorder.webhook_url)

    response = send(
        sender, b'[{"a":1}]', {"User-Agent": "Segment (Actions)", "Authorization": "Bearer k"}
    )

    assert (response.status_code, response.json()) == (201, {"ok": 1})
    assert response.headers["retry-after"] == "3"
    assert response.request.url == recorder.webhook_url
    (seen,) = recorder.requests
    assert (seen.method, seen.path, seen.body) == (
        "POST",
        "/v1/thirdParty/cdp/segment",
        b'[{"a":1}]',
    )
    assert seen.headers["user-agent"] == "Segment (Actions)"
    assert seen.headers["authorization"] == "Bearer k"
    assert seen.headers["content-length"] == "9"
    assert seen.headers["host"] == recorder.url.removeprefix("http://")


def test_names_the_tool_when_no_user_agent_is_given(recorder: Recorder) -> None:
    send(PooledSender(recorder.webhook_url), b"{}", {"Content-Type": "application/json"}, "PUT")

    assert recorder.requests[0].method == "PUT"
    assert recorder.requests[0].headers["user-agent"] == USER_AGENT


def test_many_concurrent_requests_all_arrive_once(recorder: Recorder) -> None:
    sender = PooledSender(recorder.webhook_url, max_connections=4)

    async def go() -> list[httpx.Response]:
        try:
            return await asyncio.gather(
                *(sender.request("POST", str(n).encode(), {}) for n in range(60))
            )
        finally:
            sender.close()

    responses = asyncio.run(go())

    assert [r.status_code for r in responses] == [200] * 60
    assert sorted(int(r.body) for r in recorder.requests) == list(range(60))


def test_a_refused_connection_is_httpxs_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the request: nothing listens

    with pytest.raises(httpx.ConnectError):
        send(PooledSender(f"http://127.0.0.1:{port}/x"), b"{}", {})


def test_a_slow_answer_is_httpxs_read_timeout(recorder: Recorder) -> None:
    recorder.delay = 2.0

    with pytest.raises(httpx.ReadTimeout):
        send(PooledSender(recorder.webhook_url, timeout=0.2), b"{}", {})


def test_the_request_log_redacts_the_key(recorder: Recorder) -> None:
    lines: list[str] = []
    sender = PooledSender(recorder.webhook_url, log=lines.append)

    send(sender, b"[]", {"Authorization": f"Bearer {KEY}"})

    assert lines[0].startswith(f"> POST {recorder.webhook_url} (2 bytes)")
    assert "api_private_****abcd" in lines[0]
    assert lines[1].startswith(f"< 200 {recorder.webhook_url} in ")
    assert KEY not in "".join(lines)


def test_a_proxy_from_the_environment_is_used_for_other_hosts(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", recorder.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    target = "http://frigade.example.test/v1/thirdParty/cdp/segment"

    send(PooledSender(target), b"[]", {})

    # A proxy receives the absolute URL in the request line.
    assert recorder.requests[0].path == target


def test_loopback_and_no_proxy_hosts_go_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example.test")

    assert environment_proxy("https://api.frigade.com/v1") == "http://proxy.example.test:3128"
    assert environment_proxy("https://internal.example.test/v1") is None
    assert environment_proxy("https://127.0.0.1:8443/v1") is None
    assert environment_proxy("https://localhost/v1") is None


ABANDON = """
import asyncio, sys
from frigade_cli.kernel.http import PooledSender

async def main():
    sender = PooledSender(sys.argv[1])
    task = asyncio.ensure_future(sender.request("POST", b"[]", {}))
    await asyncio.sleep(0.3)  # the request is on the wire, the server sits on it
    task.cancel()
    print("abandoned", flush=True)

asyncio.run(main())
"""


def test_an_abandoned_request_does_not_hold_the_process_open(recorder: Recorder) -> None:
    recorder.delay = 60.0

    proc = subprocess.run(
        [sys.executable, "-c", ABANDON, recorder.webhook_url],
        capture_output=True,
        text=True,
        timeout=30,  # far less than the server's 60 s: the exit did not wait for the answer
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "abandoned\n"
    assert len(recorder.requests) == 1
