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
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from frigade_cli.frigade.rules import check_webhook_key
from frigade_cli.kernel.app import App
from frigade_cli.kernel.clock import iso_from_ms, now_ms
from frigade_cli.kernel.config import DEFAULT_API_URL, DEFAULT_SEGMENT_API_URL, WEBHOOK_PATH
from frigade_cli.kernel.durations import finite, parse_duration
from frigade_cli.kernel.errors import (
    AuthError,
    FrigadeCliError,
    InputError,
    Interrupted,
    Terminated,
    ThresholdBreached,
    UpstreamError,
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
    Gate,
    LatencyReport,
    PathResult,
    Sample,
    WaitEstimate,
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

Progress = Callable[[PathResult, "Sample | None"], None]


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
        }


def _duration(value: str | None, flag: str) -> float | None:
    return None if value is None else parse_duration(value, flag)


def plan(app: App, req: LatencyCheckRequest) -> Plan:
    """Check every setting and pick the paths; InputError (exit 3) before anything is sent."""
    if req.compare and req.path:
        raise InputError("--compare measures every path: drop --path")
    path = req.path or "segment"
    if path not in PATHS:
        raise InputError(f"--path {path!r}: choose one of {', '.join(PATHS)}")
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
    if req.events_per_day is not None and not finite(req.events_per_day, "--events-per-day") > 0:
        raise InputError("--events-per-day must be above 0")
    batch_size = req.batch_size if req.batch_size is not None else DEFAULT_BATCH_SIZE
    if not MIN_BATCH_SIZE <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(
            f"--batch-size {batch_size}: Segment allows {MIN_BATCH_SIZE} to {MAX_BATCH_SIZE}"
        )
    flush = _duration(req.flush_interval, "--flush-interval")
    if flush is not None and not req.sandbox:
        raise InputError(
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
            raise InputError(f"--sandbox uses its own URLs and keys: drop {', '.join(given)}")
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
        # --webhook-url, else the profile's webhook_url, else this run's API URL + the path.
        explicit = app.setting("webhook_url", req.webhook_url)
        result.webhook_url = check_url(
            explicit or result.api_url + WEBHOOK_PATH, carries_secret=True, what="webhook URL"
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
    checked = plan(app, req)
    if not checked.sandbox:
        return _measure_all(app, checked, progress)
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
        return _measure_all(app, checked, progress)


def _measure_all(app: App, checked: Plan, progress: Progress | None) -> LatencyReport:
    report = LatencyReport(
        settings=checked.settings(), gates=checked.gates, started_at=iso_from_ms(now_ms())
    )
    for path, reason in checked.skipped.items():
        app.terminal.warn(f"skipping the {path} path: {reason}")
    runner = _Runner(app, checked, report, progress)
    # Ctrl-C and SIGTERM stop the measuring; the report of what was measured still gets out.
    with StopSignals() as signals:
        signals.on_signal(lambda n: runner.stop())
        interrupted = False
        try:
            asyncio.run(runner.run())
        except (KeyboardInterrupt, asyncio.CancelledError):
            interrupted = True  # off the main thread, Ctrl-C still arrives as KeyboardInterrupt
        except FrigadeCliError as exc:
            # Settings were fine, so the report (with this error) is still shown before exiting.
            report.error = exc
        if interrupted or signals.requested:
            report.interrupted = True
            report.terminated = signals.exit_code == ExitCode.TERMINATED
            for result in report.results:
                for sample in result.samples:
                    if not sample.arrived and sample.error is None:
                        sample.interrupted = True
                        sample.error = "interrupted before it was seen"
    _add_model(checked, report)
    return report


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
    back at all; ThresholdBreached (6) when a gate is breached."""
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
    breached = [g for g in report.gate_results if not g.passed]
    if breached:
        segment = report.result("segment")
        silent = segment is not None and not segment.arrived and not report.settings["sandbox"]
        raise ThresholdBreached(
            "latency gate breached: " + "; ".join(f"{g.path} {g.describe()}" for g in breached),
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
                sample = Sample(n, path, f"{USER_PREFIX}{checked.run_id}-{path}-{n:03d}")
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
