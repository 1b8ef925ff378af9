"""The GitHub Action (action.yml) run step by step as a runner runs it, against the sandbox.

actions/setup-python is stood in for by this test's own interpreter, actions/cache by stand-ins
that record what they were given; every `run:` step is the real one. frigade-cli is installed
once, for real, into a RUNNER_TEMP the tests share (the action reuses a venv it already made in
the same job, as a second use of it in a workflow would).
"""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.github_actions import ActionResult, run_action

ROOT = Path(__file__).resolve().parent.parent.parent
GOOD_MAPPING = ROOT / "tests" / "validate" / "fixtures" / "webhook-mapping-recommended.json"
# Frigade's recommended settings but for batching, off on line 13.
BAD_MAPPING = (GOOD_MAPPING.parent / "webhook-mapping-batching-off.yaml").read_text()


class StandIns:
    """The `uses:` steps: what they were given, and outputs like the real actions'."""

    def __init__(self) -> None:
        self.calls: dict[str, list[dict[str, str]]] = {}

    def mapping(self) -> dict[str, Any]:
        return {
            "actions/setup-python": self.setup_python,
            "actions/cache/restore": self.cache_restore,
            "actions/cache/save": self.cache_save,
        }

    def setup_python(self, given: dict[str, str], env: dict[str, str]) -> dict[str, str]:
        self.calls.setdefault("setup-python", []).append(given)
        version = ".".join(map(str, sys.version_info[:3]))
        return {"python-version": version, "python-path": sys.executable, "cache-hit": "false"}

    def cache_restore(self, given: dict[str, str], env: dict[str, str]) -> dict[str, str]:
        self.calls.setdefault("restore", []).append(given)
        return {"cache-hit": "false", "cache-primary-key": given["key"]}

    def cache_save(self, given: dict[str, str], env: dict[str, str]) -> dict[str, str]:
        self.calls.setdefault("save", []).append(given)
        return {}


