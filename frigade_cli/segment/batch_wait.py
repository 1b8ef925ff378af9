"""How long an event waits in a Segment webhook batch before the batch is sent.

The model (no I/O, no randomness). Events arrive as a Poisson process of rate
``lam = events_per_day / 86400`` per second. A batch opens with its first event (the opener) and
is sent when it holds ``B = batch_size`` events or ``T = max_wait_s`` seconds after it opened,
whichever comes first; the next event then opens the next batch, so batches are independent
renewal cycles (the Poisson process is memoryless).

Let ``mu = lam * T`` and ``S_j = P(Poisson(mu) >= j)``. With ``N(t)`` the arrivals after the
opener, the batch is open at ``t < T`` while ``N(t) <= B - 2``; it closes at ``C``.

Mean events per batch (``expected_fill``)::

    D = E[1 + min(N(T), B - 1)] = 1 + sum_{j=1}^{B-1} S_j

Mean wait per event (renewal-reward: total wait in a batch over events in a batch)::

    E[W] = E[int_0^C (1 + N(t)) dt] / D
         = int_0^T sum_{k=0}^{B-2} (k+1) P(N(t) = k) dt / D
         = (1/lam) * sum_{j=1}^{B-1} j * S_j / D

using ``int_0^T lam P(N(t) = k) dt = P(Poisson(mu) >= k + 1)`` (the k+1-th arrival is before T).
Limits: ``B = 1`` gives 0; ``mu -> inf`` gives ``(B - 1) / (2 lam)`` (the batch always fills);
``mu -> 0`` with ``B >= 3`` gives ``T (1 + mu/2) / (1 + mu) ~ T (1 - mu/2)`` (each event waits
out the timer nearly alone).

Distribution of the wait (for the 95th percentile). The i-th event of a batch (i = 0 the
opener) arrives at ``a_i``; it waits more than ``w`` when ``a_i < T - w`` and fewer than
``B - 1 - i`` further events arrive in the next ``w`` seconds. By independent increments the
expected number of events of a batch waiting more than ``w`` is, for ``0 <= w < T``::

    G(w) = sum_{i=0}^{B-2} P(Poisson(lam (T - w)) >= i) * P(Poisson(lam w) <= B - 2 - i)

and ``G(w) = 0`` for ``w >= T``; the per-event survival function is ``P(W > w) = G(w) / D``.
It has an atom at 0 (the event that fills a batch) and one at ``T`` (the opener of a batch that
timed out). The 95th percentile is ``inf{w : P(W > w) <= 0.05}``, found by bisection on the
decreasing ``G`` to 1e-9 of ``T``.

Source of the batch contract (sent when full, or after a maximum wait): Segment's Webhooks
(Actions) destination docs say a batch may wait "up to about a minute" to fill; the 60 s default
for ``max_wait_s`` is that statement, unconfirmed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400.0
DEFAULT_MAX_WAIT_S = 60.0  # Segment docs: "up to about a minute" (unconfirmed)
DEFAULT_TARGET_WAIT_S = 2.0  # Frigade's Segment guide: lag usually under 2 s
MAX_BATCH_SIZE = 4000  # Segment Webhooks (Actions): batch_size maximum
P95 = 0.95


@dataclass(frozen=True)
class BatchWait:
    """The wait an event spends in its batch, in seconds, for one traffic level and batch size."""

    events_per_day: float
    batch_size: int
    max_wait_s: float
    expected_s: float  # mean time an event waits in its batch before the batch is sent
    p95_s: float  # 95th percentile of that wait
    expected_fill: float  # mean events per batch sent


def _poisson_cdf(mean: float, upto: int) -> list[float]:
    """``[P(Poisson(mean) <= k) for k in 0..upto]``, computed in log space so large means work."""
    if upto < 0:
        return []
    if mean <= 0.0:
        return [1.0] * (upto + 1)
    log_mean = math.log(mean)
    cdf: list[float] = []
    total = 0.0
    for k in range(upto + 1):
        total += math.exp(k * log_mean - mean - math.lgamma(k + 1))
        cdf.append(min(total, 1.0))
    return cdf


def _check(events_per_day: float, batch_size: int, max_wait_s: float) -> None:
    if not math.isfinite(events_per_day) or events_per_day < 0:
        raise ValueError(f"events per day must be a finite number >= 0, got {events_per_day}")
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    if not math.isfinite(max_wait_s) or max_wait_s < 0:
        raise ValueError(f"maximum batch wait must be a finite number >= 0, got {max_wait_s}")


def _fill_and_mean(lam: float, batch_size: int, max_wait_s: float) -> tuple[float, float]:
    """``(D, E[W])`` of the module docstring; ``lam > 0``."""
    cdf = _poisson_cdf(lam * max_wait_s, batch_size - 2)
    # S_j = 1 - P(N <= j - 1) for j = 1..B-1
    tails = [1.0 - c for c in cdf]
    fill = 1.0 + sum(tails)
    weighted = sum((j + 1) * s for j, s in enumerate(tails))
    return fill, weighted / lam / fill


def _events_waiting_longer(lam: float, batch_size: int, max_wait_s: float, w: float) -> float:
    """``G(w)``: expected events of one batch that wait more than ``w`` seconds."""
    if w >= max_wait_s:
        return 0.0
    top = batch_size - 2
    before = _poisson_cdf(lam * (max_wait_s - w), top)  # P(Poisson(lam (T - w)) <= k)
    after = _poisson_cdf(lam * w, top)  # P(Poisson(lam w) <= k)
    total = after[top]  # i = 0: the opener is always there
    for i in range(1, top + 1):
        total += (1.0 - before[i - 1]) * after[top - i]
    return total


def _p95(lam: float, batch_size: int, max_wait_s: float, fill: float) -> float:
    share = 1.0 - P95
    if _events_waiting_longer(lam, batch_size, max_wait_s, 0.0) / fill <= share:
        return 0.0
    # Just below T only the opener of a timed-out batch is left: the atom at T.
    just_below = max_wait_s * (1.0 - 1e-12)
    if _events_waiting_longer(lam, batch_size, max_wait_s, just_below) / fill > share:
        return max_wait_s
    low, high = 0.0, max_wait_s
    while high - low > 1e-9 * max_wait_s:
        mid = (low + high) / 2.0
        if _events_waiting_longer(lam, batch_size, max_wait_s, mid) / fill > share:
            low = mid
        else:
            high = mid
    return high


def batch_wait(
    events_per_day: float, batch_size: int, max_wait_s: float = DEFAULT_MAX_WAIT_S
) -> BatchWait:
    """Expected and 95th-percentile wait of an event in its batch, and the mean batch fill.

    `events_per_day` >= 0 (Poisson arrivals), `batch_size` >= 1 events, `max_wait_s` >= 0
    seconds a batch may stay open (Segment: "up to about a minute", unconfirmed). Waits are in
    seconds; the formulas are in the module docstring. Raises ValueError on a negative, infinite
    or NaN input or a batch size below 1.
    """
    _check(events_per_day, batch_size, max_wait_s)
    lam = events_per_day / SECONDS_PER_DAY
    if batch_size == 1 or max_wait_s == 0.0:
        return BatchWait(events_per_day, batch_size, max_wait_s, 0.0, 0.0, 1.0)
    if lam == 0.0:
        # No second event ever comes: every batch is a lone event that waits out the timer.
        return BatchWait(events_per_day, batch_size, max_wait_s, max_wait_s, max_wait_s, 1.0)
    fill, mean = _fill_and_mean(lam, batch_size, max_wait_s)
    p95 = _p95(lam, batch_size, max_wait_s, fill)
    return BatchWait(events_per_day, batch_size, max_wait_s, mean, p95, fill)


def expected_wait(
    events_per_day: float, batch_size: int, max_wait_s: float = DEFAULT_MAX_WAIT_S
) -> float:
    """Only the mean wait in seconds of `batch_wait` (cheaper: no percentile search)."""
    _check(events_per_day, batch_size, max_wait_s)
    lam = events_per_day / SECONDS_PER_DAY
    if batch_size == 1 or max_wait_s == 0.0:
        return 0.0
    if lam == 0.0:
        return max_wait_s
    return _fill_and_mean(lam, batch_size, max_wait_s)[1]


def largest_batch_size(
    events_per_day: float,
    target_wait_s: float = DEFAULT_TARGET_WAIT_S,
    max_wait_s: float = DEFAULT_MAX_WAIT_S,
    limit: int = MAX_BATCH_SIZE,
) -> int:
    """The largest batch size in 1..`limit` whose expected wait is at most `target_wait_s` seconds.

    Always at least 1 (a batch of one is sent at once). The expected wait grows with the batch
    size, so the answer is found by bisection. Raises ValueError on invalid inputs (as
    `batch_wait`), a negative target or a `limit` below 1.
    """
    _check(events_per_day, 1, max_wait_s)
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if not target_wait_s >= 0:
        raise ValueError(f"target wait must be >= 0, got {target_wait_s}")
    if expected_wait(events_per_day, limit, max_wait_s) <= target_wait_s:
        return limit
    low, high = 1, limit  # expected_wait(low) <= target < expected_wait(high)
    while high - low > 1:
        mid = (low + high) // 2
        if expected_wait(events_per_day, mid, max_wait_s) <= target_wait_s:
            low = mid
        else:
            high = mid
    return low
