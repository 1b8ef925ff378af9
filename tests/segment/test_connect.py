"""`frigade segment connect`, `status` and `disconnect` against the sandbox on 127.0.0.1."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from frigade_cli.sandbox import RunningSandbox
from tests.conftest import Cli, Run
from tests.support.recorder import Answer, Recorder

KEY_A = "wk_test0000first0abcd"
KEY_B = "wk_test0000second0wxyz"


def frigade(cli: Cli, sandbox: RunningSandbox, *args: str) -> Run:
    return cli(*args, "--api-key", sandbox.api_key, "--api-url", sandbox.url)


def stored_keys(sandbox: RunningSandbox) -> list[str | None]:
    """The write keys the sandbox's Frigade side holds, read from its state, not the CLI."""
    return [i.write_key for i in sandbox.sandbox.store.integrations.values()]


def test_connect_registers_the_write_key_and_status_shows_it(cli: Cli, sandbox: RunningSandbox):
    connected = frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A, "--json")
    status = frigade(cli, sandbox, "segment", "status", "--json")

    assert connected.exit_code == 0, connected.output
    assert stored_keys(sandbox) == [KEY_A]
    assert json.loads(connected.stdout)["action"] == "connected"
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)
    assert shown["connected"] is True
    [integration] = shown["integrations"]
    assert integration["status"] == "ACTIVE"
    assert integration["write_key"] == "****abcd"
    assert integration["created_at"] and integration["updated_at"]
    assert KEY_A not in connected.output + status.output


def test_the_sandbox_reads_the_key_back_in_clear_so_the_cli_does_the_redacting(
    sandbox: RunningSandbox,
):
    # The server these tests run against returns connectionData as given (as Frigade documents
    # nothing about masking): every redaction seen below is the CLI's own.
    sandbox.configure(connection_data="clear")
    cli_free = sandbox.client.post(
        "/graphql",
        headers=sandbox.auth_headers,
        json={
            "query": 'mutation($d: String!) { upsertIntegration(type: "SEGMENT", '
            'status: "ACTIVE", connectionData: $d) { connectionData } }',
            "variables": {"d": json.dumps({"writeKey": KEY_A})},
        },
    )

    assert cli_free.json()["data"]["upsertIntegration"]["connectionData"] == {"writeKey": KEY_A}


def test_status_table_and_disconnect_line_show_the_key_redacted(cli: Cli, sandbox: RunningSandbox):
    frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A)

    status = frigade(cli, sandbox, "segment", "status")
    removed = frigade(cli, sandbox, "segment", "disconnect", "--yes")

    assert status.exit_code == 0 and removed.exit_code == 0, status.output + removed.output
    assert "****abcd" in status.stdout
    assert "write key ****abcd" in removed.stderr
    assert KEY_A not in status.output + removed.output
    assert "test0000first" not in status.output + removed.output


def test_the_connect_result_holds_the_key_redacted(sandbox: RunningSandbox):
    from frigade_cli.kernel.app import App
    from frigade_cli.services.connect import ConnectRequest, FrigadeTarget, run_connect

    target = FrigadeTarget(api_key=sandbox.api_key, api_url=sandbox.url)
    run_connect(App(), ConnectRequest(target, write_key=KEY_B))
    result = run_connect(App(), ConnectRequest(target, write_key=KEY_A))

    assert (result.action, result.write_key, result.previous_key) == (
        "changed",
        "****abcd",
        "****wxyz",
    )


def test_a_server_error_that_echoes_the_write_key_is_shown_redacted(cli: Cli, recorder: Recorder):
    echo = json.dumps({"errors": [{"message": f"cannot store connectionData {KEY_A}"}]})
    recorder.default = Answer(status=200, body=echo.encode())

    result = cli(
        "-v",
        "segment",
        "connect",
        "--write-key",
        KEY_A,
        "--api-key",
        "api_private_test0000abcd",
        "--api-url",
        recorder.url,
    )

    assert result.exit_code == 5, result.output
    assert "cannot store connectionData ****abcd" in result.stderr
    assert KEY_A not in result.output and "test0000first" not in result.output


