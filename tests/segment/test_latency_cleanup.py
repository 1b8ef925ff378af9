"""latency-check deletes the user it generated (DELETE /v1/users?userId=), never a given one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from frigade_cli.sandbox import RunningSandbox, run_sandbox
from frigade_cli.sandbox.testing import fast_config
from tests.conftest import Cli
from tests.segment.test_latency_check import marked_events, measure


def user_status(sandbox: RunningSandbox, user_id: str) -> int:
    response = sandbox.client.get(
        "/v1/users", params={"userId": user_id}, headers=sandbox.auth_headers
    )
    return response.status_code


@pytest.fixture
def no_track_delivery() -> Iterator[RunningSandbox]:
    with run_sandbox(fast_config(destination={"event_types": ("identify",)})) as running:
        yield running


@pytest.mark.parametrize("path", ["segment", "api"])
def test_the_generated_user_is_deleted_after_the_run(cli: Cli, sandbox: RunningSandbox, path: str):
    result = measure(cli, sandbox, "--path", path, "--samples", "2", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    user_id = report["settings"]["user_id"]
    # The samples were read back from this user, so it existed; now Frigade knows it no more.
    assert report["samples"] == 2 and report["failures"] == 0
    assert user_status(sandbox, user_id) == 404
    assert report["cleanup"] == {"user_id": user_id, "deleted": True, "error": None}


def test_keep_user_keeps_the_generated_user_and_its_events(cli: Cli, sandbox: RunningSandbox):
    result = measure(cli, sandbox, "--path", "api", "--samples", "2", "--keep-user", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["cleanup"] is None
    assert len(marked_events(sandbox, report["settings"]["user_id"])) == 2


def test_a_user_id_given_is_never_deleted(cli: Cli, sandbox: RunningSandbox):
    user_id = "frigade-cli-latency-ci"

    first = measure(cli, sandbox, "--path", "api", "-n", "1", "--user-id", user_id)
    second = measure(cli, sandbox, "--path", "api", "-n", "1", "--user-id", user_id, "--json")

    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "deleted the user" not in first.stdout
    assert json.loads(second.stdout)["cleanup"] is None
    assert len(marked_events(sandbox, user_id)) == 2


def test_the_table_says_the_user_was_deleted(cli: Cli, sandbox: RunningSandbox):
    result = measure(cli, sandbox, "--path", "api", "--samples", "1")

    assert result.exit_code == 0, result.output
    assert "deleted the user frigade-cli-latency-" in result.stdout


def test_a_user_that_never_came_to_exist_is_a_warning_not_a_new_exit_code(
    cli: Cli, no_track_delivery: RunningSandbox
):
    result = measure(cli, no_track_delivery, "-n", "1", "--timeout", "200ms", "--json")

    assert result.exit_code == 6, result.output  # the lost sample, as without the cleanup
    cleanup = json.loads(result.stdout)["cleanup"]
    assert cleanup["deleted"] is False and "no such user" in cleanup["error"]
    assert "could not delete the user" in result.stderr
