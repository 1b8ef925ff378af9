"""A sandbox per module, reset before each test, and functions that send real traffic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from frigade_cli.sandbox import run_sandbox
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config, post_batch
from tests.conftest import Cli


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(fast_config()) as running:
        yield running


@pytest.fixture
def sb(shared_sandbox: RunningSandbox) -> RunningSandbox:
    """The module's sandbox with no data, no counts and the test settings restored."""
    shared_sandbox.configure(**fast_config().settings_json())
    shared_sandbox.wait_idle(timeout=5.0)
    shared_sandbox.reset()
    return shared_sandbox


def track(user: str, event: str = "Signed Up") -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event}


def send(sb: RunningSandbox, messages: list[dict[str, Any]]) -> None:
    """Through the sandbox's tracking API, then wait until its destination has delivered."""
    response = post_batch(sb, messages)
    assert response.status_code == 200, response.text
    assert sb.wait_idle(timeout=10.0)


def destination_outcomes(sb: RunningSandbox) -> dict[str, int]:
    """What the destination did, from its own event stream (not from Delivery Overview)."""
    found = sb.client.get(
        "/_sandbox/events", params={"side": "destination", "limit": "1000"}
    ).json()["events"]
    delivered = sum(e["message"]["events"] for e in found if e["kind"] == "delivered")
    failed = sum(e["message"]["events"] for e in found if e["kind"] == "undeliverable")
    retries = sum(
        e["message"]["events"] * (e["message"]["attempts"] - 1)
        for e in found
        if e["kind"] in ("delivered", "undeliverable")
    )
    return {"delivered": delivered, "failed": failed, "retries": retries}


def connect(cli: Cli, sb: RunningSandbox, write_key: str | None = None) -> None:
    """Register a write key as the sandbox's Frigade -> Segment integration, as a user does."""
    result = cli(
        "segment",
        "connect",
        "--api-key",
        sb.api_key,
        "--api-url",
        sb.url,
        "--write-key",
        write_key or sb.write_key,
    )
    assert result.exit_code == 0, result.stderr
