"""The test-webhook service: build messages, batch them, deliver them, keep what failed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from frigade_cli.clients.delivery_report import DeliveryReport
from frigade_cli.clients.frigade_webhook import WebhookSender, webhook_headers, webhook_url
from frigade_cli.frigade.rules import check_webhook_key
from frigade_cli.kernel.app import App
from frigade_cli.kernel.durations import finite, parse_duration
from frigade_cli.kernel.errors import (
    AuthError,
    FrigadeCliError,
    InputError,
    Interrupted,
    Terminated,
    UnsavedError,
    UpstreamError,
    UsageError,
)
from frigade_cli.kernel.exit_codes import ExitCode
from frigade_cli.kernel.http import RetryPolicy, check_url
from frigade_cli.kernel.interrupts import StopSignals
from frigade_cli.kernel.output import counted
from frigade_cli.kernel.redact import redact_key
from frigade_cli.kernel.spool import check_spool, spool_dir
from frigade_cli.segment.batching import MAX_BATCH_SIZE, Batch, make_batches
from frigade_cli.segment.fixtures import ReadProgress
from frigade_cli.segment.spool_format import SEGMENT_SPOOL
from frigade_cli.segment.streams import iter_batches, parse_types

if TYPE_CHECKING:
    from frigade_cli.sandbox import RunningSandbox


# A larger --count is a typo: at 100,000 events/s a billion already takes hours.
MAX_COUNT = 1_000_000_000


@dataclass
class TestWebhookRequest:
    """Everything `frigade segment test-webhook` was asked to do."""

    url: str | None = None
    api_key: str | None = None
    count: int | None = None
    types: str | None = None
    batch_size: int = 100
    fixtures: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    # At 100 events a request and a 5 ms answer, 4 in flight would cap a run near 80,000/s.
    concurrency: int = 8
    signing_secret: str | None = None
    resend: Path | None = None
    dry_run: bool = False
    retries: int = 4
    timeout: float = 30.0
    max_retry_wait: str | float = 60.0
    seed: int | None = None
    sandbox: bool = False
    json_output: bool = False

    def check(self) -> float:
        """Refuse option values out of range (exit 3) and options that cannot go together (exit
        2), before anything is built or sent; return --max-retry-wait in seconds."""
        if self.resend is not None:
            ignored = [
                flag
                for flag, given in (
                    ("--count", self.count is not None),
                    ("--fixture", bool(self.fixtures)),
                    ("--types", self.types is not None),
                    ("--override", bool(self.overrides)),
                    ("--sandbox", self.sandbox),
                )
                if given
            ]
            if ignored:
                raise UsageError(
                    f"--resend sends the saved messages as they are: drop {', '.join(ignored)}"
                )
        if self.sandbox and (self.url or self.api_key):
            raise UsageError(
                "--sandbox sends to its own webhook with its own key: drop --url and --api-key"
            )
        limits = (
            ("--count", self.count, 1, MAX_COUNT),
            ("--batch-size", self.batch_size, 1, MAX_BATCH_SIZE),
            ("--concurrency", self.concurrency, 1, 64),
            ("--retries", self.retries, 0, 20),
        )
        for flag, value, low, high in limits:
            if value is None:
                continue
            if value < low or (high is not None and value > high):
                allowed = f"from {low} to {high}" if high is not None else f"at least {low}"
                raise InputError(f"{flag} {value} is out of range: use a number {allowed}")
        if not finite(self.timeout, "--timeout") > 0:
            raise InputError(f"--timeout {self.timeout:g} must be more than 0 seconds")
        return parse_duration(self.max_retry_wait, "--max-retry-wait")


class TestWebhookView(Protocol):
    """Where a run's results go as they become known (the render layer's view): the exact
    requests of a dry run, `(method, url, headers, batch)` each, or the summary of a send."""

    def dry_run(
        self, requests: list[tuple[str, str, dict[str, str], Batch]], json_output: bool
    ) -> None: ...

    def summary(self, summary: dict[str, Any], json_output: bool) -> None: ...


def run_test_webhook(
    app: App, req: TestWebhookRequest, view: TestWebhookView
) -> DeliveryReport | None:
    """Do the whole run, handing its results to `view` as they are known; raise the error that
    sets the exit code when it failed (the summary is out by then)."""
    req.check()
    if req.sandbox:
        return _run_on_sandbox(app, req, view)
    return _run(app, req, view)


def _run_on_sandbox(
    app: App, req: TestWebhookRequest, view: TestWebhookView
) -> DeliveryReport | None:
    """The same run against a local sandbox, then a check that Frigade's side ingested it all."""
    # The sandbox's key and URL only: FRIGADE_API_KEY and the profile are for real services.
    from frigade_cli.sandbox import SandboxConfig, run_sandbox

    with run_sandbox(SandboxConfig(port=0)) as sandbox:
        app.terminal.info(f"sandbox started at {sandbox.url}")
        report = _run(
            app,
            replace(req, url=sandbox.webhook_url, api_key=sandbox.api_key, sandbox=False),
            view,
            sandbox=sandbox,
        )
    return report


