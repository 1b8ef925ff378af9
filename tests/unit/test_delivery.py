"""The one builder of the headers Segment's Webhooks (Actions) destination sends."""

from __future__ import annotations

import hashlib
import hmac

from frigade_cli.clients.frigade_webhook import webhook_headers
from frigade_cli.segment.batching import Batch
from frigade_cli.segment.delivery import delivery_headers


def names(headers: list[tuple[str, str]]) -> list[str]:
    return [name.lower() for name, _ in headers]


def test_segment_defaults_then_the_mapping_headers() -> None:
    headers = delivery_headers({"Authorization": "Bearer k", "X-Team": "growth"})

    assert headers == [
        ("User-Agent", "Segment (Actions)"),
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer k"),
        ("X-Team", "growth"),
    ]


def test_a_mapping_content_type_or_user_agent_replaces_segments_whatever_its_case() -> None:
    headers = delivery_headers(
        [("content-TYPE", "application/vnd.api+json"), ("user-agent", "my-agent/1")]
    )

    assert sorted(names(headers)) == ["content-type", "user-agent"]  # one of each, not two
    assert dict(headers) == {
        "user-agent": "my-agent/1",
        "content-TYPE": "application/vnd.api+json",
    }


def test_a_repeated_mapping_header_keeps_the_last_value() -> None:
    headers = delivery_headers([("X-Team", "a"), ("x-team", "b")])

    assert [v for n, v in headers if n.lower() == "x-team"] == ["b"]


def test_the_signature_is_an_hmac_sha1_of_the_signed_value_as_javascript_writes_it() -> None:
    first = {"type": "track", "event": "Zoë", "properties": {"amount": 129.0}}
    # JSON.stringify writes 129.0 as 129 and keeps non-ASCII characters as they are.
    expected = hmac.new(
        b"s3cret",
        '{"type":"track","event":"Zoë","properties":{"amount":129}}'.encode(),
        hashlib.sha1,
    ).hexdigest()

    headers = delivery_headers({"Authorization": "Bearer k"}, first, "s3cret")

    assert headers[-1] == ("X-Signature", expected)


def test_no_secret_no_signature() -> None:
    assert "x-signature" not in names(delivery_headers({}, {"type": "track"}, None))
    assert "x-signature" not in names(delivery_headers({}, {"type": "track"}, ""))


def test_the_sender_uses_the_same_headers_signing_the_first_message() -> None:
    messages = [{"type": "identify", "userId": "u1"}, {"type": "track", "userId": "u1"}]
    expected = hmac.new(b"k2", b'{"type":"identify","userId":"u1"}', hashlib.sha1).hexdigest()

    headers = webhook_headers("api_private_test0000abcd", Batch(0, messages), "k2")

    assert headers == {
        "User-Agent": "Segment (Actions)",
        "Content-Type": "application/json",
        "Authorization": "Bearer api_private_test0000abcd",
        "X-Signature": expected,
    }
