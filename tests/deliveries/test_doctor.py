"""`frigade doctor`: every step passing on a sandbox, and each one failing on its own fault."""

from __future__ import annotations

import json
from typing import Any

import pytest

from frigade_cli.sandbox.server import RunningSandbox
from tests.conftest import Cli
from tests.deliveries.conftest import connect, send, track

STEPS = [
    "configuration",
    "frigade-key",
    "public-api",
    "mapping",
    "end-to-end",
    "deliveries",
    "frigade-to-segment",
]


def doctor(cli: Cli, sb: RunningSandbox, *args: str) -> tuple[Any, dict[str, Any]]:
    result = cli("doctor", "--sandbox", "--sandbox-url", sb.url, "--json", *args)
    return result, json.loads(result.stdout)


def steps(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert [s["name"] for s in report["steps"]] == STEPS
    return {s["name"]: s for s in report["steps"]}


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {name: s["status"] for name, s in steps(report).items()}


def test_a_fresh_sandbox_passes_every_step(cli: Cli) -> None:
    result = cli("doctor", "--sandbox")

    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in STEPS:
        assert any(line.startswith(f"✓ {name} ") for line in lines), name
    assert lines[-1].endswith(": 7 passed")
    assert "api_private_sandbox_" not in result.stdout  # keys redacted


def test_the_json_document(cli: Cli) -> None:
    result = cli("doctor", "--sandbox", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True and report["exit_code"] == 0
    for step in report["steps"]:
        assert {"name", "status", "detail", "fix"} <= set(step)
        assert step["status"] == "passed" and step["fix"] is None


def test_a_connected_running_sandbox_passes(cli: Cli, sb: RunningSandbox) -> None:
    connect(cli, sb)
    sb.client.post(
        "/v1/public/flowStates",
        json={"userId": "u1", "flowSlug": "f", "actionType": "STARTED_FLOW"},
        headers=sb.auth_headers,
    )
    assert sb.wait_idle()

    result, report = doctor(cli, sb)

    assert result.exit_code == 0, result.stdout
    assert set(statuses(report).values()) == {"passed"}


def test_batching_off_fails_the_mapping_step_with_its_fix(cli: Cli, sb: RunningSandbox) -> None:
    connect(cli, sb)
    sb.configure(destination={"enable_batching": False})

    result, report = doctor(cli, sb, "--no-send")

    assert result.exit_code == 3
    mapping = steps(report)["mapping"]
    assert mapping["status"] == "failed" and mapping["exit_code"] == 3
    assert mapping["detail"].startswith("V106 ")
    assert mapping["fix"].startswith("turn Enable Batching on")
    failed = [name for name, status in statuses(report).items() if status == "failed"]
    assert failed == ["mapping"]


def test_batching_off_in_text(cli: Cli, sb: RunningSandbox) -> None:
    connect(cli, sb)
    sb.configure(destination={"enable_batching": False})

    result = cli("doctor", "--sandbox", "--sandbox-url", sb.url, "--no-send")

    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("✗ mapping "))
    assert lines[at + 1].strip().startswith("fix: turn Enable Batching on")
    assert lines[-1].endswith("(exit 3)")


def test_a_wrong_private_key_exits_4(
    cli: Cli, sb: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(cli, sb)
    monkeypatch.setenv("FRIGADE_API_KEY", "api_private_wrong0000wxyz")

    result, report = doctor(cli, sb)

    assert result.exit_code == 4
    found = steps(report)
    assert "env FRIGADE_API_KEY" in found["configuration"]["detail"]
    assert found["frigade-key"]["status"] == "failed"
    assert "HTTP 403" in found["frigade-key"]["detail"]
    assert "api_private_wrong0000wxyz" not in result.stdout
    assert found["end-to-end"]["status"] == "skipped"
    assert "frigade-key" in found["end-to-end"]["detail"]


def test_a_wrong_public_api_token_fails_its_step(
    cli: Cli, sb: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(cli, sb)
    monkeypatch.setenv("SEGMENT_PUBLIC_API_TOKEN", "not-the-token")

    result, report = doctor(cli, sb, "--no-send")

    assert result.exit_code == 4
    found = steps(report)
    assert found["public-api"]["status"] == "failed"
    assert found["mapping"]["status"] == "skipped"
    assert found["mapping"]["detail"] == "needs the public-api step"


def test_an_unknown_destination_fails_the_public_api_step(cli: Cli, sb: RunningSandbox) -> None:
    connect(cli, sb)

    result, report = doctor(cli, sb, "--no-send", "--destination-id", "dst_nowhere")

    assert result.exit_code == 3
    public_api = steps(report)["public-api"]
    assert public_api["status"] == "failed" and "404" in public_api["detail"]


def test_an_event_that_never_arrives_fails_end_to_end(cli: Cli, sb: RunningSandbox) -> None:
    connect(cli, sb)
    sb.configure(destination={"event_types": ["identify", "group"]})  # track not subscribed

    result, report = doctor(cli, sb, "--timeout", "1s")

    assert result.exit_code == 6
    found = steps(report)
    assert found["end-to-end"]["status"] == "failed"
    assert "did not reach Frigade" in found["end-to-end"]["detail"]
    assert found["mapping"]["status"] == "warning"  # V201: the trigger leaves out track


def test_failed_deliveries_fail_the_deliveries_step(cli: Cli, sb: RunningSandbox) -> None:
    connect(cli, sb)
    sb.configure(fail_rate=1)
    send(sb, [track("u1"), track("u2")])
    sb.configure(fail_rate=0)

    result, report = doctor(cli, sb, "--no-send")

    assert result.exit_code == 6
    found = steps(report)
    assert found["deliveries"]["status"] == "failed"
    assert "2 failed (100.00%)" in found["deliveries"]["detail"]
    assert "HTTP 503 Service Unavailable (2)" in found["deliveries"]["detail"]
    assert "unavailable" in found["deliveries"]["fix"]
    assert found["end-to-end"]["status"] == "skipped"


def test_a_rejected_key_in_the_mapping_is_named_in_the_fix(cli: Cli, sb: RunningSandbox) -> None:
    connect(cli, sb)
    sb.configure(destination={"headers": {"Authorization": "Bearer api_private_wrong0000wxyz"}})
    send(sb, [track("u1")])

    result, report = doctor(cli, sb, "--no-send")

    assert result.exit_code == 6
    assert steps(report)["deliveries"]["fix"].startswith("the key")


def test_no_integration_fails_frigade_to_segment(cli: Cli, sb: RunningSandbox) -> None:
    result, report = doctor(cli, sb, "--no-send")

    assert result.exit_code == 3
    step = steps(report)["frigade-to-segment"]
    assert step["status"] == "failed"
    assert "frigade segment connect" in step["fix"]


def test_nothing_configured_fails_configuration_and_says_what_enables_the_rest(cli: Cli) -> None:
    result = cli("doctor", "--json")

    assert result.exit_code == 3
    found = steps(json.loads(result.stdout))
    assert found["configuration"]["status"] == "failed"
    assert "FRIGADE_API_KEY" in found["configuration"]["fix"]
    assert found["public-api"]["status"] == "skipped"
    assert "SEGMENT_PUBLIC_API_TOKEN" in found["public-api"]["detail"]
    assert "--destination-id" in found["public-api"]["detail"]
    assert "SEGMENT_WRITE_KEY" in found["end-to-end"]["detail"]
    assert "--source-id and --destination-id" in found["deliveries"]["detail"]


def test_no_send_skips_the_end_to_end_event(cli: Cli, sb: RunningSandbox) -> None:
    connect(cli, sb)

    result, report = doctor(cli, sb, "--no-send")

    assert result.exit_code == 0
    found = steps(report)
    assert found["end-to-end"] == {**found["end-to-end"], "status": "skipped"}
    assert "--no-send" in found["end-to-end"]["detail"]
    assert found["deliveries"]["status"] == "warning"  # nothing was sent in the window
    assert sb.stats()["segment"]["received"] == 0


def test_a_fresh_sandbox_takes_no_keys(cli: Cli) -> None:
    result = cli("doctor", "--sandbox", "--api-key", "api_private_x0000000000")

    assert result.exit_code == 3
    assert "drop --api-key" in result.stderr
