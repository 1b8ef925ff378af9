"""The Webhooks (Actions) receiver as a unit: signatures as Segment's JavaScript makes them,
Frigade's auth check, bodies refused, repeats dropped; and `relay_url`."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from frigade_cli.clients.relay import relay_url
from frigade_cli.receiver.webhook import WebhookReceiver

SECRET = "whsec-unit-0000"
KEY = "api_private_unit0000webhook"

# Values whose JSON JavaScript writes in its own way: integer-like keys first, exponents, -0,
# doubles that lost digits, escapes, non-ASCII, a lone surrogate.
TRICKY = """[
  {"type": "track", "userId": "u-1", "event": "E", "messageId": "t-1",
   "properties": {"b": 1, "2": "two", "1": "one",
                  "a": [1e21, 5e-7, -0, 0.1, 123456789012345678901]}},
  {"type": "identify", "userId": "u-2", "messageId": "t-2",
   "traits": {"name": "Zo\\u00eb \\ud83d\\ude00", "odd": "\\ud800", "line": "a\\u2028b"}}
]"""

# Segment's side, in Node: the body is JSON.stringify of the events, X-Signature the hex
# HMAC-SHA1 of JSON.stringify of the first one (of the event itself when not batched).
_NODE = """
const { createHmac } = require('node:crypto')
let input = ''
process.stdin.on('data', (c) => { input += c })
process.stdin.on('end', () => {
  const { events, secret, batched } = JSON.parse(input)
  const parsed = JSON.parse(events)
  const body = JSON.stringify(batched ? parsed : parsed[0])
  const signature = createHmac('sha1', secret).update(JSON.stringify(parsed[0])).digest('hex')
  process.stdout.write(JSON.stringify({ body, signature }))
})
"""


def segment_delivery(events: str, batched: bool = True) -> tuple[bytes, str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the oracle (Segment's JavaScript) is absent")
    out = subprocess.run(
        [node, "-e", _NODE],
        input=json.dumps({"events": events, "secret": SECRET, "batched": batched}),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    answer = json.loads(out)
    return answer["body"].encode("utf-8", "surrogatepass"), answer["signature"]


def receive(receiver: WebhookReceiver, body: bytes, **headers: str) -> Any:
    return receiver.receive("POST", "/", headers, body, len(body))


@pytest.mark.parametrize("batched", [True, False])
def test_a_delivery_signed_by_segments_javascript_is_verified(batched: bool) -> None:
    body, signature = segment_delivery(TRICKY, batched)

    reply = receive(WebhookReceiver(shared_secret=SECRET), body, **{"x-signature": signature})

    assert reply.status == 200
    assert reply.received.signature == "verified"
    assert reply.received.batch_size == (2 if batched else 1)
    assert [m["messageId"] for m in reply.received.messages] == (
        ["t-1", "t-2"] if batched else ["t-1"]
    )


def test_a_changed_body_or_another_secret_is_a_mismatch() -> None:
    body, signature = segment_delivery(TRICKY)
    changed = body.replace(b'"u-1"', b'"u-9"')

    tampered = receive(WebhookReceiver(shared_secret=SECRET), changed, **{"x-signature": signature})
    other = receive(WebhookReceiver(shared_secret="another"), body, **{"x-signature": signature})
    garbage = receive(WebhookReceiver(shared_secret=SECRET), body, **{"x-signature": "zé"})
    missing = receive(WebhookReceiver(shared_secret=SECRET), body)
    unchecked = receive(WebhookReceiver(), body, **{"x-signature": "anything"})

    assert [r.status for r in (tampered, other, garbage, missing, unchecked)] == [200] * 5
    assert tampered.received.signature == other.received.signature == "mismatch"
    assert garbage.received.signature == "mismatch"
    assert missing.received.signature == "missing"
    assert unchecked.received.signature is None


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("", 401),
        (f"Bearer {KEY}", 200),
        (f"bearer  {KEY} ", 200),
        ("Bearer api_private_unit0000other", 403),
        (f"Token {KEY}", 403),
        (f"Basic {KEY}", 200),  # the key as the credential, as the sandbox's Frigade takes it
    ],
)
def test_the_api_key_is_checked_as_frigade_does(authorization: str | None, status: int) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    body = b'[{"type":"track","userId":"u","event":"E"}]'

    reply = receive(WebhookReceiver(api_keys=[KEY]), body, **headers)

    assert reply.status == status
    if status != 200:
        assert set(json.loads(reply.body)) == {"statusCode", "message", "error"}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "invalid JSON"),
        (b"[", "invalid JSON"),
        (b"[]", "the batch is empty"),
        (b"7", "a JSON array of events, or one event"),
        (b'[{"type":"track","userId":"u"}]', "batch item 1: field 'event' is required"),
        (b'[{"type":"track","userId":"u","event":"E"}, 3]', "batch item 2"),
        (b'{"type":"shout","userId":"u"}', "event: "),
    ],
)
def test_a_body_that_is_not_segment_events_is_400(body: bytes, words: str) -> None:
    reply = receive(WebhookReceiver(), body)

    assert reply.status == 400
    assert words in json.loads(reply.body)["message"]


def test_a_delivery_larger_than_the_limit_is_413() -> None:
    receiver = WebhookReceiver(max_bytes=10)

    assert receiver.receive("POST", "/", {}, b"", 11).status == 413


def test_a_repeated_message_id_is_answered_and_not_handed_on() -> None:
    receiver = WebhookReceiver()
    body = b'[{"type":"track","userId":"u","event":"E","messageId":"r-1"}]'

    first, again = receive(receiver, body), receive(receiver, body)

    assert (first.status, again.status) == (200, 200)
    assert (len(first.received.messages), len(again.received.messages)) == (1, 0)
    assert again.received.duplicates == 1 and again.received.batch_size == 1


@pytest.mark.parametrize(
    ("base", "path", "query", "expected"),
    [
        ("https://api.segment.io", "/v1/batch", "", "https://api.segment.io/v1/batch"),
        ("https://api.segment.io/", "/v1/batch", "", "https://api.segment.io/v1/batch"),
        ("https://f.example/v1/thirdParty/cdp/segment", "/", "", "https://f.example/v1/thirdParty/cdp/segment"),
        ("https://f.example/hooks/", "/a", "x=1", "https://f.example/hooks/a?x=1"),
        ("https://f.example?region=eu", "/v1/track", "trace=2", "https://f.example/v1/track?region=eu&trace=2"),
        ("http://127.0.0.1:9", "", "", "http://127.0.0.1:9/"),
    ],
)  # fmt: skip
def test_relay_url_appends_the_path_and_keeps_both_queries(
    base: str, path: str, query: str, expected: str
) -> None:
    assert relay_url(base, path, query) == expected
