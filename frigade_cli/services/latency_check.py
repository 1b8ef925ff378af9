"""The latency-check service: send marked events by one or more paths, read them back, measure.

A sample is one uniquely marked track event (`properties.marker` the marker, and `messageId` too)
for a user whose id starts with `frigade-cli-latency-`; it is found in the read-back by its
`properties.marker` alone, since Frigade's tracking events carry only `{event, properties,
createdAt}`. Its latency is the time on this machine's monotonic clock from just before the
send to the end of the first read-back (`GET /v1/users?userId=`) that shows it. Read-backs
start at once and back off (10 ms, x1.5 each time, up to `--poll-max`), so the figure's error
bar — the gap since the previous read-back that did not show it — is measured per sample and
reported. A sample not seen within `--timeout` is
a failure, reported with its marker.

Paths: `segment` (Segment's tracking API, so batching and delivery are measured too), `direct`
(Frigade's Segment webhook, posted as Segment posts it), `api` (`POST /v1/public/users`).

With a baseline (a previous run's `--json` report) every path's p50, p95 and p99 are compared
with it by a seeded bootstrap (`latency.compare_to_baseline`). A user id the run generated is
deleted afterwards (`DELETE /v1/users?userId=`) unless it is to be kept; one the user gave never
is. `monitor` repeats the run every `--every` until stopped, on one sandbox and one user id.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frigade_cli.clients.frigade_webhook import webhook_url
from frigade_cli.frigade.rules import check_webhook_key
from frigade_cli.kernel.app import App
from frigade_cli.kernel.clock import iso_from_ms, now_ms
from frigade_cli.kernel.config import DEFAULT_API_URL, DEFAULT_SEGMENT_API_URL
from frigade_cli.kernel.durations import finite, parse_duration
from frigade_cli.kernel.errors import (
    AuthError,
    FrigadeCliError,
    InputError,
    Interrupted,
    Terminated,
    ThresholdBreached,
    UpstreamError,
    UsageError,
)
from frigade_cli.kernel.exit_codes import ExitCode
from frigade_cli.kernel.http import RetryPolicy, check_url
from frigade_cli.kernel.interrupts import StopSignals
from frigade_cli.kernel.keys import strip_bearer
from frigade_cli.kernel.latency import (
    GATE_FIGURES,
    MARKER_EVENT,
    PATH_HELP,
    PATHS,
    USER_PREFIX,
    Baseline,
    Gate,
    LatencyReport,
    PathResult,
    RegressionGate,
    Sample,
    UserCleanup,
    WaitEstimate,
    compare_to_baseline,
)
from frigade_cli.kernel.redact import redact_key
from frigade_cli.segment.batching import MAX_BATCH_SIZE, MIN_BATCH_SIZE

if TYPE_CHECKING:
    import httpx

    from frigade_cli.clients.frigade import FrigadeClient, TrackingEvent
    from frigade_cli.clients.segment_tracking import SegmentTrackingClient

POLL_MIN_S = 0.01
POLL_FACTOR = 1.5
DEFAULT_BATCH_SIZE = 100  # Frigade's recommended mapping
# Sends and read-backs retry briefly: a long backoff would only inflate the figure it measures.
MEASURE_RETRY = RetryPolicy(attempts=3, base=0.05, cap=0.5, max_retry_after=2.0)

WAIT_STEP_S = 0.05  # how soon a monitor waiting for its next round notices a signal
CLEANUP_TIMEOUT_S = 10.0  # the deletion after a run must not hold up its exit for long

Progress = Callable[[PathResult, "Sample | None"], None]
RoundDone = Callable[[LatencyReport], None]


@dataclass
class LatencyCheckRequest:
    """Everything `frigade segment latency-check` was asked to do (durations as typed)."""

    path: str | None = None
    compare: bool = False
    sandbox: bool = False
    samples: int = 20
    interval: str = "0"
    concurrency: int = 1
    timeout: str = "30s"
    poll_max: str | None = None  # 100ms; 20ms on the sandbox, where read-backs cost nothing
    batch_size: int | None = None
    flush_interval: str | None = None
    max_p50: str | None = None
    max_p95: str | None = None
    max_p99: str | None = None
    max_failures: int = 0
    events_per_day: float | None = None
    api_key: str | None = None
    api_url: str | None = None
    webhook_url: str | None = None
    write_key: str | None = None
    segment_url: str | None = None
    user_id: str | None = None
    baseline: Path | None = None
    max_regression: list[str] = field(default_factory=list)
    seed: int = 0
    keep_user: bool = False
    every: str | None = None
    rounds: int | None = None


@dataclass
class Plan:
    """The checked settings of a run; nothing has been sent when it exists."""

    paths: list[str]
    samples: int
    interval_s: float
    concurrency: int
    timeout_s: float
    poll_max_s: float
    gates: list[Gate]
    batch_size: int
    flush_interval_s: float | None
    events_per_day: float | None
    user_id: str
    run_id: str
    sandbox: bool
    api_key: str | None = None
    api_url: str = DEFAULT_API_URL
    webhook_url: str | None = None
    write_key: str | None = None
    segment_url: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    baseline: Baseline | None = None
    regression_gates: list[RegressionGate] = field(default_factory=list)
    seed: int = 0
    delete_user: bool = False  # the user id was generated and is not to be kept
    every_s: float | None = None  # monitor mode: a round starts this often
    rounds: int | None = None  # monitor mode: stop after this many rounds

    def settings(self) -> dict[str, Any]:
        """The settings as the JSON report shows them (no keys)."""
        return {
            "paths": self.paths,
            "samples": self.samples,
            "interval_s": self.interval_s,
            "concurrency": self.concurrency,
            "timeout_s": self.timeout_s,
            "poll": {
                "first_ms": POLL_MIN_S * 1000,
                "factor": POLL_FACTOR,
                "max_ms": round(self.poll_max_s * 1000, 3),
            },
            "gates": {g.figure: g.limit for g in self.gates},
            "sandbox": self.sandbox,
            "batch_size": self.batch_size,
            "flush_interval_s": self.flush_interval_s,
            "events_per_day": self.events_per_day,
            "user_id": self.user_id,
            "frigade_url": self.api_url,
            "webhook_url": self.webhook_url if "direct" in self.paths else None,
            "segment_url": self.segment_url if "segment" in self.paths else None,
            "skipped_paths": self.skipped,
            "every_s": self.every_s,
        }


def _duration(value: str | None, flag: str) -> float | None:
    return None if value is None else parse_duration(value, flag)


def parse_max_regression(values: list[str]) -> list[RegressionGate]:
    """`20%` (p50, p95 and p99) or `p95=20%`, repeatable; a percentile named on its own wins
    over a value for all three. InputError (exit 3) for anything else."""
    general: float | None = None
    named: dict[str, float] = {}
    for raw in values:
        figure, sep, amount = raw.strip().partition("=")
        if not sep:
            figure, amount = "", figure
        figure = figure.strip().lower()
        if figure and figure not in GATE_FIGURES:
            raise InputError(
                f"--max-regression {raw!r}: the percentile is one of {', '.join(GATE_FIGURES)}"
            )
        amount = amount.strip()
        try:
            if not amount.endswith("%"):
                raise ValueError
            fraction = finite(float(amount[:-1]), "--max-regression") / 100
        except (ValueError, InputError):
            raise InputError(
                f"--max-regression {raw!r}: give a percentage, e.g. 20% or p95=20%"
            ) from None
        if fraction < 0:
            raise InputError(f"--max-regression {raw!r} must not be negative")
        if figure:
            named[figure] = fraction
        else:
            general = fraction
    gates = []
    for figure in GATE_FIGURES:
        limit = named.get(figure, general)
        if limit is not None:
            gates.append(RegressionGate(figure, limit))
    return gates


def load_baseline(path: Path) -> Baseline:
    """A previous run's `--json` report (or the last line of a monitor's JSON Lines) read from
    `path`; InputError (exit 3) when it cannot be read or holds no samples."""
    import json

    from frigade_cli.kernel.latency import baseline_from_report

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--baseline {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"--baseline {path}: not a latency-check --json report") from None
    try:
        document = json.loads(text)
    except ValueError:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            document = json.loads(lines[-1]) if lines else None
        except ValueError:
            document = None
    baseline = baseline_from_report(document, str(path))
    if baseline is None:
        raise InputError(
            f"--baseline {path}: not a latency-check --json report (no each_sample)",
            hint="save one with --save-baseline FILE, or --json > FILE",
        )
    if not any(baseline.samples.values()):
        raise InputError(f"--baseline {path}: no sample of that run arrived, nothing to compare")
    return baseline


def plan(app: App, req: LatencyCheckRequest) -> Plan:
    """Check every setting and pick the paths; InputError (exit 3) before anything is sent."""
    if req.compare and req.path:
        raise UsageError("--compare measures every path: drop --path")
    path = req.path or "segment"
    if path not in PATHS:
        raise UsageError(f"--path {path!r}: choose one of {', '.join(PATHS)}")
    if req.samples < 1:
        raise InputError("--samples must be at least 1")
    if req.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    if req.max_failures < 0:
        raise InputError("--max-failures must not be negative")
    interval = parse_duration(req.interval, "--interval")
    timeout = parse_duration(req.timeout, "--timeout")
    if timeout <= 0:
        raise InputError("--timeout must be above 0")
    poll_max = parse_duration(req.poll_max or ("20ms" if req.sandbox else "100ms"), "--poll-max")
    if poll_max < POLL_MIN_S:
        raise InputError(f"--poll-max must be at least {POLL_MIN_S * 1000:g}ms")
    gates = []
    for figure, value in zip(GATE_FIGURES, (req.max_p50, req.max_p95, req.max_p99), strict=True):
        seconds = _duration(value, f"--max-{figure}")
        if seconds is not None:
            gates.append(Gate(figure, seconds * 1000))
    gates.append(Gate("failures", req.max_failures))
    regression_gates = parse_max_regression(req.max_regression)
    if regression_gates and req.baseline is None:
        raise UsageError("--max-regression compares with a baseline: add --baseline FILE")
    every = _duration(req.every, "--every")
    if every is not None and every <= 0:
        raise InputError("--every must be above 0")
    if req.rounds is not None and every is None:
        raise UsageError("--rounds counts the rounds of a monitor: add --every")
    if req.rounds is not None and req.rounds < 1:
        raise InputError("--rounds must be at least 1")
    baseline = load_baseline(req.baseline) if req.baseline is not None else None
    if req.events_per_day is not None and not finite(req.events_per_day, "--events-per-day") > 0:
        raise InputError("--events-per-day must be above 0")
    batch_size = req.batch_size if req.batch_size is not None else DEFAULT_BATCH_SIZE
    if not MIN_BATCH_SIZE <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(
            f"--batch-size {batch_size}: Segment allows {MIN_BATCH_SIZE} to {MAX_BATCH_SIZE}"
        )
    flush = _duration(req.flush_interval, "--flush-interval")
    if flush is not None and not req.sandbox:
        raise UsageError(
            "--flush-interval sets the sandbox's destination: add --sandbox (Segment's own "
            "batch wait is not configurable; it can reach about a minute)"
        )
    user_id = req.user_id or ""
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)
    if req.user_id is not None and not req.user_id.startswith(USER_PREFIX):
        raise InputError(
            f"--user-id must start with {USER_PREFIX!r}, so marked events can be told apart "
            "from real traffic and cleaned up"
        )
    if any("\ud800" <= c <= "\udfff" for c in user_id):
        # A command line that is not UTF-8 (Python keeps its bytes as lone surrogates): JSON
        # cannot carry it to Frigade.
        raise InputError("--user-id holds bytes that are not UTF-8: give it in UTF-8")
    result = Plan(
        paths=list(PATHS) if req.compare else [path],
        samples=req.samples,
        interval_s=interval,
        concurrency=req.concurrency,
        timeout_s=timeout,
        poll_max_s=poll_max,
        gates=gates,
        batch_size=batch_size,
        flush_interval_s=flush,
        events_per_day=req.events_per_day,
        user_id=user_id or USER_PREFIX + run_id,
        run_id=run_id,
        sandbox=req.sandbox,
        baseline=baseline,
        regression_gates=regression_gates,
        seed=req.seed,
        delete_user=req.user_id is None and not req.keep_user,
        every_s=every,
        rounds=req.rounds,
    )
    if baseline is not None and not set(baseline.samples) & set(result.paths):
        raise InputError(
            f"--baseline {baseline.source}: it measured {', '.join(sorted(baseline.samples))}, "
            f"this run measures {', '.join(result.paths)}: nothing to compare"
        )
    if req.sandbox:
        given = [
            flag
            for flag, value in (
                ("--api-key", req.api_key),
                ("--api-url", req.api_url),
                ("--webhook-url", req.webhook_url),
                ("--write-key", req.write_key),
                ("--segment-url", req.segment_url),
            )
            if value
        ]
        if given:
            raise UsageError(f"--sandbox uses its own URLs and keys: drop {', '.join(given)}")
        if result.flush_interval_s is None:
            from frigade_cli.sandbox.config import DEFAULT_FLUSH_INTERVAL

            result.flush_interval_s = DEFAULT_FLUSH_INTERVAL
        return result
    _real_workspace(app, req, result)
    return result


def _real_workspace(app: App, req: LatencyCheckRequest, result: Plan) -> None:
    """Keys and URLs from flags, env and profile; the paths that can run with them."""
    app.terminal.add_secret(req.api_key, req.write_key)
    given = app.setting("api_key", req.api_key)
    if given and strip_bearer(given).startswith("api_public_"):
        raise InputError(
            f"{redact_key(given)} is a public key; reading the marked events back from Frigade "
            "(GET /v1/users) needs the private key (api_private_...)",
            hint="copy the private key from the Frigade dashboard",
        )
    key = check_webhook_key(given)
    app.terminal.add_secret(key)
    result.api_key = key
    result.api_url = check_url(
        (app.setting("api_url", req.api_url) or DEFAULT_API_URL).rstrip("/"),
        carries_secret=True,
        what="Frigade API URL",
    )
    write_key = app.setting("segment_write_key", req.write_key)
    result.write_key = write_key.strip() if write_key else None
    result.segment_url = check_url(
        (app.setting("segment_api_url", req.segment_url) or DEFAULT_SEGMENT_API_URL).rstrip("/"),
        carries_secret=True,
        what="Segment API URL",
    )
    if "direct" in result.paths:
        result.webhook_url = check_url(
            webhook_url(app, req.webhook_url, req.api_url), carries_secret=True, what="webhook URL"
        )
    if "segment" in result.paths and not result.write_key:
        if not req.compare:
            raise InputError(
                "the segment path needs the write key of a Segment HTTP API source connected "
                "to Frigade's webhook",
                hint="pass --write-key or set SEGMENT_WRITE_KEY; or measure --path direct or "
                "--path api, or try it all locally with --sandbox",
            )
        result.paths.remove("segment")
        result.skipped["segment"] = "no Segment write key"


# Running ------------------------------------------------------------------------------------------
def run_latency_check(
    app: App, req: LatencyCheckRequest, progress: Progress | None = None
) -> LatencyReport:
    """Plan, then measure every path (on a fresh sandbox with `--sandbox`); the report.

    Raises InputError (3) for bad settings, before anything is sent; nothing after that. A
    rejected key (4, on the first read-back or during the run), an unreachable Frigade or its
    monthly-active-user cap (5) ends the run and is kept in the report's `error`, for
    `raise_for_outcome` to raise once the report is shown; other failures are recorded per
    sample. Ctrl-C or SIGTERM returns the report so far with `interrupted` (and `terminated` for
    SIGTERM) set; samples then in flight are marked `interrupted`, not failures.
    """
    return measure(app, plan(app, req), progress)


def measure(app: App, checked: Plan, progress: Progress | None = None) -> LatencyReport:
    """One run of a checked plan (see `run_latency_check`)."""
    with _environment(app, checked), StopSignals() as signals:
        return _measure_all(app, checked, progress, signals)


@dataclass
class MonitorOutcome:
    """How a monitor ended: after `rounds` rounds, by a signal (`stop_signal` 2 or 15) that came
    between rounds or cut the last one short (`cut_short`), or by a key that stopped working."""

    rounds: int = 0
    stop_signal: int | None = None
    terminated: bool = False
    cut_short: bool = False
    error: FrigadeCliError | None = None


def monitor(
    app: App, checked: Plan, on_round: RoundDone, progress: Progress | None = None
) -> MonitorOutcome:
    """Run a round every `checked.every_s` (from the start of one to the next; at once when a
    round took longer) until `checked.rounds` are done or SIGINT/SIGTERM arrives.

    Each round's report goes to `on_round` as soon as it is complete. A signal while waiting ends
    the monitor cleanly; one during a round cuts it short (its report is `interrupted`) and ends
    it. A rejected key ends it with that error; any other failure of a round is in its report and
    the next round runs. One sandbox and one user id serve every round.
    """
    assert checked.every_s is not None
    outcome = MonitorOutcome()
    with _environment(app, checked), StopSignals() as signals:
        while checked.rounds is None or outcome.rounds < checked.rounds:
            if signals.requested:  # stopped before the first round began
                break
            started = time.monotonic()
            outcome.rounds += 1
            report = _measure_all(app, checked, progress, signals, round_no=outcome.rounds)
            on_round(report)
            if report.interrupted:
                outcome.cut_short = True
                break
            if isinstance(report.error, AuthError):
                outcome.error = report.error
                break
            if checked.rounds is not None and outcome.rounds >= checked.rounds:
                break
            # Short sleeps rather than an Event: a signal handler must not take a lock.
            due = started + checked.every_s
            while not signals.requested and time.monotonic() < due:
                time.sleep(min(WAIT_STEP_S, max(0.0, due - time.monotonic())))
            if signals.requested:
                break
        if signals.requested:
            outcome.stop_signal = signals.received[0]
            outcome.terminated = signals.exit_code == ExitCode.TERMINATED
    return outcome


def raise_for_monitor(outcome: MonitorOutcome) -> None:
    """After the last round: Interrupted (130) / Terminated (143) when a signal cut a round
    short; the AuthError (4) that ended it; nothing (exit 0) after a stop between rounds or the
    last of `--rounds`."""
    if outcome.cut_short:
        if outcome.terminated:
            raise Terminated(f"terminated during round {outcome.rounds}: its report is partial")
        raise Interrupted(f"interrupted during round {outcome.rounds}: its report is partial")
    if outcome.error is not None:
        raise outcome.error


@contextlib.contextmanager
def _environment(app: App, checked: Plan) -> Iterator[None]:
    """A sandbox for the plan's lifetime with `--sandbox` (its URLs and keys put in the plan)."""
    for path, reason in checked.skipped.items():
        app.terminal.warn(f"skipping the {path} path: {reason}")
    if not checked.sandbox:
        yield
        return
    from frigade_cli.sandbox import DestinationConfig, SandboxConfig, run_sandbox

    assert checked.flush_interval_s is not None
    config = SandboxConfig(
        port=0,
        destination=DestinationConfig(
            batch_size=checked.batch_size, flush_interval=checked.flush_interval_s
        ),
    ).validate()
    log = app.terminal.debug if app.terminal.verbose else None
    with run_sandbox(config, log=log) as sandbox:
        app.terminal.info(
            f"sandbox started at {sandbox.url} (batch size {checked.batch_size}, flush interval "
            f"{checked.flush_interval_s:g}s)"
        )
        checked.api_key, checked.write_key = sandbox.api_key, sandbox.write_key
        checked.api_url, checked.webhook_url = sandbox.url, sandbox.webhook_url
        checked.segment_url = sandbox.segment_url
        app.terminal.add_secret(sandbox.api_key, sandbox.write_key)
        yield