def test_connecting_twice_updates_and_never_duplicates(cli: Cli, sandbox: RunningSandbox):
    first = frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A, "--json")
    second = frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A, "--json")

    assert first.exit_code == second.exit_code == 0
    assert stored_keys(sandbox) == [KEY_A]
    assert json.loads(second.stdout)["action"] == "updated"
    assert (
        json.loads(first.stdout)["integration"]["id"]
        == (json.loads(second.stdout)["integration"]["id"])
    )


def test_a_different_key_is_reported_as_a_change_both_redacted(cli: Cli, sandbox: RunningSandbox):
    frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A)
    changed = frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_B)

    assert changed.exit_code == 0, changed.output
    assert stored_keys(sandbox) == [KEY_B]
    assert "changed from ****abcd to ****wxyz" in changed.stderr
    assert KEY_A not in changed.output and KEY_B not in changed.output


@pytest.mark.parametrize(
    ("write_key", "words"),
    [
        (" wk_test0000abcd", "a space at its start"),
        ("wk_test0000abcd\n", "a line break at its end"),
        ("wk_test 0000abcd", "a space inside"),
        ("wk_test\u200b0000abcd", "ZERO WIDTH SPACE"),
        ("api_private_test0000abcd", "Frigade key"),
        ("api_public_test0000abcd", "Frigade key"),
        ("https://api.segment.io/v1/batch", "URL"),
        ("sources/wk_test0000abcd", "URL or a path"),
    ],
    ids=["padded", "newline", "space", "zero-width", "private", "public", "url", "path"],
)
def test_a_malformed_write_key_is_refused_before_anything_is_sent(
    cli: Cli, recorder: Recorder, write_key: str, words: str
):
    result = cli(
        "segment",
        "connect",
        "--write-key",
        write_key,
        "--api-key",
        "api_private_test0000abcd",
        "--api-url",
        recorder.url,
    )

    assert result.exit_code == 3
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert recorder.requests == []


def test_an_empty_write_key_is_refused(cli: Cli, recorder: Recorder):
    result = cli(
        "segment", "connect", "--api-key", "api_private_test0000abcd", "--api-url", recorder.url
    )

    assert result.exit_code == 3
    assert "no Segment write key" in result.stderr
    assert recorder.requests == []


def test_dry_run_prints_the_exact_request_redacted_and_sends_nothing(cli: Cli, recorder: Recorder):
    result = cli(
        "segment",
        "connect",
        "--write-key",
        KEY_A,
        "--api-key",
        "api_private_test0000abcd",
        "--api-url",
        recorder.url,
        "--dry-run",
        "--json",
    )

    assert result.exit_code == 0, result.output
    assert recorder.requests == []
    requests = json.loads(result.stdout)["requests"]
    upsert = requests[-1]
    assert upsert["url"] == f"{recorder.url}/graphql"
    assert upsert["headers"]["Authorization"] == "Bearer api_private_****abcd"
    assert "upsertIntegration(type: $type, status: $status" in upsert["body"]["query"]
    assert upsert["body"]["variables"] == {
        "type": "SEGMENT",
        "status": "ACTIVE",
        "connectionData": '{"writeKey":"****abcd"}',
    }
    assert KEY_A not in result.output and "test0000abcd" not in result.output


def test_the_unconfirmed_names_can_be_changed(
    cli: Cli, recorder: Recorder, sandbox: RunningSandbox
):
    result = frigade(
        cli, sandbox, "segment", "connect", "--write-key", KEY_A, "--key-field", "segmentWriteKey"
    )

    assert result.exit_code == 0, result.output
    [integration] = sandbox.sandbox.store.integrations.values()
    assert json.loads(integration.connection_data) == {"segmentWriteKey": KEY_A}


def test_a_graphql_path_that_is_not_there_says_which_flag_moves_it(
    cli: Cli, sandbox: RunningSandbox
):
    result = frigade(cli, sandbox, "segment", "status", "--graphql-path", "/api/graphql")

    assert result.exit_code == 5
    assert "--graphql-path" in result.stderr


