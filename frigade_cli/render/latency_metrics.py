"""latency-check as Prometheus metrics: served on `--metrics-port`, written to `--metrics-file`.

Built on `prometheus_client` (imported here only, when metrics are asked for) in a registry of
its own, so nothing but these series is exposed:

- `frigade_latency_check_latency_seconds{path}`: histogram of every sample that arrived, over all
  rounds; its buckets hold a ladder from 5 ms to a minute plus every gate's limit (and, with a
  baseline, each gated percentile's limit in ms), so a gate is a bucket boundary.
- `frigade_latency_check_samples_total{path,outcome}`: samples by outcome (`arrived`, `failed`,
  `interrupted`).
- `frigade_latency_check_latency_quantile_seconds{path,quantile}`: p50, p90, p95, p99 of the
  last round, as the report prints them.
- `frigade_latency_check_gate_passed{path,gate}`: 1 unless the gate was breached in the last
  round (`p95`, `failures`, `p95_regression`, ...); `frigade_latency_check_passed`: the verdict.
- `frigade_latency_check_rounds_total`, `frigade_latency_check_last_round_timestamp_seconds`,
  `frigade_latency_check_last_round_duration_seconds`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.latency import Baseline, Gate, LatencyReport, RegressionGate
from frigade_cli.kernel.stats import percentile

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

PREFIX = "frigade_latency_check"
# Seconds: what end-to-end latency spans, from a local API call to Segment's minute-long batch.
LADDER_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
QUANTILES = (("0.5", "p50"), ("0.9", "p90"), ("0.95", "p95"), ("0.99", "p99"))
OUTCOMES = ("arrived", "failed", "interrupted")


def buckets(
    gates: list[Gate],
    regression_gates: list[RegressionGate],
    baseline: Baseline | None,
    timeout_s: float,
) -> list[float]:
    """Histogram upper bounds in seconds: LADDER_S up to the timeout, the timeout, each latency
    gate's limit and, with a baseline, each gated percentile's baseline and its limit."""
    bounds = {b for b in LADDER_S if b < timeout_s} | {timeout_s}
    bounds |= {g.limit / 1000 for g in gates if g.figure != "failures" and g.limit > 0}
    if baseline is not None:
        for values in baseline.samples.values():
            if not values:
                continue
            for gate in regression_gates:
                base = percentile(values, float(gate.figure[1:])) / 1000
                if base > 0:
                    bounds |= {base, base * (1 + gate.max_change)}
    # Prometheus keeps `le` as text: six significant digits keep bounds apart and readable.
    return sorted({float(f"{b:.6g}") for b in bounds})


class LatencyMetrics:
    """The metrics of a run or a monitor, updated once per round (thread-safe for scrapes)."""

    def __init__(
        self,
        paths: list[str],
        gates: list[Gate],
        regression_gates: list[RegressionGate],
        baseline: Baseline | None,
        timeout_s: float,
    ) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        # `_created` series only repeat the process start for every label set.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self.server: WSGIServer | None = None
        self.bucket_bounds = buckets(gates, regression_gates, baseline, timeout_s)
        r = self.registry
        self.latency = Histogram(
            f"{PREFIX}_latency_seconds",
            "End-to-end latency of the marked events that arrived, by path.",
            ["path"],
            buckets=self.bucket_bounds,
            registry=r,
        )
        self.samples = Counter(
            f"{PREFIX}_samples",
            "Marked events by outcome: arrived, failed (never seen), interrupted.",
            ["path", "outcome"],
            registry=r,
        )
        self.quantile = Gauge(
            f"{PREFIX}_latency_quantile_seconds",
            "Latency percentiles of the last round (linear interpolation, type 7).",
            ["path", "quantile"],
            registry=r,
        )
        self.gate = Gauge(
            f"{PREFIX}_gate_passed",
            "1 unless the gate was breached in the last round.",
            ["path", "gate"],
            registry=r,
        )
        self.passed = Gauge(
            f"{PREFIX}_passed", "1 when the last round passed every gate.", registry=r
        )
        self.rounds = Counter(f"{PREFIX}_rounds", "Rounds measured.", registry=r)
        self.last_round = Gauge(
            f"{PREFIX}_last_round_timestamp_seconds",
            "When the last round ended (Unix time).",
            registry=r,
        )
        self.last_duration = Gauge(
            f"{PREFIX}_last_round_duration_seconds", "How long the last round took.", registry=r
        )
        for path in paths:  # every series exists from the first scrape, at zero
            self.latency.labels(path)
            for outcome in OUTCOMES:
                self.samples.labels(path, outcome)

    def serve(self, address: str, port: int) -> str:
        """Serve `/metrics` on address:port (0: any free port) in a daemon thread; the URL.

        InputError (exit 3) when the address cannot be bound.
        """
        from prometheus_client import start_http_server

        try:
            self.server, _thread = start_http_server(port, addr=address, registry=self.registry)
        except OSError as exc:
            raise InputError(
                f"--metrics-port {port}: cannot listen on {address}:{port} ({exc.strerror or exc})"
            ) from None
        host, bound = self.server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{bound}/metrics"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def update(self, report: LatencyReport, finished_at: float) -> None:
        """Add a round: its samples to the histogram and counters, its figures to the gauges."""
        duration = 0.0
        for result in report.results:
            duration += result.duration_s
            for sample in result.samples:
                if sample.latency_ms is not None:
                    self.latency.labels(result.path).observe(sample.latency_ms / 1000)
            self.samples.labels(result.path, "arrived").inc(len(result.arrived))
            self.samples.labels(result.path, "failed").inc(len(result.failures))
            self.samples.labels(result.path, "interrupted").inc(len(result.interrupted))
            figures = result.latency
            for label, name in QUANTILES:
                value = figures.get(name)
                if value is None:
                    _remove(self.quantile, result.path, label)
                else:
                    self.quantile.labels(result.path, label).set(value / 1000)
        for gate in report.gate_results:
            self.gate.labels(gate.path, gate.gate.figure).set(1 if gate.passed else 0)
        for regression in report.regressions:
            if regression.gate is not None:
                name = f"{regression.figure}_regression"
                self.gate.labels(regression.path, name).set(1 if regression.passed else 0)
        self.passed.set(1 if report.passed else 0)
        self.rounds.inc()
        self.last_round.set(finished_at)
        self.last_duration.set(duration)

    def write(self, path: Path) -> str | None:
        """Write the text format to `path` atomically (a temporary file renamed over it), as
        node_exporter's textfile collector needs; the problem as a message, else None."""
        from prometheus_client import write_to_textfile

        try:
            write_to_textfile(str(path), self.registry)
        except OSError as exc:
            return f"cannot write --metrics-file {path}: {exc.strerror or exc}"
        return None


def _remove(gauge: Any, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never set: nothing to remove
        gauge.remove(*labels)
