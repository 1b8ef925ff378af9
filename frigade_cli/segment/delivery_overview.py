"""Segment's Delivery Overview (Public API, beta): metrics, time windows, answers. No I/O.

Facts (segmentio/public-api-sdk-python `docs/DeliveryOverviewApi.md`; segmentio/public-api-sdk-
typescript `api/deliveryOverviewApi.ts` and `model/deliveryOverview*`, `model/getDelivery
OverviewMetricsBetaOutput.ts`):

- `GET /delivery-overview/{metric}` (beta: with `Accept: application/json`, as the SDKs send it,
  the beta version answers), Bearer token.
  Egress metrics (`successful-delivery`, `failed-delivery`, `filtered-at-destination`) take
  `sourceId` and `destinationConfigId`; ingress metrics (`successfully-received`,
  `failed-on-ingest`, `filtered-at-source`) take `sourceId`.
- `startTime` (inclusive) and `endTime` (exclusive), ISO 8601; `granularity` `minute` (window at
  most 4 h, start at most 48 h back), `hour` (14 d, within 30 d) or `day` (30 d, within 30 d);
  `groupBy` (the typescript SDK sends `groupBy[0]=eventName`), `filter` (`filter[discardReason][0]
  =...`), `pagination` (`pagination[count]`, `pagination[cursor]`).
- The answer: `{data: {total, dataset: [{eventName?, eventType?, discardReason?, appVersion?,
  total, totalRetryCount?, series: [{time, count, retryCount?}]}], pagination: {current, next?,
  previous?, totalEntries?}}}`; errors 404, 422 (validation), 429.
- The values of `discardReason` are not documented: they are shown as they come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from frigade_cli.kernel.clock import iso_from_ms, parse_iso_ms
from frigade_cli.kernel.errors import InputError, UsageError

PATH = "/delivery-overview"

SUCCESSFUL_DELIVERY = "successful-delivery"
FAILED_DELIVERY = "failed-delivery"
FILTERED_AT_DESTINATION = "filtered-at-destination"
SUCCESSFULLY_RECEIVED = "successfully-received"
FAILED_ON_INGEST = "failed-on-ingest"
FILTERED_AT_SOURCE = "filtered-at-source"
EGRESS = (SUCCESSFUL_DELIVERY, FAILED_DELIVERY, FILTERED_AT_DESTINATION)
INGRESS = (SUCCESSFULLY_RECEIVED, FAILED_ON_INGEST, FILTERED_AT_SOURCE)
METRICS = (*EGRESS, *INGRESS)
# Metrics whose answer carries retry counts (totalRetryCount, series[].retryCount).
WITH_RETRIES = (SUCCESSFUL_DELIVERY, FAILED_DELIVERY)

GROUP_BY = (
    "eventName",
    "eventType",
    "discardReason",
    "appVersion",
    "subscriptionId",
    "activationId",
    "audienceId",
    "spaceId",
)
# The dimensions a dataset entry names (the typescript SDK's DeliveryOverviewMetricsDataset).
DATASET_DIMENSIONS = ("eventName", "eventType", "discardReason", "appVersion")

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Granularity:
    """A bucket size and the window Segment allows with it."""

    name: str
    bucket_ms: int
    max_window_ms: int
    oldest_start_ms: int

    def describe(self) -> str:
        return (
            f"granularity {self.name} allows a window of at most {_span(self.max_window_ms)}, "
            f"starting at most {_span(self.oldest_start_ms)} back"
        )


GRANULARITIES = {
    g.name: g
    for g in (
        Granularity("minute", MINUTE_MS, 4 * HOUR_MS, 48 * HOUR_MS),
        Granularity("hour", HOUR_MS, 14 * DAY_MS, 30 * DAY_MS),
        Granularity("day", DAY_MS, 30 * DAY_MS, 30 * DAY_MS),
    )
}
# Segment checks the start against its own clock: this much leeway for a slightly fast one here.
CLOCK_LEEWAY_MS = 60_000


def _span(ms: int) -> str:
    """`4 h`, `14 d`, `2.5 d`, `90 min`: a span as Segment's documentation writes its limits."""
    if ms >= 7 * DAY_MS or (ms >= 2 * DAY_MS and ms % DAY_MS == 0 and ms % (48 * HOUR_MS)):
        return f"{_number(ms / DAY_MS)} d"
    if ms >= 2 * HOUR_MS:
        return f"{_number(ms / HOUR_MS)} h"
    return f"{_number(ms / MINUTE_MS)} min"


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def window_problem(granularity: str, start_ms: int, end_ms: int, now_ms: int) -> str | None:
    """Why Segment would refuse this window at this granularity (the rule, one line), or None.

    `granularity` is a name of GRANULARITIES (any case); times are epoch milliseconds.
    """
    found = GRANULARITIES.get(granularity.lower())
    if found is None:
        return f"granularity {granularity!r} is not one of {', '.join(GRANULARITIES)}"
    if end_ms <= start_ms:
        return "the window's end must be after its start"
    if end_ms - start_ms > found.max_window_ms:
        return f"{found.describe()}: this window is {_span(end_ms - start_ms)}" + (
            "; use a coarser granularity" if found.name != "day" else ""
        )
    if start_ms < now_ms - found.oldest_start_ms - CLOCK_LEEWAY_MS:
        return f"{found.describe()}: this window starts {_span(now_ms - start_ms)} back"
    return None


