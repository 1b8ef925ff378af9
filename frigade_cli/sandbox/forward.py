"""Frigade -> Segment: flowStates actions sent as Segment track events, as an integration does.

The names and properties of the events Frigade really sends to Segment are NOT documented
(DESIGN.md, section 2). The sandbox models them on Frigade's own webhook vocabulary
(`flowResponse.startedFlow`, ...) in the one table below; it is a sandbox model, not the truth,
and `tail` shows whatever really arrives.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import TYPE_CHECKING, Any

from frigade_cli import __version__
from frigade_cli.kernel.clock import now_iso
from frigade_cli.kernel.http import send_with_retry
from frigade_cli.sandbox.delivery_overview import (
    FRIGADE_SOURCE_ID,
    http_reason,
)
from frigade_cli.sandbox.state import WRITE_KEY_NAMES
from frigade_cli.segment import jsjson
from frigade_cli.segment.delivery_overview import (
    FAILED_ON_INGEST,
    SUCCESSFULLY_RECEIVED,
)

if TYPE_CHECKING:
    import httpx

    from frigade_cli.sandbox.parts import OutboundParts

# actionType -> the track event's name (sandbox model; skippedStep extends the documented list).
FLOW_STATE_EVENTS: dict[str, str] = {
    "STARTED_FLOW": "flowResponse.startedFlow",
    "COMPLETED_FLOW": "flowResponse.completedFlow",
    "SKIPPED_FLOW": "flowResponse.skippedFlow",
    "STARTED_STEP": "flowResponse.startedStep",
    "COMPLETED_STEP": "flowResponse.completedStep",
    "SKIPPED_STEP": "flowResponse.skippedStep",
}
ACTION_TYPES = tuple(FLOW_STATE_EVENTS)
MAX_CONCURRENT = 8


def basic_auth(write_key: str) -> str:
    """Segment's HTTP API auth: the write key as the user, an empty password."""
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def flow_state_track(record: dict[str, Any]) -> dict[str, Any]:
    """The Segment track message the sandbox sends for one recorded flowStates action."""
    properties: dict[str, Any] = {
        "flowSlug": record["flowSlug"],
        "stepId": record.get("stepId"),
        "actionType": record["actionType"],
    }
    for name in ("groupId", "data"):
        if record.get(name) is not None:
            properties[name] = record[name]
    return {
        "type": "track",
        "userId": record["userId"],
        "event": FLOW_STATE_EVENTS[record["actionType"]],
        "properties": properties,
        "messageId": f"frigade-sandbox-{uuid.uuid4()}",
        "timestamp": record["createdAt"],
        "context": {"library": {"name": "frigade-sandbox", "version": __version__}},
        "integrations": {},
    }


class SegmentForwarder:
    """Sends track events to the Segment API in background tasks, a few at a time."""

    def __init__(self, sandbox: OutboundParts) -> None:
        self._sandbox = sandbox
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def forward(self, record: dict[str, Any]) -> bool:
        """Queue a track event for the action when a Segment integration is active.

        An active integration whose connectionData holds no write key (the key's name is not
        documented: any of WRITE_KEY_NAMES is taken) is a failed forward, reported, not skipped.
        """
        sandbox = self._sandbox
        integration = sandbox.store.active_integration("SEGMENT")
        if integration is None:
            return False
        write_key = integration.write_key
        if not write_key:
            error = (
                f"the active SEGMENT integration {integration.id} has no write key in its "
                f"connectionData (looked for {', '.join(WRITE_KEY_NAMES)})"
            )
            sandbox.stats.flow_states_forward_failed += 1
            sandbox.hub.publish(
                "forward", "failed", {"error": error, "status": None, "track": None}
            )
            sandbox.log(f"flowStates forward not sent: {error}")
            return False
        task = asyncio.create_task(self._send(flow_state_track(record), write_key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def drain(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _send(self, track: dict[str, Any], write_key: str) -> None:
        import httpx

        sandbox = self._sandbox
        url = sandbox.segment_api_url.rstrip("/") + "/v1/track"
        body = {**track, "sentAt": now_iso()}
        payload = jsjson.dumps(body)  # Segment bodies are written as JavaScript writes them
        headers = {"authorization": basic_auth(write_key), "content-type": "application/json"}

        async def send() -> httpx.Response:
            return await sandbox.client.post(url, content=payload, headers=headers)

        status: int | None = None
        async with self._slots:
            try:
                response = await send_with_retry(send, sandbox.config.retry)
                status = response.status_code
                error = None if 200 <= status < 300 else f"HTTP {status}: {response.text[:300]}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        if error is None:
            sandbox.telemetry.count(SUCCESSFULLY_RECEIVED, FRIGADE_SOURCE_ID, [track])
        elif status is not None:  # Segment answered, so its ingest counted the refusal
            sandbox.telemetry.count(
                FAILED_ON_INGEST, FRIGADE_SOURCE_ID, [track], http_reason(status)
            )
        if error is None:
            sandbox.stats.flow_states_forwarded += 1
            sandbox.hub.publish("forward", "track", body)
            return
        sandbox.stats.flow_states_forward_failed += 1
        sandbox.hub.publish("forward", "failed", {"error": error, "status": status, "track": body})
        sandbox.log(f"flowStates forward to {url} failed: {error}")
