"""Segment's Delivery Overview for the sandbox, from what really happened in it.

`Telemetry` counts, per minute, every event's outcome as the sandbox's parts see it:

- `successfully-received` of `src_sandbox` (the HTTP API source behind the sandbox's tracking
  API, `/segment/v1/...`): each message it accepts;
- `failed-on-ingest` of `src_sandbox`: each request it refuses, as one event (a refused body
  cannot always be counted), `discardReason` `HTTP 401 Unauthorized`, `HTTP 400 Bad Request`...;
- `filtered-at-source` of `src_sandbox`: each repeated messageId dropped (`duplicate messageId`);
- `successful-delivery` of `src_sandbox` to `dst_sandbox_webhooks`: each event of a batch the
  Webhooks destination got a 2xx for; its retries are the batch's attempts less one;
- `failed-delivery`: each event of a batch the destination gave up on, `discardReason` the last
  answer (`HTTP 503 Service Unavailable` for injected faults, `HTTP 403 Forbidden` for a
  rejected key) or the transport error's name (`ConnectError`);
- `filtered-at-destination`: each event the destination took no action on (`no subscription
  matched` its type, `destination disabled`);
- `successfully-received` of `src_sandbox_frigade` (the source the sandbox's Frigade streams
  into): each track event it forwarded for a flowStates action that the Segment API took;
- `failed-on-ingest` of `src_sandbox_frigade`: each that the Segment API refused.

Frigade's stream goes to the sandbox's own tracking API unless `segment_api_url` says otherwise,
so those events also count as received by `src_sandbox`, and its destination delivers them.
`eventName` is a track event's name, a page or screen's name, else the message type (Segment does
not document what it shows for the others). Counts live in memory since the start or the last
reset, at most 30 days of them.

The routes, under the Public API base (`/segmentapis/delivery-overview/...`), answer as Segment
does (`{data: {total, dataset, pagination}}`, the Bearer token being the sandbox's private key),
and refuse with 422 what Segment refuses: a missing parameter, an unknown granularity or groupBy
dimension, a window over the granularity's limit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from frigade_cli.kernel.clock import iso_from_ms, parse_iso_ms
from frigade_cli.sandbox.public_api import (
    DESTINATION_ID,
    api_error,
    bearer_denied,
    cursor_offset,
    page_cursor,
)
from frigade_cli.sandbox.responses import json_response
from frigade_cli.segment.delivery_overview import (
    DATASET_DIMENSIONS,
    DAY_MS,
    EGRESS,
    GROUP_BY,
    METRICS,
    MINUTE_MS,
    PATH,
    WITH_RETRIES,
    Window,
    bucket_start,
    bucket_starts,
    window_problem,
)

PREFIX = "/segmentapis"
SOURCE_ID = "src_sandbox"  # the HTTP API source behind the sandbox's tracking API
FRIGADE_SOURCE_ID = "src_sandbox_frigade"  # the source the sandbox's Frigade streams into
SOURCES = (SOURCE_ID, FRIGADE_SOURCE_ID)
KEPT_MS = 30 * DAY_MS
MAX_PAGE = 200
NO_SUBSCRIPTION = "no subscription matched"
DESTINATION_DISABLED = "destination disabled"
DUPLICATE = "duplicate messageId"

# (metric, source, minute, eventName, eventType, discardReason) -> [count, retries]
Key = tuple[str, str, int, str | None, str | None, str | None]


def http_reason(status: int) -> str:
    """`HTTP 503 Service Unavailable`: the discard reason of a refused request."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
    return f"HTTP {status} {phrase}"


def event_name(message: Mapping[str, Any]) -> str | None:
    name = message.get("event") or message.get("name") or message.get("type")
    return str(name) if name is not None else None


class Telemetry:
    """Outcome counts per minute; everything runs on the server's event loop (no locks)."""

    def __init__(self, clock: Any = time.time) -> None:
        self._counts: dict[Key, list[int]] = {}
        self._clock = clock
        self._pruned = 0

    def _minute(self) -> int:
        now_ms = int(self._clock() * 1000)
        minute = now_ms - now_ms % MINUTE_MS
        if minute - self._pruned >= 60 * MINUTE_MS:
            self._prune(minute - KEPT_MS)
            self._pruned = minute
        return minute

    def _prune(self, before: int) -> None:
        for key in [k for k in self._counts if k[2] < before]:
            del self._counts[key]

    def count(
        self,
        metric: str,
        source: str,
        messages: Iterable[Mapping[str, Any]],
        reason: str | None = None,
        retries: int = 0,
    ) -> None:
        """Count each message once under `metric` for `source` (its name and type kept)."""
        minute = self._minute()
        counts = self._counts
        for message in messages:
            key = (metric, source, minute, event_name(message), message.get("type"), reason)
            cell = counts.get(key)
            if cell is None:
                counts[key] = [1, retries]
            else:
                cell[0] += 1
                cell[1] += retries

    def count_unnamed(self, metric: str, source: str, count: int, reason: str | None) -> None:
        """Count `count` events whose name and type are not known (a refused request)."""
        if count <= 0:
            return
        key = (metric, source, self._minute(), None, None, reason)
        cell = self._counts.setdefault(key, [0, 0])
        cell[0] += count

    def clear(self) -> None:
        self._counts.clear()

    def rows(
        self,
        metric: str,
        source: str,
        window: Window,
        group_by: list[str],
        filters: dict[str, set[str]],
    ) -> list[dict[str, Any]]:
        """The dataset Segment would answer, every row (unpaged), largest total first."""
        granularity = window.granularity
        starts = bucket_starts(window)
        first, end = (starts[0] if starts else window.start_ms), window.end_ms
        retries = metric in WITH_RETRIES
        groups: dict[tuple[str | None, ...], dict[int, list[int]]] = {}
        for (m, s, minute, name, type_, reason), (count, retried) in self._counts.items():
            if m != metric or s != source or not first <= minute < end:
                continue
            values = {"eventName": name, "eventType": type_, "discardReason": reason}
            if any(values.get(dim) not in wanted for dim, wanted in filters.items()):
                continue
            group = tuple(values.get(dim) for dim in group_by)
            bucket = groups.setdefault(group, {}).setdefault(
                bucket_start(minute, granularity), [0, 0]
            )
            bucket[0] += count
            bucket[1] += retried
        if not group_by and not groups:
            groups[()] = {}
        rows = []
        for group, buckets in groups.items():
            row: dict[str, Any] = {
                dim: value
                for dim, value in zip(group_by, group, strict=True)
                if dim in DATASET_DIMENSIONS and value is not None
            }
            row["total"] = sum(c for c, _ in buckets.values())
            series = []
            for start in starts:
                count, retried = buckets.get(start, (0, 0))
                point: dict[str, Any] = {"time": iso_from_ms(start), "count": count}
                if retries:
                    point["retryCount"] = retried
                series.append(point)
            row["series"] = series
            if retries:
                row["totalRetryCount"] = sum(r for _, r in buckets.values())
            rows.append(row)
        rows.sort(key=lambda r: -int(r["total"]))
        return rows