def _measure_all(
    app: App,
    checked: Plan,
    progress: Progress | None,
    signals: StopSignals,
    round_no: int | None = None,
) -> LatencyReport:
    report = LatencyReport(
        settings=checked.settings(),
        gates=checked.gates,
        started_at=iso_from_ms(now_ms()),
        baseline=checked.baseline,
        regression_gates=checked.regression_gates,
        seed=checked.seed,
        round=round_no,
    )
    runner = _Runner(app, checked, report, progress)

    # Ctrl-C and SIGTERM stop the measuring; the report of what was measured still gets out.
    def stop_callback(n: int) -> None:
        runner.stop()

    signals.on_signal(stop_callback)
    interrupted = signals.requested
    if not interrupted:
        try:
            asyncio.run(runner.run())
        except (KeyboardInterrupt, asyncio.CancelledError):
            interrupted = True  # off the main thread, Ctrl-C still arrives as KeyboardInterrupt
        except FrigadeCliError as exc:
            # Settings were fine, so the report (with this error) is still shown before exiting.
            report.error = exc
    signals.remove(stop_callback)
    if interrupted or signals.requested:
        report.interrupted = True
        report.terminated = signals.exit_code == ExitCode.TERMINATED
        for result in report.results:
            for sample in result.samples:
                if not sample.arrived and sample.error is None:
                    sample.interrupted = True
                    sample.error = "interrupted before it was seen"
    if checked.delete_user and any(s.sent_at for r in report.results for s in r.samples):
        report.cleanup = _delete_user(app, checked)
    if checked.baseline is not None:
        report.regressions = compare_to_baseline(
            report.results, checked.baseline, checked.regression_gates, seed=checked.seed
        )
    _add_model(checked, report)
    return report


