"""Every `frigade sandbox` flag that changes behaviour, end to end: the real command in a child
process, checked over HTTP on 127.0.0.1 (and, for signatures, at a recording server)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from frigade_cli.sandbox.testing import wait_until
from tests.conftest import Cli
from tests.sandbox.test_cli import read_line
from tests.support.recorder import Recorder


@dataclass
class Sandbox:
    """A `frigade sandbox` process: its ready line, a client, and its stderr once stopped."""

    proc: subprocess.Popen[bytes]
    ready: dict[str, Any]
    http: httpx.Client
    stderr: bytes = field(default=b"")

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ready['api_key']}"}

    def segment_batch(self, messages: list[dict[str, Any]]) -> httpx.Response:
        return self.http.post(
            self.ready["segment_api_url"] + "/v1/batch",
            json={"batch": messages},
            auth=(self.ready["write_key"], ""),
        )

    def webhook(self, body: Any) -> httpx.Response:
        return self.http.post(self.ready["webhook_url"], json=body, headers=self.bearer)

    def control(self, path: str, **params: str) -> Any:
        return self.http.get(self.ready["control_url"] + path, params=params).json()

    def delivered(self) -> list[dict[str, Any]]:
        events = self.control("/events", side="destination", kind="delivered", limit="1000")
        return [e["message"] for e in events["events"]]


@contextmanager
def sandbox_process(*args: str) -> Iterator[Sandbox]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", "sandbox", "--port", "0", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        ready = orjson.loads(read_line(proc))
        with httpx.Client(timeout=10.0, trust_env=False) as http:
            running = Sandbox(proc, ready, http)
            yield running
        proc.send_signal(signal.SIGTERM)
        _, running.stderr = proc.communicate(timeout=15)
        assert proc.returncode == 0, running.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def identify(user: str, **traits: Any) -> dict[str, Any]:
    return {"type": "identify", "userId": user, "traits": traits}


def test_fail_with_429_answers_frigades_monthly_active_user_cap(cli: Cli) -> None:
    with sandbox_process("--fail-with", "429") as sb:
        response = sb.webhook([identify("u1")])

        assert response.status_code == 429
        assert "maximum allowed MAUs" in response.json()["message"]
        # The quota path of test-webhook, end to end: stopped, not retried, nothing accepted.
        result = cli(
            "segment", "test-webhook", "--url", sb.ready["webhook_url"],
            "--api-key", sb.ready["api_key"], "--count", "3", "--json",
        )  # fmt: skip
        summary = json.loads(result.stdout)
        assert result.exit_code == 5, result.output
        assert summary["stopped_because"] == "quota"
        assert summary["retries"] == 0
        assert summary["accepted"]["events"] == 0
        assert sb.control("/config")["fail_with"] == 429
        # ...while the emulated Segment destination retries it, as Segment retries every 429.
        sb.segment_batch([identify("u2")])
        given_up = wait_until(
            lambda: sb.control("/undeliverable")["batches"], timeout=30.0, what="the give-up"
        )
        assert given_up[0]["status"] == 429
        assert given_up[0]["attempts"] == sb.control("/config")["retry"]["attempts"] > 1


def test_without_fail_with_faults_are_503_and_without_fail_rate_there_are_none() -> None:
    with sandbox_process("--fail-rate", "1") as failing:
        assert failing.webhook([identify("u1")]).status_code == 503
    with sandbox_process() as healthy:
        assert healthy.webhook([identify("u1")]).status_code == 201


def test_fail_rate_makes_the_destination_retry_and_keep_what_it_could_not_deliver() -> None:
    with sandbox_process("--fail-rate", "1", "--flush-interval", "20ms") as sb:
        assert sb.segment_batch([identify("u1")]).status_code == 200

        undeliverable = wait_until(
            lambda: sb.control("/undeliverable")["count"] == 1 and sb.control("/undeliverable"),
            timeout=30.0,
            what="the batch to be given up",
        )
        stats = sb.control("/stats")
        assert undeliverable["batches"][0]["status"] == 503
        assert stats["frigade"]["faults_injected"] == stats["destination"]["requests"] > 1
        assert stats["destination"]["retries"] == stats["destination"]["requests"] - 1


def test_latency_delays_frigade_responses_but_not_the_control_api() -> None:
    with sandbox_process("--latency", "400ms") as sb:
        slow = sb.http.get(
            sb.ready["frigade_api_url"] + "/v1/users", params={"userId": "x"}, headers=sb.bearer
        )

        assert slow.status_code == 404
        assert slow.elapsed.total_seconds() >= 0.4  # a lower bound: load cannot make it shorter
        assert sb.control("/config")["latency"] == 0.4


def test_no_batching_sends_one_request_per_event_and_batching_sends_one_array() -> None:
    messages = [identify(f"u{n}") for n in range(3)]
    with sandbox_process("--no-batching", "--flush-interval", "20ms") as single:
        single.segment_batch(messages)
        sizes = wait_until(
            lambda: len(single.delivered()) == 3 and [d["events"] for d in single.delivered()],
            what="three deliveries",
        )
        assert sizes == [1, 1, 1]
    with sandbox_process("--flush-interval", "20ms") as batched:
        batched.segment_batch(messages)
        delivered = wait_until(batched.delivered, what="the batch")
        assert [d["events"] for d in delivered] == [3]


def test_batch_size_splits_deliveries() -> None:
    with sandbox_process("--batch-size", "2", "--flush-interval", "50ms") as sb:
        sb.segment_batch([identify(f"u{n}") for n in range(5)])

        sizes = wait_until(
            lambda: (
                sum(d["events"] for d in sb.delivered()) == 5
                and sorted(d["events"] for d in sb.delivered())
            ),
            what="all five events",
        )
        assert sizes == [1, 2, 2]


def test_shared_secret_signs_the_first_element_as_segment_does(recorder: Recorder) -> None:
    with sandbox_process("--shared-secret", "s3cret", "--flush-interval", "20ms") as sb:
        sb.http.patch(
            sb.ready["control_url"] + "/config",
            json={"destination": {"url": recorder.webhook_url, "headers": {}}},
        )
        sb.segment_batch([identify("u1", name="Zoë"), identify("u2")])

        wait_until(lambda: recorder.requests, what="the signed delivery")

    [request] = recorder.requests
    first = json.loads(request.body)[0]
    # JSON.stringify of the first element: compact, non-ASCII kept (no \\u escapes).
    signed = json.dumps(first, separators=(",", ":"), ensure_ascii=False).encode()
    assert signed in request.body
    expected = hmac.new(b"s3cret", signed, hashlib.sha1).hexdigest()
    assert request.headers["x-signature"] == expected
    assert b"s3cret" not in sb.stderr


def test_without_shared_secret_there_is_no_signature(recorder: Recorder) -> None:
    with sandbox_process("--flush-interval", "20ms") as sb:
        sb.http.patch(
            sb.ready["control_url"] + "/config",
            json={"destination": {"url": recorder.webhook_url, "headers": {}}},
        )
        sb.segment_batch([identify("u1")])
        wait_until(lambda: recorder.requests, what="the delivery")

    assert "x-signature" not in recorder.requests[0].headers


def test_data_on_an_existing_file_readable_by_others_makes_it_0600_and_says_so(
    tmp_path: Path,
) -> None:
    data = tmp_path / "state.sqlite"
    data.touch()
    os.chmod(data, 0o644)

    with sandbox_process("--data", str(data)) as sb:
        assert stat.S_IMODE(os.stat(data).st_mode) == 0o600
        # The write key of a connected integration is kept in it.
        sb.http.post(
            sb.ready["frigade_api_url"] + "/graphql",
            headers=sb.bearer,
            json={
                "query": 'mutation($d: String!) { upsertIntegration(type: "SEGMENT", '
                'status: "ACTIVE", connectionData: $d) { id } }',
                "variables": {"d": '{"writeKey": "wk_secret_kept_0001"}'},
            },
        )

    assert b"could be read by others (mode 0644); made it 0600" in sb.stderr
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o600
    for sibling in tmp_path.glob("state.sqlite-*"):
        assert stat.S_IMODE(os.stat(sibling).st_mode) & 0o077 == 0


def test_data_on_a_private_file_says_nothing_about_its_mode(tmp_path: Path) -> None:
    data = tmp_path / "state.sqlite"
    data.touch()
    os.chmod(data, 0o600)

    with sandbox_process("--data", str(data)) as sb:
        assert sb.ready["persistent"] is True

    assert b"made it 0600" not in sb.stderr


def test_data_that_cannot_be_made_private_is_refused_with_exit_3(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "shared.sqlite"
    data.touch()
    os.chmod(data, 0o664)

    def refuse(path: Any, mode: int) -> None:  # as for a file owned by another user
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refuse)
    result = cli("sandbox", "--port", "0", "--data", str(data))

    assert result.exit_code == 3
    assert "can be read by others (mode 0664) and cannot be made 0600" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_fail_with_that_is_not_an_error_status_is_exit_3(cli: Cli) -> None:
    result = cli("sandbox", "--port", "0", "--fail-with", "200")

    assert result.exit_code == 3
    assert "give an HTTP error status, 400 to 599" in result.stderr


def test_a_second_signal_stops_without_waiting_for_a_stuck_delivery(recorder: Recorder) -> None:
    recorder.delay = 20.0  # the delivery hangs for far longer than the stop may take
    with sandbox_process("--flush-interval", "20ms") as sb:
        sb.http.patch(
            sb.ready["control_url"] + "/config",
            json={"destination": {"url": recorder.webhook_url, "headers": {}}},
        )
        sb.segment_batch([identify("u1")])
        wait_until(lambda: recorder.requests, what="the delivery to start")
        sb.proc.send_signal(signal.SIGINT)
        wait_until(lambda: sb.control("/health")["status"] == "stopping", what="the stop")
        sb.proc.send_signal(signal.SIGINT)
        sb.proc.wait(timeout=15)  # within the test's patience, not the hung delivery's

    assert sb.proc.returncode == 0
    assert b"stopped at once: deliveries in flight were not waited for" in sb.stderr
    assert b"Traceback" not in sb.stderr


def test_one_signal_waits_for_deliveries_and_says_when_some_are_still_pending(
    recorder: Recorder,
) -> None:
    recorder.delay = 20.0
    with sandbox_process("--flush-interval", "20ms") as sb:
        sb.http.patch(
            sb.ready["control_url"] + "/config",
            json={"destination": {"url": recorder.webhook_url, "headers": {}}},
        )
        sb.segment_batch([identify("u1")])
        wait_until(lambda: recorder.requests, what="the delivery to start")

    assert b"stopped with deliveries still pending" in sb.stderr
    assert b"stopped at once" not in sb.stderr


def test_the_server_is_driven_through_uvicorns_public_api_only() -> None:
    import uvicorn

    from frigade_cli.sandbox import uvicorn_server

    server = uvicorn.Server(uvicorn.Config(app=None))
    # What RunningSandbox uses; an upgrade that removes any of it fails here, not at run time.
    assert callable(server.serve)
    assert server.started is False and server.should_exit is False
    assert not [
        name
        for name, value in vars(uvicorn_server).items()
        if isinstance(value, type) and issubclass(value, uvicorn.Server)
    ]


def test_strict_spec_refuses_what_the_quick_checks_let_through() -> None:
    odd = {"type": "track", "userId": "u1", "event": "E", "properties": [1]}
    with sandbox_process("--strict-spec") as strict:
        refused = strict.segment_batch([odd])
        assert refused.status_code == 400
        assert "properties" in refused.json()["message"]
    with sandbox_process() as quick:
        assert quick.segment_batch([odd]).status_code == 200


def test_given_keys_are_the_ones_accepted() -> None:
    keys = ("api_private_given_0000abcd", "api_public_given_0000abcd", "wk_given_0000abcd")
    with sandbox_process(
        "--api-key", keys[0], "--public-key", keys[1], "--write-key", keys[2]
    ) as sb:
        users = sb.ready["frigade_api_url"] + "/v1/users"
        mine = sb.http.get(
            users, params={"userId": "u"}, headers={"Authorization": f"Bearer {keys[0]}"}
        )
        other = sb.http.get(
            users, params={"userId": "u"}, headers={"Authorization": "Bearer api_private_other_1"}
        )
        public = sb.http.post(
            sb.ready["frigade_api_url"] + "/v1/public/users",
            json={"userId": "u"},
            headers={"Authorization": f"Bearer {keys[1]}"},
        )
        batch = {"batch": [identify("u")]}
        segment = sb.ready["segment_api_url"] + "/v1/batch"
        right = sb.http.post(segment, json=batch, auth=(keys[2], ""))
        wrong = sb.http.post(segment, json=batch, auth=("wk_other", ""))

    assert (mine.status_code, other.status_code, public.status_code) == (404, 403, 201)
    assert (right.status_code, wrong.status_code) == (200, 401)
    for key in keys:
        assert key.encode() not in sb.stderr


def test_segment_api_url_receives_the_flow_state_forwards(recorder: Recorder) -> None:
    with sandbox_process("--segment-api-url", recorder.url) as sb:
        sb.http.post(
            sb.ready["frigade_api_url"] + "/graphql",
            headers=sb.bearer,
            json={
                "query": 'mutation { upsertIntegration(type: "SEGMENT", status: "ACTIVE", '
                'connectionData: "{\\"writeKey\\": \\"wk_customer_0001\\"}") { id } }'
            },
        )
        sb.http.post(
            sb.ready["frigade_api_url"] + "/v1/public/flowStates",
            json={"userId": "u1", "flowSlug": "onboarding", "actionType": "COMPLETED_FLOW"},
            headers=sb.bearer,
        )
        wait_until(lambda: recorder.requests, what="the forwarded track event")

    [request] = recorder.requests
    assert request.path == "/v1/track"
    assert request.json()["event"] == "flowResponse.completedFlow"


def test_a_repeated_message_id_is_dropped_unless_the_dedup_window_is_0() -> None:
    twice = [identify("u1", n=1) | {"messageId": "same-id"}]
    with sandbox_process() as default:
        first, again = default.segment_batch(twice), default.segment_batch(twice)
        assert (first.status_code, again.status_code) == (200, 200)  # as Segment answers
        assert default.control("/stats")["segment"]["received"] == 1
    with sandbox_process("--dedup-window", "0") as keeping:
        keeping.segment_batch(twice)
        keeping.segment_batch(twice)
        assert keeping.control("/stats")["segment"]["received"] == 2