class DeliveryOverviewSource(Protocol):
    """What these routes read from the running sandbox (the `Sandbox` object provides it)."""

    @property
    def api_key(self) -> str: ...

    @property
    def telemetry(self) -> Telemetry: ...


def _invalid(message: str) -> Response:
    return api_error(422, "validation", message)


# `groupBy=a,b`, `groupBy=a&groupBy=b`, `groupBy[0]=a`, `groupBy[]=a`, `groupBy.0=a`.
_INDEXED = re.compile(
    r"^(?P<name>\w+)(?:\[(?P<sub>[A-Za-z]\w*)\]|\.(?P<dot>[A-Za-z]\w*))?"
    r"(?:\[\d*\]|\.\d+)?$"
)


def _lists(query: Iterable[tuple[str, str]], name: str) -> dict[str | None, list[str]]:
    """Values of `name` (sub-key None) or of `name[sub]` / `name.sub`, split at commas."""
    found: dict[str | None, list[str]] = {}
    for key, value in query:
        match = _INDEXED.match(key)
        if match is None or match.group("name") != name:
            continue
        sub = match.group("sub") or match.group("dot")
        found.setdefault(sub, []).extend(v.strip() for v in value.split(",") if v.strip())
    return found


def routes(source: DeliveryOverviewSource) -> list[Route]:
    """The six Delivery Overview routes, reading `source.telemetry` at each request."""

    def denied(request: Request) -> Response | None:
        return bearer_denied(request, source.api_key)

    def endpoint(metric: str) -> Any:
        egress = metric in EGRESS

        async def answer(request: Request) -> Response:
            problem = denied(request)
            if problem is not None:
                return problem
            query = request.query_params
            required = ["sourceId", "startTime", "endTime", "granularity"]
            if egress:
                required.insert(1, "destinationConfigId")
            missing = [name for name in required if not query.get(name)]
            if missing:
                return _invalid(
                    f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required"
                )
            start = parse_iso_ms(query["startTime"])
            end = parse_iso_ms(query["endTime"])
            if start is None or end is None:
                return _invalid("startTime and endTime must be ISO 8601 timestamps")
            granularity = query["granularity"].lower()
            rule = window_problem(granularity, start, end, int(time.time() * 1000))
            if rule is not None:
                return _invalid(rule)
            items = list(query.multi_items())
            group_by = _lists(items, "groupBy").get(None, [])
            unknown = [d for d in group_by if d not in GROUP_BY]
            if unknown:
                return _invalid(f"groupBy {unknown[0]!r} is not one of {', '.join(GROUP_BY)}")
            filters = {
                name: set(values)
                for name, values in _lists(items, "filter").items()
                if name is not None
            }
            unknown = [d for d in filters if d not in GROUP_BY]
            if unknown:
                return _invalid(f"filter {unknown[0]!r} is not one of {', '.join(GROUP_BY)}")
            page = _lists(items, "pagination")
            count_text = (page.get("count") or ["200"])[0]
            cursor = (page.get("cursor") or [""])[0]
            try:
                count = int(count_text)
                offset = cursor_offset(cursor)
            except ValueError:
                return _invalid(
                    "pagination: count must be a number and cursor one returned by this API"
                )
            if not 1 <= count <= MAX_PAGE:
                return _invalid(f"pagination.count must be between 1 and {MAX_PAGE}")
            source_id = query["sourceId"]
            if source_id not in SOURCES or (
                egress
                and (source_id != SOURCE_ID or query["destinationConfigId"] != DESTINATION_ID)
            ):
                return api_error(404, "not-found", "Resource not found")
            window = Window(start, end, granularity)
            rows = source.telemetry.rows(metric, source_id, window, group_by, filters)
            shown = rows[offset : offset + count]
            following = offset + count
            return json_response(
                {
                    "data": {
                        "total": sum(int(r["total"]) for r in rows),
                        "dataset": shown,
                        "pagination": {
                            "current": page_cursor(offset),
                            "next": page_cursor(following) if following < len(rows) else None,
                            "previous": page_cursor(max(0, offset - count)) if offset else None,
                            "totalEntries": len(rows),
                        },
                    }
                }
            )

        return answer

    return [
        Route(f"{PREFIX}{PATH}/{metric}", endpoint(metric), methods=["GET"]) for metric in METRICS
    ]
