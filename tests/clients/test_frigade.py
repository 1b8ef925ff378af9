"""The Frigade REST client against the sandbox and a recording server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import pytest

from frigade_cli.clients.frigade import FrigadeClient, FrigadeRecord
from frigade_cli.frigade.rules import parse_properties
from frigade_cli.kernel.errors import AuthError, InputError, UpstreamError
from frigade_cli.kernel.http import RetryPolicy
from frigade_cli.sandbox import RunningSandbox
from tests.support.recorder import Answer, Recorder

FAST = RetryPolicy(attempts=3, base=0.001, cap=0.002)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_properties_as_object_or_json_string_or_garbage():
    assert parse_properties({"a": 1}) == {"a": 1}
    assert parse_properties('{"a": 1}') == {"a": 1}
    assert parse_properties("[1, 2]") == {}
    assert parse_properties("not json") == {}
    assert parse_properties(None) == {}


def test_record_parses_string_properties_and_tracking_events():
    record = FrigadeRecord.parse(
        {
            "userId": "u1",
            "createdAt": "2026-11-28T10:40:01.123Z",
            "properties": '{"plan": "pro"}',
            "trackingEvents": [
                {"event": "E", "properties": '{"k": "v"}', "createdAt": "2026-11-28T10:40:02.500Z"},
                {"no": "event"},
            ],
        },
        "userId",
    )

    assert record.properties == {"plan": "pro"}
    assert len(record.tracking_events) == 1
    event = record.tracking_events[0]
    assert event.properties == {"k": "v"}
    # 2026-11-28T10:40:02.500Z: 1795862402 s after the epoch (date -u -d ... +%s).
    assert event.created_at_ms == 1795862402500


def test_user_is_none_until_it_exists_then_written_events_read_back(sandbox: RunningSandbox):
    async def go():
        async with FrigadeClient(sandbox.api_key, base_url=sandbox.url) as client:
            before = await client.get_user("u-api-1")
            await client.write_user(
                "u-api-1",
                properties={"plan": "pro"},
                events=[{"event": "E", "properties": {"m": 7}}],
            )
            return before, await client.get_user("u-api-1"), await client.get_group("g-none")

    before, after, group = run(go())

    assert before is None and group is None
    assert after is not None and after.id == "u-api-1"
    assert after.properties == {"plan": "pro"}
    assert [(e.event, e.properties) for e in after.tracking_events] == [("E", {"m": 7})]
    assert after.tracking_events[0].created_at_ms is not None


def test_read_back_with_a_public_key_is_an_auth_error_naming_no_secret(sandbox: RunningSandbox):
    with pytest.raises(AuthError) as caught:
        run(FrigadeClient(sandbox.public_key, base_url=sandbox.url).get_user("u"))

    assert "HTTP 403" in str(caught.value)
    assert sandbox.public_key not in str(caught.value)


def test_401_is_an_auth_error(recorder: Recorder):
    recorder.answer(Answer(401, b'{"statusCode":401,"message":"Unauthorized"}'))

    with pytest.raises(AuthError, match="HTTP 401"):
        run(FrigadeClient("api_private_test0000abcd", base_url=recorder.url).get_user("u"))


def test_monthly_active_user_429_is_not_retried_and_says_retrying_cannot_help(recorder: Recorder):
    recorder.answer(Answer(429, b'{"statusCode":429,"message":"Too Many Requests"}'))

    with pytest.raises(UpstreamError, match="retrying cannot help"):
        run(
            FrigadeClient(
                "api_private_test0000abcd", base_url=recorder.url, policy=FAST
            ).write_user("u", events=[{"event": "E"}])
        )

    assert len(recorder.requests) == 1


def test_a_rate_limit_429_with_retry_after_is_retried(recorder: Recorder):
    recorder.answer(Answer(429, b"{}", {"Retry-After": "0"}))
    recorder.default = Answer(200, json.dumps({"userId": "u", "properties": {}}).encode())

    user = run(
        FrigadeClient("api_private_test0000abcd", base_url=recorder.url, policy=FAST).get_user("u")
    )

    assert user is not None and user.id == "u"
    assert len(recorder.requests) == 2
    assert recorder.requests[1].headers["authorization"] == "Bearer api_private_test0000abcd"


def test_write_body_is_what_frigade_documents(recorder: Recorder):
    recorder.default = Answer(201, b"{}")

    run(
        FrigadeClient("Bearer api_public_test0000abcd", base_url=recorder.url).write_user(
            "u", events=[{"event": "E", "properties": {"a": 1}}]
        )
    )

    request = recorder.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/public/users")
    assert request.json() == {"userId": "u", "events": [{"event": "E", "properties": {"a": 1}}]}
    assert request.headers["authorization"] == "Bearer api_public_test0000abcd"


def test_unreachable_is_upstream_and_bad_setup_is_input_error():
    with pytest.raises(UpstreamError, match="cannot reach Frigade"):
        run(
            FrigadeClient(
                "api_private_test0000abcd", base_url="http://127.0.0.1:9", policy=RetryPolicy(1)
            ).get_user("u")
        )
    with pytest.raises(InputError):
        FrigadeClient("", base_url="https://api.frigade.com")
    with pytest.raises(InputError, match="plain http"):
        FrigadeClient("api_private_test0000abcd", base_url="http://api.frigade.com")
