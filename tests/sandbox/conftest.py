"""A sandbox per test module, reset (data and runtime settings) before each test that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from frigade_cli.sandbox import run_sandbox
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    with pytest.MonkeyPatch.context() as mp:
        for name in PROXY_VARS:
            mp.delenv(name, raising=False)
        with run_sandbox(fast_config()) as running:
            yield running


@pytest.fixture
def sb(shared_sandbox: RunningSandbox) -> RunningSandbox:
    """The module's sandbox with no data and the test settings (fast_config) restored."""
    shared_sandbox.configure(**fast_config().settings_json())
    # Let the previous test's deliveries land before forgetting them, so none arrives later.
    shared_sandbox.wait_idle(timeout=5.0)
    shared_sandbox.reset()
    return shared_sandbox


@pytest.fixture
def http(sb: RunningSandbox) -> httpx.Client:
    """The sandbox's keep-alive client (absolute URLs work too)."""
    return sb.client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def track(user: str = "u1", event: str = "Signed Up", **fields: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event, **fields}


def identify(user: str = "u1", **traits: Any) -> dict[str, Any]:
    return {"type": "identify", "userId": user, "traits": traits}


def group(group_id: str = "g1", user: str = "u1", **traits: Any) -> dict[str, Any]:
    return {"type": "group", "userId": user, "groupId": group_id, "traits": traits}


def recent_events(sb: RunningSandbox, **query: str) -> list[dict[str, Any]]:
    """Events from the sandbox's buffer (`/_sandbox/events`), oldest first."""
    found: list[dict[str, Any]] = sb.client.get(
        "/_sandbox/events", params={"limit": "1000", **query}
    ).json()["events"]
    return found
