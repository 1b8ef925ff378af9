"""Sending batches to Frigade's Segment webhook exactly as Segment's Webhooks (Actions) does."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frigade_cli.clients.frigade import is_quota_exhausted
from frigade_cli.config import WEBHOOK_PATH
from frigade_cli.errors import FrigadeCliError, InputError, UnsavedError
from frigade_cli.http import RetryPolicy, check_url, describe_error, is_retryable, send_with_retry
from frigade_cli.keys import check_private_key, strip_bearer
from frigade_cli.redact import is_secret_header, redact_text
from frigade_cli.segment.batching import Batch, batch_encoded, make_batches
from frigade_cli.segment.delivery import delivery_headers
from frigade_cli.segment.factory import MessageFactory
from frigade_cli.segment.fixtures import Override
from frigade_cli.segment.messages import FRIGADE_TYPES, MAX_MESSAGE_ID_LENGTH, MESSAGE_TYPES
from frigade_cli.spool import SpooledBatch, write_spool
from frigade_cli.stats import LatencySummary

if TYPE_CHECKING:
    import httpx

    from frigade_cli.http import PooledSender
    from frigade_cli.segment.fixtures import ReadProgress

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
    """Every message `iter_messages` makes, in a list (for small runs and dry runs)."""
    return list(iter_messages(count, types, fixtures, overrides, seed, only_types))


def iter_batches(
    count: int | None,
    types: list[str],
    batch_size: int,
    fixtures: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    only_types: Sequence[str] | None = None,
    progress: ReadProgress | None = None,
    halt: Callable[[], bool] | None = None,
) -> Iterator[Batch]:
    """The run's batches, made lazily from `iter_messages` (same arguments and errors).

    Synthetic messages that nothing changes (no `--override`) take the fast path: encoded
    straight from templates (`MessageFactory.encoded`), byte for byte what encoding each
    message would give, with no dict made per message.
    """
    if not fixtures and not overrides:
        if count is not None and count < 1:
            raise InputError("--count must be at least 1")
        encoded = MessageFactory(seed=seed).encoded(count or len(types), types)
        return batch_encoded(encoded, batch_size)
    messages = iter_messages(count, types, fixtures, overrides, seed, only_types, progress, halt)
    return make_batches(messages, batch_size)


def iter_messages(
    count: int | None,
    types: list[str],
    fixtures: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    only_types: Sequence[str] | None = None,
    progress: ReadProgress | None = None,
    halt: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """The messages to send, made one at a time: synthetic ones, or fixture messages, overrides
    applied. Memory stays flat however large `count` or the fixture files are.

    Synthetic messages cycle through `types`; `count` defaults to one of each. Fixture files are
    read lazily, in order, and read again from the start when `count` asks for more messages
    than they hold; `count` defaults to each fixture message once. `only_types` keeps just the
    fixture messages of those types (`--types` with `--fixture`); `progress` is updated as the
    files are read. `halt()` true at the end of a pass stops the repeats (a stopped run keeps
    the rest of the pass it was in, but does not make further copies just to save them).
    An explicit `messageId` (a fixture's own, or `--override messageId=X`) is sent as given the
    first time; each further copy gets `X-2`, `X-3`, ... so that no two messages of a run share
    an id unless the fixture itself says so.

    Raised before the first message: InputError for a count under 1, a bad override, a missing
    fixture, and a synthetic message the overrides make invalid (overrides are the same for
    every message of a type, so the first of each type decides). Raised when the iteration
    reaches it: InputError naming the file and line of a bad fixture message.
    """
    if count is not None and count < 1:
        raise InputError("--count must be at least 1")
    parsed = [Override.parse(o) for o in overrides]
    factory = MessageFactory(seed=seed)
    if not fixtures:
        return _synthetic(factory, count or len(types), types, parsed)
    from frigade_cli.segment.fixtures import iter_fixture_messages

    # Resolve every file and read the first message now, so a missing file or an empty
    # selection is refused before anything is sent.
    first = iter_fixture_messages(fixtures, parsed, only_types=only_types, progress=progress)
    head = next(first, None)
    if head is None:
        wanted = f" of type {', '.join(only_types)} (--types)" if only_types else ""
        raise InputError(f"no fixture message{wanted} in {', '.join(fixtures)}")
    return _from_fixtures(
        itertools.chain([head], first), factory, count, fixtures, parsed, only_types, halt
    )


def _synthetic(
    factory: MessageFactory, count: int, types: list[str], overrides: list[Override]
) -> Iterator[dict[str, Any]]:
    messages = factory.mix(count, types)
    if not overrides:
        return messages
    from frigade_cli.segment.messages import message_problem

    # The first message of each type shows what the overrides do to every one of that type.
    head = list(itertools.islice(messages, len(types)))
    ids = _RepeatedIds()
    for n, message in enumerate(head, start=1):
        for override in overrides:
            override.apply(message)
        problem = message_problem(message)
        if problem:
            raise InputError(f"message {n} after --override: {problem}")
    return _overridden(head, messages, overrides, ids, count)


def _overridden(
    head: list[dict[str, Any]],
    rest: Iterator[dict[str, Any]],
    overrides: list[Override],
    ids: _RepeatedIds,
    count: int,
) -> Iterator[dict[str, Any]]:
    from frigade_cli.segment.messages import validate_message

    renumber = any(o.path == ("messageId",) for o in overrides)
    for message in head:
        if renumber:
            ids.number(message)
        yield message
    for n, message in enumerate(rest, start=len(head) + 1):
        for override in overrides:
            override.apply(message)
        if renumber:
            ids.number(message)
        yield validate_message(message, f"message {n} of {count} after --override")


def _from_fixtures(
    first_pass: Iterator[dict[str, Any]],
    factory: MessageFactory,
    count: int | None,
    fixtures: Sequence[str],
    overrides: list[Override],
    only_types: Sequence[str] | None,
    halt: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    from frigade_cli.segment.fixtures import iter_fixture_messages

    ids = _RepeatedIds()
    n = 0
    repeat = 0
    source = first_pass
    while True:
        for message in source:
            if count is not None and n >= count:
                return
            given = message.get("messageId")
            if not given:
                # Unique across runs and repeats of the same file; Segment dedups on it.
                message["messageId"] = (
                    f"frigade-cli-{factory.run_id}-{n:07d}-{uuid.uuid4().hex[:12]}"
                )
            elif repeat == 0:
                if count is not None:  # repeats may follow: remember the ids they must avoid
                    ids.taken.add(str(given))
            else:
                message["messageId"] = ids.derive(str(given), repeat + 1)
            n += 1
            yield message
        if count is None or n >= count or (halt is not None and halt()):
            return
        repeat += 1
        source = iter_fixture_messages(fixtures, overrides, only_types=only_types)


class _RepeatedIds:
    """`X-2`, `X-3`, ... for the 2nd, 3rd, ... message given the id X, never an id in `taken`.

    Holds only the ids given explicitly and the rare derived id that had to dodge one, never
    one entry per message: derived ids of different counts cannot equal each other.
    """

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self._seen: dict[str, int] = {}

    def number(self, message: dict[str, Any]) -> None:
        """Give `message` its id's next derived form when the id was seen before."""
        given = message.get("messageId")
        if not isinstance(given, str):
            return
        seen = self._seen[given] = self._seen.get(given, 0) + 1
        if seen == 1:
            self.taken.add(given)
        else:
            message["messageId"] = self.derive(given, seen)

    def derive(self, given: str, n: int) -> str:
        """`given-n`, unique against `taken`, within Segment's 100-character limit."""
        suffix = f"-{n}"
        candidate = given[: MAX_MESSAGE_ID_LENGTH - len(suffix)] + suffix
        extra = 1
        while candidate in self.taken:
            extra += 1
            suffix = f"-{n}-{extra}"
            candidate = given[: MAX_MESSAGE_ID_LENGTH - len(suffix)] + suffix
        if extra > 1:
            self.taken.add(candidate)
        return candidate


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


class LatencySample:
    """Request latencies in ms, in bounded memory: every one up to `keep`, then a uniform
    reservoir sample of them (Vitter's algorithm R); the count and the maximum stay exact."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self.count = 0
        self.max: float | None = None
        self.values: list[float] = []
        self._rng = random.Random(0)

    def add(self, value: float) -> None:
        self.count += 1
        self.max = value if self.max is None or value > self.max else self.max
        if len(self.values) < self.keep:
            self.values.append(value)
            return
        slot = self._rng.randrange(self.count)
        if slot < self.keep:
            self.values[slot] = value

    def as_dict(self) -> dict[str, float | int | None]:
        summary = LatencySummary.of(self.values).as_dict()
        summary["count"] = self.count
        summary["max"] = round(self.max, 2) if self.max is not None else None
        return summary


@dataclass
class DeliveryReport:
    """A run's figures, filled in as batches complete, so an interrupted run still has them.

    Counters, not a list of every batch: a streamed run (`WebhookSender.deliver` with a
    `source`) keeps only the batches not accepted yet (in flight, failed, or abandoned), for the
    spool, so memory stays flat however many batches pass. `batches` is the planned list of a
    run that gives one up front (small runs); its batches are taken from it.
    """

    url: str
    batch_size: int
    batches: list[Batch] = field(default_factory=list)
    outcomes: dict[int, BatchOutcome] = field(default_factory=dict)  # of unaccepted batches,
    # and of every batch of a planned run
    retries: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    send_started: float | None = None  # when the first request left
    stopped_because: str | None = None  # auth, quota, network, input or interrupted
    auth_status: int | None = None
    spool_file: Path | None = None
    spool_error: str | None = None
    abandoned: set[int] = field(default_factory=set)  # batch indexes cut off mid-request
    taken_batches: int = 0  # batches taken from the source so far
    taken_events: int = 0
    accepted_batches: int = 0
    accepted_events: int = 0
    status_codes: dict[str, int] = field(default_factory=dict)
    latencies: LatencySample = field(default_factory=LatencySample)
    pending: dict[int, Batch] = field(default_factory=dict)  # taken, not accepted (yet)
    rest: Iterator[Batch] | None = None  # a stopped stream's batches never taken
    cut_short: bool = False  # the stream stopped before its end
    # The stream makes its messages (synthetic ones): those never taken are not the user's data,
    # so a stopped run does not make them just to save them; they are counted as not generated.
    rest_generated: bool = False
    planned_events: int | None = None  # the run's events, when known up front (--count)
    kept_batches: int = 0  # a stopped stream's batches never taken, read to be saved
    kept_events: int = 0
    source_error: Exception | None = None  # why the stream of messages broke off

    def take(self, batch: Batch) -> None:
        """A batch leaves the source for sending: counted, and kept until it is accepted."""
        self.taken_batches += 1
        self.taken_events += batch.size
        self.pending[batch.index] = batch

    def record(self, batch: Batch, outcome: BatchOutcome, planned: bool) -> None:
        """What the server did with a batch (planned: keep every outcome, for small runs)."""
        name = str(outcome.status) if outcome.status is not None else "network-error"
        self.status_codes[name] = self.status_codes.get(name, 0) + 1
        if outcome.latency_ms is not None:
            self.latencies.add(outcome.latency_ms)
        if outcome.accepted:
            self.accepted_batches += 1
            self.accepted_events += outcome.events
            self.pending.pop(batch.index, None)
            if planned:
                self.outcomes[batch.index] = outcome
        else:
            self.outcomes[batch.index] = outcome

    @property
    def events(self) -> int:
        """Events of the run: taken from the source, plus any left in a planned list, read to
        be saved, or never generated; always accepted + failed + unsent."""
        untaken = sum(b.size for b in self.batches[self.taken_batches :])
        return self.taken_events + untaken + self.kept_events + self.not_generated

    @property
    def interrupted(self) -> bool:
        return self.stopped_because == "interrupted"

    @property
    def quota_exhausted(self) -> bool:
        return self.stopped_because == "quota"

    def unaccepted_batches(self) -> Iterator[Batch]:
        """Every batch not accepted, in order: taken ones, then any never taken (read lazily;
        a generated stream's are not made at all, see `not_generated`)."""
        yield from sorted(self.pending.values(), key=lambda b: b.index)
        yield from self.batches[self.taken_batches :]
        if self.rest is not None and not self.rest_generated:
            try:
                for batch in self.rest:
                    self.kept_batches += 1
                    self.kept_events += batch.size
                    yield batch
            except FrigadeCliError as exc:  # a bad message further on: keep what came before
                self.source_error = self.source_error or exc

    @property
    def not_generated(self) -> int:
        """Events of a stopped run never made (so never sent or saved): a synthetic stream's
        rest, or the further copies `--count` asked of fixture files."""
        if not self.cut_short or self.planned_events is None:
            return 0
        return max(0, self.planned_events - self.taken_events - self.kept_events)

    @property
    def failed(self) -> list[BatchOutcome]:
        return [o for o in self.outcomes.values() if not o.accepted]

    @property
    def ok(self) -> bool:
        complete = not self.cut_short and self.taken_batches >= len(self.batches)
        return (
            complete
            and self.taken_batches > 0
            and self.accepted_batches == self.taken_batches
            and self.source_error is None
        )

    def status_counts(self) -> dict[str, int]:
        return dict(self.status_codes)

    def as_dict(self) -> dict[str, Any]:
        """The JSON summary (schema documented in the README)."""
        failed = self.failed
        end = self.finished or time.perf_counter()
        duration = end - self.started
        sending = end - self.send_started if self.send_started is not None else 0.0
        unsent = [b for b in self.pending.values() if b.index not in self.outcomes]
        untaken = self.batches[self.taken_batches :]
        not_generated = self.not_generated
        unsent_events = (
            sum(b.size for b in unsent)
            + sum(b.size for b in untaken)
            + self.kept_events
            + not_generated
        )
        return {
            "url": self.url,
            "batch_size": self.batch_size,
            "batches": self.taken_batches + len(untaken) + self.kept_batches,
            "events": self.events,
            "accepted": {"batches": self.accepted_batches, "events": self.accepted_events},
            "failed": {"batches": len(failed), "events": sum(o.events for o in failed)},
            # Not sent: saved to the spool file, or (synthetic messages) never generated.
            "unsent": {
                "batches": len(unsent) + len(untaken) + self.kept_batches,
                "events": unsent_events,
                "not_generated": not_generated,
            },
            "status_codes": self.status_counts(),
            "retries": self.retries,
            "latency_ms": self.latencies.as_dict(),
            "duration_s": round(duration, 3),
            "events_per_s": round(self.accepted_events / duration, 1) if duration > 0 else None,
            "send_events_per_s": (
                round(self.accepted_events / sending, 1) if sending > 0 else None
            ),
            "interrupted": self.interrupted,
            "stopped_because": self.stopped_because,
            "spool_file": str(self.spool_file) if self.spool_file else None,
            "spool_error": self.spool_error,
            "errors": sorted({o.error for o in failed if o.error}),
        }

    def spool(self, path: Path | None = None, secrets: Sequence[str | None] = ()) -> Path | None:
        """Keep every batch that was not accepted, so nothing the user sent is lost.

        A stopped stream's batches never taken are read now and kept too. When the file cannot
        be written, `spool_error` says where and why (and None is returned).
        """

        def keep() -> Iterator[SpooledBatch]:
            for batch in self.unaccepted_batches():
                outcome = self.outcomes.get(batch.index)
                if batch.index in self.abandoned:
                    error: str | None = IN_FLIGHT_ABANDONED
                else:
                    error = (outcome.error if outcome else None) or "not sent"
                yield SpooledBatch(
                    url=self.url,
                    messages=batch.messages,
                    status=outcome.status if outcome else None,
                    error=error,
                )

        try:
            self.spool_file = write_spool(keep(), path, secrets)
        except UnsavedError as exc:
            self.spool_file = None
            self.spool_error = exc.message
        finally:
            self.rest = None
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
        from frigade_cli.http import PooledSender

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


def plan_batches(messages: list[dict[str, Any]], batch_size: int) -> list[Batch]:
    """Batches by count and bytes (never over 500 KB a request)."""
    return list(make_batches(messages, batch_size))
