"""End-to-end latency of marked events: samples, per-path figures, gates, batch-size advice.

Pure data and arithmetic (no I/O); `frigade_cli.services.latency_check` fills it in and
`frigade_cli.render.latency_check` shows it. Every duration is in milliseconds unless its name
ends in `_s`. Percentiles use the one method of `frigade_cli.kernel.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from frigade_cli.kernel.errors import FrigadeCliError
from frigade_cli.kernel.stats import FIGURES, Distribution

PATHS = ("segment", "direct", "api")
PATH_HELP = {
    "segment": "Segment tracking API -> Webhooks (Actions) batch -> Frigade",
    "direct": "Frigade's Segment webhook, as Segment posts it",
    "api": "Frigade REST API (POST /v1/public/users with events)",
}
USER_PREFIX = "frigade-cli-latency-"  # every marked event belongs to a user with this prefix
MARKER_EVENT = "frigade-cli latency check"  # the event name of every marked event
GATE_FIGURES = ("p50", "p95", "p99")


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
    # What ended the run early after its settings were checked (a rejected key, an unreachable
    # Frigade): re-raised once the report is out, shown as `error` in the JSON.
    error: FrigadeCliError | None = None

    @property
    def gate_results(self) -> list[GateResult]:
        return check_gates(self.results, self.gates)

    @property
    def passed(self) -> bool:
        return (
            not self.interrupted and self.error is None and all(g.passed for g in self.gate_results)
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
        }
        # Stopped before a path started: its figures are there, empty, so the shape holds.
        results = self.results or [PathResult(p) for p in self.settings.get("paths", [])]
        if len(results) == 1:
            return {**results[0].as_dict(), **common}
        return {"path": "compare", "paths": [r.as_dict() for r in results], **common}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _number(value: float) -> str:
    """`1,021.4` / `2,000`: thousands separated, one decimal unless whole."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
