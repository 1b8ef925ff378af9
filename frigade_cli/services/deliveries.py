"""The deliveries service: Segment's Delivery Overview for the integration, in both directions.

Segment -> Frigade is the egress of the source feeding the Frigade Webhooks destination
(`--source-id`, `--destination-id`): delivered, failed (with discard reasons), filtered at the
destination, retries. Frigade -> Segment is the ingress of the HTTP API source whose write key
Frigade holds (`--frigade-source-id`): received and failed on ingest. The settings are checked
before anything is sent; the gates are judged on the report, which is returned, never rendered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from frigade_cli.frigade.rules import delivery_failure_meaning
from frigade_cli.kernel.app import App
from frigade_cli.kernel.clock import now_ms
from frigade_cli.kernel.durations import parse_duration
from frigade_cli.kernel.errors import InputError, ThresholdBreached, UsageError
from frigade_cli.kernel.http import RetryPolicy
from frigade_cli.segment.delivery_overview import (
    FAILED_DELIVERY,
    FAILED_ON_INGEST,
    FILTERED_AT_DESTINATION,
    FILTERED_AT_SOURCE,
    SUCCESSFUL_DELIVERY,
    SUCCESSFULLY_RECEIVED,
    Metric,
    Window,
    bucket_starts,
    check_group_by,
    plan_window,
)

if TYPE_CHECKING:
    from frigade_cli.clients.segment_public_api import SegmentPublicApi

PUBLIC_API_PATH = "/segmentapis"  # where a sandbox serves its Public API routes


@dataclass
class DeliveriesRequest:
    """Everything `frigade segment deliveries` was asked to do (durations and rates as typed)."""

    source_id: str | None = None
    destination_id: str | None = None
    frigade_source_id: str | None = None
    since: str | None = None
    start: str | None = None
    end: str | None = None
    granularity: str | None = None
    group_by: list[str] = field(default_factory=list)
    max_failure_rate: str | None = None
    min_delivered: int | None = None
    min_received: int | None = None
    token: str | None = None
    public_api_url: str | None = None
    sandbox: bool = False
    sandbox_url: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Gate:
    """A threshold: `max_failure_rate` (a fraction), `min_delivered` or `min_received` (events)."""

    name: str
    limit: float

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass
class Plan:
    """The checked settings: nothing has been sent when it exists."""

    window: Window
    source_id: str | None
    destination_id: str | None
    frigade_source_id: str | None
    group_by: list[str]
    gates: list[Gate]


@dataclass(frozen=True)
class Reason:
    """A discard reason as Segment gave it, its count, and what it means for Frigade."""

    reason: str
    count: int
    meaning: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "count": self.count, "meaning": self.meaning}


@dataclass
class Egress:
    """Segment -> Frigade: what the destination did with the source's events."""

    source_id: str
    destination_id: str
    delivered: int
    failed: int
    filtered: int
    retries: int
    discard_reasons: list[Reason]
    filtered_reasons: list[Reason]
    # (bucket start, delivered, failed, filtered), oldest first
    series: list[tuple[str, int, int, int]]
    groups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failure_rate(self) -> float | None:
        """Failed / (delivered + failed); None when nothing was delivered or failed."""
        attempted = self.delivered + self.failed
        return self.failed / attempted if attempted else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "destination_id": self.destination_id,
            "delivered": self.delivered,
            "failed": self.failed,
            "filtered_at_destination": self.filtered,
            "retries": self.retries,
            "failure_rate": self.failure_rate,
            "discard_reasons": [r.as_dict() for r in self.discard_reasons],
            "filtered_reasons": [r.as_dict() for r in self.filtered_reasons],
            "series": [
                {"time": t, "delivered": d, "failed": f, "filtered_at_destination": x}
                for t, d, f, x in self.series
            ],
            "groups": self.groups,
        }


