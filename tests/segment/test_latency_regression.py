"""latency-check --baseline / --max-regression / --save-baseline end to end on the sandbox.

Every run uses the sandbox's `--flush-interval`: a sample waits that long alone in its batch, so
the flush interval sets the latency and doubling it doubles the figures. A baseline is taken
right before the run compared with it, so both see the same load on the machine. Eight samples
with read-backs every 10 ms keep each run near a second.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from statistics import median
from typing import Any

import pytest

from tests.conftest import Cli

FAST = ("--samples", "8", "--poll-max", "10ms")


def sandbox_run(cli: Cli, flush: str, *args: str) -> Any:
    return cli("segment", "latency-check", "--sandbox", "--flush-interval", flush, *FAST, *args)


def baseline_at(cli: Cli, flush: str, path: Path) -> Path:
    result = sandbox_run(cli, flush, "--save-baseline", str(path))
    assert result.exit_code == 0, result.output
    return path


def p50_of(report: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in report["regression"]["figures"] if f["figure"] == "p50")


@pytest.mark.parametrize("seed", range(20))
def test_the_same_settings_twice_never_trip_a_20_percent_gate(cli: Cli, tmp_path: Path, seed: int):
    baseline = baseline_at(cli, "100ms", tmp_path / "baseline.json")

    result = sandbox_run(
        cli,
        "100ms",
        "--baseline",
        str(baseline),
        "--max-regression",
        "20%",
        "--seed",
        str(seed),
        "--json",
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    p50 = p50_of(report)
    assert p50["status"] == "pass" and p50["ci_low_pct"] <= 20
    assert report["regression"]["seed"] == seed
    assert report["regression"]["baseline"]["settings_changed"] == {}


def test_a_doubled_flush_interval_trips_the_gate_and_the_report_shows_the_interval(
    cli: Cli, tmp_path: Path
):
    junit, now = tmp_path / "latency.xml", tmp_path / "now.json"
    baseline_file = baseline_at(cli, "200ms", tmp_path / "baseline.json")

    result = sandbox_run(
        cli,
        "400ms",
        "--baseline",
        str(baseline_file),
        "--max-regression",
        "p50=20%",
        "--junit",
        str(junit),
        "--save-baseline",
        str(now),  # this same run's --json document, to check the table against
    )

    assert result.exit_code == 6, result.output
    report = json.loads(now.read_text())
    p50 = p50_of(report)
    before = json.loads(baseline_file.read_text())["each_sample"]
    assert p50["baseline_ms"] == pytest.approx(median(s["latency_ms"] for s in before), abs=0.06)
    assert p50["now_ms"] == report["p50_ms"]
    # Waiting 400 ms instead of 200 ms: close to +100%, and the whole interval above +20%.
    assert p50["status"] == "fail" and p50["ci_low_pct"] > 20
    assert p50["ci_low_pct"] <= p50["change_pct"] <= p50["ci_high_pct"]
    assert 50 < p50["change_pct"] < 150
    assert report["passed"] is False
    assert report["regression"]["baseline"]["settings_changed"] == {"flush_interval_s": [0.2, 0.4]}
    # Not gated, and too few samples to tell: said, never tripped.
    others = {f["figure"]: f for f in report["regression"]["figures"]}
    assert others["p95"]["status"] == others["p99"]["status"] == "too few samples"
    assert others["p95"]["min_samples"] == 40
    row = next(r for r in map(str.split, result.stdout.splitlines()) if r[:2] == ["segment", "p50"])
    assert row[:5] == ["segment", "p50", f"{p50['baseline_ms']:,.1f}", f"{p50['now_ms']:,.1f}",
                       f"{p50['change_pct']:+.1f}%"]  # fmt: skip
    assert row[5:8] == [f"{p50['ci_low_pct']:+.1f}%", "..", f"{p50['ci_high_pct']:+.1f}%"]
    assert row[-1] == "FAIL"
    assert "too few samples (needs 40 a run)" in result.stdout
    assert "settings changed: flush_interval_s 0.2 -> 0.4" in result.stdout
    assert "latency gate breached: segment p50 +" in result.stderr
    assert "clearly above +20%" in result.stderr
    failures = ET.parse(junit).getroot().findall(".//failure")
    assert [f.get("type") for f in failures] == ["regression"]
    assert f"(95% CI {p50['ci_low_pct']:+.1f}% .. " in (failures[0].get("message") or "")


def test_a_baseline_of_a_faster_run_without_a_gate_shows_the_change_and_passes(
    cli: Cli, tmp_path: Path
):
    baseline = baseline_at(cli, "50ms", tmp_path / "baseline.json")

    result = sandbox_run(cli, "250ms", "--baseline", str(baseline), "--json")

    assert result.exit_code == 0, result.output
    p50 = p50_of(json.loads(result.stdout))
    assert p50["status"] == "no gate" and p50["change_pct"] > 50


def test_save_baseline_writes_the_json_report_without_keys(cli: Cli, tmp_path: Path):
    path = tmp_path / "main.json"

    result = cli(
        "segment",
        "latency-check",
        "--sandbox",
        "--compare",
        "--samples",
        "2",
        "--flush-interval",
        "50ms",
        "--save-baseline",
        str(path),
        "--json",
    )

    assert result.exit_code == 0, result.output
    saved = json.loads(path.read_text())
    assert saved == json.loads(result.stdout)
    assert [p["path"] for p in saved["paths"]] == ["segment", "direct", "api"]
    assert "api_private_" not in path.read_text()


def test_a_compare_baseline_is_compared_path_by_path(cli: Cli, tmp_path: Path):
    path = tmp_path / "main.json"
    first = cli(
        "segment", "latency-check", "--sandbox", "--compare", "-n", "5", "--flush-interval",
        "50ms", "--save-baseline", str(path),
    )  # fmt: skip
    assert first.exit_code == 0, first.output

    result = cli(
        "segment", "latency-check", "--sandbox", "--path", "api", "-n", "5",
        "--baseline", str(path), "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    regression = json.loads(result.stdout)["regression"]
    assert {f["path"] for f in regression["figures"]} == {"api"}
    assert regression["baseline"]["paths"] == ["api", "direct", "segment"]


# Bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("not json", "not a latency-check --json report"),
        ('{"path": "segment"}', "not a latency-check --json report"),
        ('{"path": "api", "each_sample": []}', "no sample of that run arrived"),
        (
            '{"path": "direct", "each_sample": [{"arrived": true, "latency_ms": 5}]}',
            "it measured direct, this run measures segment: nothing to compare",
        ),
    ],
    ids=["missing", "not-json", "no-samples-key", "empty", "other-path"],
)
def test_a_baseline_that_cannot_be_compared_exits_3_before_anything_runs(
    cli: Cli, tmp_path: Path, content: str | None, message: str
):
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content)

    result = cli("segment", "latency-check", "--sandbox", "--baseline", str(path))

    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert "sandbox started" not in result.stderr


def test_max_regression_without_a_baseline_is_a_usage_error(cli: Cli):
    result = cli("segment", "latency-check", "--sandbox", "--max-regression", "20%")

    assert result.exit_code == 2, result.output
    assert "add --baseline FILE" in result.stderr


def test_a_bad_max_regression_exits_3(cli: Cli, tmp_path: Path):
    baseline = tmp_path / "baseline.json"
    baseline.write_text('{"path": "segment", "each_sample": [{"arrived": true, "latency_ms": 9}]}')

    result = cli(
        "segment", "latency-check", "--sandbox", "--baseline", str(baseline),
        "--max-regression", "p90=20%",
    )  # fmt: skip

    assert result.exit_code == 3, result.output
    assert "the percentile is one of p50, p95, p99" in result.stderr
