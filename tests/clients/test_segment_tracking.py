"""The Segment tracking API client against the sandbox and a recording server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import re
import uuid

import pytest

from frigade_cli.clients.frigade import FrigadeClient
from frigade_cli.clients.segment_tracking import (
    EU_SEGMENT_API_URL,
    SegmentTrackingClient,
    complete_message,
)
from frigade_cli.kernel.errors import AuthError, InputError, UpstreamError
from frigade_cli.kernel.http import RetryPolicy
from frigade_cli.sandbox import RunningSandbox
from frigade_cli.sandbox.testing import wait_until
from tests.support.recorder import Answer, Recorder

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NO_RETRY = RetryPolicy(attempts=1)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_complete_message_fills_what_segment_libraries_fill_and_keeps_given_values():
    done = complete_message({"userId": "u1", "event": "E"}, "track", now="2026-11-28T10:40:01.123Z")

    assert done["type"] == "track"
    assert uuid.UUID(done["messageId"]).version == 4
    assert done["timestamp"] == "2026-11-28T10:40:01.123Z"
    assert done["context"]["library"]["name"] == "frigade-cli"
    kept = complete_message({"messageId": "m-1", "timestamp": "2020-01-01T00:00:00Z"})
    assert (kept["messageId"], kept["timestamp"]) == ("m-1", "2020-01-01T00:00:00Z")


def test_track_sends_basic_auth_with_the_write_key_and_an_empty_password(recorder: Recorder):
    async def go():
        async with SegmentTrackingClient("wk_test0000abcd", base_url=recorder.url) as client:
            return await client.track("Signed Up", user_id="u1", properties={"plan": "pro"})

    response = run(go())

    request = recorder.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/track")
    expected = "Basic " + base64.b64encode(b"wk_test0000abcd:").decode()
    assert request.headers["authorization"] == expected
    body = request.json()
    assert body["type"] == "track" and body["event"] == "Signed Up"
    assert body["properties"] == {"plan": "pro"}
    assert ISO_MS.match(body["sentAt"]) and ISO_MS.match(body["timestamp"])
    assert response.message_ids == (body["messageId"],)
    assert response.status == 200


def test_batch_body_is_batch_array_with_sent_at_and_can_be_gzipped(recorder: Recorder):
    async def go():
        async with SegmentTrackingClient(
            "wk_test0000abcd", base_url=recorder.url + "/", gzip=True
        ) as client:
            return await client.batch(
                [
                    {"type": "identify", "userId": "u1"},
                    {"type": "track", "userId": "u1", "event": "E"},
                ],
                context={"ip": "0.0.0.0"},
            )

    response = run(go())

    request = recorder.requests[0]
    assert request.path == "/v1/batch"
    assert request.headers["content-encoding"] == "gzip"
    body = json.loads(gzip.decompress(request.body))
    assert [m["type"] for m in body["batch"]] == ["identify", "track"]
    assert body["context"] == {"ip": "0.0.0.0"}
    assert ISO_MS.match(body["sentAt"])
    assert len(set(response.message_ids)) == 2


def test_a_200_is_success_even_though_it_does_not_prove_the_key(recorder: Recorder):
    recorder.answer(Answer(200, b'{"success":true}'))

    response = run(
        SegmentTrackingClient("wk_anything0000", base_url=recorder.url).identify(user_id="u")
    )

    assert response.status == 200


def test_a_key_checking_receiver_401_is_an_auth_error_with_the_key_redacted(recorder: Recorder):
    recorder.answer(401)

    with pytest.raises(AuthError) as caught:
        run(SegmentTrackingClient("wk_secret0000wxyz", base_url=recorder.url).identify(user_id="u"))

    assert "wk_secret0000wxyz" not in str(caught.value)
    assert "****wxyz" in str(caught.value)


def test_400_is_an_input_error_with_segments_message(recorder: Recorder):
    recorder.answer(Answer(400, b'{"success":false,"message":"message is too big"}'))

    with pytest.raises(InputError, match="message is too big"):
        run(SegmentTrackingClient("wk_test0000abcd", base_url=recorder.url).identify(user_id="u"))


def test_5xx_is_retried_then_reported_as_upstream(recorder: Recorder):
    recorder.answer(503)
    policy = RetryPolicy(attempts=2, base=0.001, cap=0.002)

    ok = run(
        SegmentTrackingClient("wk_test0000abcd", base_url=recorder.url, policy=policy).identify(
            user_id="u"
        )
    )
    assert ok.status == 200 and len(recorder.requests) == 2

    recorder.answer(503, 503)
    with pytest.raises(UpstreamError, match="HTTP 503"):
        run(
            SegmentTrackingClient("wk_test0000abcd", base_url=recorder.url, policy=policy).identify(
                user_id="u"
            )
        )


def test_unreachable_tracking_api_is_upstream_error():
    with pytest.raises(UpstreamError, match="cannot reach"):
        run(
            SegmentTrackingClient(
                "wk_test0000abcd", base_url="http://127.0.0.1:9", policy=NO_RETRY
            ).identify(user_id="u")
        )


def test_refuses_a_write_key_over_plain_http_to_a_remote_host_and_an_empty_key():
    with pytest.raises(InputError, match="plain http"):
        SegmentTrackingClient("wk_test0000abcd", base_url="http://api.segment.io")
    with pytest.raises(InputError, match="no Segment write key"):
        SegmentTrackingClient("  ")
    assert EU_SEGMENT_API_URL.startswith("https://")


def test_tracked_event_reaches_frigade_through_the_sandbox(sandbox: RunningSandbox):
    async def go():
        async with SegmentTrackingClient(sandbox.write_key, base_url=sandbox.segment_url) as seg:
            await seg.track("Latency Probe", user_id="u-seg-1", properties={"n": 1})

    run(go())
    sandbox.wait_idle()

    async def read():
        async with FrigadeClient(sandbox.api_key, base_url=sandbox.url) as frigade:
            return await frigade.get_user("u-seg-1")

    user = wait_until(lambda: run(read()), what="the user in Frigade")
    assert [(e.event, e.properties) for e in user.tracking_events] == [("Latency Probe", {"n": 1})]


def test_sandbox_refuses_a_wrong_write_key_with_auth_error(sandbox: RunningSandbox):
    with pytest.raises(AuthError):
        run(
            SegmentTrackingClient("wk_wrong0000abcd", base_url=sandbox.segment_url).identify(
                user_id="u"
            )
        )
