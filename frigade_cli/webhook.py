"""Sending batches to Frigade's Segment webhook exactly as Segment's Webhooks (Actions) does."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frigade_cli.clients.frigade import is_quota_exhausted
from frigade_cli.config import WEBHOOK_PATH
from frigade_cli.errors import InputError, UnsavedError
from frigade_cli.http import RetryPolicy, check_url, is_retryable, send_with_retry
from frigade_cli.keys import check_private_key, strip_bearer
from frigade_cli.redact import is_secret_header, redact_text
from frigade_cli.segment.batching import Batch, make_batches
from frigade_cli.segment.delivery import delivery_headers
from frigade_cli.segment.factory import MessageFactory
from frigade_cli.segment.fixtures import Override, fresh_copy, load_fixtures
from frigade_cli.segment.messages import FRIGADE_TYPES, MAX_MESSAGE_ID_LENGTH, MESSAGE_TYPES
from frigade_cli.spool import SpooledBatch, write_spool
from frigade_cli.stats import LatencySummary

if TYPE_CHECKING:
    import httpx

SEGMENT_USER_AGENT = "Segment (Actions)"
KEY_HELP = (
    "pass --api-key, set FRIGADE_API_KEY, or run 'frigade config set api_key api_private_...' "
    "(Frigade dashboard: Developer > API keys)"
)


def check_webhook_key(key: str | None, *, required: bool = True) -> str | None:
    """The private key for the webhook, or an InputError (exit 3) saying what is wrong with it."""
    if not key or not strip_bearer(key):
        if required:
            raise InputError("no Frigade API key", hint=KEY_HELP)
        return None
    return check_private_key(key)


def parse_types(types: str | Sequence[str] | None) -> list[str]:
    """`identify,group,track` into a validated list of message types."""
    if types is None:
        return list(FRIGADE_TYPES)
    items = types.split(",") if isinstance(types, str) else list(types)
    wanted = [t.strip().lower() for item in items for t in item.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in MESSAGE_TYPES]
    if unknown or not wanted:
        raise InputError(
            f"--types: unknown type {', '.join(unknown) or '(none)'}; choose from "
            f"{', '.join(MESSAGE_TYPES)}"
        )
    return list(dict.fromkeys(wanted))


def build_messages(
    count: int | None,
    types: list[str],
    fixtures: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    only_types: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The messages to send: synthetic ones, or copies of fixture templates, overrides applied.

    `only_types` keeps just the fixture messages of those types (`--types` with `--fixture`).
    An explicit `messageId` (a fixture's own, or `--override messageId=X`) is sent as given the
    first time; when `count` repeats it, each further copy gets `X-2`, `X-3`, ... so that no two
    messages of a run share an id unless the fixture itself says so.
    """
    parsed = [Override.parse(o) for o in overrides]
    factory = MessageFactory(seed=seed)
    if count is not None and count < 1:
        raise InputError("--count must be at least 1")
    if not fixtures:
        messages = list(factory.mix(count or len(types), types))
        for message in messages:
            for override in parsed:
                override.apply(message)
        if parsed:
            from frigade_cli.segment.messages import validate_message

            if any(o.path == ("messageId",) for o in parsed):
                _number_repeated_ids(messages)
            for n, message in enumerate(messages, start=1):
                validate_message(message, f"message {n} after --override")
        return messages
    templates = load_fixtures(fixtures, parsed)
    if only_types is not None:
        templates = [t for t in templates if t.get("type") in only_types]
        if not templates:
            raise InputError(f"no fixture message is of type {', '.join(only_types)} (--types)")
    taken = {str(t["messageId"]) for t in templates if t.get("messageId")}
    messages = []
    for i in range(count or len(templates)):
        template = templates[i % len(templates)]
        copy = fresh_copy(template, factory.run_id, i)
        given = template.get("messageId")
        if given:
            repeat = i // len(templates)
            copy["messageId"] = given if repeat == 0 else _derived_id(str(given), repeat + 1, taken)
        messages.append(copy)
    return messages


