"""End-to-end latency of marked events: samples, per-path figures, gates, batch-size advice.

Pure data and arithmetic (no I/O); `frigade_cli.services.latency_check` fills it in and
`frigade_cli.render.latency_check` shows it. Every duration is in milliseconds unless its name
ends in `_s`. Percentiles use the one method of `frigade_cli.kernel.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from frigade_cli.kernel.clock import parse_iso_ms
from frigade_cli.kernel.errors import FrigadeCliError
from frigade_cli.kernel.stats import FIGURES, ChangeInterval, Distribution, bootstrap_changes

PATHS = ("segment", "direct", "api")
PATH_HELP = {
    "segment": "Segment tracking API -> Webhooks (Actions) batch -> Frigade",
    "direct": "Frigade's Segment webhook, as Segment posts it",
    "api": "Frigade REST API (POST /v1/public/users with events)",
}
USER_PREFIX = "frigade-cli-latency-"  # every marked event belongs to a user with this prefix
MARKER_EVENT = "frigade-cli latency check"  # the event name of every marked event
GATE_FIGURES = ("p50", "p95", "p99")
# A regression is judged by a percentile bootstrap: 95% intervals from 2,000 paired redraws.
CONFIDENCE = 0.95
RESAMPLES = 2000
# Fewer samples than this in either run and a percentile's interval says nothing: at least 5
# in all, and at least 2 above the percentile (p50: 5, p95: 40, p99: 200).
MIN_SAMPLES = 5
MIN_SAMPLES_ABOVE = 2
# Settings whose change between the baseline and this run is worth pointing at.
COMPARED_SETTINGS = (
    "sandbox",
    "batch_size",
    "flush_interval_s",
    "samples",
    "interval_s",
    "concurrency",
    "poll",
    "frigade_url",
    "segment_url",
    "webhook_url",
)


@dataclass
class Sample:
    """One marked event: sent at `sent_at` (wall clock), looked for until seen or timed out.

    `latency_ms` is the monotonic time from just before the send to the end of the first
    read-back that showed the event: the event arrived at most `resolution_ms` before that (the
    time since the start of the previous read-back that did not show it). `server_lag_ms` is
    Frigade's `createdAt` minus this machine's send time: it is only right when clocks agree.
    """

    index: int
    path: str
    marker: str
    sent_at: str | None = None
    send_ms: float | None = None
    latency_ms: float | None = None
    resolution_ms: float | None = None
    polls: int = 0
    server_created_at: str | None = None
    server_lag_ms: float | None = None
    error: str | None = None
    timed_out: bool = False  # sent, then never seen within the timeout
    interrupted: bool = False  # still being looked for when the run was stopped: not measured

    @property
    def arrived(self) -> bool:
        return self.latency_ms is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "path": self.path,
            "marker": self.marker,
            "arrived": self.arrived,
            "sent_at": self.sent_at,
            "send_ms": _round(self.send_ms),
            "latency_ms": _round(self.latency_ms),
            "resolution_ms": _round(self.resolution_ms),
            "polls": self.polls,
            "server_created_at": self.server_created_at,
            "server_lag_ms": _round(self.server_lag_ms),
            "timed_out": self.timed_out,
            "interrupted": self.interrupted,
            "error": self.error,
        }


@dataclass
class PathResult:
    """The samples of one path and the figures computed from them."""

    path: str
    samples: list[Sample] = field(default_factory=list)
    duration_s: float = 0.0
    planned: int = 0  # samples this path is to take

    @property
    def arrived(self) -> list[Sample]:
        return [s for s in self.samples if s.arrived]

    @property
    def failures(self) -> list[Sample]:
        """Samples sent (or tried) that were never seen: a failure each, never dropped.

        A sample cut short by Ctrl-C or SIGTERM is not among them: it was never measured.
        """
        return [s for s in self.samples if not s.arrived and not s.interrupted]

    @property
    def interrupted(self) -> list[Sample]:
        """Samples still being looked for when the run was stopped (neither seen nor lost)."""
        return [s for s in self.samples if not s.arrived and s.interrupted]

    @property
    def latency(self) -> Distribution:
        return Distribution.of([s.latency_ms for s in self.arrived if s.latency_ms is not None])

    @property
    def resolution(self) -> Distribution:
        return Distribution.of(
            [s.resolution_ms for s in self.arrived if s.resolution_ms is not None]
        )

    @property
    def server_lag(self) -> Distribution:
        return Distribution.of(
            [s.server_lag_ms for s in self.arrived if s.server_lag_ms is not None]
        )

    def figures(self) -> dict[str, Any]:
        """`samples`, `failures`, `interrupted_samples`, `min_ms` ... `mean_ms` (None when nothing
        arrived)."""
        latency = self.latency
        out: dict[str, Any] = {
            "samples": len(self.samples),
            "failures": len(self.failures),
            # Not `interrupted`: the report's own `interrupted` says whether the run was stopped.
            "interrupted_samples": len(self.interrupted),
        }
        for name in FIGURES:
            out[f"{name}_ms"] = _round(latency.get(name))
        return out

    def as_dict(self) -> dict[str, Any]:
        resolution, lag = self.resolution, self.server_lag
        return {
            "path": self.path,
            **self.figures(),
            "resolution_ms": {"p50": _round(resolution.p50), "max": _round(resolution.max)},
            "server_lag_p50_ms": _round(lag.p50),
            "duration_s": round(self.duration_s, 3),
            "failed_markers": [s.marker for s in self.failures],
            "each_sample": [s.as_dict() for s in self.samples],
        }


@dataclass(frozen=True)
class Gate:
    """A threshold: `p50`/`p95`/`p99` in ms, or `failures` as a count; breached when above."""

    figure: str
    limit: float

    @property
    def label(self) -> str:
        if self.figure == "failures":
            return f"failures <= {self.limit:g}"
        return f"{self.figure} <= {_number(self.limit)} ms"


@dataclass(frozen=True)
class GateResult:
    """A gate checked on one path; `value` None means nothing arrived to measure (a breach)."""

    gate: Gate
    path: str
    value: float | None

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value <= self.gate.limit

    def describe(self) -> str:
        """`p95 1,021.4 ms <= 2,000 ms` / `failures 2 > 0` / `p95 not measured: nothing arrived`."""
        name = self.gate.figure
        if self.value is None:
            return f"{name}: nothing arrived to measure"
        sign = "<=" if self.passed else ">"
        if name == "failures":
            return f"failures {self.value:g} {sign} {self.gate.limit:g}"
        return f"{name} {_number(self.value)} ms {sign} {_number(self.gate.limit)} ms"

    def as_dict(self) -> dict[str, Any]:
        unit = "count" if self.gate.figure == "failures" else "ms"
        return {
            "path": self.path,
            "gate": self.gate.figure,
            "limit": self.gate.limit,
            "value": _round(self.value),
            "unit": unit,
            "passed": self.passed,
        }


def check_gates(results: list[PathResult], gates: list[Gate]) -> list[GateResult]:
    """Every gate on every measured path, in path order then gate order."""
    checked = []
    for result in results:
        for gate in gates:
            if gate.figure == "failures":
                value: float | None = float(len(result.failures))
            else:
                value = result.latency.get(gate.figure)
            checked.append(GateResult(gate, result.path, value))
    return checked


def min_samples(figure: str) -> int:
    """Samples each run needs before `figure` (`p50`, `p95`, `p99`) can be compared."""
    q = float(figure[1:])
    return max(MIN_SAMPLES, math.ceil(MIN_SAMPLES_ABOVE / (1 - q / 100) - 1e-9))


@dataclass(frozen=True)
class RegressionGate:
    """`figure` (`p50`/`p95`/`p99`) may grow by at most `max_change` (0.2 = 20%) on the baseline.

    Breached only when the whole confidence interval of the change lies above it.
    """

    figure: str
    max_change: float

    @property
    def label(self) -> str:
        return f"{self.figure} regression <= {_percent(self.max_change, sign=False)}"


@dataclass(frozen=True)
class Baseline:
    """A previous run's `--json` report, as far as a comparison needs it."""

    source: str  # the file, as given
    started_at: str | None
    settings: dict[str, Any]
    samples: dict[str, list[float]]  # path -> the latency of every sample that arrived, ms
    # path -> (seconds since that path's first send, latency ms) of each arrived sample
    timeline: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Regression:
    """One percentile of one path, this run against the baseline.

    `interval` is None when either run has fewer than `min_samples` samples (too few to tell).
    """

    path: str
    figure: str
    baseline_samples: int
    samples: int
    min_samples: int
    gate: RegressionGate | None
    interval: ChangeInterval | None

    @property
    def status(self) -> str:
        """`pass`, `FAIL`, `too few samples` or `no gate`."""
        if self.interval is None:
            return "too few samples"
        if self.gate is None:
            return "no gate"
        return "FAIL" if self.interval.low > self.gate.max_change else "pass"

    @property
    def passed(self) -> bool:
        return self.status != "FAIL"

    def describe(self) -> str:
        """`p95 +88.9% (95% CI +80.1% .. +95.3%): clearly above +20%` / `p99: too few ...`."""
        if self.interval is None:
            return (
                f"{self.figure}: too few samples to tell ({self.min_samples} needed in each "
                f"run; baseline {self.baseline_samples}, now {self.samples})"
            )
        i = self.interval
        text = f"{self.figure} {_change(i.change)} (95% CI {_change(i.low)} .. {_change(i.high)})"
        if self.gate is None:
            return text
        verdict = "clearly above" if not self.passed else "not clearly above"
        return f"{text}: {verdict} {_percent(self.gate.max_change)}"

    def as_dict(self) -> dict[str, Any]:
        i = self.interval
        return {
            "path": self.path,
            "figure": self.figure,
            "baseline_ms": _round(i.baseline) if i else None,
            "now_ms": _round(i.now) if i else None,
            "change_pct": _pct(i.change) if i else None,
            "ci_low_pct": _pct(i.low) if i else None,
            "ci_high_pct": _pct(i.high) if i else None,
            "max_regression_pct": _pct(self.gate.max_change) if self.gate else None,
            "baseline_samples": self.baseline_samples,
            "samples": self.samples,
            "min_samples": self.min_samples,
            "status": self.status.lower(),
            "passed": self.passed,
        }