def _run(
    app: App,
    req: TestWebhookRequest,
    view: TestWebhookView,
    sandbox: RunningSandbox | None = None,
) -> DeliveryReport | None:
    terminal = app.terminal
    max_retry_wait = parse_duration(req.max_retry_wait, "--max-retry-wait")  # checked already
    terminal.add_secret(req.api_key, req.signing_secret)
    key = check_webhook_key(app.setting("api_key", req.api_key), required=not req.dry_run)
    terminal.add_secret(key)

    # Checked whole first (memory flat), read again as it is sent.
    spooled = check_spool(req.resend, SEGMENT_SPOOL) if req.resend else None
    # Only the tool's own spool says where its batches were going; any other file (a copy, a
    # `tail --save` session) goes where this run's settings say Frigade's webhook is.
    own = req.resend is not None and is_own_spool(req.resend)
    url = req.url or (spooled.url if own and spooled and spooled.url else None)
    if not req.url and url and "****" in url:
        raise InputError(
            f"{req.resend}: the saved URL held a secret and was saved redacted ({url})",
            hint="give the URL again with --url",
        )
    url = check_url(webhook_url(app, url), carries_secret=bool(key), what="webhook URL")

    # Messages are made (or read) lazily and batched lazily: nothing holds the whole run.
    fixture_progress: ReadProgress | None = None
    total: int | None
    batches: Iterator[Batch]
    report = DeliveryReport(url=url, batch_size=req.batch_size)
    if spooled is not None:
        messages = (m for batch in spooled.batches_iter() for m in batch.messages)
        total = spooled.events
        batches = make_batches(messages, req.batch_size)
    else:
        types = parse_types(req.types)
        if req.fixtures and req.count is None:
            fixture_progress = ReadProgress()
        batches = iter_batches(
            req.count,
            types,
            req.batch_size,
            req.fixtures,
            req.overrides,
            req.seed,
            only_types=types if req.types and req.fixtures else None,
            progress=fixture_progress,
            halt=lambda: report.cut_short,
        )
        total = req.count or (None if req.fixtures else len(types))

    if req.dry_run:
        planned = list(batches)
        if not key:
            terminal.warn("no API key configured: the Authorization header shows a placeholder")
        requests = [("POST", url, webhook_headers(key, b, req.signing_secret), b) for b in planned]
        view.dry_run(requests, req.json_output)
        events = sum(b.size for b in planned)
        requests_made = counted(len(planned), "request")
        terminal.info(f"dry run: {counted(events, 'event')} in {requests_made}, nothing sent")
        return None

    assert key is not None
    sender = WebhookSender(
        url,
        key,
        signing_secret=req.signing_secret,
        concurrency=req.concurrency,
        policy=RetryPolicy(attempts=req.retries + 1, max_retry_after=max_retry_wait),
        timeout=req.timeout,
        log=terminal.debug if terminal.verbose else None,
        notice=terminal.warn,
    )
    if spooled is None:
        # A stopped run does not make synthetic messages, or copies of fixture files beyond
        # the pass it was in, just to save them: they are counted as not generated.
        report.rest_generated = not req.fixtures
        report.planned_events = req.count or (None if req.fixtures else total)
    what = counted(total, "event") if total is not None else ", ".join(req.fixtures)
    terminal.info(f"sending {what} in batches of {req.batch_size} to {url}")
    # From the first request until the summary is out, Ctrl-C and SIGTERM ask the sender to
    # stop; they can never cut the save of what was not delivered short.
    with StopSignals() as signals:
        signals.on_signal(lambda n: _on_stop_signal(app, sender, n))
        _deliver(app, sender, report, batches, total, fixture_progress)
        if signals.requested:
            report.stopped_because = report.stopped_because or "interrupted"
        if req.resend is not None and own:
            _settle_resend(app, req.resend, report, sender.secrets)
        elif req.resend is not None and not report.ok:
            report.spool(secrets=sender.secrets)  # a new spool file: the user's file stays as it is
        elif not report.ok and sandbox is None:
            # Not for a --sandbox run: its webhook and key die with it, so a spool of it could
            # never be resent (and the sandbox refuses --resend); the run is repeatable as is.
            report.spool(secrets=sender.secrets)
        summary = report.as_dict()
        if sandbox is not None:
            summary["sandbox"] = _sandbox_check(sandbox, summary["accepted"]["events"])
        view.summary(summary, req.json_output)
    not_generated = summary["unsent"]["not_generated"]
    if not_generated:
        made = "repeated fixture event" if req.fixtures else "synthetic event"
        terminal.warn(
            f"{counted(not_generated, made)} not sent (never generated, so not saved); to "
            f"send them, run again with --count {not_generated}"
        )
    _raise_for_outcome(report, key, summary, signals.exit_code, temporary=sandbox is not None)
    if sandbox is not None and not summary["sandbox"]["all_ingested"]:
        raise UpstreamError(
            f"the sandbox accepted {counted(summary['accepted']['events'], 'event')} but ingested "
            f"{summary['sandbox']['ingested']}"
        )
    terminal.success(f"{counted(report.events, 'event')} accepted by {url}")
    return report


