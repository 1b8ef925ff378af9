"""What a run of deliveries to Frigade's Segment webhook did: per-batch outcomes, latencies in
bounded memory, and the spool of what was not accepted."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frigade_cli.kernel.errors import FrigadeCliError, UnsavedError
from frigade_cli.kernel.spool import SpooledBatch, write_spool
from frigade_cli.kernel.stats import LatencySummary
from frigade_cli.segment.batching import Batch

if TYPE_CHECKING:
    pass

from frigade_cli.segment.spool_format import SEGMENT_SPOOL


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
            self.spool_file = write_spool(keep(), path, secrets, codec=SEGMENT_SPOOL)
        except UnsavedError as exc:
            self.spool_file = None
            self.spool_error = exc.message
        finally:
            self.rest = None
        return self.spool_file
