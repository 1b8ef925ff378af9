"""`frigade segment test-webhook` against the project's own sandbox on 127.0.0.1."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx

from frigade_cli.sandbox import RunningSandbox
from frigade_cli.sandbox.testing import wait_until
from tests.conftest import Cli
from tests.support.installed import start


def send(cli: Cli, sandbox: RunningSandbox, *args: str, key: str | None = None):
    return cli(
        "segment",
        "test-webhook",
        "--url",
        sandbox.webhook_url,
        "--api-key",
        key or sandbox.api_key,
        *args,
    )


def test_sandbox_flag_sends_and_checks_that_everything_was_ingested(cli: Cli):
    result = cli("segment", "test-webhook", "--sandbox", "--count", "250", "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accepted"] == {"batches": 3, "events": 250}
    assert summary["sandbox"]["ingested"] == 250
    assert summary["sandbox"]["all_ingested"] is True
    assert sum(summary["sandbox"]["ingested_by_type"].values()) == 250
    assert summary["url"].startswith("http://127.0.0.1:")


def test_sandbox_flag_refuses_a_url_of_its_own_as_a_usage_error(cli: Cli):
    result = cli("segment", "test-webhook", "--sandbox", "--url", "http://127.0.0.1:9/x")

    assert result.exit_code == 2
    assert "--sandbox" in result.stderr


def test_sent_users_can_be_read_back_from_frigade(cli: Cli, sandbox: RunningSandbox):
    result = send(cli, sandbox, "--fixture", "identify", "--fixture", "track", "--count", "4")

    assert result.exit_code == 0, result.output
    user = sandbox.client.get(
        "/v1/users", params={"userId": "user_8431"}, headers=sandbox.auth_headers
    )
    assert user.status_code == 200
    body = user.json()
    assert body["properties"]["email"] == "ada@example.com"
    assert [e["event"] for e in body["trackingEvents"]] == ["Invoice Downloaded"] * 2


def test_a_key_the_sandbox_does_not_know_exits_4(cli: Cli, sandbox: RunningSandbox):
    result = send(cli, sandbox, key="api_private_not_the_sandbox_key")

    assert result.exit_code == 4
    assert "HTTP 403" in result.stderr
    assert "api_private_not_the_sandbox_key" not in result.output
    assert sandbox.stats()["frigade"]["ingested"] == 0


def test_failures_are_kept_and_resent_once_frigade_recovers(
    cli: Cli, sandbox: RunningSandbox, isolated: Path
):
    sandbox.configure(fail_rate=1.0)

    failed = send(cli, sandbox, "--count", "30", "--batch-size", "10", "--retries", "1")

    assert failed.exit_code == 5
    assert "HTTP 503" in failed.stderr
    (spool,) = (isolated / "state" / "spool").glob("*.ndjson")
    assert sandbox.stats()["frigade"]["ingested"] == 0

    sandbox.configure(fail_rate=0.0)
    resent = cli("segment", "test-webhook", "--api-key", sandbox.api_key, "--resend", str(spool))

    assert resent.exit_code == 0, resent.output
    assert sandbox.stats()["frigade"]["ingested"] == 30
    assert not spool.exists()


def test_the_readme_first_command_works_with_frigade_api_key_exported(cli: Cli, monkeypatch):
    monkeypatch.setenv("FRIGADE_API_KEY", "api_private_realkey_0000abcd")

    result = cli("segment", "test-webhook", "--sandbox", "--count", "250", "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sandbox"]["ingested"] == 250
    assert "api_private_realkey_0000abcd" not in result.output


def test_sandbox_ignores_the_profiles_key_and_urls(cli: Cli, monkeypatch):
    cli("-p", "prod", "config", "set", "api_key", "api_private_prodkey_0000abcd")
    cli("-p", "prod", "config", "set", "webhook_url", "https://api.frigade.example/hook")
    monkeypatch.setenv("FRIGADE_PROFILE", "prod")

    result = cli("segment", "test-webhook", "--sandbox", "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["url"].startswith("http://127.0.0.1:")
    assert summary["sandbox"]["all_ingested"] is True


def test_sandbox_refuses_an_api_key_flag_as_a_usage_error(cli: Cli):
    result = cli("segment", "test-webhook", "--sandbox", "--api-key", "api_private_x0000abcd")

    assert result.exit_code == 2
    assert "--api-key" in result.stderr


def test_a_stopped_sandbox_run_saves_nothing_it_could_never_resend(isolated: Path) -> None:
    # The sandbox, its webhook and its key end with the run: a spool of it could not be resent.
    proc = start("segment", "test-webhook", "--sandbox", "--count", "5000000", "--batch-size", "10")
    assert proc.stderr is not None
    line = ""
    for line in proc.stderr:  # names the sandbox's webhook, just before the first request
        if line.startswith("sending "):
            break
    base = line.rsplit(" to ", 1)[1].strip().removesuffix("/v1/thirdParty/cdp/segment")
    wait_until(
        lambda: httpx.get(f"{base}/_sandbox/stats").json()["frigade"]["ingested"] > 0,
        timeout=20,
        what="the first batch at the sandbox",
    )
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=30)

    assert proc.returncode == 143, rest
    assert "nothing saved to resend: the sandbox stopped with the run" in rest
    assert "run the same command again" in rest
    assert "--resend" not in rest
    assert not list((isolated / "state").glob("**/*.ndjson"))