def _delete_user(app: App, checked: Plan) -> UserCleanup:
    """`DELETE /v1/users?userId=` for the run's generated user; a failure is kept, not raised."""
    from frigade_cli.clients.frigade import FrigadeClient
    from frigade_cli.kernel.http import make_client

    cleanup = UserCleanup(checked.user_id)
    key = checked.api_key
    assert key is not None

    async def delete() -> bool:
        async with make_client(timeout=CLEANUP_TIMEOUT_S) as http:
            client = FrigadeClient(key, base_url=checked.api_url, http=http, policy=MEASURE_RETRY)
            return await asyncio.wait_for(
                client.delete_user(checked.user_id), timeout=CLEANUP_TIMEOUT_S
            )

    try:
        cleanup.deleted = asyncio.run(delete())
        if not cleanup.deleted:
            cleanup.error = "Frigade has no such user (none of its events arrived)"
    except FrigadeCliError as exc:
        cleanup.error = exc.message
    except (asyncio.TimeoutError, KeyboardInterrupt, asyncio.CancelledError):
        cleanup.error = f"no answer within {CLEANUP_TIMEOUT_S:g}s"
    if cleanup.error:
        app.terminal.warn(f"could not delete the user {checked.user_id}: {cleanup.error}")
    return cleanup


def _add_model(checked: Plan, report: LatencyReport) -> None:
    """The batch-wait model for the sandbox's own traffic, and at --events-per-day."""
    from frigade_cli.segment.batch_wait import (
        DEFAULT_MAX_WAIT_S,
        DEFAULT_TARGET_WAIT_S,
        batch_wait,
        largest_batch_size,
    )

    max_wait = checked.flush_interval_s if checked.sandbox else DEFAULT_MAX_WAIT_S
    assert max_wait is not None
    if checked.sandbox and "segment" in checked.paths and checked.concurrency == 1:
        # The sandbox's source carries nothing but the samples, one at a time: no other event
        # arrives while a sample's batch waits, which is the model at zero background traffic.
        wait = batch_wait(0.0, checked.batch_size, max_wait)
        report.model = WaitEstimate(
            0.0,
            checked.batch_size,
            max_wait,
            wait.expected_s * 1000,
            wait.p95_s * 1000,
            wait.expected_fill,
        )
    if checked.events_per_day is not None:
        limits = [g.limit for g in checked.gates if g.figure != "failures"]
        target_s = min(limits) / 1000 if limits else DEFAULT_TARGET_WAIT_S
        wait = batch_wait(checked.events_per_day, checked.batch_size, max_wait)
        report.advice = WaitEstimate(
            checked.events_per_day,
            checked.batch_size,
            max_wait,
            wait.expected_s * 1000,
            wait.p95_s * 1000,
            wait.expected_fill,
            target_s * 1000,
            largest_batch_size(checked.events_per_day, target_s, max_wait),
        )