def compare_to_baseline(
    results: list[PathResult],
    baseline: Baseline,
    gates: list[RegressionGate],
    *,
    seed: int = 0,
) -> list[Regression]:
    """p50, p95 and p99 of every path the baseline also has, with the gate on each (if any).

    Paths the baseline lacks are left out (see `LatencyReport.as_dict`).
    """
    by_figure = {g.figure: g for g in gates}
    out: list[Regression] = []
    for result in results:
        before = baseline.samples.get(result.path)
        if before is None:
            continue
        now = [s.latency_ms for s in result.arrived if s.latency_ms is not None]
        needed = {f: min_samples(f) for f in GATE_FIGURES}
        ready = [f for f in GATE_FIGURES if min(len(before), len(now)) >= needed[f]]
        found: list[ChangeInterval] = []
        if ready:
            qs = [float(f[1:]) for f in ready]
            try:
                found = bootstrap_changes(
                    before, now, qs, resamples=RESAMPLES, confidence=CONFIDENCE, seed=seed
                )
            except ValueError:  # a baseline percentile of 0 ms: no ratio to speak of
                found = []
        intervals = {f"p{c.q:g}": c for c in found}
        for figure in GATE_FIGURES:
            out.append(
                Regression(
                    result.path,
                    figure,
                    len(before),
                    len(now),
                    needed[figure],
                    by_figure.get(figure),
                    intervals.get(figure),
                )
            )
    return out