def act(
    runner_temp: Path, workspace: Path, stand_ins: StandIns | None = None, **inputs: str
) -> ActionResult:
    return run_action(
        ROOT,
        inputs,
        workspace=workspace,
        runner_temp=runner_temp,
        stand_ins=(stand_ins or StandIns()).mapping(),
    )


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A RUNNER_TEMP where the action's own steps installed frigade-cli, once for every worker:
    the first to take the lock installs, and leaves what its install step printed."""
    shared = tmp_path_factory.getbasetemp().parent / "action-runner-temp"
    shared.mkdir(exist_ok=True)
    with (shared.parent / "action-runner-temp.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "first-install.json").exists():
            workspace = shared / "workspace"
            workspace.mkdir(exist_ok=True)
            stand_ins = StandIns()
            first = act(shared, workspace, stand_ins, command="validate", args="--list-rules")
            record = {
                "install": first.step("install").stdout + first.step("install").stderr,
                "outcomes": [s.outcome for s in first.steps],
                "calls": stand_ins.calls,
                "path_added": first.path_added,
            }
            (shared / "first-install.json").write_text(json.dumps(record))
        fcntl.flock(lock, fcntl.LOCK_UN)
    yield shared


@pytest.fixture
def runner_temp(installed: Path, tmp_path: Path) -> Path:
    """This test's own RUNNER_TEMP, holding the venv an earlier use of the action in the same
    job made (a link to the shared one)."""
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    (venv,) = installed.glob("frigade-cli-venv-*")
    (temp / venv.name).symlink_to(venv)
    return temp


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    (workspace / "mappings").mkdir(parents=True)
    (workspace / "mappings" / "bad.yaml").write_text(BAD_MAPPING)
    (workspace / "mappings" / "good.json").write_text(GOOD_MAPPING.read_text())
    return workspace


def test_every_action_it_uses_is_pinned_to_a_commit() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    uses = [s["uses"] for s in action["runs"]["steps"] if "uses" in s]
    assert uses, "the action sets up Python and its cache with other actions"
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref


def test_the_first_use_installs_with_a_cache_key_and_puts_frigade_on_path(
    installed: Path,
) -> None:
    record = json.loads((installed / "first-install.json").read_text())
    assert record["outcomes"] == ["success"] * 6
    assert "installing " in record["install"]
    (setup,) = record["calls"]["setup-python"]
    assert setup["update-environment"] == "false" and setup["python-version"]
    (restore,), (save,) = record["calls"]["restore"], record["calls"]["save"]
    version = ".".join(map(str, sys.version_info[:3]))
    assert (
        restore["key"].startswith("frigade-cli-pip-Linux-") and f"-py{version}-" in restore["key"]
    )
    assert restore["restore-keys"] and restore["key"].startswith(restore["restore-keys"])
    assert save == {"path": restore["path"], "key": restore["key"]}
    (bin_dir,) = record["path_added"]
    version_line = subprocess.run(
        [str(Path(bin_dir) / "frigade"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert version_line.startswith("frigade-cli ")


def test_latency_check_on_the_sandbox_sets_the_outputs_and_the_summary(
    runner_temp: Path, workspace: Path
) -> None:
    args = "--sandbox -n 3 --flush-interval 100ms --max-p95 30s"
    result = act(runner_temp, workspace, command="latency-check", args=args)
    assert not result.failed, result.step("run").stderr
    assert "already installed in this job" in result.step("install").stdout
    outputs = result.outputs
    assert outputs["passed"] == "true" and outputs["exit-code"] == "0"
    report = json.loads(Path(outputs["report"]).read_text())
    latencies = [s["latency_ms"] for s in report["each_sample"]]
    assert len(latencies) == 3
    for figure in ("p50", "p95", "p99"):
        value = float(outputs[f"{figure}-ms"])
        assert value == report[f"{figure}_ms"]
        assert min(latencies) <= value <= max(latencies)
    # The command's own summary, once (the action adds none of its own then).
    assert result.summary.count("### frigade") == 1
    assert result.summary.startswith("### frigade latency-check: passed")
    assert "| segment | 3 | 0 |" in result.summary
    assert result.annotations == []  # the JSON echoed to the log is inert


def test_a_breached_gate_fails_the_step_with_exit_6_and_still_sets_the_outputs(
    runner_temp: Path, workspace: Path
) -> None:
    args = "--sandbox -n 3 --flush-interval 100ms --max-p95 1ms"
    result = act(runner_temp, workspace, command="latency-check", args=args)
    run = result.step("run")
    assert result.failed and (run.outcome, run.exit_code) == ("failure", 6)
    assert result.outputs["passed"] == "false" and result.outputs["exit-code"] == "6"
    assert float(result.outputs["p95-ms"]) > 1
    assert result.summary.startswith("### frigade latency-check: FAILED")
    assert "**FAIL**" in result.summary


def test_validate_annotates_the_line_and_keeps_exit_3(runner_temp: Path, workspace: Path) -> None:
    result = act(
        runner_temp, workspace, command="validate", args="mappings/bad.yaml --ignore 'V202'"
    )
    run = result.step("run")
    assert (run.outcome, run.exit_code) == ("failure", 3)
    (annotation,) = result.annotations
    assert annotation.level == "error"
    assert annotation.properties["file"] == "mappings/bad.yaml"
    assert annotation.properties["line"] == "13"
    assert annotation.properties["title"] == "V106 sub_bad: settings.enable_batching"
    assert "Fix: turn Enable Batching on" in annotation.message
    assert result.outputs["passed"] == "false"
    report = json.loads(Path(result.outputs["report"]).read_text())
    assert report["valid"] is False and report["ignored"] == ["V202"]
    assert result.summary.startswith("### frigade segment validate: INVALID")
    assert result.outputs["p95-ms"] == ""


def test_validate_passes_a_good_mapping(runner_temp: Path, workspace: Path) -> None:
    report = workspace / "out" / "validate.json"
    result = act(
        runner_temp,
        workspace,
        command="validate",
        args="mappings/good.json",
        report=str(report),
    )
    assert not result.failed
    assert result.outputs["passed"] == "true" and result.outputs["report"] == str(report)
    assert json.loads(report.read_text())["valid"] is True
    assert result.annotations == []


def test_test_webhook_on_the_sandbox_gets_the_actions_own_summary(
    runner_temp: Path, workspace: Path
) -> None:
    result = act(runner_temp, workspace, command="test-webhook", args="--sandbox -n 5")
    assert not result.failed, result.step("run").stderr
    assert result.outputs["passed"] == "true"
    report = json.loads(Path(result.outputs["report"]).read_text())
    assert report["accepted"]["events"] == 5 and report["sandbox"]["all_ingested"] is True
    assert result.summary.startswith("### frigade test-webhook: passed")
    assert "5 events accepted in 1 batches, 0 failed." in result.summary


def test_a_command_outside_the_list_is_one_clear_error(runner_temp: Path, workspace: Path) -> None:
    result = act(runner_temp, workspace, command="rm -rf /", args="")
    run = result.step("run")
    assert (run.outcome, run.exit_code) == ("failure", 2)
    (annotation,) = result.annotations
    assert annotation.level == "error"
    assert "choose one of latency-check, validate, test-webhook, doctor" in annotation.message
    assert (result.outputs["passed"], result.outputs["exit-code"]) == ("false", "2")


def test_args_that_do_not_parse_are_one_clear_error(runner_temp: Path, workspace: Path) -> None:
    result = act(runner_temp, workspace, command="validate", args="'unclosed")
    assert result.step("run").exit_code == 2
    assert "args: No closing quotation" in result.annotations[0].message


def test_doctor_on_the_sandbox_summarises_every_step(runner_temp: Path, workspace: Path) -> None:
    result = act(runner_temp, workspace, command="doctor", args="--sandbox")
    assert not result.failed, result.step("run").stderr
    assert result.outputs["passed"] == "true"
    report = json.loads(Path(result.outputs["report"]).read_text())
    names = [step["name"] for step in report["steps"]]
    assert "mapping" in names and "end-to-end" in names
    assert result.summary.startswith("### frigade doctor: passed")
    for name in names:
        assert f"| {name} | passed |" in result.summary


def test_doctor_failing_a_step_keeps_its_exit_code_and_shows_the_fix(
    runner_temp: Path, workspace: Path
) -> None:
    result = act(runner_temp, workspace, command="doctor", args="--sandbox -m mappings/bad.yaml")
    run = result.step("run")
    assert (run.outcome, run.exit_code) == ("failure", 3)
    assert result.outputs["passed"] == "false" and result.outputs["exit-code"] == "3"
    assert result.summary.startswith("### frigade doctor: FAILED")
    row = next(line for line in result.summary.splitlines() if line.startswith("| mapping |"))
    assert "| failed |" in row and "turn Enable Batching on" in row
