"""Starting and stopping: the in-process runner, persistence across restarts, bind errors."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import httpx
import orjson
import pytest

from frigade_cli.kernel.errors import InputError, UpstreamError
from frigade_cli.sandbox import RunningSandbox, SandboxConfig, run_sandbox
from frigade_cli.sandbox.testing import fast_config, post_batch, sandbox_fixture
from tests.sandbox.conftest import bearer, identify, track

fresh_sandbox = sandbox_fixture(write_key="wk_fixture_key_0001")


def test_the_fixture_factory_gives_a_started_sandbox_with_the_given_settings(
    fresh_sandbox: RunningSandbox,
) -> None:
    assert fresh_sandbox.write_key == "wk_fixture_key_0001"
    assert post_batch(fresh_sandbox, [track()]).status_code == 200


def test_the_runner_returns_once_it_accepts_on_a_free_port_and_stops_cleanly() -> None:
    with run_sandbox(fast_config()) as sb:
        # No wait and no retry: accepting connections is the condition run_sandbox returns on.
        assert sb.client.get("/_sandbox/health").json()["status"] == "ok"
        port = sb.port
        assert sb.url == f"http://127.0.0.1:{port}"
        assert sb.segment_url == f"{sb.url}/segment"
        assert sb.webhook_url == f"{sb.url}/v1/thirdParty/cdp/segment"
    with socket.socket() as probe, pytest.raises(OSError):
        probe.connect(("127.0.0.1", port))


def test_generated_keys_have_their_kind_prefix() -> None:
    config = SandboxConfig()

    assert config.api_key and config.api_key.startswith("api_private_sandbox_")
    assert config.public_key and config.public_key.startswith("api_public_sandbox_")
    assert config.write_key and config.write_key.startswith("wk_sandbox_")
    assert config.generated == {"api_key", "public_key", "write_key"}


def test_a_public_key_given_as_the_private_key_is_refused() -> None:
    with pytest.raises(InputError, match="private key"):
        SandboxConfig(api_key="api_public_abc").validate()


def test_a_port_in_use_is_an_upstream_error_not_a_traceback() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        with (
            pytest.raises(UpstreamError, match=f"port {port} on 127.0.0.1 is already in use"),
            run_sandbox(SandboxConfig(port=port)),
        ):
            pass


def test_pending_batches_are_delivered_when_the_sandbox_stops(tmp_path: Path) -> None:
    data = tmp_path / "state.db"
    config = fast_config(data_path=data, destination={"flush_interval": 30.0})
    with run_sandbox(config) as sb:
        post_batch(sb, [identify("u1", plan="pro")])
    with run_sandbox(fast_config(data_path=data)) as sb:
        response = sb.client.get("/v1/users", params={"userId": "u1"}, headers=sb.auth_headers)
    assert response.status_code == 200


def test_state_survives_a_restart_with_a_data_file(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.db"
    config = fast_config(data_path=data)
    with run_sandbox(config) as sb:
        post_batch(sb, [identify("u1", plan="pro"), track("u1", "Signed Up", messageId="m1")])
        post_batch(sb, [{"type": "group", "userId": "u1", "groupId": "g1", "traits": {"n": 1}}])
        sb.wait_idle()
        sb.client.post(
            "/graphql",
            headers=sb.auth_headers,
            json={
                "query": 'mutation($d: String!) { upsertIntegration(type: "SEGMENT", '
                'status: "ACTIVE", connectionData: $d) { id } }',
                "variables": {"d": orjson.dumps({"writeKey": "wk_kept_0001"}).decode()},
            },
        )
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o600

    with run_sandbox(fast_config(data_path=data)) as sb:
        headers = bearer(sb.api_key)
        user = sb.client.get("/v1/users", params={"userId": "u1"}, headers=headers).json()
        group = sb.client.get("/v1/groups", params={"groupId": "g1"}, headers=headers).json()
        integrations = sb.client.post(
            "/graphql",
            headers=headers,
            json={"query": "{ integrations(take: 10) { type status } }"},
        ).json()

    assert user["properties"] == {"plan": "pro"}
    assert [(e["event"], sorted(e)) for e in user["trackingEvents"]] == [
        ("Signed Up", ["createdAt", "event", "properties"])
    ]
    assert group["userIds"] == ["u1"] and group["properties"] == {"n": 1}
    assert integrations == {"data": {"integrations": [{"type": "SEGMENT", "status": "ACTIVE"}]}}


def test_a_deleted_user_stays_deleted_across_a_restart_with_a_data_file(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.db"
    with run_sandbox(fast_config(data_path=data)) as sb:
        post_batch(sb, [track("gone", "E1"), track("kept", "E2")])
        post_batch(sb, [{"type": "group", "userId": "gone", "groupId": "g1"}])
        sb.wait_idle()
        deleted = sb.client.delete("/v1/users", params={"userId": "gone"}, headers=sb.auth_headers)
        assert deleted.status_code == 200

    with run_sandbox(fast_config(data_path=data)) as sb:
        headers = bearer(sb.api_key)
        gone = sb.client.get("/v1/users", params={"userId": "gone"}, headers=headers)
        kept = sb.client.get("/v1/users", params={"userId": "kept"}, headers=headers).json()
        group = sb.client.get("/v1/groups", params={"groupId": "g1"}, headers=headers).json()

    assert gone.status_code == 404
    assert [e["event"] for e in kept["trackingEvents"]] == ["E2"]
    assert group["userIds"] == []


def test_reset_also_empties_the_data_file(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.db"
    with run_sandbox(fast_config(data_path=data)) as sb:
        post_batch(sb, [identify("u1")])
        sb.wait_idle()
        sb.reset()
    with run_sandbox(fast_config(data_path=data)) as sb:
        response = sb.client.get("/v1/users", params={"userId": "u1"}, headers=sb.auth_headers)
    assert response.status_code == 404


def test_a_file_that_is_not_a_database_is_an_input_error(tmp_path: Path) -> None:
    data = tmp_path / "notes.txt"
    data.write_text("hello, this is not sqlite " * 100)

    with pytest.raises(InputError, match=r"notes\.txt"), run_sandbox(SandboxConfig(data_path=data)):
        pass


def test_an_open_event_stream_does_not_hold_up_stopping() -> None:
    sb = RunningSandbox(fast_config()).start()
    with (
        httpx.Client(base_url=sb.url, trust_env=False) as reader,
        reader.stream("GET", "/_sandbox/stream") as response,
    ):
        lines = response.iter_lines()
        next(lines)
        stopping = threading.Thread(target=sb.stop)
        stopping.start()
        rest = list(lines)  # ends only when the server closes the stream
        stopping.join(timeout=30)

    assert not stopping.is_alive()
    assert all(not line.startswith("data:") for line in rest)


def test_the_sandbox_delivers_to_itself_even_with_a_proxy_in_the_environment(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "")
    with run_sandbox(fast_config()) as sandbox:
        response = post_batch(sandbox, [{"type": "identify", "userId": "u1"}])
        assert response.status_code == 200
        assert sandbox.wait_idle()
        assert sandbox.stats()["frigade"]["ingested"] == 1