def _derived_id(given: str, n: int, taken: set[str]) -> str:
    """`given-n`, unique in `taken` (which it joins) and within Segment's 100-character limit."""
    suffix = f"-{n}"
    candidate = given[: MAX_MESSAGE_ID_LENGTH - len(suffix)] + suffix
    extra = 1
    while candidate in taken:
        extra += 1
        suffix = f"-{n}-{extra}"
        candidate = given[: MAX_MESSAGE_ID_LENGTH - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


def _number_repeated_ids(messages: list[dict[str, Any]]) -> None:
    """Within generated messages, the 2nd, 3rd, ... holder of one id get `id-2`, `id-3`, ..."""
    taken = {str(m.get("messageId")) for m in messages}
    seen: dict[str, int] = {}
    for message in messages:
        given = message.get("messageId")
        if not isinstance(given, str):
            continue
        seen[given] = seen.get(given, 0) + 1
        if seen[given] > 1:
            message["messageId"] = _derived_id(given, seen[given], taken)


def webhook_headers(
    key: str | None, batch: Batch, signing_secret: str | None = None
) -> dict[str, str]:
    """The headers Segment sends with a batch: user agent, JSON, Authorization, X-Signature."""
    authorization = f"Bearer {key}" if key else "Bearer <your api_private_ key>"
    first = batch.messages[0] if batch.messages else None
    return dict(delivery_headers({"Authorization": authorization}, first, signing_secret))


def with_mapping_headers(base: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """Segment's own headers with a mapping's headers in place of the Authorization header
    (names compared case-insensitively, as HTTP does)."""
    names = {name.lower() for name in mapping} | {"authorization"}
    kept = {name: value for name, value in base.items() if name.lower() not in names}
    return {**kept, **mapping}


@dataclass
class BatchOutcome:
    """What happened to one batch."""

    index: int
    events: int
    status: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    accepted: bool = False


IN_FLIGHT_ABANDONED = "abandoned in flight at a second interrupt (the server may have it already)"


@dataclass
class DeliveryReport:
    """A run's figures, filled in as batches complete, so an interrupted run still has them."""

    url: str
    batch_size: int
    batches: list[Batch] = field(default_factory=list)
    outcomes: dict[int, BatchOutcome] = field(default_factory=dict)
    retries: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    stopped_because: str | None = None  # auth, quota, network or interrupted
    auth_status: int | None = None
    spool_file: Path | None = None
    spool_error: str | None = None
    abandoned: set[int] = field(default_factory=set)  # batch indexes cut off mid-request

    @property
    def events(self) -> int:
        return sum(b.size for b in self.batches)

    @property
    def interrupted(self) -> bool:
        return self.stopped_because == "interrupted"

    @property
    def quota_exhausted(self) -> bool:
        return self.stopped_because == "quota"

    def _accepted(self) -> list[BatchOutcome]:
        return [o for o in self.outcomes.values() if o.accepted]

    def unaccepted_batches(self) -> list[Batch]:
        accepted = {o.index for o in self._accepted()}
        return [b for b in self.batches if b.index not in accepted]

    @property
    def failed(self) -> list[BatchOutcome]:
        return [o for o in self.outcomes.values() if not o.accepted]

    @property
    def ok(self) -> bool:
        return bool(self.batches) and len(self._accepted()) == len(self.batches)

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in sorted(self.outcomes.values(), key=lambda o: o.index):
            name = str(o.status) if o.status is not None else "network-error"
            counts[name] = counts.get(name, 0) + 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """The JSON summary (schema documented in the README)."""
        accepted = self._accepted()
        failed = self.failed
        duration = (self.finished or time.perf_counter()) - self.started
        accepted_events = sum(o.events for o in accepted)
        unsent = [b for b in self.batches if b.index not in self.outcomes]
        return {
            "url": self.url,
            "batch_size": self.batch_size,
            "batches": len(self.batches),
            "events": self.events,
            "accepted": {"batches": len(accepted), "events": accepted_events},
            "failed": {"batches": len(failed), "events": sum(o.events for o in failed)},
            "unsent": {"batches": len(unsent), "events": sum(b.size for b in unsent)},
            "status_codes": self.status_counts(),
            "retries": self.retries,
            "latency_ms": LatencySummary.of(
                [o.latency_ms for o in self.outcomes.values() if o.latency_ms is not None]
            ).as_dict(),
            "duration_s": round(duration, 3),
            "events_per_s": round(accepted_events / duration, 1) if duration > 0 else None,
            "interrupted": self.interrupted,
            "stopped_because": self.stopped_because,
            "spool_file": str(self.spool_file) if self.spool_file else None,
            "spool_error": self.spool_error,
            "errors": sorted({o.error for o in failed if o.error}),
        }

    def spool(self, path: Path | None = None, secrets: Sequence[str | None] = ()) -> Path | None:
        """Keep every batch that was not accepted, so nothing the user sent is lost.

        When the file cannot be written, `spool_error` says where and why (and None is returned).
        """
        keep = []
        for batch in self.unaccepted_batches():
            outcome = self.outcomes.get(batch.index)
            if batch.index in self.abandoned:
                error: str | None = IN_FLIGHT_ABANDONED
            else:
                error = (outcome.error if outcome else None) or "not sent"
            keep.append(
                SpooledBatch(
                    url=self.url,
                    messages=batch.messages,
                    status=outcome.status if outcome else None,
                    error=error,
                )
            )
        try:
            self.spool_file = write_spool(keep, path, secrets)
        except UnsavedError as exc:
            self.spool_file = None
            self.spool_error = exc.message
        return self.spool_file


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
        self, report: DeliveryReport, on_done: Callable[[BatchOutcome], None] | None = None
    ) -> None:
        """Send every batch of `report`, recording outcomes in it as they complete."""
        from frigade_cli.http import make_client

        self._loop = asyncio.get_running_loop()
        self._report = report
        if self._stops:
            report.stopped_because = report.stopped_because or "interrupted"
        queue: asyncio.Queue[Batch] = asyncio.Queue()
        for batch in report.batches:
            queue.put_nowait(batch)
        async with make_client(
            timeout=self.timeout, log=self.log, max_connections=self.concurrency
        ) as client:

            async def worker() -> None:
                while report.stopped_because is None:
                    try:
                        batch = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    task = asyncio.ensure_future(self._send_one(client, batch, report))
                    self._running[batch.index] = task
                    try:
                        outcome = await task
                    except asyncio.CancelledError:
                        if not task.cancelled():
                            raise  # this worker itself is being cancelled
                        continue  # stopped: the batch stays unsent, to be spooled
                    finally:
                        self._running.pop(batch.index, None)
                    report.outcomes[batch.index] = outcome
                    if on_done:
                        on_done(outcome)

            workers = min(self.concurrency, max(1, len(report.batches)))
            await asyncio.gather(*(worker() for _ in range(workers)))
        report.finished = time.perf_counter()
        self._loop = None

    async def _send_one(
        self, client: httpx.AsyncClient, batch: Batch, report: DeliveryReport
    ) -> BatchOutcome:
        import httpx

        outcome = BatchOutcome(batch.index, batch.size)
        headers = webhook_headers(self.api_key, batch, self.signing_secret)
        if self.headers is not None:
            headers = with_mapping_headers(headers, self.headers)

        async def attempt() -> httpx.Response:
            started = time.perf_counter()
            self._requesting.add(batch.index)
            try:
                response = await client.request(
                    self.method, self.url, content=batch.body, headers=headers
                )
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
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
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


def plan_batches(messages: list[dict[str, Any]], batch_size: int) -> list[Batch]:
    """Batches by count and bytes (never over 500 KB a request)."""
    return list(make_batches(messages, batch_size))
