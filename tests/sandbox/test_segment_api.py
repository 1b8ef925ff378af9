"""The Segment side: auth, limits, validation and what Segment's API fills in."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import post_batch
from tests.sandbox.conftest import identify, recent_events, track


def test_a_batch_with_the_write_key_as_basic_auth_is_accepted(sb: RunningSandbox) -> None:
    response = post_batch(sb, [track(), identify()])

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert sb.stats()["segment"]["received_by_type"] == {"track": 1, "identify": 1}


def test_the_write_key_may_come_in_the_body(sb: RunningSandbox, http: httpx.Client) -> None:
    response = http.post(
        f"{sb.segment_url}/v1/batch", json={"batch": [track()], "writeKey": sb.write_key}
    )

    assert response.status_code == 200
    assert "writeKey" not in recent_events(sb, side="segment")[0]["message"]


@pytest.mark.parametrize(
    "auth", [None, ("wk_wrong", ""), "Bearer {key}"], ids=["none", "wrong", "not-basic"]
)
def test_a_missing_or_wrong_write_key_is_401(
    sb: RunningSandbox, http: httpx.Client, auth: Any
) -> None:
    headers = {"Authorization": auth.format(key=sb.write_key)} if isinstance(auth, str) else {}
    response = http.post(
        f"{sb.segment_url}/v1/batch",
        json={"batch": [track()]},
        auth=auth if isinstance(auth, tuple) else None,
        headers=headers,
    )

    assert response.status_code == 401
    assert response.json()["success"] is False
    stats = sb.stats()["segment"]
    assert stats["auth_failures"] == 1
    assert stats["received"] == 0


def test_single_message_endpoints_take_their_type_from_the_path(
    sb: RunningSandbox, http: httpx.Client
) -> None:
    response = http.post(
        f"{sb.segment_url}/v1/track",
        json={"userId": "u1", "event": "Clicked"},
        auth=(sb.write_key, ""),
    )

    assert response.status_code == 200
    [event] = recent_events(sb, side="segment")
    assert event["kind"] == "track"
    assert event["message"]["type"] == "track"


def test_an_unknown_endpoint_is_404(sb: RunningSandbox, http: httpx.Client) -> None:
    response = http.post(f"{sb.segment_url}/v1/nothing", json={}, auth=(sb.write_key, ""))

    assert response.status_code == 404


def test_invalid_json_is_400(sb: RunningSandbox, http: httpx.Client) -> None:
    response = http.post(
        f"{sb.segment_url}/v1/batch", content=b"{not json", auth=(sb.write_key, "")
    )

    assert response.status_code == 400
    assert "invalid JSON" in response.json()["message"]


def test_a_message_over_32_kb_in_a_batch_is_400_naming_it(sb: RunningSandbox) -> None:
    big = track(messageId="m-big", properties={"blob": "x" * (32 * 1024)})

    response = post_batch(sb, [track(), big])

    assert response.status_code == 400
    message = response.json()["message"]
    assert "batch item 2 (m-big)" in message
    assert "32 KB" in message
    assert sb.stats()["segment"]["received"] == 0


def test_a_single_message_over_32_kb_is_400(sb: RunningSandbox, http: httpx.Client) -> None:
    response = http.post(
        f"{sb.segment_url}/v1/track",
        json=track(properties={"blob": "x" * (33 * 1024)}),
        auth=(sb.write_key, ""),
    )

    assert response.status_code == 400


def test_a_batch_request_over_500_kb_is_400(sb: RunningSandbox) -> None:
    messages = [track(properties={"blob": "x" * 20_000}) for _ in range(26)]

    response = post_batch(sb, messages)

    assert response.status_code == 400
    assert "500000 bytes" in response.json()["message"]


def test_2500_messages_pass_and_2501_are_400(sb: RunningSandbox) -> None:
    small = {"type": "track", "userId": "u", "event": "e"}

    assert post_batch(sb, [small] * 2500).status_code == 200
    response = post_batch(sb, [small] * 2501)

    assert response.status_code == 400
    assert "2500" in response.json()["message"]


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"type": "track", "event": "E"}, "userId or anonymousId"),
        ({"type": "track", "userId": "u"}, "'event' is required"),
        ({"type": "group", "userId": "u"}, "'groupId' is required"),
        ({"type": "alias", "userId": "u"}, "'previousId' is required"),
        ({"type": "click", "userId": "u"}, "'type' must be one of"),
        ({"type": "track", "userId": "u", "event": "E", "messageId": "m" * 101}, "messageId"),
    ],
)
def test_a_message_breaking_the_spec_is_400_naming_the_problem(
    sb: RunningSandbox, message: dict[str, Any], problem: str
) -> None:
    response = post_batch(sb, [message])

    assert response.status_code == 400
    assert problem in response.json()["message"]


def test_strict_spec_also_checks_timestamps(sb: RunningSandbox) -> None:
    message = track(timestamp="yesterday")
    assert post_batch(sb, [message]).status_code == 200

    sb.configure(strict_spec=True)
    response = post_batch(sb, [track(timestamp="yesterday")])

    assert response.status_code == 400
    assert "ISO-8601" in response.json()["message"]


def test_accepted_messages_get_what_segment_fills_in(sb: RunningSandbox) -> None:
    post_batch(
        sb,
        [
            track(messageId="m1"),
            track(originalTimestamp="2026-01-01T00:00:00.000Z"),
        ],
        sentAt="2026-01-01T00:00:01.000Z",
        context={"library": {"name": "test"}, "locale": "fr-FR"},
    )

    first, second = (e["message"] for e in recent_events(sb, side="segment"))
    assert first["messageId"] == "m1"
    assert second["messageId"].startswith("sandbox-")
    assert first["receivedAt"] == first["timestamp"] == first["originalTimestamp"]
    assert first["context"] == {"library": {"name": "test"}, "locale": "fr-FR"}
    # Skew correction: the event happened 1 s before it was sent, so 1 s before receipt.
    assert second["originalTimestamp"] == "2026-01-01T00:00:00.000Z"
    received = httpx_datetime(second["receivedAt"])
    assert received - httpx_datetime(second["timestamp"]) == 1000


def test_a_message_context_wins_over_the_batch_context(sb: RunningSandbox) -> None:
    post_batch(
        sb, [track(context={"locale": "de-DE"})], context={"locale": "fr-FR", "ip": "203.0.113.1"}
    )

    [event] = recent_events(sb, side="segment")
    assert event["message"]["context"] == {"locale": "de-DE", "ip": "203.0.113.1"}


def test_basic_auth_header_with_an_empty_password_is_what_segment_expects(
    sb: RunningSandbox, http: httpx.Client
) -> None:
    token = base64.b64encode(f"{sb.write_key}:".encode()).decode()

    response = http.post(
        f"{sb.segment_url}/v1/identify",
        json=identify(plan="pro"),
        headers={"Authorization": f"Basic {token}"},
    )

    assert response.status_code == 200


def httpx_datetime(text: str) -> int:
    from frigade_cli.kernel.clock import parse_iso_ms

    value = parse_iso_ms(text)
    assert value is not None
    return value