def raise_for_outcome(report: LatencyReport) -> None:
    """After the report is shown: Interrupted (130) or Terminated (143); the error that ended the
    run (AuthError 4, UpstreamError 5); UpstreamError (5) when no sample could be sent or read
    back at all; ThresholdBreached (6) when a gate is breached, a regression gate included (its
    whole confidence interval above the limit)."""
    if report.interrupted:
        if report.terminated:
            raise Terminated("terminated: the report shows the samples measured so far")
        raise Interrupted("interrupted: the report shows the samples measured so far")
    if report.error is not None:
        raise report.error
    for result in report.results:
        errors = [s.error for s in result.failures if s.error and not s.timed_out]
        if not result.arrived and errors:
            raise UpstreamError(f"the {result.path} path failed for every sample: {errors[0]}")
    breached = [f"{g.path} {g.describe()}" for g in report.gate_results if not g.passed]
    breached += [f"{r.path} {r.describe()}" for r in report.regressions if not r.passed]
    if breached:
        segment = report.result("segment")
        silent = segment is not None and not segment.arrived and not report.settings["sandbox"]
        raise ThresholdBreached(
            "latency gate breached: " + "; ".join(breached),
            hint=(
                "no event sent through Segment reached Frigade; Segment answers 200 even to a "
                "wrong write key, so check the key, that the source feeds a Webhooks (Actions) "
                "destination pointed at Frigade, and that its mapping subscribes to track events"
            )
            if silent
            else None,
        )


