"""The control API under /_sandbox and the live event stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import post_batch
from tests.sandbox.conftest import identify, track


def test_health_reports_ok_and_the_urls(sb: RunningSandbox) -> None:
    health = sb.client.get("/_sandbox/health").json()

    assert health["status"] == "ok"
    assert health["urls"]["webhook_url"] == sb.webhook_url
    assert health["persistent"] is False


def test_config_can_be_read_and_changed_at_runtime(sb: RunningSandbox) -> None:
    changed = sb.configure(
        fail_rate=0.25, latency="20ms", destination={"batch_size": 10, "flush_interval": "2s"}
    )

    assert changed["fail_rate"] == 0.25 and changed["latency"] == 0.02
    assert changed["destination"]["batch_size"] == 10
    assert changed["destination"]["flush_interval"] == 2.0
    assert sb.client.get("/_sandbox/config").json()["destination"]["batch_size"] == 10


def test_config_shows_destination_secrets_redacted(sb: RunningSandbox) -> None:
    sb.configure(
        destination={
            "headers": {"Authorization": "Bearer api_private_customer_0123456789"},
            "shared_secret": "signing-secret-abcd",
        }
    )

    shown = sb.client.get("/_sandbox/config").text

    assert "0123456789" not in shown and "signing-secret" not in shown
    assert "api_private_****6789" in shown


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"fail_rate": 2}, "between 0 and 1"),
        ({"latency": "soon"}, "not a duration"),
        ({"destination": {"batch_size": 5000}}, "1 to 4000"),
        ({"destination": {"method": "GET"}}, "POST, PUT, PATCH"),
        ({"destination": {"event_types": ["click"]}}, "not a Segment type"),
        ({"colour": "blue"}, "unknown setting 'colour'"),
        ({"connection_data": "hidden"}, "clear, masked"),
        ({"properties": "xml"}, "object, string"),
    ],
)
def test_a_bad_setting_is_400_and_changes_nothing(
    sb: RunningSandbox, changes: dict[str, Any], fragment: str
) -> None:
    response = sb.client.patch("/_sandbox/config", json=changes)

    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert sb.client.get("/_sandbox/config").json()["fail_rate"] == 0


def test_reset_forgets_users_and_counters(sb: RunningSandbox) -> None:
    post_batch(sb, [identify("u1")])
    sb.wait_idle()
    assert sb.stats()["frigade"]["ingested"] == 1

    sb.reset()

    assert sb.stats()["frigade"]["ingested"] == 0
    response = sb.client.get("/v1/users", params={"userId": "u1"}, headers=sb.auth_headers)
    assert response.status_code == 404


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield orjson.loads(line[len("data: ") :])


def test_the_stream_sends_each_message_of_both_sides(sb: RunningSandbox) -> None:
    with sb.client.stream("GET", "/_sandbox/stream", params={"type": "track"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines) == "retry: 1000"
        post_batch(sb, [identify(), track(messageId="m-1")])
        events = sse_events(lines)
        first, second = next(events), next(events)

    assert (first["side"], first["kind"]) == ("segment", "track")
    assert (second["side"], second["kind"]) == ("frigade", "track")
    assert first["message"]["messageId"] == second["message"]["messageId"] == "m-1"
    assert first["seq"] < second["seq"] and first["at"].endswith("Z")


def test_the_stream_filters_by_side_and_user(sb: RunningSandbox) -> None:
    params = {"side": "frigade", "userId": "u2"}
    with sb.client.stream("GET", "/_sandbox/stream", params=params) as response:
        lines = response.iter_lines()
        next(lines)
        post_batch(sb, [track("u1"), track("u2", messageId="wanted")])
        event = next(sse_events(lines))

    assert event["side"] == "frigade"
    assert event["message"]["messageId"] == "wanted"


def test_the_stream_sends_keep_alive_comments(sb: RunningSandbox) -> None:
    with sb.client.stream("GET", "/_sandbox/stream", params={"keepalive": "0.05"}) as response:
        lines = response.iter_lines()
        comments = [next(lines) for _ in range(6)]

    assert ": keep-alive" in comments


def test_the_stream_resumes_after_the_last_event_id(sb: RunningSandbox) -> None:
    post_batch(sb, [track(messageId="a"), track(messageId="b")])
    first = sb.client.get("/_sandbox/events", params={"side": "segment"}).json()["events"][0]

    headers = {"Last-Event-ID": str(first["seq"])}
    with sb.client.stream(
        "GET", "/_sandbox/stream", params={"side": "segment"}, headers=headers
    ) as response:
        event = next(sse_events(response.iter_lines()))

    assert event["message"]["messageId"] == "b"


def test_an_unknown_side_is_400(sb: RunningSandbox) -> None:
    response = sb.client.get("/_sandbox/stream", params={"side": "mars"})

    assert response.status_code == 400
    assert "mars" in response.json()["error"]