def choose_granularity(start_ms: int, end_ms: int, now_ms: int) -> str:
    """The finest granularity that allows the window; InputError naming the limit when none does."""
    for name in GRANULARITIES:
        if window_problem(name, start_ms, end_ms, now_ms) is None:
            return name
    problem = window_problem("day", start_ms, end_ms, now_ms)
    raise InputError(f"Delivery Overview cannot answer this window: {problem}")


@dataclass(frozen=True)
class Window:
    """A checked query window: [start, end) in epoch milliseconds and its granularity."""

    start_ms: int
    end_ms: int
    granularity: str

    @property
    def start(self) -> str:
        return iso_from_ms(self.start_ms)

    @property
    def end(self) -> str:
        return iso_from_ms(self.end_ms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "granularity": self.granularity,
            "seconds": (self.end_ms - self.start_ms) / 1000,
        }


def plan_window(
    now_ms: int,
    *,
    since_s: float | None = None,
    start: str | None = None,
    end: str | None = None,
    granularity: str | None = None,
) -> Window:
    """The window the flags ask for, checked against Segment's limits before anything is sent.

    `--since` (default 1 h) counts back from `--end` (default now); `--start` replaces it.
    InputError (exit 3) with one line naming the rule otherwise.
    """
    if start is not None and since_s is not None:
        raise UsageError("give --since or --start, not both")
    end_ms = now_ms if end is None else _time(end, "--end")
    if start is not None:
        start_ms = _time(start, "--start")
    else:
        seconds = 3600.0 if since_s is None else since_s
        if seconds <= 0:
            raise InputError("--since must be above 0")
        start_ms = end_ms - round(seconds * 1000)
    if end_ms <= start_ms:
        raise InputError("the window's end must be after its start (--start/--end)")
    if granularity is None:
        return Window(start_ms, end_ms, choose_granularity(start_ms, end_ms, now_ms))
    name = granularity.lower()
    if name not in GRANULARITIES:  # a wrong kind of value: usage (2), like a bad choice
        raise UsageError(f"--granularity {granularity!r} is not one of {', '.join(GRANULARITIES)}")
    problem = window_problem(name, start_ms, end_ms, now_ms)
    if problem is not None:
        raise InputError(f"--granularity {name}: {problem}")
    return Window(start_ms, end_ms, name)


def _time(value: str, flag: str) -> int:
    parsed = parse_iso_ms(value.strip())
    if parsed is None:
        raise UsageError(f"{flag} {value!r} is not an ISO 8601 time, e.g. 2026-11-28T10:00:00Z")
    return parsed