def baseline_from_report(document: Any, source: str) -> Baseline | None:
    """The baseline in a `--json` report (one path, or `paths` with `--compare`); None when the
    document is not such a report. Only samples that arrived count."""
    if not isinstance(document, dict):
        return None
    paths = document.get("paths") if document.get("path") == "compare" else [document]
    if not isinstance(paths, list):
        return None
    samples: dict[str, list[float]] = {}
    timeline: dict[str, list[tuple[float, float]]] = {}
    for entry in paths:
        each = entry.get("each_sample") if isinstance(entry, dict) else None
        if not isinstance(each, list) or not isinstance(entry.get("path"), str):
            return None
        arrived = [
            s
            for s in each
            if isinstance(s, dict)
            and s.get("arrived") is True
            and isinstance(s.get("latency_ms"), (int, float))
            and not isinstance(s.get("latency_ms"), bool)
        ]
        samples[entry["path"]] = [float(s["latency_ms"]) for s in arrived]
        sent = [parse_iso_ms(s.get("sent_at")) for s in each if isinstance(s, dict)]
        first = min((t for t in sent if t is not None), default=None)
        timeline[entry["path"]] = [
            ((at - first) / 1000, float(s["latency_ms"]))
            for s in arrived
            if first is not None and (at := parse_iso_ms(s.get("sent_at"))) is not None
        ]
    settings = document.get("settings")
    started = document.get("started_at")
    return Baseline(
        source,
        started if isinstance(started, str) else None,
        settings if isinstance(settings, dict) else {},
        samples,
        timeline,
    )


def changed_settings(before: dict[str, Any], now: dict[str, Any]) -> dict[str, list[Any]]:
    """The COMPARED_SETTINGS that differ: name -> [baseline's, this run's]. Two sandboxes'
    URLs are left out: each sandbox has a port of its own."""
    both_sandbox = before.get("sandbox") is True and now.get("sandbox") is True
    return {
        k: [before.get(k), now.get(k)]
        for k in COMPARED_SETTINGS
        if k in before and before.get(k) != now.get(k) and not (both_sandbox and k.endswith("_url"))
    }


