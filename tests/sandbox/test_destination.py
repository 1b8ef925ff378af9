"""The Webhooks (Actions) destination: batching, headers, signatures, retries, undeliverable."""

from __future__ import annotations

import time
from typing import Any

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import post_batch, wait_until
from frigade_cli.segment import jsjson, signing
from tests.sandbox.conftest import group, identify, track
from tests.support.recorder import Answer, Recorded, Recorder


def to_recorder(sb: RunningSandbox, recorder: Recorder, **destination: Any) -> None:
    settings = {"url": recorder.webhook_url, "headers": {"Authorization": "Bearer k"}}
    sb.configure(destination={**settings, **destination})


def test_accepted_events_reach_the_frigade_side_within_the_flush_interval(
    sb: RunningSandbox,
) -> None:
    post_batch(sb, [identify("u1", plan="pro"), track("u1", "Signed Up")])

    user = wait_until(
        lambda: (
            (
                r := sb.client.get("/v1/users", params={"userId": "u1"}, headers=sb.auth_headers)
            ).status_code
            == 200
            and len(r.json()["trackingEvents"]) == 1
            and r.json()
        ),
        timeout=2.0,
        what="the user at the Frigade side",
    )
    assert user["properties"] == {"plan": "pro"}
    assert sb.stats()["destination"]["delivered_events"] == 2


def test_a_full_batch_is_sent_at_once_and_the_rest_waits(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder, batch_size=3, flush_interval="10s")

    post_batch(sb, [track(messageId=f"m{n}") for n in range(7)])

    wait_until(lambda: len(recorder.requests) == 2, what="two full batches")
    time.sleep(0.05)
    assert len(recorder.requests) == 2
    sb.flush()
    wait_until(lambda: len(recorder.requests) == 3, what="the flushed remainder")
    ids = [[m["messageId"] for m in body] for body in recorder.bodies()]
    # The two full batches are in flight at once, so they may arrive in either order.
    assert sorted(ids[:2]) == [["m0", "m1", "m2"], ["m3", "m4", "m5"]]
    assert ids[2] == ["m6"]


def test_a_batch_that_does_not_fill_is_sent_after_the_flush_interval(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder, batch_size=100, flush_interval="300ms")
    started = time.monotonic()

    post_batch(sb, [track(), track()])
    assert recorder.requests == []

    wait_until(lambda: recorder.requests, timeout=3.0, what="the batch")
    assert time.monotonic() - started >= 0.25
    assert len(recorder.bodies()[0]) == 2


def test_a_batch_is_a_bare_array_with_segment_headers_and_the_first_element_signed(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder, shared_secret="s3cret", headers={"X-Team": "growth"})

    post_batch(sb, [track(properties={"amount": 129.0, "name": "Zoë"}), identify()])
    sb.wait_idle()

    [request] = recorder.requests
    body = request.json()
    assert isinstance(body, list) and [m["type"] for m in body] == ["track", "identify"]
    assert request.body == jsjson.dumps(body)  # as JavaScript writes it: 129, not 129.0
    assert b'"amount":129,' in request.body and "Zoë".encode() in request.body
    assert request.headers["user-agent"] == "Segment (Actions)"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-team"] == "growth"
    assert signing.verify(body[0], "s3cret", request.headers["x-signature"])
    assert not signing.verify(body[1], "s3cret", request.headers["x-signature"])


# What Segment's runtime sent, run in Node (the differential in tests/oracles checks many more).
SEGMENT_WIRE = {
    "accept": "*/*",
    "accept-encoding": "gzip,deflate",
    "connection": "keep-alive",
    "content-type": "application/json",
    "user-agent": "Segment (Actions)",
}


def wire_headers(request: Recorded) -> dict[str, str]:
    lines = [(name.lower(), value) for name, value in request.header_lines]
    assert len(lines) == len({n for n, _ in lines}), lines  # one line per name
    return dict(lines)


def test_a_delivery_carries_exactly_the_headers_segments_runtime_sends(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder, shared_secret="s3cret", headers={"Authorization": "Bearer k"})

    post_batch(sb, [track()])
    sb.wait_idle()

    [request] = recorder.requests
    host = recorder.url.removeprefix("http://")
    assert wire_headers(request) == {
        **SEGMENT_WIRE,
        "authorization": "Bearer k",
        "x-signature": signing.signature(request.json()[0], "s3cret"),
        "host": host,
        "content-length": str(len(request.body)),
    }