def _on_stop_signal(app: App, sender: WebhookSender, n: int) -> None:
    """The n-th Ctrl-C or SIGTERM of a send: stop, then abandon requests in flight, then wait."""
    if n <= 2:
        sender.stop()
    else:
        app.terminal.warn("saving what was not delivered; it cannot be interrupted")


def _sandbox_check(sandbox: RunningSandbox, accepted: int) -> dict[str, Any]:
    """What the sandbox's Frigade side did with the accepted events, read from its counters."""
    frigade = sandbox.stats()["frigade"]
    ingested = int(frigade["ingested"]) + int(frigade["ignored"])
    return {
        "url": sandbox.url,
        "ingested": ingested,
        "ingested_by_type": frigade["ingested_by_type"],
        "all_ingested": ingested == accepted,
    }


def _deliver(
    app: App,
    sender: WebhookSender,
    report: DeliveryReport,
    batches: Iterator[Batch],
    total: int | None,
    reading: ReadProgress | None,
) -> None:
    """Run the pipeline, with a progress bar on a terminal: events sent of the total, or for
    fixture files streamed once, the share of their bytes read."""
    if reading is not None and reading.bytes_total:
        progress = app.terminal.progress(reading.bytes_total, "reading")
    else:
        progress = app.terminal.progress(total, "sending") if total and total > 1 else None

    def on_done(outcome: Any) -> None:
        if progress is None:
            return
        if reading is not None and reading.bytes_total:
            progress.update(progress.task_ids[0], completed=reading.bytes_read)
        else:
            progress.advance(progress.task_ids[0], outcome.events)

    if progress is not None:
        with progress:
            asyncio.run(sender.deliver(report, on_done, source=batches))
    else:
        asyncio.run(sender.deliver(report, on_done, source=batches))


def is_own_spool(path: Path) -> bool:
    """Whether `path` is a spool file test-webhook wrote (`webhook-*.ndjson` in the state
    directory's spool folder): only those does a resend rewrite or remove."""
    try:
        return path.resolve().parent == spool_dir().resolve() and path.name.startswith("webhook-")
    except OSError:
        return False


def _settle_resend(app: App, path: Path, report: DeliveryReport, secrets: list[str | None]) -> None:
    """After a resend of the tool's own spool file, it holds exactly what is still undelivered
    (or is removed)."""
    if report.ok:
        path.unlink(missing_ok=True)
        app.terminal.info(f"every saved batch was delivered; removed {path}")
        return
    report.spool(path, secrets)


def _raise_for_outcome(
    report: DeliveryReport,
    key: str,
    summary: dict[str, Any],
    stop_code: ExitCode,
    *,
    temporary: bool = False,
) -> None:
    saved = f"; undelivered events saved to {report.spool_file}" if report.spool_file else ""
    resend = (
        f"resend them with: frigade segment test-webhook --resend {report.spool_file}"
        if report.spool_file
        else None
    )
    if temporary:
        saved = "; nothing saved to resend: the sandbox stopped with the run"
        resend = "run the same command again (it starts a new sandbox)"
    if report.spool_error:
        # Worse than any other outcome: these events now exist nowhere but in this summary.
        stopped = f"{report.stopped_because}; " if report.stopped_because else ""
        raise UnsavedError(f"{stopped}{report.spool_error}", hint="they were not delivered")
    if report.interrupted:
        error = Terminated if stop_code == ExitCode.TERMINATED else Interrupted
        raise error(f"{'terminated' if error is Terminated else 'interrupted'}{saved}", hint=resend)
    if report.auth_status is not None:
        raise AuthError(
            f"Frigade rejected the key {redact_key(key)} (HTTP {report.auth_status}){saved}",
            hint="use the private key (api_private_...) from the Frigade dashboard; in Segment "
            "the Authorization header value is 'Bearer ' followed by that key",
        )
    if report.quota_exhausted:
        raise UpstreamError(
            "HTTP 429: the Frigade account's monthly active user cap is reached; retrying "
            f"cannot help{saved}",
            hint="raise the plan's limit, then " + (resend or "send again"),
        )
    if report.source_error is not None:
        broken = report.source_error
        accepted = summary["accepted"]["events"]
        reason = broken.message if isinstance(broken, FrigadeCliError) else str(broken)
        raise InputError(
            f"{reason}; the run stopped there, after {counted(accepted, 'accepted event')}{saved}",
            hint=resend,
        )
    if not report.ok:
        failed = summary["failed"]["batches"] + summary["unsent"]["batches"]
        errors = "; ".join(summary["errors"]) or "no response"
        raise UpstreamError(
            f"{failed} of {counted(summary['batches'], 'batch')} not accepted ({errors}){saved}",
            hint=resend,
        )