@dataclass(frozen=True)
class WaitEstimate:
    """What the batch-wait model says for one traffic level, in ms (see segment.batch_wait)."""

    events_per_day: float
    batch_size: int
    max_wait_s: float
    expected_ms: float
    p95_ms: float
    expected_fill: float
    target_ms: float | None = None
    largest_batch_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "events_per_day": round(self.events_per_day, 1),
            "batch_size": self.batch_size,
            "max_wait_s": self.max_wait_s,
            "expected_wait_ms": _round(self.expected_ms),
            "p95_wait_ms": _round(self.p95_ms),
            "expected_fill": round(self.expected_fill, 2),
            "target_wait_ms": _round(self.target_ms),
            "largest_batch_size": self.largest_batch_size,
        }


@dataclass
class LatencyReport:
    """A latency-check run: its settings, each path's samples, the gates, model and advice."""

    settings: dict[str, Any]
    results: list[PathResult] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    model: WaitEstimate | None = None  # the batch wait at this run's own rate (sandbox)
    advice: WaitEstimate | None = None  # the batch wait at --events-per-day
    interrupted: bool = False
    terminated: bool = False  # the stop was SIGTERM rather than Ctrl-C
    started_at: str | None = None
    baseline: Baseline | None = None
    regression_gates: list[RegressionGate] = field(default_factory=list)
    regressions: list[Regression] = field(default_factory=list)  # filled in once measured
    seed: int = 0  # the bootstrap's
    # The generated user and its deletion after the run: None when kept or given by the user.
    cleanup: UserCleanup | None = None
    round: int | None = None  # the monitor's round (1, 2, ...); None for a single run
    # What ended the run early after its settings were checked (a rejected key, an unreachable
    # Frigade): re-raised once the report is out, shown as `error` in the JSON.
    error: FrigadeCliError | None = None

    @property
    def gate_results(self) -> list[GateResult]:
        return check_gates(self.results, self.gates)

    @property
    def passed(self) -> bool:
        return (
            not self.interrupted
            and self.error is None
            and all(g.passed for g in self.gate_results)
            and all(r.passed for r in self.regressions)
        )

    def result(self, path: str) -> PathResult | None:
        return next((r for r in self.results if r.path == path), None)

    def as_dict(self) -> dict[str, Any]:
        """The `--json` document: one path's figures at the top level, or `paths` to compare."""
        common: dict[str, Any] = {
            "settings": self.settings,
            "gates": [g.as_dict() for g in self.gate_results],
            "passed": self.passed,
            "interrupted": self.interrupted,
            "terminated": self.terminated,
            "error": self.error.message if self.error is not None else None,
            "started_at": self.started_at,
            "model": self.model.as_dict() if self.model else None,
            "advice": self.advice.as_dict() if self.advice else None,
            "regression": self._regression_dict(),
            "cleanup": self.cleanup.as_dict() if self.cleanup else None,
        }
        if self.round is not None:
            common = {"round": self.round, **common}
        # Stopped before a path started: its figures are there, empty, so the shape holds.
        results = self.results or [PathResult(p) for p in self.settings.get("paths", [])]
        if len(results) == 1:
            return {**results[0].as_dict(), **common}
        return {"path": "compare", "paths": [r.as_dict() for r in results], **common}

    def _regression_dict(self) -> dict[str, Any] | None:
        if self.baseline is None:
            return None
        compared = {r.path for r in self.regressions}
        return {
            "baseline": {
                "file": self.baseline.source,
                "started_at": self.baseline.started_at,
                "paths": sorted(self.baseline.samples),
                "settings_changed": changed_settings(self.baseline.settings, self.settings),
            },
            "confidence": CONFIDENCE,
            "resamples": RESAMPLES,
            "seed": self.seed,
            "gates": {g.figure: _pct(g.max_change) for g in self.regression_gates},
            "paths_without_baseline": [r.path for r in self.results if r.path not in compared],
            "figures": [r.as_dict() for r in self.regressions],
        }


@dataclass
class UserCleanup:
    """The user this run generated, deleted after it (`DELETE /v1/users?userId=`)."""

    user_id: str
    deleted: bool = False
    error: str | None = None  # why the deletion failed; the run's outcome does not change

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "deleted": self.deleted, "error": self.error}


def _pct(fraction: float) -> float:
    return round(fraction * 100, 1)


def _change(fraction: float) -> str:
    """`+98.0%`, `-3.5%`: a measured change, always one decimal (as the report's table shows it)."""
    return f"{round(fraction * 100, 1) + 0.0:+.1f}%"


def _percent(fraction: float, *, sign: bool = True) -> str:
    """`+20%`, `-3.5%` (one decimal unless whole)."""
    value = round(fraction * 100, 1) + 0.0  # no "-0"
    text = f"{value:.0f}" if round(value, 1).is_integer() else f"{value:.1f}"
    return ("+" if sign and value >= 0 else "") + text + "%"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _number(value: float) -> str:
    """`1,021.4` / `2,000`: thousands separated, one decimal unless whole."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
