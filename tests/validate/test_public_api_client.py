"""Contract tests of the Segment Public API client, against the sandbox's Public API routes and,
for rate limiting, a recording server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from frigade_cli.clients.segment_public_api import (
    NotFound,
    SegmentPublicApi,
    retry_hint,
)
from frigade_cli.kernel.errors import AuthError, UpstreamError
from frigade_cli.kernel.http import RetryPolicy
from frigade_cli.sandbox.public_api import DESTINATION_ID, SUBSCRIPTION_ID
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import sandbox_fixture
from tests.support.recorder import Answer, Recorder

sandbox = sandbox_fixture()
T = TypeVar("T")
QUICK = RetryPolicy(attempts=3, base=0.01, cap=0.05, max_retry_after=1.0)


def call(
    base: str, token: str, action: Callable[[SegmentPublicApi], Awaitable[T]], **kwargs: Any
) -> T:
    async def run() -> T:
        async with SegmentPublicApi(token, base, policy=QUICK, **kwargs) as client:
            return await action(client)

    return asyncio.run(run())


def api(sb: RunningSandbox) -> str:
    return sb.url + "/segmentapis"


def add_subscription(sb: RunningSandbox, n: int) -> None:
    response = sb.client.post(
        f"/segmentapis/destinations/{DESTINATION_ID}/subscriptions",
        headers={"Authorization": f"Bearer {sb.api_key}"},
        json={
            "name": f"extra {n}",
            "trigger": 'type = "track"',
            "enabled": True,
            "settings": {
                "url": "https://example.com/hook",
                "headers": {"X-Key": f"secret-{n}abcd"},
            },
        },
    )
    assert response.status_code == 200, response.text


def test_the_destination_reflects_the_sandbox_settings(sandbox: RunningSandbox) -> None:
    destination = call(api(sandbox), sandbox.api_key, lambda c: c.get_destination(DESTINATION_ID))
    assert destination["id"] == DESTINATION_ID and destination["enabled"] is True
    sandbox.configure(destination={"enabled": False, "shared_secret": "whsec_0000wxyz"})
    destination = call(api(sandbox), sandbox.api_key, lambda c: c.get_destination(DESTINATION_ID))
    assert destination["enabled"] is False
    assert destination["settings"]["sharedSecret"] == "••••••••••wxyz"


def test_subscriptions_are_read_across_pages(sandbox: RunningSandbox) -> None:
    for n in range(1, 5):
        add_subscription(sandbox, n)
    subs = call(
        api(sandbox), sandbox.api_key, lambda c: c.list_subscriptions(DESTINATION_ID), page_size=2
    )
    assert [s["id"] for s in subs] == [
        SUBSCRIPTION_ID,
        "sub_sandbox_1",
        "sub_sandbox_2",
        "sub_sandbox_3",
        "sub_sandbox_4",
    ]
    # Three pages of at most two, each cursor the previous page's `next`.
    first = sandbox.client.get(
        f"/segmentapis/destinations/{DESTINATION_ID}/subscriptions",
        params={"pagination[count]": "2"},
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    ).json()["data"]
    assert len(first["subscriptions"]) == 2 and first["pagination"]["totalEntries"] == 5
    assert first["pagination"]["previous"] is None and first["pagination"]["next"]


def test_secrets_come_back_masked(sandbox: RunningSandbox) -> None:
    add_subscription(sandbox, 1)
    subs = call(api(sandbox), sandbox.api_key, lambda c: c.list_subscriptions(DESTINATION_ID))
    own = subs[0]["settings"]["headers"]["Authorization"]
    assert own == "••••••••••" + sandbox.api_key[-4:]
    assert subs[1]["settings"]["headers"]["X-Key"] == "••••••••••abcd"
    assert sandbox.api_key not in json.dumps(subs)


def test_the_subscription_follows_patch_config(sandbox: RunningSandbox) -> None:
    sandbox.configure(
        destination={"enable_batching": False, "batch_size": 7, "event_types": ["track"]}
    )
    (sub,) = call(api(sandbox), sandbox.api_key, lambda c: c.list_subscriptions(DESTINATION_ID))
    assert sub["settings"]["enable_batching"] is False and sub["settings"]["batch_size"] == 7
    assert sub["trigger"] == 'type = "track"'


def test_a_wrong_token_is_an_auth_error(sandbox: RunningSandbox) -> None:
    with pytest.raises(AuthError) as caught:
        call(api(sandbox), "sat_wrong_token", lambda c: c.get_destination(DESTINATION_ID))
    assert "HTTP 401" in caught.value.message and "invalid token" in caught.value.message


def test_an_unknown_destination_is_not_found(sandbox: RunningSandbox) -> None:
    with pytest.raises(NotFound) as caught:
        call(api(sandbox), sandbox.api_key, lambda c: c.get_destination("dst_nope"))
    assert "Resource not found" in caught.value.message


def test_accept_headers_versions_and_pagination_parameters(recorder: Recorder) -> None:
    recorder.answer(
        Answer(200, json.dumps({"data": {"destination": {"id": "d1", "enabled": True}}}).encode()),
        Answer(
            200,
            json.dumps(
                {
                    "data": {
                        "subscriptions": [{"id": "s1"}],
                        "pagination": {"current": "MA==", "next": "MQ=="},
                    }
                }
            ).encode(),
        ),
        Answer(
            200,
            json.dumps(
                {
                    "data": {
                        "subscriptions": [{"id": "s2"}],
                        "pagination": {"current": "MQ==", "next": None},
                    }
                }
            ).encode(),
        ),
    )

    async def both(client: SegmentPublicApi) -> Any:
        return await client.get_destination("d1"), await client.list_subscriptions("d1")

    destination, subs = call(recorder.url, "sat_token_0000", both, page_size=1)
    assert destination["id"] == "d1" and [s["id"] for s in subs] == ["s1", "s2"]
    first, second, third = recorder.requests
    assert (first.path, first.headers["accept"]) == ("/destinations/d1", "application/json")
    assert first.headers["authorization"] == "Bearer sat_token_0000"
    assert second.headers["accept"] == "application/json"  # as Segment's SDKs send it
    assert second.path == "/destinations/d1/subscriptions?pagination%5Bcount%5D=1"
    assert third.path.endswith("&pagination%5Bcursor%5D=MQ%3D%3D")


def test_429_waits_for_retry_after_then_succeeds(recorder: Recorder) -> None:
    limited = {
        "errors": [
            {
                "type": "RequestError",
                "message": "Too many requests",
                "data": {"remainingPoints": 0, "msBeforeNext": 200},
            }
        ]
    }
    recorder.answer(
        Answer(
            429, json.dumps(limited).encode(), {"Retry-After": "0.2", "X-RateLimit-Remaining": "0"}
        ),
        Answer(200, json.dumps({"data": {"destination": {"id": "d1"}}}).encode()),
    )
    destination = call(recorder.url, "sat_token_0000", lambda c: c.get_destination("d1"))
    assert destination["id"] == "d1"
    assert len(recorder.requests) == 2


def test_429_that_persists_is_an_upstream_error_naming_the_limits(recorder: Recorder) -> None:
    limited = {
        "errors": [
            {
                "type": "RequestError",
                "message": "Too many requests",
                "data": {"remainingPoints": 0, "msBeforeNext": 57647},
            }
        ]
    }
    recorder.default = Answer(
        429,
        json.dumps(limited).encode(),
        {
            "Retry-After": "0",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "Sun, 29 Nov 2026 10:00:00 GMT",
        },
    )
    with pytest.raises(UpstreamError) as caught:
        call(recorder.url, "sat_token_0000", lambda c: c.get_destination("d1"))
    message = caught.value.message
    assert "HTTP 429 (Too many requests)" in message
    assert "X-RateLimit-Remaining: 0" in message and "msBeforeNext: 57647" in message
    assert len(recorder.requests) == QUICK.attempts


def test_an_unreachable_api_is_an_upstream_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(UpstreamError) as caught:
        call(f"http://127.0.0.1:{port}", "sat_token_0000", lambda c: c.get_destination("d1"))
    assert "cannot reach Segment's Public API" in caught.value.message


def test_the_wait_after_a_429_comes_from_segments_own_fields() -> None:
    import httpx

    body = {
        "errors": [
            {
                "type": "RequestError",
                "message": "Too many requests",
                "data": {"msBeforeNext": 57647},
            }
        ]
    }
    assert retry_hint(httpx.Response(429, json=body)) == "57.647"
    reset = "Sun, 29 Nov 2026 10:00:00 GMT"
    assert retry_hint(httpx.Response(429, headers={"X-RateLimit-Reset": reset})) == reset
    assert retry_hint(httpx.Response(429, text="busy")) is None
