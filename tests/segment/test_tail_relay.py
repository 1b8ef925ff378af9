"""`tail --forward-to` loses nothing, `--save` keeps every request, `--replay` sends them again;
against recording upstreams on 127.0.0.1 that fail, recover, hang or are not there."""

from __future__ import annotations

import base64
import gzip
import json
import signal
import stat
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from frigade_cli.kernel.spool import check_spool
from frigade_cli.sandbox.testing import wait_until
from frigade_cli.segment.spool_format import SEGMENT_SPOOL
from tests.conftest import Cli
from tests.support.recorder import Answer, Recorder
from tests.support.tail import WRITE_KEY, Tail, free_port, node_signature, post, track

SECRET = "whsec-test-0000-relay"
API_KEY = "api_private_test0000relay0key"


def batches(count: int, size: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [
        {"batch": [track(f"{prefix}{b}-{i}") for i in range(size)], "sentAt": "2026-11-29T10:00Z"}
        for b in range(count)
    ]


def ids_of(bodies: list[dict[str, Any]]) -> list[str]:
    return [m["messageId"] for body in bodies for m in body["batch"]]


def delivered_ids(recorder: Recorder) -> Counter[str]:
    """messageIds of the requests the upstream took (answered 2xx), counted."""
    return Counter(
        m["messageId"]
        for r in recorder.requests
        if r.status is not None and 200 <= r.status < 300
        for m in _messages(r.body, r.headers)
    )


def _messages(body: bytes, headers: dict[str, str]) -> list[dict[str, Any]]:
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    document = json.loads(body)
    return document["batch"] if isinstance(document, dict) else document


def send_all(url: str, bodies: list[dict[str, Any]], timeout: float = 30) -> list[int]:
    def send(body: dict[str, Any]) -> int:
        return post(url, "/v1/batch", body, timeout=timeout).status_code

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(send, bodies))


def spool_files(isolated: Path) -> list[Path]:
    return sorted((isolated / "state" / "spool").glob("tail-relay-*.ndjson"))


def spooled_ids(path: Path) -> Counter[str]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return Counter(m["messageId"] for r in records for m in r["messages"])


def test_an_upstream_that_fails_then_recovers_gets_each_event_exactly_once(
    recorder: Recorder, isolated: Path
) -> None:
    recorder.answer(500, 503, Answer(status=502), 429)
    bodies = batches(12, 5)
    with Tail("--listen", "0", "--json", "--forward-to", recorder.url) as tail:
        codes = send_all(tail.url, bodies)
        wait_until(
            lambda: sum(delivered_ids(recorder).values()) >= 60, timeout=60, what="60 delivered"
        )
        code = tail.stop()

    assert codes == [200] * 12
    assert delivered_ids(recorder) == Counter(ids_of(bodies))  # every one, once each
    assert len(recorder.requests) == 12 + 4  # four answered with a retryable failure, retried
    assert sorted(m["messageId"] for m in tail.messages()) == sorted(ids_of(bodies))
    assert spool_files(isolated) == []
    assert code == 0
    assert "12 request(s) relayed" in tail.err and "FAILED" not in tail.err


@pytest.mark.parametrize("upstream", ["always 500", "nobody listening"])
def test_relays_that_still_fail_are_spooled_exit_5_and_replay_to_a_recovered_upstream(
    upstream: str, recorder: Recorder, isolated: Path, cli: Cli
) -> None:
    if upstream == "always 500":
        recorder.default = Answer(status=500, body=b'{"error":"down"}')
        target = recorder.url
    else:
        target = f"http://127.0.0.1:{free_port()}"
    bodies = batches(4, 3)
    with Tail("--listen", "0", "--json", "--write-key", WRITE_KEY, "--forward-to", target) as tail:
        codes = send_all(tail.url, bodies)
        wait_until(lambda: tail.err.count("saved to") >= 4, timeout=60, what="4 spooled relays")
        code = tail.stop()

    assert codes == [200] * 4  # the senders were answered: the tail holds the events
    assert delivered_ids(recorder) == Counter()
    assert code == 5
    assert "4 relay(s) FAILED" in tail.err
    (spool,) = spool_files(isolated)
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    assert spooled_ids(spool) == Counter(ids_of(bodies))  # each saved once
    text = spool.read_text()
    assert WRITE_KEY not in text and base64.b64encode(f"{WRITE_KEY}:".encode()).decode() not in text
    assert ("HTTP 500" if upstream == "always 500" else "ConnectError") in text
    assert f"--replay {spool}" in tail.err
    # The test-webhook spool format: its reader accepts the file as it is.
    assert check_spool(spool, SEGMENT_SPOOL).events == 12

    with Recorder() as recovered:
        replay = cli.process(
            ["segment", "tail", "--replay", str(spool), "--forward-to", recovered.url,
             "--write-key", WRITE_KEY, "--json"]
        )  # fmt: skip
        assert replay.exit_code == 0, replay.stderr
        assert delivered_ids(recovered) == Counter(ids_of(bodies))
        assert {r.path for r in recovered.requests} == {"/v1/batch"}
        basic = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
        assert {r.headers["authorization"] for r in recovered.requests} == {basic}
    assert sorted(json.loads(x)["messageId"] for x in replay.stdout.splitlines()) == sorted(
        ids_of(bodies)
    )
    assert spool.read_text() == text  # a replay never changes the file it reads


