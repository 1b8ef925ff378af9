"""`frigade segment tail`: the real command in a child process, fed by real senders on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config, post_batch, wait_until
from tests.conftest import Cli
from tests.support.recorder import Recorder
from tests.support.tail import WRITE_KEY, Tail, free_port, post, track


def test_concurrent_senders_see_every_event_exactly_once() -> None:
    senders, batches, size = 8, 10, 50
    with Tail("--listen", "0", "--json") as tail:
        ids = [
            [f"s{s}-b{b}-{i}" for b in range(batches) for i in range(size)] for s in range(senders)
        ]

        def send(sender: int) -> list[int]:
            codes = []
            with httpx.Client(trust_env=False, timeout=30) as client:
                for b in range(batches):
                    chunk = ids[sender][b * size : (b + 1) * size]
                    body = {"batch": [track(i, messageId=i) for i in chunk]}
                    response = client.post(f"{tail.url}/v1/batch", json=body, auth=(WRITE_KEY, ""))
                    codes.append(response.status_code)
            return codes

        with ThreadPoolExecutor(senders) as pool:
            codes = [c for result in pool.map(send, range(senders)) for c in result]
        code = tail.stop()

    assert codes == [200] * senders * batches
    shown = [m["messageId"] for m in tail.messages()]
    expected = {i for sender in ids for i in sender}
    assert len(shown) == len(expected) == senders * batches * size
    assert set(shown) == expected
    assert code == 0
    assert f"{len(expected)} events shown" in tail.err


def test_the_official_python_library_with_gzip_and_basic_auth(recorder: Recorder) -> None:
    from segment.analytics import Client

    with Tail(
        "--listen", "0", "--json", "--write-key", WRITE_KEY, "--forward-to", recorder.url
    ) as tail:
        errors: list[Any] = []
        client = Client(
            WRITE_KEY,
            host=tail.url,
            gzip=True,
            sync_mode=True,
            max_retries=0,
            on_error=lambda error, batch: errors.append(error),
        )
        client.identify("lib-user", {"plan": "pro"})
        client.track("lib-user", "Report Exported", {"rows": 12})
        tail.wait_lines(2)
        tail.stop()

    assert errors == []
    identify, track_ = tail.messages()
    assert (identify["type"], identify["traits"]) == ("identify", {"plan": "pro"})
    assert (track_["event"], track_["properties"]) == ("Report Exported", {"rows": 12})
    assert track_["context"]["library"]["name"] == "analytics-python"
    assert "writeKey" not in track_
    # The library really sent gzip with Basic auth: the relayed requests are those requests.
    relayed = recorder.requests
    assert [r.path for r in relayed] == ["/v1/batch", "/v1/batch"]
    assert all(r.headers["content-encoding"] == "gzip" for r in relayed)
    assert all(r.headers["authorization"].startswith("Basic ") for r in relayed)
    assert all(r.headers["user-agent"].startswith("analytics-python/") for r in relayed)
    # Relayed from a queue by several senders: the two requests may arrive in either order.
    types = sorted(json.loads(gzip.decompress(r.body))["batch"][0]["type"] for r in relayed)
    assert types == ["identify", "track"]


def test_a_wrong_write_key_gets_401_and_shows_nothing() -> None:
    with Tail("--listen", "0", "--json", "--write-key", WRITE_KEY) as tail:
        wrong = post(tail.url, "/v1/track", track(1), key="wk_test0000other0wxyz")
        right = post(tail.url, "/v1/track", track(2))
        tail.wait_lines(1)
        tail.stop()

    assert (wrong.status_code, right.status_code) == (401, 200)
    assert [m["messageId"] for m in tail.messages()] == ["m-2"]
    assert "answered 401" in tail.err
    assert "wk_test0000other0wxyz" not in tail.err and WRITE_KEY not in tail.err


def test_a_malformed_body_gets_400_and_the_tail_keeps_running() -> None:
    with Tail("--listen", "0", "--json") as tail:
        bad = post(tail.url, "/v1/batch", b'{"batch": [ {"type": "track",')
        gzipped_bad = post(tail.url, "/v1/batch", b"not gzip", headers={"content-encoding": "gzip"})
        good = post(tail.url, "/v1/batch", {"batch": [track(1)]})
        tail.wait_lines(1)
        code = tail.stop()

    assert (bad.status_code, gzipped_bad.status_code, good.status_code) == (400, 400, 200)
    assert "invalid JSON" in bad.json()["message"]
    assert [m["messageId"] for m in tail.messages()] == ["m-1"]
    assert code == 0
    assert "2 request(s) rejected" in tail.err


def test_oversize_messages_and_batches_get_400() -> None:
    with Tail("--listen", "0", "--json") as tail:
        big_message = post(tail.url, "/v1/track", track(1, properties={"x": "y" * 33_000}))
        in_batch = post(
            tail.url, "/v1/batch", {"batch": [track(2), track(3, properties={"x": "y" * 33_000})]}
        )
        big_batch = post(
            tail.url,
            "/v1/batch",
            {"batch": [track(i, properties={"x": "y" * 20_000}) for i in range(26)]},
        )
        tail.stop()

    assert big_message.status_code == in_batch.status_code == big_batch.status_code == 400
    assert "32768" in big_message.json()["message"]
    assert "batch item 2 (m-3)" in in_batch.json()["message"]
    assert "500000" in big_batch.json()["message"]
    assert tail.stdout == []


def test_forward_to_relays_each_request_unchanged_with_its_status(recorder: Recorder) -> None:
    bodies = [{"batch": [track(n)], "sentAt": "2026-11-29T10:00:00.000Z"} for n in range(4)]
    with Tail("--listen", "0", "--forward-to", recorder.url) as tail:
        answers = [post(tail.url, "/v1/batch", b, headers={"x-custom": "kept"}) for b in bodies]
        wait_until(lambda: len(recorder.requests) == 4, timeout=30, what="4 relayed requests")
        relay_lines = wait_until(
            lambda: (
                (lines := [x for x in tail.stdout if " relay " in x]) and len(lines) == 4 and lines
            ),
            timeout=30,
            what="4 relay lines",
        )
        code = tail.stop()

    assert [a.status_code for a in answers] == [200] * 4  # the tail took them all
    assert sorted(map(json.dumps, recorder.bodies())) == sorted(map(json.dumps, bodies))
    assert all(r.headers["x-custom"] == "kept" for r in recorder.requests)
    assert all(
        r.headers["authorization"] == answers[0].request.headers["authorization"]
        for r in recorder.requests
    )
    assert all(f"POST {recorder.url}/v1/batch  1 event  -> 200 " in x for x in relay_lines)
    assert "4 request(s) relayed" in tail.err and "FAILED" not in tail.err
    assert code == 0


FILTER_MIX = [
    track(1, event="flowResponse.startedFlow", properties={"groupId": "g1"}),
    track(2, event="flowResponse.completedStep", userId="u-2"),
    track(3, event="Signed Up", userId=None, anonymousId="anon-3"),
    {"type": "identify", "userId": "u-2", "traits": {"plan": "pro"}, "messageId": "m-4"},
    {"type": "group", "userId": "u-5", "groupId": "g1", "messageId": "m-5"},
]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--type", "track"], ["m-1", "m-2", "m-3"]),
        (["--type", "identify,group"], ["m-4", "m-5"]),
        (["--event", "flowResponse.*"], ["m-1", "m-2"]),
        (["--user-id", "u-2"], ["m-2", "m-4"]),
        (["--anonymous-id", "anon-3"], ["m-3"]),
        (["--group-id", "g1"], ["m-1", "m-5"]),
        (["--type", "track", "--group-id", "g1"], ["m-1"]),
    ],
)
def test_filters_show_only_what_matches(flags: list[str], expected: list[str]) -> None:
    with Tail("--listen", "0", "--json", *flags) as tail:
        messages = [{k: v for k, v in m.items() if v is not None} for m in FILTER_MIX]
        # Answered only once shown: after the 200, the lines are out.
        assert post(tail.url, "/v1/batch", {"batch": messages}).status_code == 200
        code = tail.stop()

    assert [m["messageId"] for m in tail.messages()] == expected
    assert code == 0


def test_a_type_that_segment_does_not_have_is_refused() -> None:
    tail = Tail("--listen", "0", "--type", "trak", ready=False)

    assert tail.wait() == 3
    assert "'trak' is not a Segment type" in tail.err


def test_timeout_exits_5_when_nothing_arrived_and_0_when_something_did() -> None:
    quiet = Tail("--listen", "0", "--timeout", "300ms")
    assert quiet.wait() == 5
    assert "no event arrived within 300ms" in quiet.err

    with Tail("--listen", "0", "--timeout", "2s", "--json") as busy:
        post(busy.url, "/v1/track", track(1))
        assert busy.wait() == 0
    assert len(busy.stdout) == 1


def test_limit_stops_after_n_events_with_exit_0() -> None:
    with Tail("--listen", "0", "--json", "--limit", "3") as tail:
        first = post(tail.url, "/v1/batch", {"batch": [track(n) for n in range(2)]})
        second = post(tail.url, "/v1/batch", {"batch": [track(n) for n in range(2, 5)]})
        code = tail.wait()

    assert code == 0
    assert (first.status_code, second.status_code) == (200, 200)
    # The request that reaches the limit is shown whole: every event answered 200 is printed.
    assert [m["messageId"] for m in tail.messages()] == ["m-0", "m-1", "m-2", "m-3", "m-4"]
    assert "limit reached: 5 events shown" in tail.err


def test_after_the_limit_a_request_is_refused_not_answered_200_and_dropped() -> None:
    with Tail("--listen", "0", "--json", "--limit", "1") as tail:
        first = post(tail.url, "/v1/track", track(1))
        try:
            late = post(tail.url, "/v1/track", track(2)).status_code
        except httpx.TransportError:
            late = None  # the tail had already closed its port: not accepted either
        code = tail.wait()

    assert (code, first.status_code) == (0, 200)
    assert late != 200
    assert [m["messageId"] for m in tail.messages()] == ["m-1"]


def test_sigterm_ends_it_like_ctrl_c() -> None:
    with Tail("--listen", "0", "--json") as tail:
        post(tail.url, "/v1/track", track(1))
        tail.wait_lines(1)
        code = tail.stop(signal.SIGTERM)

    assert code == 0
    assert "1 event shown" in tail.err


def test_a_closed_pipe_exits_0_quietly() -> None:
    port = free_port()
    script = (
        f'"{sys.executable}" -m frigade_cli segment tail --listen {port} --json | head -n 2; '
        'echo "tail exit ${PIPESTATUS[0]}" >&2'
    )
    proc = subprocess.Popen(
        ["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(url), timeout=30, what="the tail to listen")
    codes = []
    for n in range(6):
        try:
            codes.append(post(url, "/v1/track", track(n)).status_code)
        except httpx.TransportError:
            break  # the tail has gone, as it should once head stopped reading
        time.sleep(0.05)
    out, err = proc.communicate(timeout=30)

    assert [json.loads(line)["messageId"] for line in out.splitlines()] == ["m-0", "m-1"]
    assert "tail exit 0" in err
    assert "Traceback" not in err and "error" not in err.lower()
    assert codes[:2] == [200, 200]


def _answers(url: str) -> bool:
    try:
        httpx.get(url, trust_env=False, timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_it_binds_loopback_unless_told_and_warns_otherwise() -> None:
    with Tail("--listen", "0") as local:
        local.stop()
    with Tail("--host", "0.0.0.0", "--port", "0") as wide:
        wide.stop()

    assert local.url.startswith("http://127.0.0.1:")
    assert "warning" not in local.err
    assert "warning: listening on 0.0.0.0" in wide.err


def test_a_port_in_use_exits_5(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        tail = Tail("--listen", f"127.0.0.1:{port}", ready=False)

        assert tail.wait() == 5
    assert "already in use" in tail.err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ([], 2),
        (["--listen", "0", "--sandbox", "http://127.0.0.1:9"], 2),
        (["--listen", "0", "--side", "segment"], 2),
        (["--sandbox", "http://127.0.0.1:9", "--forward-to", "http://127.0.0.1:9"], 2),
        (["--listen", "abc"], 3),
        (["--listen", "0", "--timeout", "soon"], 3),
        (["--listen", "0", "--write-key", "api_private_test0000abcd"], 3),
        (["--listen", "0", "--forward-to", "http://example.com"], 3),
        (["--sandbox", "http://127.0.0.1:9", "--side", "mars"], 3),
        (["--listen", "0", "--forward-to", "http://127.0.0.1:9", "--forward-timeout", "soon"], 3),
        (["--listen", "0", "--forward-to", "http://127.0.0.1:9", "--forward-timeout", "0s"], 3),
        (["--listen", "0", "--api-key", "api_public_test0000abcd"], 3),
        (["--replay", "saved.ndjson"], 2),
        (["--replay", "saved.ndjson", "--listen", "0", "--forward-to", "http://127.0.0.1:9"], 2),
        (["--replay", "saved.ndjson", "--forward-to", "http://127.0.0.1:9", "--limit", "1"], 2),
        (["--sandbox", "http://127.0.0.1:9", "--save", "saved.ndjson"], 2),
        (["--sandbox", "http://127.0.0.1:9", "--shared-secret", "s"], 2),
    ],
)
def test_bad_flags_are_one_line_errors(cli: Cli, args: Sequence[str], code: int) -> None:
    result = cli("segment", "tail", *args)

    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


# --sandbox -------------------------------------------------------------------------------------


@pytest.fixture
def sandbox_port() -> Iterator[int]:
    yield free_port()


def test_tail_sandbox_misses_and_repeats_nothing_across_a_restart(sandbox_port: int) -> None:
    config = {"port": sandbox_port, "write_key": WRITE_KEY}
    first = RunningSandbox(fast_config(**config)).start()
    try:
        with Tail(
            "--sandbox", first.url, "--side", "segment", "--json", "--limit", "6", ready=False
        ) as tail:
            wait_until(lambda: _subscribed(first), timeout=30, what="the tail to subscribe")
            post_batch(first, [track(f"a{n}") for n in range(3)])
            tail.wait_lines(3)
            first.stop()
            second = RunningSandbox(fast_config(**config)).start()
            try:
                # Sent before the tail is back: the resumed stream must still bring them.
                post_batch(second, [track(f"b{n}") for n in range(3)])
                code = tail.wait()
            finally:
                second.stop()
    finally:
        first.stop()

    assert code == 0
    assert [m["messageId"] for m in tail.messages()] == [
        f"m-{x}{n}" for x in "ab" for n in range(3)
    ]
    assert "reconnect" in tail.err
    assert "the sandbox restarted" in tail.err


def _subscribed(sandbox: RunningSandbox) -> bool:
    return bool(sandbox.sandbox.hub.subscribers)


def test_tail_sandbox_shows_one_line_per_event_with_its_side(sandbox_port: int) -> None:
    with (
        RunningSandbox(fast_config(port=sandbox_port)) as sandbox,
        Tail("--sandbox", sandbox.url, "--type", "track", "--limit", "2", ready=False) as tail,
    ):
        wait_until(lambda: _subscribed(sandbox), timeout=30, what="the tail to subscribe")
        post_batch(sandbox, [track("x"), {"type": "identify", "userId": "u", "messageId": "i"}])
        code = tail.wait()

    assert code == 0
    segment_line, frigade_line = tail.stdout
    assert segment_line.split()[1:3] == ["segment", "track"]
    assert frigade_line.split()[1:3] == ["frigade", "track"]
    assert (
        "Signed Up" in segment_line and "user=user-x" in segment_line and "id=m-x" in segment_line
    )


# The whole direction, end to end -----------------------------------------------------------------


def test_connect_then_a_flow_state_reaches_tail_listen_then_disconnect(cli: Cli) -> None:
    with Tail("--listen", "127.0.0.1:0", "--json", "--write-key", WRITE_KEY) as tail:
        with RunningSandbox(fast_config(segment_api_url=tail.url)) as sandbox:
            frigade = ("--api-key", sandbox.api_key, "--api-url", sandbox.url)
            connected = cli(
                "segment", "connect", "--write-key", WRITE_KEY, *frigade,
                "--verify", "--segment-api-url", tail.url, "--json",
            )  # fmt: skip
            status = cli("segment", "status", *frigade)
            response = sandbox.client.post(
                "/v1/public/flowStates",
                json={
                    "userId": "u-flow",
                    "flowSlug": "onboarding",
                    "stepId": "welcome",
                    "actionType": "STARTED_FLOW",
                },
                headers={"Authorization": f"Bearer {sandbox.public_key}"},
            )
            test_event, event = (json.loads(line) for line in tail.wait_lines(2))
            disconnected = cli("segment", "disconnect", "--yes", *frigade)
            after = cli("segment", "status", *frigade)
        tail.stop()

    assert connected.exit_code == 0, connected.output
    assert test_event["messageId"] == json.loads(connected.stdout)["verify"]["messageId"]
    assert status.exit_code == 0 and "ACTIVE" in status.stdout
    assert response.status_code == 201
    assert (event["type"], event["userId"]) == ("track", "u-flow")
    assert event["event"] == "flowResponse.startedFlow"
    assert event["properties"]["flowSlug"] == "onboarding"
    assert disconnected.exit_code == 0
    assert after.exit_code == 3


def test_every_new_command_is_listed_in_help(cli: Cli) -> None:
    result = cli("segment", "--help")

    for command in ("connect", "status", "disconnect", "tail"):
        assert command in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_each_type_has_its_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    import pty

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm-256color")
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", "segment", "tail", "--listen", "0", "--limit", "2"],
        stdout=terminal,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    os.close(terminal)
    assert proc.stderr is not None
    url = json.loads(proc.stderr.readline())["url"]
    post(
        url,
        "/v1/batch",
        {"batch": [track(1), {"type": "identify", "userId": "u", "messageId": "i"}]},
    )
    seen = b""
    deadline = time.monotonic() + 30
    while seen.count(b"\n") < 2 and time.monotonic() < deadline:
        seen += os.read(controller, 4096)
    proc.wait(30)
    os.close(controller)

    assert proc.returncode == 0
    track_line, identify_line = seen.decode().splitlines()[:2]
    assert "\x1b[36mtrack" in track_line  # cyan
    assert "\x1b[32midentify" in identify_line  # green


def test_tail_sandbox_keeps_trying_an_unreachable_sandbox_until_its_timeout() -> None:
    tail = Tail("--sandbox", f"http://127.0.0.1:{free_port()}", "--timeout", "1500ms", ready=False)

    assert tail.wait() == 5
    assert "cannot reach the sandbox" in tail.err and "retrying in" in tail.err
    assert "no event arrived within 1500ms" in tail.err


def test_tail_sandbox_ends_on_ctrl_c_with_the_count(sandbox_port: int) -> None:
    with (
        RunningSandbox(fast_config(port=sandbox_port)) as sandbox,
        Tail("--sandbox", sandbox.url, "--side", "segment", "--json", ready=False) as tail,
    ):
        wait_until(lambda: _subscribed(sandbox), timeout=30, what="the tail to subscribe")
        post_batch(sandbox, [track(1)])
        tail.wait_lines(1)
        code = tail.stop()

    assert code == 0
    assert "stopped: 1 event shown" in tail.err
