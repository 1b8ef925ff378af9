"""Latency statistics (pure functions).

One percentile method everywhere in the tool: linear interpolation between closest ranks, the
method NumPy and R call "linear" / type 7 (Hyndman & Fan 1996, "Sample Quantiles in Statistical
Packages"). For n sorted values x[0..n-1] and q in 0..100, the rank is h = (n - 1) * q / 100 and
the percentile is x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]). It never goes
outside the observed range, p0 is the minimum and p100 the maximum, and with few samples a high
percentile lies between the two largest values rather than at the maximum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks (type 7).

    NaN for no values; ValueError when q is outside 0..100.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (q / 100) * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class LatencySummary:
    """p50, p95 and max of a set of durations, in milliseconds."""

    count: int
    p50: float | None
    p95: float | None
    max: float | None

    @classmethod
    def of(cls, millis: Sequence[float]) -> LatencySummary:
        if not millis:
            return cls(0, None, None, None)
        return cls(
            len(millis),
            round(percentile(millis, 50), 2),
            round(percentile(millis, 95), 2),
            round(max(millis), 2),
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {"count": self.count, "p50": self.p50, "p95": self.p95, "max": self.max}


@dataclass(frozen=True)
class Distribution:
    """min, p50, p90, p95, p99, max and mean of a set of durations (any unit; the tool uses ms).

    Every figure is None when there are no values.
    """

    count: int
    min: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    max: float | None
    mean: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(0, None, None, None, None, None, None, None)
        return cls(
            len(values),
            min(values),
            percentile(values, 50),
            percentile(values, 90),
            percentile(values, 95),
            percentile(values, 99),
            max(values),
            math.fsum(values) / len(values),
        )

    def get(self, name: str) -> float | None:
        """A figure by name: `min`, `p50`, `p90`, `p95`, `p99`, `max` or `mean`."""
        if name not in FIGURES:
            raise KeyError(name)
        value: float | None = getattr(self, name)
        return value


FIGURES = ("min", "p50", "p90", "p95", "p99", "max", "mean")


@dataclass(frozen=True)
class Bin:
    """A histogram bin: values `low <= v < high` (the last bin also holds `v == high`)."""

    low: float
    high: float
    count: int


def histogram(values: Sequence[float], bins: int = 10) -> list[Bin]:
    """Equal-width bins from min to max; one bin when every value is the same; [] for none."""
    if bins < 1:
        raise ValueError("a histogram needs at least one bin")
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [Bin(low, high, len(values))]
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return [Bin(low + i * width, low + (i + 1) * width, c) for i, c in enumerate(counts)]


@dataclass(frozen=True)
class ChangeInterval:
    """The relative change of one percentile between two sets of durations, as fractions.

    `change` is `now / baseline - 1` on the sets themselves (0.2 is 20% slower); `low` and `high`
    bound its `confidence` interval, from the bootstrap distribution of that same ratio.
    """

    q: float
    baseline: float
    now: float
    change: float
    low: float
    high: float


def bootstrap_changes(
    baseline: Sequence[float],
    now: Sequence[float],
    qs: Sequence[float],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[ChangeInterval]:
    """Percentile-bootstrap intervals for the relative change of each q-th percentile (0..100).

    Each of `resamples` rounds draws both sets anew with replacement (each at its own size), takes
    the q-th percentile of each draw (the `percentile` method) and keeps `now / baseline - 1`; the
    interval is the (1 - confidence) / 2 and (1 + confidence) / 2 percentiles of those ratios
    (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13). The same seed gives the
    same intervals. ValueError for an empty set or a baseline percentile that is not above 0.
    """
    import random

    if not baseline or not now:
        raise ValueError("both sets need at least one value")
    if resamples < 1 or not 0 < confidence < 1:
        raise ValueError("resamples must be at least 1 and confidence inside 0..1")
    base_figures = [percentile(baseline, q) for q in qs]
    if any(not b > 0 for b in base_figures):
        raise ValueError("a baseline percentile must be above 0 to compare against")
    rng = random.Random(seed)
    ratios: list[list[float]] = [[] for _ in qs]
    base_values, now_values = list(baseline), list(now)
    for _ in range(resamples):
        base_draw = rng.choices(base_values, k=len(base_values))
        now_draw = rng.choices(now_values, k=len(now_values))
        base_draw.sort()
        now_draw.sort()
        for i, q in enumerate(qs):
            b = _sorted_percentile(base_draw, q)
            # A draw made only of zeros has no ratio; it counts as no change rather than infinity.
            ratios[i].append(_sorted_percentile(now_draw, q) / b - 1 if b > 0 else 0.0)
    tail = (1 - confidence) / 2 * 100
    out = []
    for i, q in enumerate(qs):
        now_figure = percentile(now, q)
        out.append(
            ChangeInterval(
                q,
                base_figures[i],
                now_figure,
                now_figure / base_figures[i] - 1,
                percentile(ratios[i], tail),
                percentile(ratios[i], 100 - tail),
            )
        )
    return out


def _sorted_percentile(ordered: Sequence[float], q: float) -> float:
    """`percentile` of values already sorted (saves a sort per draw)."""
    if len(ordered) == 1:
        return ordered[0]
    rank = (q / 100) * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
