"""Sending batches to Frigade's Segment webhook exactly as Segment's Webhooks (Actions) does."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from frigade_cli.kernel.config import DEFAULT_API_URL, WEBHOOK_PATH
from frigade_cli.kernel.errors import FrigadeCliError, InputError
from frigade_cli.kernel.http import (
    RetryPolicy,
    check_url,
    describe_error,
    is_retryable,
    send_with_retry,
)
from frigade_cli.kernel.redact import is_secret_header, redact_text
from frigade_cli.segment.batching import Batch
from frigade_cli.segment.delivery import delivery_headers

if TYPE_CHECKING:
    import httpx

    from frigade_cli.kernel.http import PooledSender

from frigade_cli.clients.delivery_report import (
    BatchOutcome,
    DeliveryReport,
)
from frigade_cli.frigade.rules import is_quota_exhausted

if TYPE_CHECKING:
    from frigade_cli.kernel.app import App


def webhook_url(app: App, flag: str | None, api_url_flag: str | None = None) -> str:
    """Where the webhook is, by the tool's one precedence (flag > environment > profile):
    the webhook URL flag; else the API URL flag or `FRIGADE_API_URL` + Frigade's Segment path;
    else the profile's `webhook_url`; else its `api_url` (or Frigade's) + the path. A URL the
    command line or the environment names is never replaced by a profile's, so a key meant for
    it never goes to another host."""
    if flag is not None:
        explicit = app.setting("webhook_url", flag)
        if explicit:
            return explicit
    base, source = app.config.lookup("api_url", api_url_flag)
    if source == "flag" or source.startswith("env"):
        app.setting("api_url", api_url_flag)  # the same checks as any setting
        return (base or DEFAULT_API_URL).rstrip("/") + WEBHOOK_PATH
    explicit = app.setting("webhook_url")
    if explicit:
        return explicit
    base = app.setting("api_url") or DEFAULT_API_URL
    return base.rstrip("/") + WEBHOOK_PATH


def webhook_headers(
    key: str | None,
    batch: Batch,
    signing_secret: str | None = None,
    mapping_headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """The headers Segment's runtime sends with a batch (`segment.delivery` builds them).

    `mapping_headers`: a mapping's own headers, sent as Segment would (their Authorization, if
    any, instead of the key's); None means Frigade's recommended `Authorization: Bearer <key>`.
    """
    if mapping_headers is None:
        authorization = f"Bearer {key}" if key else "Bearer <your api_private_ key>"
        mapping_headers = {"Authorization": authorization}
    # Only a signature needs the first message (an encoded batch reads it back from its body).
    first = batch.messages[0] if signing_secret and batch.size else None
    return dict(delivery_headers(mapping_headers, first, signing_secret))


class WebhookSender:
    """Delivers batches concurrently with Segment's retry rules; stops when retrying is futile.

    `stop()` may be called from a signal handler: the first call stops new batches and further
    retries while requests in flight finish (their answers are recorded); a second abandons
    those requests too (their batches are kept as not accepted).
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        method: str = "POST",
        signing_secret: str | None = None,
        concurrency: int = 4,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        log: Callable[[str], None] | None = None,
        notice: Callable[[str], None] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        check_url(url, carries_secret=True, what="webhook URL")
        if concurrency < 1:
            raise InputError("--concurrency must be at least 1")
        self.url = url
        self.api_key = api_key
        self.method = method
        self.signing_secret = signing_secret
        self.concurrency = concurrency
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.log = log
        self.notice = notice  # messages the user must see even without -v (stderr)
        self._stops = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._report: DeliveryReport | None = None
        self._running: dict[int, asyncio.Task[BatchOutcome]] = {}
        self._requesting: set[int] = set()
        # A mapping's own headers, sent exactly (Authorization included) instead of the key's.
        self.headers = headers

    @property
    def secrets(self) -> list[str | None]:
        """Values no error, log or spool line may show: the key, the secret, mapping headers'."""
        mapping = [v for k, v in (self.headers or {}).items() if is_secret_header(k)]
        return [self.api_key, self.signing_secret, *mapping]

    def stop(self) -> None:
        """Ask the delivery to stop (safe from a signal handler); a second call abandons."""
        self._stops += 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._apply_stop)

    def _apply_stop(self) -> None:
        report = self._report
        if report is None:
            return
        report.stopped_because = report.stopped_because or "interrupted"
        abandon = self._stops >= 2
        in_flight = len(self._requesting)
        for index, task in list(self._running.items()):
            # Requests in flight get their answer unless this is the second stop; a batch
            # waiting between retries is not in flight and stops at once either way.
            if abandon or index not in self._requesting:
                if index in self._requesting:
                    report.abandoned.add(index)
                task.cancel()
        if self.notice is None or not in_flight:
            return
        requests = f"{in_flight} request{'s' if in_flight != 1 else ''} in flight"
        if abandon:
            self.notice(f"abandoning {requests}; their batches are saved too")
        else:
            self.notice(
                f"stopping: waiting for {requests} (interrupt again to abandon them; nothing is "
                "lost either way)"
            )

    async def deliver(
        self,
        report: DeliveryReport,
        on_done: Callable[[BatchOutcome], None] | None = None,
        source: Iterable[Batch] | None = None,
    ) -> None:
        """Send the batches of `source` (else `report.batches`), recording each outcome in
        `report` as it completes.

        A pipeline: each of `concurrency` workers takes the next batch from `source` only when
        it is free to send it, so the first request leaves as soon as one batch is made,
        making overlaps sending, and at most `concurrency` batches are in flight (plus those
        not accepted, kept for the spool). When the run stops early, the batches never taken
        are left in `report.rest` for the spool. An error raised by `source` (a bad fixture
        line) stops the run and is kept in `report.source_error`.
        """
        from frigade_cli.kernel.http import PooledSender

        self._loop = asyncio.get_running_loop()
        self._report = report
        if self._stops:
            report.stopped_because = report.stopped_because or "interrupted"
        planned = source is None
        batches = iter(report.batches if source is None else source)
        transport = PooledSender(
            self.url, max_connections=self.concurrency, timeout=self.timeout, log=self.log
        )

        def next_batch() -> Batch | None:
            try:
                batch = next(batches, None)
            except FrigadeCliError as exc:
                report.source_error = exc
                report.stopped_because = report.stopped_because or "input"
                return None
            if batch is not None:
                report.take(batch)
            return batch

        async def worker() -> None:
            while report.stopped_because is None:
                batch = next_batch()
                if batch is None:
                    return
                if report.send_started is None:
                    report.send_started = time.perf_counter()
                task = asyncio.ensure_future(self._send_one(transport, batch, report))
                self._running[batch.index] = task
                try:
                    outcome = await task
                except asyncio.CancelledError:
                    if not task.cancelled():
                        raise  # this worker itself is being cancelled
                    continue  # stopped: the batch stays unsent, to be spooled
                finally:
                    self._running.pop(batch.index, None)
                report.record(batch, outcome, planned)
                if on_done:
                    on_done(outcome)

        try:
            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        finally:
            transport.close()
            if not planned and report.stopped_because is not None:
                report.rest = batches
                report.cut_short = True
            report.finished = time.perf_counter()
            self._loop = None

    async def _send_one(
        self, transport: PooledSender, batch: Batch, report: DeliveryReport
    ) -> BatchOutcome:
        import httpx

        outcome = BatchOutcome(batch.index, batch.size)
        headers = webhook_headers(self.api_key, batch, self.signing_secret, self.headers)

        async def attempt() -> httpx.Response:
            started = time.perf_counter()
            self._requesting.add(batch.index)
            try:
                response = await transport.request(self.method, batch.body, headers)
            finally:
                self._requesting.discard(batch.index)
            outcome.latency_ms = (time.perf_counter() - started) * 1000
            return response

        def on_retry(number: int, reason: str, sleep: float) -> None:
            report.retries += 1
            if self.log:
                self.log(f"batch {batch.index + 1}: {reason}, retry {number} in {sleep:.2f}s")

        def on_capped_wait(asked: float, waited: float) -> None:
            if self.notice:
                self.notice(
                    f"batch {batch.index + 1}: the server asks to wait {asked:.0f} s "
                    f"(Retry-After); waiting {waited:g} s instead (--max-retry-wait)"
                )

        def should_retry(response: httpx.Response) -> bool:
            return is_retryable(response.status_code) and not is_quota_exhausted(response)

        try:
            response = await send_with_retry(
                attempt,
                self.policy,
                on_retry,
                should_retry=should_retry,
                keep_going=lambda: report.stopped_because is None,
                on_capped_wait=on_capped_wait,
            )
        except httpx.HTTPError as exc:
            error = describe_error(exc)
            outcome.error = redact_text(error, self.secrets)
            report.stopped_because = report.stopped_because or "network"
            return outcome
        outcome.status = response.status_code
        outcome.accepted = 200 <= response.status_code < 300
        if not outcome.accepted:
            outcome.error = _error_text(response, self.secrets)
            if response.status_code in (401, 403):
                report.auth_status = response.status_code
                report.stopped_because = report.stopped_because or "auth"
            elif is_quota_exhausted(response):
                report.stopped_because = report.stopped_because or "quota"
        return outcome