class _Runner:
    """One event loop's worth of measuring: shared HTTP client, clients, and the samples."""

    # Made in run(), on the event loop they belong to.
    http: httpx.AsyncClient
    frigade: FrigadeClient
    segment: SegmentTrackingClient | None

    def __init__(
        self, app: App, checked: Plan, report: LatencyReport, progress: Progress | None
    ) -> None:
        self.app = app
        self.plan = checked
        self.report = report
        self.progress = progress
        self.fatal: BaseException | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.main: asyncio.Task[Any] | None = None

    def stop(self) -> None:
        """Cancel the run from a signal handler (only the loop's wakeup pipe is touched)."""
        self.stopping = True
        if self.loop is not None and self.main is not None:
            self.loop.call_soon_threadsafe(self.main.cancel)

    async def run(self) -> None:
        from frigade_cli.clients.frigade import FrigadeClient
        from frigade_cli.clients.segment_tracking import SegmentTrackingClient
        from frigade_cli.kernel.http import make_client

        self.loop, self.main = asyncio.get_running_loop(), asyncio.current_task()
        if self.stopping:
            raise asyncio.CancelledError
        checked = self.plan
        terminal = self.app.terminal
        http_timeout = max(1.0, min(30.0, checked.timeout_s))
        log = terminal.debug if terminal.verbose else None
        async with make_client(
            timeout=http_timeout, log=log, max_connections=max(4, 2 * checked.concurrency)
        ) as http:
            assert checked.api_key is not None
            self.frigade = FrigadeClient(
                checked.api_key, base_url=checked.api_url, http=http, policy=MEASURE_RETRY
            )
            self.segment = None
            if checked.write_key and "segment" in checked.paths:
                assert checked.segment_url is not None
                self.segment = SegmentTrackingClient(
                    checked.write_key,
                    base_url=checked.segment_url,
                    http=http,
                    policy=MEASURE_RETRY,
                )
            self.http = http
            # The key and the URL are checked by a read-back before any event is sent.
            await self.frigade.get_user(checked.user_id)
            for path in checked.paths:
                terminal.info(
                    f"measuring the {path} path ({PATH_HELP[path]}): {checked.samples} "
                    f"sample{'s' if checked.samples != 1 else ''}, user {checked.user_id}"
                )
                await self._measure(path)

    async def _measure(self, path: str) -> None:
        checked = self.plan
        result = PathResult(path, planned=checked.samples)
        self.report.results.append(result)
        if self.progress:
            self.progress(result, None)
        slots = asyncio.Semaphore(checked.concurrency)
        tasks = self.tasks = []
        started = time.monotonic()
        try:
            for n in range(1, checked.samples + 1):
                due = started + (n - 1) * checked.interval_s
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                await slots.acquire()
                if self.fatal is not None:
                    slots.release()
                    break
                # Unique across a monitor's rounds too: Segment drops a messageId it has seen.
                run = checked.run_id + (f"-r{self.report.round}" if self.report.round else "")
                sample = Sample(n, path, f"{USER_PREFIX}{run}-{path}-{n:03d}")
                result.samples.append(sample)
                tasks.append(asyncio.create_task(self._one(result, sample, slots)))
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
            result.duration_s = time.monotonic() - started
        if self.fatal is not None:
            raise self.fatal

    async def _one(
        self,
        result: PathResult,
        sample: Sample,
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            await self._sample(sample)
        except (AuthError, InputError) as exc:
            self._stop(sample, exc)
        except UpstreamError as exc:
            from frigade_cli.clients.frigade import QuotaExhausted

            if isinstance(exc, QuotaExhausted):
                self._stop(sample, exc)
            else:
                sample.error = exc.message
        finally:
            slots.release()
            if self.progress:
                self.progress(result, sample)

    def _stop(self, sample: Sample, exc: BaseException) -> None:
        """A failure every further sample would repeat: end the run with it."""
        sample.error = str(exc)
        if self.fatal is None:
            self.fatal = exc
            for task in self.tasks:
                if task is not asyncio.current_task():
                    task.cancel()

    async def _sample(self, sample: Sample) -> None:
        checked = self.plan
        properties = {"marker": sample.marker, "path": sample.path, "sample": sample.index}
        wall_ms = now_ms()
        sample.sent_at = iso_from_ms(wall_ms)
        started = time.monotonic()
        try:
            await self._send(sample, properties)
        except UpstreamError as exc:
            raise UpstreamError(f"send failed: {exc.message}") from None
        sample.send_ms = (time.monotonic() - started) * 1000
        deadline = started + checked.timeout_s
        previous = started
        delay = POLL_MIN_S
        while True:
            poll_start = time.monotonic()
            try:
                record = await self.frigade.get_user(checked.user_id)
            except UpstreamError as exc:
                from frigade_cli.clients.frigade import QuotaExhausted

                if isinstance(exc, QuotaExhausted):
                    raise
                raise UpstreamError(f"read-back failed: {exc.message}") from None
            poll_end = time.monotonic()
            sample.polls += 1
            event = _find(record.tracking_events if record else [], sample.marker)
            if event is not None:
                sample.latency_ms = (poll_end - started) * 1000
                sample.resolution_ms = (poll_end - previous) * 1000
                sample.server_created_at = event.created_at
                if event.created_at_ms is not None:
                    sample.server_lag_ms = float(event.created_at_ms - wall_ms)
                return
            previous = poll_start
            now = time.monotonic()
            if now >= deadline:
                sample.timed_out = True
                sample.error = f"not seen within {checked.timeout_s:g}s ({sample.polls} read-backs)"
                return
            await asyncio.sleep(min(delay, deadline - now))
            delay = min(delay * POLL_FACTOR, checked.poll_max_s)

    async def _send(self, sample: Sample, properties: dict[str, Any]) -> None:
        checked = self.plan
        if sample.path == "segment":
            assert self.segment is not None
            await self.segment.track(
                MARKER_EVENT,
                user_id=checked.user_id,
                properties=properties,
                messageId=sample.marker,
            )
        elif sample.path == "direct":
            await self._send_direct(sample, properties)
        else:
            await self.frigade.write_user(
                checked.user_id, events=[{"event": MARKER_EVENT, "properties": properties}]
            )

    async def _send_direct(self, sample: Sample, properties: dict[str, Any]) -> None:
        """POST the event to Frigade's webhook as Segment's Webhooks (Actions) batch of one."""
        import httpx

        from frigade_cli.clients.frigade import QuotaExhausted, error_message
        from frigade_cli.clients.frigade_webhook import webhook_headers
        from frigade_cli.clients.segment_tracking import complete_message
        from frigade_cli.frigade.rules import QUOTA_MESSAGE, is_quota_exhausted
        from frigade_cli.kernel.http import is_retryable, send_with_retry
        from frigade_cli.kernel.redact import redact_key
        from frigade_cli.segment.streams import plan_batches

        checked = self.plan
        assert checked.webhook_url is not None and checked.api_key is not None
        now = iso_from_ms(now_ms())
        message = complete_message(
            {
                "type": "track",
                "userId": checked.user_id,
                "event": MARKER_EVENT,
                "properties": properties,
                "messageId": sample.marker,
                "sentAt": now,
                "receivedAt": now,
            },
            now=now,
        )
        batch = plan_batches([message], 1)[0]
        headers = webhook_headers(checked.api_key, batch)
        url = checked.webhook_url

        async def attempt() -> httpx.Response:
            return await self.http.post(url, content=batch.body, headers=headers)

        try:
            response = await send_with_retry(
                attempt,
                MEASURE_RETRY,
                # Frigade's monthly-active-user 429 is final; every other retryable status is not.
                should_retry=lambda r: is_retryable(r.status_code) and not is_quota_exhausted(r),
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(f"cannot reach {url}: {type(exc).__name__}") from None
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                f"Frigade's webhook rejected the key {redact_key(checked.api_key)} "
                f"(HTTP {status}): {error_message(response)}"
            )
        if is_quota_exhausted(response):
            raise QuotaExhausted(QUOTA_MESSAGE)
        if not 200 <= status < 300:
            raise UpstreamError(f"HTTP {status}: {error_message(response)}")


def _find(events: list[TrackingEvent], marker: str) -> TrackingEvent | None:
    for event in events:
        if event.properties.get("marker") == marker:
            return event
    return None