def check_group_by(values: list[str]) -> list[str]:
    """`--group-by` values (repeatable, comma-separated) as Segment's dimension names."""
    known = {d.lower(): d for d in GROUP_BY}
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            dimension = known.get(name.lower())
            if dimension is None:
                raise UsageError(
                    f"--group-by {name!r}: Delivery Overview groups by {', '.join(GROUP_BY)}"
                )
            if dimension not in out:
                out.append(dimension)
    return out


def bucket_start(ms: int, granularity: str) -> int:
    """The start (epoch ms, UTC) of the bucket holding `ms`."""
    size = GRANULARITIES[granularity].bucket_ms
    return ms - ms % size


def bucket_starts(window: Window) -> list[int]:
    """Every bucket's start from the one holding the window's start to the end (exclusive)."""
    size = GRANULARITIES[window.granularity].bucket_ms
    first = bucket_start(window.start_ms, window.granularity)
    return list(range(first, window.end_ms, size))


# Answers ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """One bucket of a series: its start, its count and (egress) its retries."""

    time: str
    count: int
    retry_count: int = 0


@dataclass
class Row:
    """One dataset entry: its dimensions (`{"discardReason": "..."}`), total, retries, series."""

    dimensions: dict[str, str]
    total: int
    total_retry_count: int = 0
    series: list[Point] = field(default_factory=list)


@dataclass
class Metric:
    """One metric's answer, every page of it: the grand total and the rows."""

    name: str
    total: int = 0
    rows: list[Row] = field(default_factory=list)

    @property
    def retries(self) -> int:
        return sum(r.total_retry_count for r in self.rows)

    def by(self, dimension: str) -> list[tuple[str, int]]:
        """Totals per value of `dimension`, largest first (rows without it count as '')."""
        totals: dict[str, int] = {}
        for row in self.rows:
            key = row.dimensions.get(dimension, "")
            totals[key] = totals.get(key, 0) + row.total
        return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))

    def series(self) -> dict[str, int]:
        """Counts per bucket time, summed over the rows."""
        out: dict[str, int] = {}
        for row in self.rows:
            for point in row.series:
                out[point.time] = out.get(point.time, 0) + point.count
        return out


class AnswerShapeError(ValueError):
    """A Delivery Overview answer that is not `{data: {total, dataset, pagination}}`."""


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnswerShapeError(f"{what} is not a number")
    return int(value)


def parse_page(body: Any) -> tuple[int, list[Row], str | None]:
    """One page of an answer: `(data.total, rows, data.pagination.next)`; AnswerShapeError."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise AnswerShapeError("the answer has no data object")
    total = _int(data.get("total", 0), "data.total")
    dataset = data.get("dataset")
    if not isinstance(dataset, list):
        raise AnswerShapeError("data.dataset is not a list")
    rows = []
    for n, entry in enumerate(dataset):
        if not isinstance(entry, dict):
            raise AnswerShapeError(f"data.dataset[{n}] is not an object")
        series = entry.get("series") or []
        if not isinstance(series, list):
            raise AnswerShapeError(f"data.dataset[{n}].series is not a list")
        points = []
        for point in series:
            if not isinstance(point, dict):
                raise AnswerShapeError(f"data.dataset[{n}].series holds a non-object")
            points.append(
                Point(
                    str(point.get("time", "")),
                    _int(point.get("count", 0), "series count"),
                    _int(point.get("retryCount") or 0, "series retryCount"),
                )
            )
        rows.append(
            Row(
                {
                    key: str(entry[key])
                    for key in GROUP_BY
                    if key in entry and entry[key] is not None
                },
                _int(entry.get("total", 0), f"data.dataset[{n}].total"),
                _int(entry.get("totalRetryCount") or 0, f"data.dataset[{n}].totalRetryCount"),
                points,
            )
        )
    pagination = data.get("pagination")
    following = pagination.get("next") if isinstance(pagination, dict) else None
    return total, rows, str(following) if following else None
