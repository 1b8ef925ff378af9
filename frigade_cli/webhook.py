"""Sending batches to Frigade's Segment webhook exactly as Segment's Webhooks (Actions) does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frigade_cli.errors import InputError
from frigade_cli.http import RetryPolicy, check_url, is_quota_exhausted, send_with_retry
from frigade_cli.redact import redact_key
from frigade_cli.segment.batching import Batch, make_batches
from frigade_cli.segment.delivery import delivery_headers
from frigade_cli.segment.factory import MessageFactory
from frigade_cli.segment.fixtures import Override, fresh_copy, load_fixtures
from frigade_cli.segment.messages import FRIGADE_TYPES, MESSAGE_TYPES
from frigade_cli.spool import SpooledBatch, write_spool
from frigade_cli.stats import LatencySummary

if TYPE_CHECKING:
    import httpx

SEGMENT_USER_AGENT = "Segment (Actions)"
KEY_HELP = (
    "pass --api-key, set FRIGADE_API_KEY, or run 'frigade config set api_key api_private_...' "
    "(Frigade dashboard: Developer > API keys)"
)


def strip_bearer(key: str) -> str:
    """The key itself, whether the user typed it with or without the `Bearer ` prefix."""
    key = key.strip()
    return key[7:].strip() if key.lower().startswith("bearer ") else key


def check_webhook_key(key: str | None, *, required: bool = True) -> str | None:
    """The private key for the webhook, or an InputError saying what is wrong with it."""
    if not key or not strip_bearer(key):
        if required:
            raise InputError("no Frigade API key", hint=KEY_HELP)
        return None
    key = strip_bearer(key)
    if key.startswith("api_public_"):
        raise InputError(
            f"{redact_key(key)} is a public key; Frigade's Segment webhook needs the secret key "
            "(api_private_...)",
            hint="copy the private key from the Frigade dashboard",
        )
    return key


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

            for n, message in enumerate(messages, start=1):
                validate_message(message, f"message {n} after --override")
        return messages
    templates = load_fixtures(fixtures, parsed)
    if only_types is not None:
        templates = [t for t in templates if t.get("type") in only_types]
        if not templates:
            raise InputError(f"no fixture message is of type {', '.join(only_types)} (--types)")
    return [
        fresh_copy(templates[i % len(templates)], factory.run_id, i)
        for i in range(count or len(templates))
    ]


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
            "errors": sorted({o.error for o in failed if o.error}),
        }

    def spool(self) -> Path | None:
        """Keep every batch that was not accepted, so nothing the user sent is lost."""
        keep = []
        for batch in self.unaccepted_batches():
            outcome = self.outcomes.get(batch.index)
            keep.append(
                SpooledBatch(
                    url=self.url,
                    messages=batch.messages,
                    status=outcome.status if outcome else None,
                    error=(outcome.error if outcome else None) or "not sent",
                )
            )
        self.spool_file = write_spool(keep)
        return self.spool_file


class WebhookSender:
    """Delivers batches concurrently with Segment's retry rules; stops when retrying is futile."""

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
        # A mapping's own headers, sent exactly (Authorization included) instead of the key's.
        self.headers = headers

    async def deliver(
        self, report: DeliveryReport, on_done: Callable[[BatchOutcome], None] | None = None
    ) -> None:
        """Send every batch of `report`, recording outcomes in it as they complete."""
        from frigade_cli.http import make_client

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
                    outcome = await self._send_one(client, batch, report)
                    report.outcomes[batch.index] = outcome
                    if on_done:
                        on_done(outcome)

            workers = min(self.concurrency, max(1, len(report.batches)))
            await asyncio.gather(*(worker() for _ in range(workers)))
        report.finished = time.perf_counter()

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
            response = await client.request(
                self.method, self.url, content=batch.body, headers=headers
            )
            outcome.latency_ms = (time.perf_counter() - started) * 1000
            return response

        def on_retry(number: int, reason: str, sleep: float) -> None:
            report.retries += 1
            if self.log:
                self.log(f"batch {batch.index + 1}: {reason}, retry {number} in {sleep:.2f}s")

        try:
            response = await send_with_retry(attempt, self.policy, on_retry)
        except httpx.HTTPError as exc:
            outcome.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            report.stopped_because = report.stopped_because or "network"
            return outcome
        outcome.status = response.status_code
        outcome.accepted = 200 <= response.status_code < 300
        if not outcome.accepted:
            outcome.error = _error_text(response)
            if response.status_code in (401, 403):
                report.auth_status = response.status_code
                report.stopped_because = "auth"
            elif is_quota_exhausted(response):
                report.stopped_because = "quota"
        return outcome


def _error_text(response: httpx.Response) -> str:
    """`HTTP 403: message` from Frigade's `{statusCode, message, error}` body, or the raw text."""
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            message = body.get("message") or body.get("error")
            detail = ", ".join(message) if isinstance(message, list) else str(message or "")
    except ValueError:
        detail = response.text.strip()[:200]
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")


def plan_batches(messages: list[dict[str, Any]], batch_size: int) -> list[Batch]:
    """Batches by count and bytes (never over 500 KB a request)."""
    return list(make_batches(messages, batch_size))
