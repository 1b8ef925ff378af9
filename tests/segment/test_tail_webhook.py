"""`tail --listen` receiving Webhooks (Actions) deliveries: the sandbox's destination, signed and
tampered requests, Frigade's auth check, refused bodies."""

from __future__ import annotations

import json
from typing import Any

import httpx

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config, post_batch, wait_until
from tests.support.tail import Tail, node_signature

SECRET = "whsec-test-0000-tail"
API_KEY = "api_private_test0000tail0hook"


def deliver(
    url: str,
    body: Any,
    *,
    signature: str | None = None,
    key: str | None = API_KEY,
    method: str = "POST",
    path: str = "/",
) -> httpx.Response:
    """A request as Segment's Webhooks destination sends it (its headers, a compact JSON body)."""
    content = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    headers = {"user-agent": "Segment (Actions)", "content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    if signature is not None:
        headers["x-signature"] = signature
    return httpx.request(
        method, f"{url}{path}", content=content, headers=headers, trust_env=False, timeout=30
    )


def event(n: int, type_: str = "track", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": type_, "userId": f"u-{n}", "messageId": f"w-{n}"}
    if type_ == "track":
        base["event"] = "flowResponse.startedFlow"
    if type_ == "group":
        base["groupId"] = f"g-{n}"
    return {**base, **fields}


def test_the_sandbox_destination_pointed_at_tail_shows_every_event_once_signed() -> None:
    with Tail("--listen", "0", "--json", "--shared-secret", SECRET, "--api-key", API_KEY) as tail:
        config = fast_config(
            api_key=API_KEY,
            destination={"url": f"{tail.url}/", "shared_secret": SECRET, "batch_size": 10},
        )
        with RunningSandbox(config) as sandbox:
            kinds = ["identify", "track", "group"]
            sent = [event(n, kinds[n % 3]) for n in range(45)]
            for start in range(0, 45, 15):
                post_batch(sandbox, sent[start : start + 15])
            post_batch(sandbox, [event(99, "page")])  # not a type the destination delivers
            wait_until(lambda: len(tail.stdout) >= 45, timeout=30, what="45 delivered events")
            wait_until(lambda: sandbox.sandbox.idle(), timeout=30, what="the destination idle")
            stats = sandbox.client.get("/_sandbox/stats").json()
        code = tail.stop()

    shown = [m["messageId"] for m in tail.messages()]
    assert sorted(shown) == sorted(m["messageId"] for m in sent)
    assert len(shown) == len(set(shown))  # each once
    destination = stats["destination"]
    assert destination["delivered_events"] == 45
    batches = destination["delivered_batches"]
    assert batches >= 5  # batches of at most 10
    assert code == 0
    assert f"{batches} webhook deliveries, {batches} signature(s) verified" in tail.err
    assert "MISMATCH" not in tail.err and "UNSIGNED" not in tail.err
    assert SECRET not in tail.err and API_KEY not in tail.err


def test_a_tampered_or_unsigned_delivery_is_flagged_and_still_shown() -> None:
    signed = [event(1), event(2, "identify", traits={"name": "Zoë", "plan": "pro"})]
    body = json.dumps(signed, separators=(",", ":"), ensure_ascii=False).encode()
    good = node_signature(body, SECRET)
    # Changed on the way (a user, and the ids, so it is not dropped as a repeat).
    tampered = body.replace(b'"u-1"', b'"u-666"').replace(b'"w-', b'"t-')
    with Tail("--listen", "0", "--shared-secret", SECRET) as tail:
        answers = [
            deliver(tail.url, body, signature=good, path="/hook"),
            deliver(tail.url, tampered, signature=good, path="/hook"),
            deliver(tail.url, [event(3)], path="/hook"),
        ]
        tail.wait_lines(5)
        code = tail.stop()

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(" webhook " in line for line in tail.stdout)
    first, second, tampered_first, tampered_second, unsigned = tail.stdout
    assert "id=w-1" in first and first.endswith("batch=2 signed")
    assert "id=w-2" in second and second.endswith("batch=2 signed")
    assert "user=u-666" in tampered_first and tampered_first.endswith("batch=2 SIGNATURE MISMATCH")
    assert "id=t-2" in tampered_second and tampered_second.endswith("SIGNATURE MISMATCH")
    assert "id=w-3" in unsigned and unsigned.endswith("batch=1 UNSIGNED")
    assert tail.err.count("does not match --shared-secret") == 1
    assert tail.err.count("carries no X-Signature") == 1
    assert "1 signature(s) verified, 2 signature(s) MISMATCHED or missing" in tail.err
    assert code == 0


def test_one_event_unbatched_is_a_delivery_of_one() -> None:
    one = event(7, "identify", traits={"email": "a@example.com"})
    with Tail("--listen", "0", "--shared-secret", SECRET) as tail:
        body = json.dumps(one, separators=(",", ":")).encode()
        answer = deliver(tail.url, body, signature=node_signature(body, SECRET), method="PUT")
        tail.wait_lines(1)
        tail.stop()

    assert answer.status_code == 200
    assert "identify" in tail.stdout[0] and tail.stdout[0].endswith("batch=1 signed")


def test_api_key_is_checked_as_frigade_checks_its_webhook() -> None:
    with Tail("--listen", "0", "--json", "--api-key", API_KEY) as tail:
        missing = deliver(tail.url, [event(1)], key=None)
        wrong = deliver(tail.url, [event(2)], key="api_private_test0000other0key")
        public = deliver(tail.url, [event(3)], key="api_public_test0000tail0hook")
        right = deliver(tail.url, [event(4)])
        tail.wait_lines(1)
        tail.stop()

    assert [r.status_code for r in (missing, wrong, public, right)] == [401, 403, 403, 200]
    assert missing.json() == {
        "statusCode": 401,
        "message": "Missing API key: send Authorization: Bearer <key>",
        "error": "Unauthorized",
    }
    assert wrong.json()["message"] == "Invalid API key"
    assert [m["messageId"] for m in tail.messages()] == ["w-4"]
    assert "3 request(s) rejected" in tail.err
    assert API_KEY not in tail.err and "api_private_test0000other0key" not in tail.err


def test_a_repeated_delivery_is_answered_and_shown_once() -> None:
    with Tail("--listen", "0", "--json") as tail:
        batch = [event(1), event(2)]
        first, retry = deliver(tail.url, batch), deliver(tail.url, batch)
        tail.wait_lines(2)
        tail.stop()

    assert (first.status_code, retry.status_code) == (200, 200)
    assert [m["messageId"] for m in tail.messages()] == ["w-1", "w-2"]
    assert "2 duplicate(s) dropped" in tail.err


def test_json_output_is_each_event_as_segment_wrote_it() -> None:
    # Bytes as JavaScript writes them: 2**60 is the double 1152921504606847000, a lone surrogate
    # is escaped, non-ASCII is kept.
    written = (
        '{"type":"track","userId":"u","event":"E","messageId":"j-1",'
        '"properties":{"amount":129,"big":1152921504606847000,"name":"Zoë","odd":"\\ud800"}}'
    )
    with Tail("--listen", "0", "--json") as tail:
        answer = deliver(tail.url, f"[{written}]".encode())
        tail.wait_lines(1)
        tail.stop()

    assert answer.status_code == 200
    assert tail.stdout == [written]


def test_bodies_that_are_not_segment_events_are_refused_with_400() -> None:
    with Tail("--listen", "0", "--json") as tail:
        not_json = deliver(tail.url, b"[{")
        empty = deliver(tail.url, [])
        scalar = deliver(tail.url, b'"hello"')
        no_user = deliver(tail.url, [event(1), {"type": "track", "event": "E", "messageId": "x"}])
        under_v1 = deliver(tail.url, [event(2)], path="/v1/thirdParty/cdp/segment")
        wrong_method = httpx.get(f"{tail.url}/hook", trust_env=False, timeout=30)
        tail.stop()

    assert [r.status_code for r in (not_json, empty, scalar, no_user)] == [400, 400, 400, 400]
    assert "invalid JSON" in not_json.json()["message"]
    assert "batch item 2 (x)" in no_user.json()["message"]
    assert under_v1.status_code == 404 and "outside /v1/" in under_v1.json()["message"]
    assert wrong_method.status_code == 405
    assert tail.stdout == []
    assert "4 request(s) rejected" in tail.err


def test_control_characters_in_an_event_are_shown_escaped_never_sent_to_the_terminal() -> None:
    hostile = "E\x1b[31mred\x1b]0;title\x07\x00\u202eevil"
    with Tail("--listen", "0") as tail:
        answer = deliver(tail.url, [{**event(1), "event": hostile}])
        tail.wait_lines(1)
        tail.stop()

    assert answer.status_code == 200
    (line,) = tail.stdout
    for raw in ("\x1b", "\x07", "\x00", "\u202e"):
        assert raw not in line
    # Each shown as Python writes it escaped: \x1b, \x07, \x00, \u202e.
    assert "E\\x1b[31mred\\x1b]0;title\\x07\\x00\\u202eevil" in line
