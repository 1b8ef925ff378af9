"""The one builder of the headers Segment's Webhooks (Actions) destination sends.

Expected values are what Segment's own destination code sent to a recording server when run in
Node (`@segment/action-destinations` webhook on `@segment/actions-core`): the differential test in
tests/oracles/ checks the same on generated mappings.
"""

from __future__ import annotations

import hashlib
import hmac

from frigade_cli.clients.frigade_webhook import webhook_headers
from frigade_cli.segment.batching import Batch
from frigade_cli.segment.delivery import delivery_headers

SEGMENT_DEFAULTS = {
    "accept": "*/*",
    "accept-encoding": "gzip,deflate",
    "connection": "keep-alive",
    "content-type": "application/json",
    "user-agent": "Segment (Actions)",
}


def as_set(headers: list[tuple[str, str]]) -> dict[str, str]:
    names = [name.lower() for name, _ in headers]
    assert len(names) == len(set(names)), names  # one line per name
    return {name.lower(): value for name, value in headers}


def test_segment_defaults_then_the_mapping_headers() -> None:
    headers = delivery_headers({"Authorization": "Bearer k", "X-Team": "growth"})

    assert as_set(headers) == {
        **SEGMENT_DEFAULTS,
        "authorization": "Bearer k",
        "x-team": "growth",
    }


def test_a_mapping_user_agent_replaces_segments_but_content_type_stays_json() -> None:
    headers = delivery_headers(
        [("content-TYPE", "application/vnd.api+json"), ("user-agent", "my-agent/1")]
    )

    assert as_set(headers) == {**SEGMENT_DEFAULTS, "user-agent": "my-agent/1"}


def test_a_mapping_accept_and_accept_encoding_are_kept() -> None:
    headers = delivery_headers({"ACCEPT": "application/json", "Accept-Encoding": "identity"})

    assert as_set(headers) == {
        **SEGMENT_DEFAULTS,
        "accept": "application/json",
        "accept-encoding": "identity",
    }


def test_a_repeated_mapping_header_joins_its_values_in_order() -> None:
    headers = delivery_headers([("X-Team", "a"), ("x-team", "b")])

    assert as_set(headers)["x-team"] == "a, b"


def test_a_mapping_value_of_undefined_removes_the_header() -> None:
    headers = delivery_headers({"X-Gone": "undefined", "Accept": "undefined"})

    assert as_set(headers) == SEGMENT_DEFAULTS  # Accept comes back as node-fetch's default


def test_a_mapping_user_agent_of_undefined_leaves_node_fetchs_own() -> None:
    headers = delivery_headers({"User-Agent": "undefined"})

    assert as_set(headers)["user-agent"] == "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"


def test_values_that_are_not_strings_are_written_as_javascript_writes_them() -> None:
    headers = delivery_headers(
        {"X-N": 5, "X-F": 0.5, "X-T": True, "X-Null": None, "X-L": [1, None]}
    )

    got = as_set(headers)
    assert [got["x-n"], got["x-f"], got["x-t"], got["x-null"], got["x-l"]] == [
        "5",
        "0.5",
        "true",
        "null",
        "1,",
    ]


def test_a_mapping_content_length_is_left_to_the_body() -> None:
    assert "content-length" not in as_set(delivery_headers({"Content-Length": "3"}))


def test_the_signature_is_an_hmac_sha1_of_the_signed_value_as_javascript_writes_it() -> None:
    first = {"type": "track", "event": "Zoë", "properties": {"amount": 129.0}}
    # JSON.stringify writes 129.0 as 129 and keeps non-ASCII characters as they are.
    expected = hmac.new(
        b"s3cret",
        '{"type":"track","event":"Zoë","properties":{"amount":129}}'.encode(),
        hashlib.sha1,
    ).hexdigest()

    headers = delivery_headers({"Authorization": "Bearer k"}, first, "s3cret")

    assert as_set(headers)["x-signature"] == expected


def test_a_mapping_x_signature_replaces_the_computed_one() -> None:
    headers = delivery_headers({"x-signature": "mine"}, {"type": "track"}, "s3cret")

    assert as_set(headers)["x-signature"] == "mine"


def test_no_secret_or_nothing_truthy_to_sign_no_signature() -> None:
    assert "x-signature" not in as_set(delivery_headers({}, {"type": "track"}, None))
    assert "x-signature" not in as_set(delivery_headers({}, {"type": "track"}, ""))
    for falsy in (None, 0, "", False):
        assert "x-signature" not in as_set(delivery_headers({}, falsy, "s"))
    assert "x-signature" in as_set(delivery_headers({}, {}, "s"))  # an empty object is truthy


def test_the_sender_uses_the_same_headers_signing_the_first_message() -> None:
    messages = [{"type": "identify", "userId": "u1"}, {"type": "track", "userId": "u1"}]
    expected = hmac.new(b"k2", b'{"type":"identify","userId":"u1"}', hashlib.sha1).hexdigest()

    headers = webhook_headers("api_private_test0000abcd", Batch(0, messages), "k2")

    assert {k.lower(): v for k, v in headers.items()} == {
        **SEGMENT_DEFAULTS,
        "authorization": "Bearer api_private_test0000abcd",
        "x-signature": expected,
    }


def test_a_mappings_headers_replace_the_authorization_header_whatever_its_case() -> None:
    batch = Batch(0, [{"type": "identify", "userId": "u1"}])

    headers = webhook_headers("api_private_default0000", batch, None, {"authorization": "x"})
    assert {k.lower(): v for k, v in headers.items()} == {**SEGMENT_DEFAULTS, "authorization": "x"}
    headers = webhook_headers("api_private_default0000", batch, None, {"X-Team": "a"})
    assert "authorization" not in {k.lower() for k in headers}
