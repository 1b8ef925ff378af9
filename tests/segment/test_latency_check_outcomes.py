"""latency-check's outcome when something besides the figures goes wrong: output files that
cannot be written, Ctrl-C and SIGTERM, a rejected key or an unreachable Frigade with --json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from frigade_cli.kernel.latency import Gate, LatencyReport, PathResult, Sample
from frigade_cli.render import latency_check as render_latency
from frigade_cli.sandbox import RunningSandbox
from frigade_cli.sandbox.testing import wait_until
from tests.conftest import Cli
from tests.segment.test_latency_check import free_port, measure

SANDBOX_RUN = ("segment", "latency-check", "--sandbox", "--samples", "2", "--flush-interval")
# A character device whose every write fails with ENOSPC: a disk that fills up during the run.
DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(
    not DEV_FULL.exists(), reason="needs /dev/full to make a write fail after the checks"
)


# Output files ---------------------------------------------------------------------------------
def test_a_junit_path_in_a_missing_directory_exits_3_before_anything_is_sent(
    cli: Cli, sandbox: RunningSandbox, tmp_path: Path
):
    junit = tmp_path / "missing" / "x.xml"

    result = measure(cli, sandbox, "--max-p95", "0", "--junit", str(junit))

    assert result.exit_code == 3, result.output
    assert f"the directory {junit.parent} does not exist" in result.stderr
    assert sandbox.stats()["segment"]["received"] == 0
    assert result.stdout == ""


def test_a_junit_path_that_is_a_directory_exits_3_before_anything_is_sent(
    cli: Cli, sandbox: RunningSandbox, tmp_path: Path
):
    result = measure(cli, sandbox, "--junit", str(tmp_path))

    assert result.exit_code in (2, 3), result.output
    assert sandbox.stats()["segment"]["received"] == 0


def test_a_breach_exits_6_when_the_step_summary_cannot_be_written(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    summary = tmp_path / "missing" / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "out.xml"

    result = cli(*SANDBOX_RUN, "50ms", "--max-p95", "0", "--junit", str(junit))

    assert result.exit_code == 6, result.output
    assert f"cannot write GITHUB_STEP_SUMMARY file {summary}" in result.stderr
    assert "latency gate breached" in result.stderr
    assert ET.parse(junit).getroot().find(".//failure") is not None


def test_a_passing_run_exits_0_with_a_warning_when_the_step_summary_cannot_be_written(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    summary = tmp_path / "missing" / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    result = cli(*SANDBOX_RUN, "50ms", "--json")

    assert result.exit_code == 0, result.output
    assert f"cannot write GITHUB_STEP_SUMMARY file {summary}" in result.stderr
    assert json.loads(result.stdout)["passed"] is True


@needs_dev_full
def test_a_breach_exits_6_when_the_junit_file_fails_to_write_at_the_end(cli: Cli):
    result = cli(*SANDBOX_RUN, "50ms", "--max-p95", "0", "--junit", str(DEV_FULL))

    assert result.exit_code == 6, result.output
    assert f"cannot write --junit file {DEV_FULL}" in result.stderr
    assert "latency gate breached" in result.stderr


@needs_dev_full
def test_a_passing_run_whose_junit_file_fails_to_write_exits_3_after_the_report(cli: Cli):
    result = cli(*SANDBOX_RUN, "50ms", "--json", "--junit", str(DEV_FULL))

    assert result.exit_code == 3, result.output
    assert f"cannot write --junit file {DEV_FULL}" in result.stderr
    assert json.loads(result.stdout)["passed"] is True


# Ctrl-C and SIGTERM ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sig", "code", "word", "json_output"),
    [
        (signal.SIGTERM, 143, "terminated", True),
        (signal.SIGTERM, 143, "terminated", False),
        (signal.SIGINT, 130, "interrupted", True),
    ],
    ids=["SIGTERM-json", "SIGTERM-table", "SIGINT-json"],
)
def test_a_stop_signal_prints_the_report_and_the_sample_in_flight_is_not_a_failure(
    sandbox: RunningSandbox, sig: signal.Signals, code: int, word: str, json_output: bool
):
    # The first sample waits in a batch for 30 s: the signal comes while it is being looked for.
    sandbox.configure(destination={"flush_interval": "30s"})
    args = ["segment", "latency-check", "--api-url", sandbox.url, "--api-key", sandbox.api_key]
    args += ["--path", "segment", "--write-key", sandbox.write_key, "--samples", "3"]
    args += ["--segment-url", sandbox.segment_url, "--max-failures", "0"]
    args += ["--json"] if json_output else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    wait_until(
        lambda: sandbox.stats()["segment"]["received"] >= 1, timeout=20, what="the first sample"
    )
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=20)

    assert proc.returncode == code, stderr
    assert word in stderr
    assert "Traceback" not in stderr
    if not json_output:
        assert "1 sample still in flight then not measured" in stdout
        assert "never seen" not in stdout
        assert ("SIGTERM" if sig == signal.SIGTERM else "Ctrl-C") in stdout
        return
    report = json.loads(stdout)
    assert report["interrupted"] is True and report["passed"] is False
    assert report["terminated"] is (sig == signal.SIGTERM)
    assert (report["samples"], report["failures"], report["interrupted_samples"]) == (1, 0, 1)
    assert report["failed_markers"] == []
    sample = report["each_sample"][0]
    assert sample["interrupted"] is True and sample["arrived"] is False
    assert sample["timed_out"] is False
    gate = next(g for g in report["gates"] if g["gate"] == "failures")
    assert (gate["value"], gate["passed"]) == (0, True)


# Errors with --json ---------------------------------------------------------------------------
def test_a_rejected_key_with_json_prints_the_document_with_the_error_and_exits_4(
    cli: Cli, sandbox: RunningSandbox
):
    result = measure(cli, sandbox, "--json", key="api_private_not_the_sandbox_key")

    assert result.exit_code == 4, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert "HTTP 403" in report["error"]
    assert (report["path"], report["samples"], report["failures"]) == ("segment", 0, 0)
    assert "api_private_not_the_sandbox_key" not in result.output
    assert sandbox.stats()["segment"]["received_by_type"].get("track", 0) == 0


def test_a_write_key_rejected_mid_run_with_json_prints_the_document_and_exits_4(
    cli: Cli, sandbox: RunningSandbox
):
    args = ["segment", "latency-check", "--api-url", sandbox.url, "--api-key", sandbox.api_key]
    args += ["--segment-url", sandbox.segment_url, "--write-key", "wk_wrong0000abcd"]
    result = cli(*args, "--samples", "2", "--json")

    assert result.exit_code == 4, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert "rejected the write key" in report["error"]
    assert report["each_sample"][0]["arrived"] is False


def test_an_unreachable_frigade_with_json_prints_the_document_and_exits_5(cli: Cli):
    url = f"http://127.0.0.1:{free_port()}"
    args = ["segment", "latency-check", "--api-url", url, "--path", "api"]
    args += ["--api-key", "api_private_test0000abcd"]
    result = cli(*args)
    as_json = cli(*args, "--json")

    # Without --json the error alone: a report of nothing would only be noise.
    assert result.exit_code == 5 and result.stdout == "", result.output
    assert as_json.exit_code == 5, as_json.output
    report = json.loads(as_json.stdout)
    assert report["passed"] is False and "cannot reach Frigade" in report["error"]
    assert report["path"] == "api"


def test_bad_settings_with_json_print_nothing_on_stdout(cli: Cli):
    result = cli("segment", "latency-check", "--sandbox", "--timeout", "0", "--json")

    assert result.exit_code == 3, result.output
    assert result.stdout == ""


# CI files of a run that did not finish --------------------------------------------------------
def _stopped_report(arrived: int, planned: int, *, terminated: bool = False) -> LatencyReport:
    samples = [Sample(i, "api", f"m{i}", latency_ms=100.0 + i) for i in range(arrived)]
    samples.append(Sample(arrived, "api", f"m{arrived}", interrupted=True))
    return LatencyReport(
        settings={"samples": planned, "paths": ["api"], "sandbox": True, "batch_size": 100,
                  "flush_interval_s": 1.0},
        results=[PathResult("api", samples, planned=planned)],
        gates=[Gate("p95", 30_000), Gate("failures", 0)],
        interrupted=True,
        terminated=terminated,
    )  # fmt: skip


def test_the_junit_file_of_an_interrupted_run_holds_an_error_saying_how_far_it_got() -> None:
    root = ET.fromstring(render_latency.junit_xml(_stopped_report(9, 20)))

    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "1")
    assert root.get("errors") == "1"
    errors = root.findall(".//testcase/error")
    assert [e.get("message") for e in errors] == ["interrupted after 9 of 20 samples"]


def test_the_step_summary_of_an_interrupted_run_does_not_read_as_passed() -> None:
    text = render_latency.markdown(_stopped_report(9, 20, terminated=True))

    assert text.startswith(
        "### frigade latency-check: NOT FINISHED (interrupted after 9 of 20 samples (SIGTERM))"
    )
    assert "passed" not in text.splitlines()[0]
    assert "**The run did not finish" in text


def test_sigterm_mid_run_leaves_a_junit_file_and_step_summary_that_say_so(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    sandbox.configure(destination={"flush_interval": "30s"})
    args = ["segment", "latency-check", "--api-url", sandbox.url, "--api-key", sandbox.api_key]
    args += ["--path", "segment", "--write-key", sandbox.write_key, "--samples", "3"]
    args += ["--segment-url", sandbox.segment_url, "--junit", str(junit)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigade_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
    )
    wait_until(
        lambda: sandbox.stats()["segment"]["received"] >= 1, timeout=20, what="the first sample"
    )
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)

    assert proc.returncode == 143, stderr
    root = ET.parse(junit).getroot()
    assert root.get("errors") == "1"
    (error,) = root.findall(".//testcase/error")
    assert error.get("message") == "interrupted after 0 of 3 samples (SIGTERM)"
    assert "NOT FINISHED (interrupted after 0 of 3 samples (SIGTERM))" in summary.read_text()