def test_a_hanging_upstream_never_makes_the_sender_wait_and_loses_nothing(
    recorder: Recorder, isolated: Path
) -> None:
    recorder.delay = 120  # answers long after anyone waits
    bodies = batches(6, 2, prefix="h")
    with Tail(
        "--listen", "0", "--json", "--forward-to", recorder.url, "--forward-timeout", "60s"
    ) as tail:
        # The senders give up after 10 s: were they made to wait on the upstream (60 s per
        # attempt), their requests would fail.
        codes = send_all(tail.url, bodies, timeout=10)
        tail.wait_lines(12)
        tail.proc.send_signal(signal.SIGINT)
        wait_until(lambda: "still queued" in tail.err, timeout=30, what="the relay to drain")
        code = tail.stop()  # a second Ctrl-C: stop relaying, save what is left

    assert codes == [200] * 6
    assert code == 5
    (spool,) = spool_files(isolated)
    assert spooled_ids(spool) == Counter(ids_of(bodies))
    assert "not relayed before the tail stopped" in spool.read_text()
    assert "6 relay(s) FAILED" in tail.err


def test_forward_to_keeps_both_query_strings_and_appends_the_path(recorder: Recorder) -> None:
    with Tail("--listen", "0", "--forward-to", f"{recorder.url}/base?region=eu") as tail:
        assert post(tail.url, "/v1/batch?trace=1", batches(1, 1)[0]).status_code == 200
        wait_until(lambda: recorder.requests, timeout=30, what="the relayed request")
        tail.stop()

    assert recorder.requests[0].path == "/base/v1/batch?region=eu&trace=1"


def test_save_keeps_every_accepted_request_without_secrets_and_replay_sends_them_again(
    tmp_path: Path, cli: Cli
) -> None:
    saved = tmp_path / "session.ndjson"
    tracking = {"batch": [track("s1"), track("s2")], "sentAt": "2026-11-29T10:00:00.000Z"}
    in_body = {**track("s3"), "writeKey": WRITE_KEY}
    hook = [
        {"type": "identify", "userId": "u-h", "traits": {"name": "Zoë"}, "messageId": "s4"},
        track("s5"),
    ]
    hook_body = json.dumps(hook, separators=(",", ":"), ensure_ascii=False).encode()
    with Tail(
        "--listen", "0", "--json", "--save", str(saved), "--shared-secret", SECRET,
        "--api-key", API_KEY,
    ) as tail:  # fmt: skip
        answers = [
            post(tail.url, "/v1/batch", gzip.compress(json.dumps(tracking).encode()),
                 headers={"content-encoding": "gzip", "x-trace": "t-1"}),
            httpx.post(f"{tail.url}/v1/track", json=in_body, trust_env=False, timeout=30),
            httpx.post(
                f"{tail.url}/frigade?hook=1",
                content=hook_body,
                headers={
                    "content-type": "application/json",
                    "authorization": f"Bearer {API_KEY}",
                    "x-signature": node_signature(hook_body, SECRET),
                },
                trust_env=False,
                timeout=30,
            ),
            post(tail.url, "/v1/batch", tracking),  # a repeat: answered, saved, not shown again
        ]  # fmt: skip
        tail.wait_lines(5)
        code = tail.stop()

    assert [a.status_code for a in answers] == [200] * 4 and code == 0
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    text = saved.read_text()
    for secret in (WRITE_KEY, API_KEY, SECRET, base64.b64encode(f"{WRITE_KEY}:".encode()).decode()):
        assert secret not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["request"]["path"] for r in records] == [
        "/v1/batch",
        "/v1/track",
        "/frigade",
        "/v1/batch",
    ]
    gz, single, webhook, repeat = (r["request"] for r in records)
    assert json.loads(gz["body"]) == tracking  # kept decompressed
    assert ["x-trace", "t-1"] in gz["headers"]
    assert not any(n.lower() in ("authorization", "content-encoding") for n, _ in gz["headers"])
    assert json.loads(single["body"]) == track("s3")  # the body's writeKey left out
    assert webhook["kind"] == "webhook" and webhook["query"] == "hook=1"
    assert webhook["body"].encode() == hook_body  # byte for byte: the signature still holds
    assert not any(n.lower() == "x-signature" for n, _ in webhook["headers"])
    assert repeat["body"] == json.dumps(tracking)
    assert all(r["request"]["received_at"].endswith("Z") for r in records)

    with Recorder() as upstream:
        replay = cli.process(
            ["segment", "tail", "--replay", str(saved), "--forward-to", upstream.url,
             "--write-key", WRITE_KEY, "--api-key", API_KEY, "--shared-secret", SECRET]
        )  # fmt: skip
        got = sorted(upstream.requests, key=lambda r: r.path)

    assert replay.exit_code == 0, replay.stderr
    assert [r.path for r in got] == ["/frigade?hook=1", "/v1/batch", "/v1/batch", "/v1/track"]
    hook_request = got[0]
    assert hook_request.body == hook_body
    assert hook_request.headers["authorization"] == f"Bearer {API_KEY}"
    assert hook_request.headers["x-signature"] == node_signature(hook_body, SECRET)
    basic = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    assert all(r.headers["authorization"] == basic for r in got[1:])
    assert json.loads(got[3].body) == track("s3")
    assert " webhook " in replay.stdout and "4 request(s) relayed" in replay.stderr


