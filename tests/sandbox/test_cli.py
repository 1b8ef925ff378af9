"""`frigade sandbox` itself: the ready line, a clean stop on a signal, bad values, a busy port."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import Cli


def read_line(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> bytes:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError("no ready line within the timeout")
    return proc.stdout.readline()


@pytest.fixture
def sandbox_process() -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", "sandbox", "--port", "0", "--json",
         "--flush-interval", "50ms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        yield proc, orjson.loads(read_line(proc))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_command_prints_a_ready_line_serves_and_stops_cleanly(
    sandbox_process: tuple[subprocess.Popen[bytes], dict[str, Any]], sig: signal.Signals
) -> None:
    proc, ready = sandbox_process
    assert ready["status"] == "ready"
    assert ready["api_key"].startswith("api_private_sandbox_")  # generated: shown in full
    assert ready["webhook_url"] == ready["url"] + "/v1/thirdParty/cdp/segment"

    with httpx.Client(timeout=5.0, trust_env=False) as client:
        sent = client.post(
            ready["segment_api_url"] + "/v1/batch",
            json={"batch": [{"type": "identify", "userId": "u1", "traits": {"plan": "pro"}}]},
            auth=(ready["write_key"], ""),
        )
        assert sent.status_code == 200
        deadline = time.monotonic() + 5
        while True:
            user = client.get(
                ready["frigade_api_url"] + "/v1/users",
                params={"userId": "u1"},
                headers={"Authorization": f"Bearer {ready['api_key']}"},
            )
            if user.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    assert user.json()["properties"] == {"plan": "pro"}

    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)

    assert proc.returncode == 0
    assert out == b""  # the ready line was the only thing on stdout
    assert b"sandbox ready at" in err and b"sandbox stopped" in err
    assert b"Traceback" not in err


def test_keys_given_on_the_command_line_are_not_echoed() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", "sandbox", "--port", "0", "--json",
         "--api-key", "api_private_mine_0123456789"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        ready = orjson.loads(read_line(proc))
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)

    assert ready["api_key"] == "api_private_****6789"
    assert b"0123456789" not in err
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--flush-interval", "abc"], 2, "--flush-interval 'abc' is not a duration"),
        (["--fail-rate", "2"], 3, "fail rate 2 must be between 0 and 1"),
        (["--batch-size", "0"], 3, "batch size 0 is out of range"),
        (["--latency", "-1s"], 2, "is not a duration"),
        (["--api-key", "api_public_x"], 3, "--api-key must be a private key"),
        (["--segment-api-url", "http://segment.example.com"], 3, "refusing to send a secret"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2_or_3(
    cli: Cli, args: list[str], code: int, message: str
) -> None:
    result = cli("sandbox", *args)

    assert result.exit_code == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_busy_port_is_one_line_and_exit_5(cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = cli("sandbox", "--port", str(port))

    assert result.exit_code == 5
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.output
