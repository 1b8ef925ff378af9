"""The Segment Webhooks (Actions) destination, as the sandbox runs it for accepted events.

Modelled on segmentio/action-destinations' `webhook` destination (`send` action):
- only events the subscription's trigger lets through are delivered, decided as Segment's runtime
  decides (`frigade_cli.segment.fql`; default: identify, group, track, Frigade's mapping);
- with batching, events wait in a batch per (url, method, headers); a batch is sent when it holds
  `batch_size` events or when `flush_interval` has passed since its first event (Segment's own wait
  can reach about a minute); the body is the bare JSON array, as JavaScript writes it;
- without batching, each event is one request whose body is the event;
- headers as `frigade_cli.segment.delivery` builds them: the set Segment's runtime sends
  (its own, the mapping's, `X-Signature` with a shared secret), none of the HTTP client's;
- 408, 423, 429 and 5xx except 501 are retried with backoff (a few quick attempts here; Segment
  keeps trying for up to 4 hours), every 429 included: Frigade's monthly-active-user 429 is the
  test-webhook sender's to read, Segment retries it like any other; a batch that still fails is
  kept as undeliverable, never dropped.

Every outcome is also counted for Delivery Overview (`delivery_overview.Telemetry`).

Delivery runs in background tasks (bounded by `max_in_flight`), so ingestion never waits for it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from frigade_cli.kernel.clock import now_iso
from frigade_cli.kernel.http import send_with_retry
from frigade_cli.kernel.redact import redact_headers
from frigade_cli.sandbox.delivery_overview import (
    DESTINATION_DISABLED,
    NO_SUBSCRIPTION,
    SOURCE_ID,
    http_reason,
)
from frigade_cli.segment import jsjson
from frigade_cli.segment.delivery import delivery_headers
from frigade_cli.segment.delivery_overview import (
    FAILED_DELIVERY,
    FILTERED_AT_DESTINATION,
    SUCCESSFUL_DELIVERY,
)
from frigade_cli.segment.fql import Trigger, TriggerFailure, parse_trigger

if TYPE_CHECKING:
    import httpx

    from frigade_cli.sandbox.parts import OutboundParts


@dataclass(slots=True)
class OutgoingBatch:
    """Events bound for one (url, method, headers), sent as one request when batched."""

    id: str
    url: str
    method: str
    headers: tuple[tuple[str, str], ...]
    secret: str | None
    batched: bool
    messages: list[dict[str, Any]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


BatchKey = tuple[str, str, tuple[tuple[str, str], ...]]


class Destination:
    """Batches, signs, sends and retries; counts everything in the sandbox's stats."""

    def __init__(self, sandbox: OutboundParts) -> None:
        self._sandbox = sandbox
        self._pending: dict[BatchKey, OutgoingBatch] = {}
        self._queue: asyncio.Queue[OutgoingBatch] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._waiting_events = 0
        self._compiled: Trigger | None = None
        self.in_flight = 0

    def _trigger(self, source: str) -> Trigger:
        if self._compiled is None or self._compiled.source != source:
            self._compiled = parse_trigger(source)  # the config refused what Segment rejects
        return self._compiled

    @property
    def waiting_events(self) -> int:
        """Events accepted for delivery and not yet being sent."""
        return self._waiting_events

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._workers = [
            asyncio.create_task(self._work(), name=f"sandbox-delivery-{n}")
            for n in range(self._sandbox.config.max_in_flight)
        ]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    # Accepting events (called by the Segment side; never awaits) ---------------------------------
    def accept(self, messages: list[dict[str, Any]]) -> None:
        sandbox = self._sandbox
        settings = sandbox.config.destination
        telemetry = sandbox.telemetry
        if not settings.enabled:
            sandbox.stats.destination_filtered += len(messages)
            telemetry.count(FILTERED_AT_DESTINATION, SOURCE_ID, messages, DESTINATION_DISABLED)
            return
        trigger = self._trigger(settings.effective_trigger)
        decided = [(m, _passes(trigger, m)) for m in messages]
        subscribed = [m for m, passes in decided if passes]
        if len(subscribed) != len(messages):
            sandbox.stats.destination_filtered += len(messages) - len(subscribed)
            telemetry.count(
                FILTERED_AT_DESTINATION,
                SOURCE_ID,
                (m for m, passes in decided if not passes),
                NO_SUBSCRIPTION,
            )
        if not subscribed:
            return
        url = settings.url or sandbox.webhook_url
        if settings.headers is None:
            headers: tuple[tuple[str, str], ...] = (("Authorization", f"Bearer {sandbox.api_key}"),)
        else:
            headers = tuple(settings.headers.items())  # in order: repeats join in it
        method, secret = settings.method, settings.shared_secret
        self._waiting_events += len(subscribed)
        if not settings.enable_batching:
            for message in subscribed:
                self._ready(
                    OutgoingBatch(_batch_id(), url, method, headers, secret, False, [message])
                )
            return
        key = (url, method, headers)
        size = settings.batch_size
        start = 0
        while start < len(subscribed):
            batch = self._pending.get(key)
            if batch is None:
                batch = OutgoingBatch(_batch_id(), url, method, headers, secret, True)
                batch.timer = asyncio.get_running_loop().call_later(
                    settings.flush_interval, self._flush_due, key, batch
                )
                self._pending[key] = batch
            room = size - len(batch.messages)
            if room <= 0:  # the batch size was lowered while this batch waited
                self._dispatch(key, batch)
                continue
            batch.messages.extend(subscribed[start : start + room])
            start += room
            if len(batch.messages) >= size:
                self._dispatch(key, batch)

    def _flush_due(self, key: BatchKey, batch: OutgoingBatch) -> None:
        if self._pending.get(key) is batch:
            self._dispatch(key, batch)

    def _dispatch(self, key: BatchKey, batch: OutgoingBatch) -> None:
        if batch.timer is not None:
            batch.timer.cancel()
            batch.timer = None
        del self._pending[key]
        self._ready(batch)

    def _ready(self, batch: OutgoingBatch) -> None:
        assert self._queue is not None, "the destination is not started"
        self._queue.put_nowait(batch)

    def flush(self) -> int:
        """Send every waiting batch now, whatever its size; the number of batches sent."""
        pending = list(self._pending.items())
        for key, batch in pending:
            self._dispatch(key, batch)
        return len(pending)

    def idle(self) -> bool:
        return self._waiting_events == 0 and self.in_flight == 0

    async def drain(self, timeout: float) -> bool:
        """Flush and wait (up to `timeout` seconds) until every batch is delivered or given up."""
        self.flush()
        if self._queue is None:
            return True
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def clear(self) -> None:
        """Drop waiting batches without sending them (reset); batches in flight still finish."""
        for batch in self._pending.values():
            if batch.timer is not None:
                batch.timer.cancel()
        self._pending.clear()
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()
                self._queue.task_done()
        self._waiting_events = 0

    # Sending --------------------------------------------------------------------------------------
    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            batch = await self._queue.get()
            self._waiting_events -= len(batch.messages)
            self.in_flight += 1
            try:
                await self._deliver(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not lose the batch: keep it as undeliverable
                self._give_up(batch, None, f"{type(exc).__name__}: {exc}", 0)
            finally:
                self.in_flight -= 1
                self._queue.task_done()

    async def _deliver(self, batch: OutgoingBatch) -> None:
        import httpx

        sandbox = self._sandbox
        stats = sandbox.stats
        messages = batch.messages
        body = jsjson.dumps(messages if batch.batched else messages[0])
        # Batched or not, the signed value is the first (or only) event.
        headers = delivery_headers(batch.headers, messages[0], batch.secret)
        # Built alone, not by the client: exactly these headers (plus Host and Content-Length),
        # none of the client's defaults.
        request = httpx.Request(batch.method, batch.url, content=body, headers=headers)
        client = sandbox.client
        attempts = 0

        async def send() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            stats.destination_requests += 1
            started = time.perf_counter()
            response = await client.send(request)
            stats.destination_latency_ms.append((time.perf_counter() - started) * 1000)
            return response

        def on_retry(attempt: int, reason: str, wait: float) -> None:
            stats.destination_retries += 1
            sandbox.hub.publish(
                "destination",
                "retry",
                {"batchId": batch.id, "attempt": attempt, "reason": reason, "wait": round(wait, 3)},
            )

        try:
            response = await send_with_retry(send, sandbox.config.retry, on_retry)
        except httpx.HTTPError as exc:
            self._give_up(batch, None, f"{type(exc).__name__}: {exc}", attempts)
            return
        status = response.status_code
        if 200 <= status < 300:
            stats.destination_batches_delivered += 1
            stats.destination_events_delivered += len(messages)
            sandbox.telemetry.count(
                SUCCESSFUL_DELIVERY, SOURCE_ID, messages, retries=max(0, attempts - 1)
            )
            sandbox.hub.publish("destination", "delivered", self._summary(batch, status, attempts))
            return
        self._give_up(batch, status, f"HTTP {status}: {response.text[:300]}", attempts)

    def _give_up(self, batch: OutgoingBatch, status: int | None, error: str, attempts: int) -> None:
        sandbox = self._sandbox
        sandbox.stats.destination_undeliverable_batches += 1
        sandbox.stats.destination_undeliverable_events += len(batch.messages)
        # No answer at all: the error's class (`ConnectError`, `ReadTimeout`) is the reason.
        reason = http_reason(status) if status is not None else error.split(":", 1)[0]
        sandbox.telemetry.count(
            FAILED_DELIVERY, SOURCE_ID, batch.messages, reason, retries=max(0, attempts - 1)
        )
        summary = self._summary(batch, status, attempts)
        summary["error"] = error
        record = {
            **summary,
            "id": batch.id,
            "failedAt": now_iso(),
            "headers": dict(redact_headers(batch.headers)),
            "batched": batch.batched,
            "messages": batch.messages,
        }
        sandbox.store.add_undeliverable(record)
        sandbox.store.commit()
        sandbox.hub.publish("destination", "undeliverable", summary)
        sandbox.log(
            f"batch {batch.id} of {len(batch.messages)} event(s) is undeliverable "
            f"after {attempts} attempt(s): {error}"
        )

    @staticmethod
    def _summary(batch: OutgoingBatch, status: int | None, attempts: int) -> dict[str, Any]:
        return {
            "batchId": batch.id,
            "url": batch.url,
            "method": batch.method,
            "status": status,
            "events": len(batch.messages),
            "attempts": attempts,
            "messageIds": [m.get("messageId") for m in batch.messages],
        }


def _passes(trigger: Trigger, message: dict[str, Any]) -> bool:
    """Segment's decision for one message; where its evaluator throws, the event is not sent."""
    try:
        return trigger.matches(message)
    except TriggerFailure:
        return False


def _batch_id() -> str:
    return f"batch_{uuid.uuid4().hex[:16]}"
