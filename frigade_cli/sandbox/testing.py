"""Helpers for tests that need a sandbox (any test folder; pytest is imported only when used).

    # conftest.py
    from frigade_cli.sandbox.testing import sandbox_fixture

    sandbox = sandbox_fixture()                        # a fresh sandbox per test
    shared_sandbox = sandbox_fixture(scope="module")   # one per module: call sb.reset() yourself

    def test_something(sandbox):
        post_batch(sandbox, [{"type": "track", "userId": "u1", "event": "E"}])
        sandbox.wait_idle()

`fast_config()` is a SandboxConfig tuned for tests: batches flush after 50 ms and retries are
quick, so a failing delivery is given up within a fraction of a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

from frigade_cli.kernel.http import RetryPolicy
from frigade_cli.sandbox.config import DestinationConfig, SandboxConfig
from frigade_cli.sandbox.server import RunningSandbox, run_sandbox

T = TypeVar("T")

FAST_RETRY = RetryPolicy(attempts=3, base=0.01, cap=0.05, max_retry_after=0.1)


def fast_config(**changes: Any) -> SandboxConfig:
    """A test-friendly config; `destination=` may be a DestinationConfig or a dict of changes."""
    destination = changes.pop("destination", None)
    base = DestinationConfig(flush_interval=0.05)
    if isinstance(destination, dict):
        base = replace(base, **destination)
    elif destination is not None:
        base = destination
    defaults: dict[str, Any] = {
        "retry": FAST_RETRY,
        "drain_timeout": 1.0,
        "keepalive": 15.0,
        "destination": base,
    }
    return SandboxConfig(**{**defaults, **changes})


def sandbox_fixture(scope: str = "function", **changes: Any) -> Any:
    """A pytest fixture yielding a started `RunningSandbox` built from `fast_config(**changes)`."""
    import pytest

    @pytest.fixture(scope=scope)  # type: ignore[call-overload,untyped-decorator]
    def _sandbox() -> Iterator[RunningSandbox]:
        with run_sandbox(fast_config(**changes)) as running:
            yield running

    return _sandbox


def wait_until(
    check: Callable[[], T], timeout: float = 5.0, interval: float = 0.01, what: str = "condition"
) -> T:
    """Poll `check` until it returns something truthy; return it, or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def post_batch(running: RunningSandbox, messages: list[dict[str, Any]], **extra: Any) -> Any:
    """POST a Segment batch with the sandbox's write key; the httpx response."""
    return running.client.post(
        "/segment/v1/batch", json={"batch": messages, **extra}, auth=(running.write_key, "")
    )