@dataclass
class Ingress:
    """What one source's ingest did: received, failed on ingest, filtered at the source."""

    source_id: str
    received: int
    failed_on_ingest: int
    filtered_at_source: int
    reasons: list[Reason]
    series: list[tuple[str, int, int]]  # (bucket start, received, failed on ingest)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "received": self.received,
            "failed_on_ingest": self.failed_on_ingest,
            "filtered_at_source": self.filtered_at_source,
            "discard_reasons": [r.as_dict() for r in self.reasons],
            "series": [
                {"time": t, "received": r, "failed_on_ingest": f} for t, r, f in self.series
            ],
        }


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    value: float | None
    passed: bool

    def describe(self) -> str:
        if self.gate.name == "max_failure_rate":
            shown = "no delivery" if self.value is None else f"{self.value:.2%}"
            return f"failure rate {shown} (limit {self.gate.limit:.2%})"
        what = "delivered" if self.gate.name == "min_delivered" else "received"
        return f"{what} {self.value:g} (at least {self.gate.limit:g})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate.name,
            "limit": self.gate.limit,
            "value": self.value,
            "passed": self.passed,
        }


@dataclass
class DeliveriesReport:
    """The outcome: the window, each direction read, and the gates."""

    window: Window
    source: str  # where it was read: "Segment's Public API at URL" or "sandbox URL"
    segment_to_frigade: Egress | None
    segment_source: Ingress | None
    frigade_to_segment: Ingress | None
    gates: list[GateResult]

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def as_dict(self) -> dict[str, Any]:
        """The `--json` document (README)."""
        return {
            "window": self.window.as_dict(),
            "read_from": self.source,
            "segment_to_frigade": self.segment_to_frigade.as_dict()
            if self.segment_to_frigade
            else None,
            "segment_source": self.segment_source.as_dict() if self.segment_source else None,
            "frigade_to_segment": self.frigade_to_segment.as_dict()
            if self.frigade_to_segment
            else None,
            "gates": [g.as_dict() for g in self.gates],
            "passed": self.passed,
        }


@dataclass(frozen=True)
class PublicApiTarget:
    """Where the Delivery Overview routes are and the token for them."""

    base_url: str
    token: str
    shown_as: str


# Planning -----------------------------------------------------------------------------------------
def parse_rate(text: str, flag: str = "--max-failure-rate") -> float:
    """`1%`, `0.5%` or a fraction `0.01` as a fraction in [0, 1]; UsageError (2) for text that
    is no number, InputError (3) for a number outside 0%-100%."""
    value = text.strip()
    try:
        rate = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: give a percentage such as 1% or a fraction") from None
    if not 0.0 <= rate <= 1.0:
        raise InputError(f"{flag} {text!r} must be between 0% and 100%")
    return rate


def plan(req: DeliveriesRequest, now: int | None = None) -> Plan:
    """Check every setting; InputError (exit 3) with one line before anything is sent."""
    since = None if req.since is None else parse_duration(req.since, "--since")
    window = plan_window(
        now_ms() if now is None else now,
        since_s=since,
        start=req.start,
        end=req.end,
        granularity=req.granularity,
    )
    group_by = check_group_by(req.group_by)
    if req.destination_id and not req.source_id:
        raise UsageError(
            "--destination-id needs --source-id: Delivery Overview reads a destination's "
            "deliveries per source"
        )
    if not (req.source_id or req.frigade_source_id):
        raise UsageError(
            "nothing to read: give --source-id and --destination-id (Segment -> Frigade), "
            "--frigade-source-id (Frigade -> Segment), or --sandbox"
        )
    gates = []
    if req.max_failure_rate is not None:
        gates.append(Gate("max_failure_rate", parse_rate(req.max_failure_rate)))
    if req.min_delivered is not None:
        gates.append(Gate("min_delivered", float(req.min_delivered)))
    if req.min_received is not None:
        gates.append(Gate("min_received", float(req.min_received)))
    for gate in gates:
        if gate.limit < 0:
            raise InputError(f"{gate.flag} must not be negative")
    egress = bool(req.source_id and req.destination_id)
    for gate in gates:
        if gate.name != "min_received" and not egress:
            raise UsageError(f"{gate.flag} needs --source-id and --destination-id")
        if gate.name == "min_received" and not req.frigade_source_id:
            raise UsageError(
                "--min-received needs --frigade-source-id (the source Frigade streams into)"
            )
    return Plan(window, req.source_id, req.destination_id, req.frigade_source_id, group_by, gates)