def _error_text(response: httpx.Response, secrets: Sequence[str | None] = ()) -> str:
    """One line for a refused batch, redacted (a server may echo the Authorization header).

    `HTTP 403: message` from Frigade's `{statusCode, message, error}` body, or the raw text; a
    redirect names its Location (never followed: a redirected POST loses its body); a 404 names
    the path Frigade's Segment webhook has.
    """
    status = response.status_code
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            message = body.get("message") or body.get("error")
            detail = (
                ", ".join(map(str, message)) if isinstance(message, list) else str(message or "")
            )
    except ValueError:
        detail = response.text.strip()
    # Redact before cutting, so a cut cannot leave part of a secret behind.
    detail = redact_text(" ".join(detail.split()), secrets)[:200]
    text = f"HTTP {status}" + (f": {detail}" if detail else "")
    if 300 <= status < 400:
        location = response.headers.get("location")
        where = f"redirects to {location}" if location else "is a redirect with no Location"
        text = (
            f"HTTP {status}: the URL {where}; not followed, since a redirected POST loses "
            "its body: send to the new URL with --url"
        )
    elif status == 404:
        path = response.request.url.path
        text += (
            f" (nothing at {path}: Frigade's Segment webhook is POST {WEBHOOK_PATH})"
            if path != WEBHOOK_PATH
            else f" (the server has no {WEBHOOK_PATH}: is the URL's host Frigade's API?)"
        )
    return redact_text(text, secrets)
