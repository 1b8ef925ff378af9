"""The sandbox's Segment side: the project's one tracking-API receiver, under `/segment/v1/...`.

What Segment's API does with a request is in `frigade_cli.receiver.tracking`; here the accepted
messages are counted and handed to the sandbox (its event stream and its Webhooks destination).
This module receives what it needs and does not import the sandbox's app module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frigade_cli.receiver.tracking import Received, TrackingReceiver
from frigade_cli.sandbox.stats import Stats


def tracking_receiver(
    *,
    write_key: str,
    stats: Stats,
    accept: Callable[[list[dict[str, Any]], str], None],
    strict_spec: Callable[[], bool],
    dedup_window: float,
) -> TrackingReceiver:
    """A receiver accepting only `write_key`; `accept(messages, received_at)` gets what it takes."""

    def on_accept(received: Received) -> None:
        by_type = stats.segment_received
        for message in received.messages:
            by_type[message["type"]] += 1
        stats.segment_accepted_requests += 1
        accept(received.messages, received.received_at)

    def on_reject(status: int, problem: str) -> None:
        stats.segment_rejected_requests += 1
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