def test_a_mapping_user_agent_replaces_segments_but_the_content_type_stays_json(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(
        sb,
        recorder,
        headers={"Authorization": "Bearer k", "content-TYPE": "text/plain", "USER-AGENT": "mine"},
    )

    post_batch(sb, [track()])
    sb.wait_idle()

    [request] = recorder.requests
    assert wire_headers(request)["content-type"] == "application/json"
    assert wire_headers(request)["user-agent"] == "mine"


def test_without_batching_each_event_is_its_own_signed_request(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder, enable_batching=False, shared_secret="s", method="PUT")

    post_batch(sb, [track(messageId="a"), track(messageId="b")])
    sb.wait_idle()

    assert [r.method for r in recorder.requests] == ["PUT", "PUT"]
    bodies = recorder.bodies()
    assert sorted(b["messageId"] for b in bodies) == ["a", "b"]
    for request in recorder.requests:
        assert signing.verify(request.json(), "s", request.headers["x-signature"])


def test_only_subscribed_event_types_are_delivered(sb: RunningSandbox, recorder: Recorder) -> None:
    to_recorder(sb, recorder)

    post_batch(sb, [track(), {"type": "page", "userId": "u1", "name": "Home"}, group()])
    sb.wait_idle()

    assert [m["type"] for m in recorder.bodies()[0]] == ["track", "group"]
    assert sb.stats()["destination"]["filtered_events"] == 1


def test_batches_group_by_headers(sb: RunningSandbox, recorder: Recorder) -> None:
    to_recorder(sb, recorder, flush_interval="10s", headers={"Authorization": "Bearer one"})
    post_batch(sb, [track(messageId="1")])
    sb.configure(destination={"headers": {"Authorization": "Bearer two"}})
    post_batch(sb, [track(messageId="2")])

    sb.wait_idle()

    sent = {
        r.headers["authorization"]: [m["messageId"] for m in r.json()] for r in recorder.requests
    }
    assert sent == {"Bearer one": ["1"], "Bearer two": ["2"]}


def test_retryable_answers_are_retried_until_delivered(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder)
    recorder.answer(503, 429)

    post_batch(sb, [track()])
    sb.wait_idle()

    assert len(recorder.requests) == 3
    stats = sb.stats()["destination"]
    assert (stats["retries"], stats["delivered_batches"], stats["undeliverable_batches"]) == (
        2,
        1,
        0,
    )


def test_a_final_answer_is_not_retried_and_the_batch_is_kept(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder)
    recorder.answer(Answer(status=501, body=b'{"message":"nope"}'))

    post_batch(sb, [track(messageId="kept")])
    sb.wait_idle()

    assert len(recorder.requests) == 1
    failed = sb.client.get("/_sandbox/undeliverable").json()
    assert (failed["count"], failed["events"]) == (1, 1)
    [batch] = failed["batches"]
    assert batch["status"] == 501 and batch["attempts"] == 1
    assert batch["messages"][0]["messageId"] == "kept"
    assert batch["headers"]["Authorization"] != "Bearer k"  # redacted


def test_fault_injection_makes_batches_undeliverable_until_it_is_lifted(
    sb: RunningSandbox,
) -> None:
    sb.configure(fail_rate=1)
    post_batch(sb, [track("u1")])
    sb.wait_idle()

    stats = sb.stats()
    assert stats["frigade"]["faults_injected"] == 3  # every attempt of the quick retry policy
    assert stats["destination"]["undeliverable_events"] == 1
    assert sb.client.get("/_sandbox/undeliverable").json()["count"] == 1

    sb.configure(fail_rate=0)
    post_batch(sb, [track("u2")])
    sb.wait_idle()
    assert sb.stats()["destination"]["delivered_events"] == 1


def test_slow_delivery_does_not_slow_ingestion(sb: RunningSandbox, recorder: Recorder) -> None:
    to_recorder(sb, recorder, flush_interval="10ms")
    recorder.delay = 2.0
    post_batch(sb, [track()])
    wait_until(lambda: recorder.requests, what="the slow delivery to start")

    response = post_batch(sb, [track()])

    # Accepted while the first delivery is still waiting for its answer.
    assert response.status_code == 200
    assert sb.stats()["destination"]["delivered_batches"] == 0


def test_lowering_the_batch_size_sends_a_batch_that_is_now_full(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder, batch_size=10, flush_interval="10s")
    post_batch(sb, [track(messageId=f"a{n}") for n in range(5)])
    sb.configure(destination={"batch_size": 2})

    post_batch(sb, [track(messageId="b0")])

    wait_until(lambda: len(recorder.requests) == 1, what="the waiting batch")
    assert len(recorder.bodies()[0]) == 5
    sb.flush()
    wait_until(lambda: len(recorder.requests) == 2, what="the new batch")
    assert [m["messageId"] for m in recorder.bodies()[1]] == ["b0"]


def test_delivery_latency_percentiles_come_from_the_stats_module(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    to_recorder(sb, recorder, enable_batching=False)
    recorder.delay = 0.2

    post_batch(sb, [track(messageId=f"m{n}") for n in range(3)])
    sb.wait_idle()

    latency = sb.stats()["destination"]["latency_ms"]
    assert latency["count"] == len(recorder.requests) == 3
    # Lower bounds only: each answer was held 200 ms, and load can only add to that.
    assert 200 <= latency["p50"] <= latency["p95"] <= latency["max"]


def test_every_429_is_retried_even_frigades_monthly_active_user_cap(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    # Segment's destination retries every 429; the quota reading is the test-webhook sender's.
    cap = Answer(
        429,
        b'{"statusCode":429,"message":"Your account has used its maximum allowed MAUs. '
        b'Contact Frigade support to upgrade."}',
    )
    to_recorder(sb, recorder)
    recorder.answer(cap, cap)

    post_batch(sb, [track(messageId="kept")])
    sb.wait_idle()

    assert [r.json()[0]["messageId"] for r in recorder.requests] == ["kept"] * 3
    stats = sb.stats()["destination"]
    assert (stats["retries"], stats["delivered_batches"]) == (2, 1)