def test_replay_sends_a_test_webhook_spool_as_the_destination_would(
    tmp_path: Path, recorder: Recorder, cli: Cli
) -> None:
    messages = [track("p1"), track("p2")]
    spool = tmp_path / "webhook.ndjson"
    line = {"url": "https://example.com/hook", "status": 503, "error": "HTTP 503",
            "failed_at": "2026-11-29T10:00:00.000Z", "messages": messages}  # fmt: skip
    spool.write_text(json.dumps(line) + "\n")

    result = cli.process(
        ["segment", "tail", "--replay", str(spool), "--forward-to", recorder.webhook_url,
         "--api-key", API_KEY, "--shared-secret", SECRET]
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    (request,) = recorder.requests
    assert request.path == "/v1/thirdParty/cdp/segment"
    assert json.loads(request.body) == messages
    assert request.headers["x-signature"] == node_signature(request.body, SECRET)
    # Header for header as Segment's destination code sends them, run in Node (tests/oracles).
    assert sorted((n.lower(), v) for n, v in request.header_lines) == sorted(
        {
            "accept": "*/*",
            "accept-encoding": "gzip,deflate",
            "connection": "keep-alive",
            "content-type": "application/json",
            "user-agent": "Segment (Actions)",
            "authorization": f"Bearer {API_KEY}",
            "x-signature": request.headers["x-signature"],
            "host": recorder.url.removeprefix("http://"),
            "content-length": str(len(request.body)),
        }.items()
    )


GOOD_LINE = '{"messages": [{"type": "track", "userId": "u", "event": "E"}]}\n'


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (GOOD_LINE + "{not json\n", "line 2: invalid JSON"),
        (GOOD_LINE + '{"request": {"headers": 5}}\n', "line 2: not a saved request"),
        ("[1, 2]\n", "line 1: not a spool record"),
        ("\n", "holds no saved request"),
    ],
)
def test_replay_of_a_bad_file_is_one_line_and_sends_nothing(
    tmp_path: Path, recorder: Recorder, cli: Cli, content: str, words: str
) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text(content)

    result = cli.process(["segment", "tail", "--replay", str(bad), "--forward-to", recorder.url])

    assert result.exit_code == 3, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert recorder.requests == []


def test_save_to_a_file_that_cannot_be_written_exits_7_before_listening(tmp_path: Path) -> None:
    tail = Tail("--listen", "0", "--save", str(tmp_path / "missing" / "s.ndjson"), ready=False)

    assert tail.wait() == 7
    assert "cannot write" in tail.err and "Traceback" not in tail.err


def test_a_replay_cut_short_exits_143_and_saves_what_was_in_flight(
    tmp_path: Path, recorder: Recorder, isolated: Path
) -> None:
    recorder.delay = 120  # never answers in time: every relay is still in flight
    saved = tmp_path / "many.ndjson"
    lines = [
        {"url": "http://127.0.0.1/v1/batch", "messages": [track(f"c{n}")],
         "request": {"kind": "tracking", "method": "POST", "path": "/v1/batch",
                     "headers": [["content-type", "application/json"]],
                     "body": json.dumps({"batch": [track(f"c{n}")]})}}
        for n in range(2000)
    ]  # fmt: skip
    saved.write_text("".join(json.dumps(line) + "\n" for line in lines))
    before = saved.read_text()
    tail = Tail(
        "--replay", str(saved), "--forward-to", recorder.url, "--forward-timeout", "60s",
        ready=False,
    )  # fmt: skip
    wait_until(lambda: len(recorder.requests) >= 4, timeout=30, what="4 relays in flight")
    code = tail.stop(signal.SIGTERM)

    assert code == 143
    assert "replay stopped after" in tail.err and "of 2000 saved request(s)" in tail.err
    assert "Traceback" not in tail.err
    (spool,) = spool_files(isolated)
    in_flight = spooled_ids(spool)
    assert len(in_flight) >= 4 and set(in_flight.values()) == {1}
    assert saved.read_text() == before