# Reading ------------------------------------------------------------------------------------------
def read_deliveries(
    app: App, target: PublicApiTarget, checked: Plan, timeout: float = 30.0
) -> DeliveriesReport:
    """Read every metric the plan needs from `target`; the report with its gates judged.

    Raises AuthError (4), InputError (3: an unknown id, or a 422 naming Segment's rule),
    UpstreamError (5: unreachable, 5xx, a 429 that outlasted `X-RateLimit-*` waits).
    """
    from frigade_cli.clients.segment_public_api import SegmentPublicApi

    app.terminal.add_secret(target.token)
    log = app.terminal.debug if app.terminal.verbose else None

    async def read() -> tuple[Egress | None, Ingress | None, Ingress | None]:
        client = SegmentPublicApi(
            target.token,
            target.base_url,
            timeout=timeout,
            policy=RetryPolicy(attempts=4),
            log=log,
        )
        async with client:
            egress = None
            if checked.source_id and checked.destination_id:
                egress = await _egress(client, checked, checked.source_id, checked.destination_id)
            source = None
            if checked.source_id:
                source = await _ingress(client, checked, checked.source_id)
            frigade = None
            if checked.frigade_source_id:
                if checked.frigade_source_id == checked.source_id and source is not None:
                    frigade = source
                else:
                    frigade = await _ingress(client, checked, checked.frigade_source_id)
        return egress, source, frigade

    egress, source, frigade = asyncio.run(read())
    results = [_judge(gate, egress, frigade) for gate in checked.gates]
    return DeliveriesReport(checked.window, target.shown_as, egress, source, frigade, results)


def _judge(gate: Gate, egress: Egress | None, frigade: Ingress | None) -> GateResult:
    if gate.name == "max_failure_rate":
        assert egress is not None
        rate = egress.failure_rate
        return GateResult(gate, rate, rate is None or rate <= gate.limit)
    if gate.name == "min_delivered":
        assert egress is not None
        return GateResult(gate, egress.delivered, egress.delivered >= gate.limit)
    assert frigade is not None
    return GateResult(gate, frigade.received, frigade.received >= gate.limit)


async def _metric(
    client: SegmentPublicApi,
    checked: Plan,
    name: str,
    source_id: str,
    destination_id: str | None,
    group_by: list[str],
) -> Metric:
    w = checked.window
    return await client.delivery_overview(
        name,
        source_id=source_id,
        destination_id=destination_id,
        start=w.start,
        end=w.end,
        granularity=w.granularity,
        group_by=group_by,
    )


def _reasons(metric: Metric) -> list[Reason]:
    return [
        Reason(reason or "(none given)", count, delivery_failure_meaning(reason))
        for reason, count in metric.by("discardReason")
        if count
    ]


def _times(checked: Plan, *metrics: Metric) -> list[str]:
    """Bucket times in order: the window's, else those the answers hold."""
    from frigade_cli.kernel.clock import iso_from_ms

    seen = {t for m in metrics for t in m.series()}
    expected = [iso_from_ms(t) for t in bucket_starts(checked.window)]
    return expected if seen <= set(expected) else sorted(seen | set(expected))


async def _egress(
    client: SegmentPublicApi, checked: Plan, source_id: str, destination_id: str
) -> Egress:
    delivered = await _metric(
        client, checked, SUCCESSFUL_DELIVERY, source_id, destination_id, checked.group_by
    )
    by_reason = ["discardReason", *[d for d in checked.group_by if d != "discardReason"]]
    failed = await _metric(client, checked, FAILED_DELIVERY, source_id, destination_id, by_reason)
    filtered = await _metric(
        client, checked, FILTERED_AT_DESTINATION, source_id, destination_id, ["discardReason"]
    )
    series_d, series_f, series_x = delivered.series(), failed.series(), filtered.series()
    groups = []
    if checked.group_by:
        for outcome, metric in (("delivered", delivered), ("failed", failed)):
            for row in metric.rows:
                shown = {d: row.dimensions.get(d) for d in checked.group_by}
                groups.append({"outcome": outcome, **shown, "total": row.total})
    return Egress(
        source_id,
        destination_id,
        delivered=delivered.total,
        failed=failed.total,
        filtered=filtered.total,
        retries=delivered.retries + failed.retries,
        discard_reasons=_reasons(failed),
        filtered_reasons=_reasons(filtered),
        series=[
            (t, series_d.get(t, 0), series_f.get(t, 0), series_x.get(t, 0))
            for t in _times(checked, delivered, failed, filtered)
        ],
        groups=groups,
    )