def test_save_stores_the_key_in_the_profile_with_mode_0600(
    cli: Cli, sandbox: RunningSandbox, isolated: Path
):
    unsaved = frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A)
    config = isolated / "config" / "config.toml"
    assert unsaved.exit_code == 0
    assert not config.exists()

    saved = frigade(
        cli, sandbox, "--profile", "staging", "segment", "connect", "--write-key", KEY_B, "--save"
    )

    assert saved.exit_code == 0, saved.output
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert f'segment_write_key = "{KEY_B}"' in config.read_text()
    assert "[profiles.staging]" in config.read_text()


def test_the_saved_key_is_used_when_no_flag_is_given(
    cli: Cli, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SEGMENT_WRITE_KEY", KEY_B)

    result = frigade(cli, sandbox, "segment", "connect")

    assert result.exit_code == 0, result.output
    assert stored_keys(sandbox) == [KEY_B]


def test_status_exits_3_when_nothing_is_connected(cli: Cli, sandbox: RunningSandbox):
    human = frigade(cli, sandbox, "segment", "status")
    machine = frigade(cli, sandbox, "segment", "status", "--json")

    assert human.exit_code == machine.exit_code == 3
    assert "no Segment integration" in human.stderr
    assert json.loads(machine.stdout) == {"connected": False, "integrations": []}


def test_disconnect_yes_removes_it_and_status_then_exits_3(cli: Cli, sandbox: RunningSandbox):
    frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A)

    removed = frigade(cli, sandbox, "segment", "disconnect", "--yes", "--json")
    status = frigade(cli, sandbox, "segment", "status")

    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout)["disconnected"] is True
    assert stored_keys(sandbox) == []
    assert status.exit_code == 3


def test_disconnect_never_prompts_when_stdin_is_not_a_terminal(cli: Cli, sandbox: RunningSandbox):
    frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A)

    result = frigade(cli, sandbox, "segment", "disconnect")

    assert result.exit_code == 3
    assert "--yes" in result.stderr
    assert stored_keys(sandbox) == [KEY_A]


def test_disconnect_with_nothing_connected_exits_0(cli: Cli, sandbox: RunningSandbox):
    result = frigade(cli, sandbox, "segment", "disconnect", "--yes")

    assert result.exit_code == 0
    assert "nothing to disconnect" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize(("answer", "kept"), [(b"y\n", False), (b"n\n", True)])
def test_disconnect_asks_on_a_terminal(
    cli: Cli, sandbox: RunningSandbox, answer: bytes, kept: bool
):
    import pty

    frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_A)
    controller, terminal = pty.openpty()
    args = ["segment", "disconnect", "--api-key", sandbox.api_key, "--api-url", sandbox.url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=dict(os.environ),
    )
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 30
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        seen += os.read(controller, 1024)
    os.write(controller, answer)
    proc.wait(timeout=30)
    os.close(controller)

    assert b"Disconnect Frigade's Segment integration" in seen
    assert b"****abcd" in seen and KEY_A.encode() not in seen
    assert proc.returncode == 0
    assert stored_keys(sandbox) == ([KEY_A] if kept else [])


def test_a_public_key_is_refused_and_a_wrong_private_key_exits_4(cli: Cli, sandbox: RunningSandbox):
    public = cli("segment", "status", "--api-key", sandbox.public_key, "--api-url", sandbox.url)
    wrong = cli(
        "segment", "status", "--api-key", "api_private_test0000abcd", "--api-url", sandbox.url
    )

    assert public.exit_code == 3
    assert "private key" in public.stderr
    assert wrong.exit_code == 4


def test_verify_sends_one_identifiable_track_event_and_prints_its_message_id(
    cli: Cli, sandbox: RunningSandbox
):
    result = frigade(
        cli,
        sandbox,
        "segment",
        "connect",
        "--write-key",
        sandbox.write_key,
        "--verify",
        "--segment-api-url",
        sandbox.segment_url,
        "--json",
    )

    assert result.exit_code == 0, result.output
    verify = json.loads(result.stdout)["verify"]
    arrived = [
        e["message"]
        for e in sandbox.client.get("/_sandbox/events", params={"side": "segment"}).json()["events"]
    ]
    assert [(m["messageId"], m["event"]) for m in arrived] == [
        (verify["messageId"], "Frigade CLI Connection Test")
    ]
    assert arrived[0]["anonymousId"] == verify["anonymousId"]
    assert verify["status"] == 200
    assert "200 even for an unknown write key" in verify["note"]


