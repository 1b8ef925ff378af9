"""latency-check as a monitor: rounds every --every, one JSON line each, stopped by a signal,
and its Prometheus metrics on --metrics-port and --metrics-file, scraped by a real Prometheus."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from frigade_cli.sandbox import RunningSandbox
from frigade_cli.sandbox.testing import wait_until
from tests.conftest import Cli
from tests.segment.test_latency_check import free_port
from tests.support.tools import Background, system_tool

SANDBOX = ("segment", "latency-check", "--sandbox", "--flush-interval", "50ms", "-n", "3")
PREFIX = "frigade_latency_check"


def families(text: str) -> dict[str, Any]:
    """Metric families by name, as prometheus_client's own parser reads the exposition."""
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample_value(family: Any, name: str, **labels: str) -> float:
    found = [s.value for s in family.samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, family.samples)
    return float(found[0])


def url_of(monitor: Background) -> str:
    return monitor.wait_for_line("stderr", "serving metrics at ").split(" at ", 1)[1]


# Rounds -----------------------------------------------------------------------------------------
def test_rounds_each_print_one_json_line_with_fresh_markers_for_one_user(cli: Cli):
    result = cli(*SANDBOX, "--every", "100ms", "--rounds", "3", "--json")

    assert result.exit_code == 0, result.output
    rounds = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert all(r["passed"] and r["samples"] == 3 and r["failures"] == 0 for r in rounds)
    markers = [s["marker"] for r in rounds for s in r["each_sample"]]
    assert len(set(markers)) == 9
    assert len({r["settings"]["user_id"] for r in rounds}) == 1
    assert all(r["cleanup"]["deleted"] for r in rounds)
    assert all(r["settings"]["every_s"] == 0.1 for r in rounds)
    assert "monitor stopped after 3 rounds" in result.stderr


def test_a_round_line_for_people_names_the_figures_and_the_breached_gate(cli: Cli):
    result = cli(*SANDBOX, "--every", "100ms", "--rounds", "2", "--max-p50", "1ms")

    assert result.exit_code == 0, result.output  # a monitor reports breaches, it does not exit 6
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["round", "1"], ["round", "2"]]
    assert all("3/3 arrived" in line and line.endswith("FAILED (p50)") for line in lines)


def test_sigterm_between_rounds_ends_the_monitor_with_exit_0():
    with Background([*SANDBOX, "--every", "1h", "--json"]) as monitor:
        first = json.loads(monitor.wait_for_line("stdout", '"round":1'))
        code = monitor.stop(signal.SIGTERM)

    assert code == 0, "\n".join(monitor.stderr)
    assert first["passed"] is True
    assert len(monitor.stdout) == 1
    assert any("monitor stopped after 1 round" in line for line in monitor.stderr)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_round_prints_its_partial_line_and_exits_130_or_143(
    sandbox: RunningSandbox, sig: int, code: int
):
    sandbox.configure(destination={"flush_interval": "30s"})  # the first sample waits there
    args = ["segment", "latency-check", "--api-url", sandbox.url, "--api-key", sandbox.api_key]
    args += ["--write-key", sandbox.write_key, "--segment-url", sandbox.segment_url]
    args += ["-n", "2", "--every", "1s", "--json"]
    with Background(args) as monitor:
        wait_until(lambda: sandbox.stats()["segment"]["received"] >= 1, timeout=20)
        exit_code = monitor.stop(sig)

    assert exit_code == code, "\n".join(monitor.stderr)
    (line,) = monitor.stdout
    report = json.loads(line)
    assert report["round"] == 1 and report["interrupted"] is True
    assert report["each_sample"][0]["interrupted"] is True
    assert any("during round 1: its report is partial" in e for e in monitor.stderr)


# Metrics ----------------------------------------------------------------------------------------
def test_metrics_port_serves_the_rounds_figures_in_prometheus_format():
    before = time.time()
    args = [*SANDBOX, "--every", "1h", "--metrics-port", "0", "--max-p95", "2s", "--json"]
    with Background(args) as monitor:
        url = url_of(monitor)
        report = json.loads(monitor.wait_for_line("stdout", '"round":1'))
        text = httpx.get(url, timeout=10).text
        assert monitor.stop() == 0

    assert url.startswith("http://127.0.0.1:")
    found = families(text)
    latencies = [s["latency_ms"] / 1000 for s in report["each_sample"]]
    histogram = found[f"{PREFIX}_latency_seconds"]
    bounds = [float(s.labels["le"]) for s in histogram.samples if s.name.endswith("_bucket")]
    assert 2.0 in bounds and math.inf in bounds  # the p95 gate is a bucket boundary
    for bound in bounds:
        expected = sum(v <= bound + 5e-5 for v in latencies)  # JSON latencies: 0.1 ms
        got = sample_value(
            histogram, f"{PREFIX}_latency_seconds_bucket", path="segment", le=_le(bound)
        )
        assert got == expected, bound
    assert sample_value(histogram, f"{PREFIX}_latency_seconds_count", path="segment") == 3
    total = sample_value(histogram, f"{PREFIX}_latency_seconds_sum", path="segment")
    assert total == pytest.approx(sum(latencies), abs=2e-4)
    outcomes = found[f"{PREFIX}_samples"]
    assert sample_value(outcomes, f"{PREFIX}_samples_total", path="segment", outcome="arrived") == 3
    assert sample_value(outcomes, f"{PREFIX}_samples_total", path="segment", outcome="failed") == 0
    quantiles = found[f"{PREFIX}_latency_quantile_seconds"]
    p95 = sample_value(
        quantiles, f"{PREFIX}_latency_quantile_seconds", path="segment", quantile="0.95"
    )
    assert p95 == pytest.approx(report["p95_ms"] / 1000, abs=5.1e-5)
    gates = found[f"{PREFIX}_gate_passed"]
    assert sample_value(gates, f"{PREFIX}_gate_passed", path="segment", gate="p95") == 1
    assert sample_value(found[f"{PREFIX}_passed"], f"{PREFIX}_passed") == 1
    assert sample_value(found[f"{PREFIX}_rounds"], f"{PREFIX}_rounds_total") == 1
    ended = sample_value(
        found[f"{PREFIX}_last_round_timestamp_seconds"],
        f"{PREFIX}_last_round_timestamp_seconds",
    )
    assert before <= ended <= time.time()


