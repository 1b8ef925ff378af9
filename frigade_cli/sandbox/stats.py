"""Counters for `GET /_sandbox/stats`: plain integers bumped on the event loop."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from frigade_cli.kernel.stats import LatencySummary

# Delivery times kept for the percentiles: the most recent ones, bounded.
LATENCY_SAMPLES = 10_000


@dataclass
class Stats:
    """What went through each side since start (or the last reset)."""

    segment_accepted_requests: int = 0
    segment_received: Counter[str] = field(default_factory=Counter)  # accepted messages by type
    segment_rejected_requests: int = 0
    segment_auth_failures: int = 0

    destination_filtered: int = 0  # accepted but not subscribed (not delivered)
    destination_batches_delivered: int = 0
    destination_events_delivered: int = 0
    destination_requests: int = 0  # attempts, retries included
    destination_retries: int = 0
    destination_undeliverable_batches: int = 0
    destination_undeliverable_events: int = 0
    # Each delivery request's time to its answer, in ms (retries included, answers of any status).
    destination_latency_ms: deque[float] = field(
        default_factory=lambda: deque(maxlen=LATENCY_SAMPLES)
    )

    frigade_ingested: Counter[str] = field(default_factory=Counter)  # webhook messages by type
    frigade_ignored: int = 0  # webhook items that were not Segment messages Frigade uses
    frigade_webhook_requests: int = 0
    frigade_faults_injected: int = 0
    frigade_auth_failures: int = 0
    frigade_public_writes: Counter[str] = field(default_factory=Counter)

    flow_states: int = 0
    flow_states_forwarded: int = 0
    flow_states_forward_failed: int = 0

    def reset(self) -> None:
        fresh = Stats()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def to_json(self, *, pending: int, in_flight: int, subscribers: int) -> dict[str, Any]:
        return {
            "segment": {
                "accepted_requests": self.segment_accepted_requests,
                "received": sum(self.segment_received.values()),
                "received_by_type": dict(self.segment_received),
                "rejected_requests": self.segment_rejected_requests,
                "auth_failures": self.segment_auth_failures,
            },
            "destination": {
                "pending_events": pending,
                "in_flight_batches": in_flight,
                "filtered_events": self.destination_filtered,
                "delivered_batches": self.destination_batches_delivered,
                "delivered_events": self.destination_events_delivered,
                "requests": self.destination_requests,
                "retries": self.destination_retries,
                "undeliverable_batches": self.destination_undeliverable_batches,
                "undeliverable_events": self.destination_undeliverable_events,
                "latency_ms": LatencySummary.of(list(self.destination_latency_ms)).as_dict(),
            },
            "frigade": {
                "webhook_requests": self.frigade_webhook_requests,
                "ingested": sum(self.frigade_ingested.values()),
                "ingested_by_type": dict(self.frigade_ingested),
                "ignored": self.frigade_ignored,
                "faults_injected": self.frigade_faults_injected,
                "auth_failures": self.frigade_auth_failures,
                "public_writes": dict(self.frigade_public_writes),
            },
            "forward": {
                "flow_states": self.flow_states,
                "forwarded": self.flow_states_forwarded,
                "failed": self.flow_states_forward_failed,
            },
            "stream": {"subscribers": subscribers},
            "idle": pending == 0 and in_flight == 0,
        }