async def _ingress(client: SegmentPublicApi, checked: Plan, source_id: str) -> Ingress:
    received = await _metric(client, checked, SUCCESSFULLY_RECEIVED, source_id, None, [])
    failed = await _metric(client, checked, FAILED_ON_INGEST, source_id, None, ["discardReason"])
    filtered = await _metric(client, checked, FILTERED_AT_SOURCE, source_id, None, [])
    series_r, series_f = received.series(), failed.series()
    return Ingress(
        source_id,
        received=received.total,
        failed_on_ingest=failed.total,
        filtered_at_source=filtered.total,
        reasons=_reasons(failed),
        series=[
            (t, series_r.get(t, 0), series_f.get(t, 0)) for t in _times(checked, received, failed)
        ],
    )


# The command --------------------------------------------------------------------------------------
def run_deliveries(app: App, req: DeliveriesRequest) -> DeliveriesReport:
    """Plan, find the Public API (or a sandbox's), read; the report (rendering is the caller's).

    Raises InputError (3) for bad settings before anything is sent; AuthError (4) and
    UpstreamError (5) from reading. `raise_for_gates` turns a breached gate into exit 6.
    """
    if req.sandbox_url and not req.sandbox:
        raise UsageError("--sandbox-url needs --sandbox")
    if req.sandbox:
        from frigade_cli.sandbox.delivery_overview import FRIGADE_SOURCE_ID, SOURCE_ID
        from frigade_cli.sandbox.public_api import DESTINATION_ID

        if req.public_api_url:
            raise UsageError(
                "--sandbox reads the sandbox's own Public API: drop --segment-public-api-url"
            )
        req = replace(
            req,
            source_id=req.source_id or SOURCE_ID,
            destination_id=req.destination_id or DESTINATION_ID,
            frigade_source_id=req.frigade_source_id or FRIGADE_SOURCE_ID,
        )
    checked = plan(req)
    with public_api_target(
        app, req.token, req.public_api_url, req.sandbox, req.sandbox_url, req.timeout
    ) as target:
        return read_deliveries(app, target, checked, req.timeout)


@contextmanager
def public_api_target(
    app: App,
    token: str | None,
    public_api_url: str | None,
    sandbox: bool,
    sandbox_url: str | None,
    timeout: float,
) -> Iterator[PublicApiTarget]:
    """Segment's Public API with the configured token; or a sandbox's: a running one
    (`sandbox_url`; `token`, from a flag or the environment, wins over its own key) or a fresh
    one, stopped on exit."""
    if not sandbox:
        from frigade_cli.clients.segment_public_api import DEFAULT_URL, TOKEN_HELP

        found = app.setting("segment_public_api_token", token)
        if not found:
            raise InputError("no Segment Public API token", hint=TOKEN_HELP)
        base = public_api_url or DEFAULT_URL
        yield PublicApiTarget(base, found, f"Segment's Public API at {base}")
        return
    if sandbox_url:
        from frigade_cli.clients.sandbox_control import read_sandbox

        if token is None:
            shown = read_sandbox(sandbox_url, timeout)
            token = shown.require("api_key", "--token")
            base = shown.url
        else:
            base = sandbox_url.rstrip("/")
        yield PublicApiTarget(base + PUBLIC_API_PATH, token, f"sandbox {base}")
        return
    from frigade_cli.sandbox import SandboxConfig, run_sandbox

    with run_sandbox(SandboxConfig(port=0)) as running:
        app.terminal.info(f"sandbox started at {running.url}")
        yield PublicApiTarget(
            running.url + PUBLIC_API_PATH, running.api_key, f"sandbox {running.url}"
        )


def raise_for_gates(report: DeliveriesReport) -> None:
    """ThresholdBreached (exit 6) naming each breached gate, after the report is shown."""
    breached = [g for g in report.gates if not g.passed]
    if breached:
        raise ThresholdBreached(
            "deliveries gate breached: " + "; ".join(g.describe() for g in breached)
        )