def test_metrics_file_of_a_single_run_holds_a_breached_gate_and_no_temporary_file(
    cli: Cli, tmp_path: Path
):
    path = tmp_path / "latency.prom"

    result = cli(*SANDBOX, "--max-p50", "1ms", "--metrics-file", str(path), "--json")

    assert result.exit_code == 6, result.output
    report = json.loads(result.stdout)
    found = families(path.read_text())
    gates = found[f"{PREFIX}_gate_passed"]
    assert sample_value(gates, f"{PREFIX}_gate_passed", path="segment", gate="p50") == 0
    assert sample_value(gates, f"{PREFIX}_gate_passed", path="segment", gate="failures") == 1
    assert sample_value(found[f"{PREFIX}_passed"], f"{PREFIX}_passed") == 0
    p50 = sample_value(
        found[f"{PREFIX}_latency_quantile_seconds"],
        f"{PREFIX}_latency_quantile_seconds",
        path="segment",
        quantile="0.5",
    )
    assert p50 == pytest.approx(report["p50_ms"] / 1000, abs=5.1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["latency.prom"]


def test_a_monitor_rewrites_the_metrics_file_and_the_page_every_round(cli: Cli, tmp_path: Path):
    path, page = tmp_path / "latency.prom", tmp_path / "latency.html"

    result = cli(
        *SANDBOX, "--every", "50ms", "--rounds", "2", "--metrics-file", str(path),
        "--html", str(page),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert 'data-round="2"' in page.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latency.html", "latency.prom"]
    found = families(path.read_text())
    assert sample_value(found[f"{PREFIX}_rounds"], f"{PREFIX}_rounds_total") == 2
    outcomes = found[f"{PREFIX}_samples"]
    arrived = sample_value(outcomes, f"{PREFIX}_samples_total", path="segment", outcome="arrived")
    assert arrived == 6


# A real Prometheus ----------------------------------------------------------------------------
PROMETHEUS_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: frigade-latency
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


@pytest.fixture
def prometheus_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="prometheus-") as directory:
        yield Path(directory)


def test_a_real_prometheus_scrapes_the_monitor_and_returns_the_p95_it_printed(
    prometheus_dir: Path,
):
    binary = system_tool("prometheus")
    port, web = free_port(), free_port()
    config = prometheus_dir / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG.replace("{port}", str(port)))
    args = [*SANDBOX, "--every", "1h", "--metrics-port", str(port), "--json"]
    with Background(args) as monitor:
        report = json.loads(monitor.wait_for_line("stdout", '"round":1'))
        server = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={prometheus_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{web}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            query = f'{PREFIX}_latency_quantile_seconds{{path="segment",quantile="0.95"}}'

            def answered() -> list[Any] | None:
                try:
                    body = httpx.get(
                        f"http://127.0.0.1:{web}/api/v1/query",
                        params={"query": query},
                        timeout=5,
                    ).json()
                except (httpx.HTTPError, ValueError):
                    return None
                result: list[Any] = body.get("data", {}).get("result", [])
                return result or None

            result = wait_until(answered, timeout=60, interval=0.25, what="a scraped p95")
            up = httpx.get(
                f"http://127.0.0.1:{web}/api/v1/query",
                params={"query": 'up{job="frigade-latency"}'},
                timeout=5,
            ).json()["data"]["result"]
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
        assert monitor.stop() == 0

    (series,) = result
    assert series["metric"]["job"] == "frigade-latency"
    assert series["metric"]["instance"] == f"127.0.0.1:{port}"
    assert float(series["value"][1]) * 1000 == pytest.approx(report["p95_ms"], abs=0.051)
    assert up[0]["value"][1] == "1"


# Bad settings -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--metrics-port", "0"], 2, "--metrics-port belongs to a monitor: add --every"),
        (["--rounds", "2"], 2, "--rounds belongs to a monitor: add --every"),
        (["--every", "1s", "--junit", "x.xml"], 2, "--junit saves one run"),
        (["--every", "1s", "--save-baseline", "b.json"], 2, "--save-baseline saves one run"),
        (["--every", "0"], 3, "--every must be above 0"),
        (["--every", "soon"], 3, "--every 'soon' is not a duration"),
        (["--metrics-file", "/dev/null"], 3, "--metrics-file /dev/null: not a regular file"),
    ],
)
def test_bad_monitor_settings_exit_before_anything_runs(
    cli: Cli, args: list[str], code: int, message: str
):
    result = cli("segment", "latency-check", "--sandbox", *args)

    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "sandbox started" not in result.stderr


def test_a_metrics_port_in_use_exits_3_before_anything_runs(cli: Cli):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(
            "segment", "latency-check", "--sandbox", "--every", "1s", "--metrics-port", str(port)
        )

    assert result.exit_code == 3, result.output
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "sandbox started" not in result.stderr


def _le(bound: float) -> str:
    """How the exposition writes a bucket's bound (`2.0`, `+Inf`)."""
    return "+Inf" if math.isinf(bound) else repr(bound)