def test_verify_failing_still_shows_the_connection_and_exits_with_its_code(
    cli: Cli, sandbox: RunningSandbox
):
    # The sandbox's Segment side checks keys (real Segment would answer 200 and drop it).
    result = frigade(
        cli,
        sandbox,
        "segment",
        "connect",
        "--write-key",
        KEY_A,
        "--verify",
        "--segment-api-url",
        sandbox.segment_url,
    )

    assert result.exit_code == 4
    assert stored_keys(sandbox) == [KEY_A]
    assert "connected" in result.stderr and "rejected the write key ****abcd" in result.stderr


def test_region_eu_selects_segments_eu_endpoint(cli: Cli, recorder: Recorder):
    result = cli(
        "segment",
        "connect",
        "--write-key",
        KEY_A,
        "--api-key",
        "api_private_test0000abcd",
        "--api-url",
        recorder.url,
        "--verify",
        "--region",
        "eu",
        "--dry-run",
    )

    assert result.exit_code == 0, result.output
    assert "https://events.eu1.segmentapis.com" in result.stderr
    assert recorder.requests == []


@pytest.mark.parametrize(
    "flags",
    [
        ["--verify", "--region", "mars"],
        ["--verify", "--region", "eu", "--segment-api-url", "https://api.segment.io"],
        ["--region", "mars"],  # without --verify it would do nothing: refused, not ignored
        ["--region", "eu"],
    ],
)
def test_bad_verify_settings_are_usage_errors_refused_before_sending(
    cli: Cli, recorder: Recorder, flags: list[str]
):
    # An unknown region and two ways of naming the endpoint are both the command line's fault.
    result = cli(
        "segment",
        "connect",
        "--write-key",
        KEY_A,
        "--api-key",
        "api_private_test0000abcd",
        "--api-url",
        recorder.url,
        *flags,
    )

    assert result.exit_code == 2
    assert recorder.requests == []


# --verify without --write-key -----------------------------------------------------------------
def test_verify_alone_never_replaces_the_connected_key_with_the_profiles_older_one(
    cli: Cli, sandbox: RunningSandbox
):
    cli("config", "set", "segment_write_key", KEY_A)  # an older key, left in the profile
    frigade(cli, sandbox, "segment", "connect", "--write-key", KEY_B)

    result = frigade(
        cli, sandbox, "segment", "connect", "--verify", "--segment-api-url", sandbox.segment_url
    )

    # The key Frigade holds (the sandbox shows it in full) is the one tested, and kept; the
    # sandbox's Segment side does not know it, which shows it was KEY_B, not the profile's.
    assert stored_keys(sandbox) == [KEY_B]
    assert "connected (not changed): write key ****wxyz" in result.stderr
    assert result.exit_code == 4, result.output
    assert "rejected the write key ****wxyz" in result.stderr
    assert "****abcd" not in result.output


def test_verify_alone_tests_the_connected_key_and_changes_nothing(
    cli: Cli, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
):
    frigade(cli, sandbox, "segment", "connect", "--write-key", sandbox.write_key)
    before = [
        (i.id, i.write_key, i.modified_at) for i in sandbox.sandbox.store.integrations.values()
    ]
    monkeypatch.setenv("SEGMENT_WRITE_KEY", sandbox.write_key)

    result = frigade(
        cli, sandbox, "segment", "connect", "--verify", "--segment-api-url", sandbox.segment_url,
        "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["action"] == "verified"
    after = [
        (i.id, i.write_key, i.modified_at) for i in sandbox.sandbox.store.integrations.values()
    ]
    assert after == before
    arrived = sandbox.client.get("/_sandbox/events", params={"side": "segment"}).json()["events"]
    assert [e["message"]["messageId"] for e in arrived] == [report["verify"]["messageId"]]


def test_verify_alone_with_nothing_connected_says_so(cli: Cli, sandbox: RunningSandbox):
    result = frigade(cli, sandbox, "segment", "connect", "--verify")

    assert result.exit_code == 3
    assert "nothing to verify: Frigade has no Segment integration" in result.stderr
    assert stored_keys(sandbox) == []
