"""The sandbox's Segment side: the project's one tracking-API receiver, under `/segment/v1/...`.

What Segment's API does with a request is in `frigade_cli.receiver.tracking`; here the accepted
messages are counted and handed to the sandbox (its event stream and its Webhooks destination).
This module receives what it needs and does not import the sandbox's app module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frigade_cli.receiver.tracking import Received, TrackingReceiver
from frigade_cli.sandbox.delivery_overview import (
    DUPLICATE,
    SOURCE_ID,
    Telemetry,
    http_reason,
)
from frigade_cli.sandbox.stats import Stats
from frigade_cli.segment.delivery_overview import (
    FAILED_ON_INGEST,
    FILTERED_AT_SOURCE,
    SUCCESSFULLY_RECEIVED,
)


def tracking_receiver(
    *,
    write_key: str,
    stats: Stats,
    telemetry: Telemetry,
    accept: Callable[[list[dict[str, Any]], str], None],
    strict_spec: Callable[[], bool],
    dedup_window: float,
) -> TrackingReceiver:
    """A receiver accepting only `write_key`; `accept(messages, received_at)` gets what it takes.

    Every outcome is counted in `stats` and, for Delivery Overview, in `telemetry`.
    """

    def on_accept(received: Received) -> None:
        by_type = stats.segment_received
        for message in received.messages:
            by_type[message["type"]] += 1
        stats.segment_accepted_requests += 1
        telemetry.count(SUCCESSFULLY_RECEIVED, SOURCE_ID, received.messages)
        telemetry.count_unnamed(FILTERED_AT_SOURCE, SOURCE_ID, received.duplicates, DUPLICATE)
        accept(received.messages, received.received_at)

    def on_reject(status: int, problem: str) -> None:
        stats.segment_rejected_requests += 1
        telemetry.count_unnamed(FAILED_ON_INGEST, SOURCE_ID, 1, http_reason(status))
        if status == 401:
            stats.segment_auth_failures += 1

    return TrackingReceiver(
        write_keys=(write_key,),
        on_accept=on_accept,
        on_reject=on_reject,
        strict_spec=strict_spec,
        dedup_window=dedup_window,
        message_id_prefix="sandbox-",
    )
