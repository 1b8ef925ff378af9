"""The batch-wait model against a simulation, closed forms at its limits, and its monotonicity."""

from __future__ import annotations

import math
import random

import pytest

from frigade_cli.segment.batch_wait import batch_wait, largest_batch_size


def _simulate(
    events_per_day: float, batch_size: int, max_wait_s: float, events: int, seed: int
) -> list[float]:
    """Per-event waits of a seeded Poisson stream batched by count or timer, event by event."""
    rng = random.Random(seed)
    rate = events_per_day / 86_400.0
    waits: list[float] = []
    t = 0.0
    opened: float | None = None
    members: list[float] = []
    for _ in range(events):
        t += rng.expovariate(rate)
        if opened is not None and t >= opened + max_wait_s:
            waits.extend(opened + max_wait_s - a for a in members)
            opened, members = None, []
        if opened is None:
            opened = t
        members.append(t)
        if len(members) == batch_size:
            waits.extend(t - a for a in members)
            opened, members = None, []
    return waits


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


@pytest.mark.parametrize(
    ("events_per_day", "batch_size"),
    [
        (2880.0, 4),  # 2 events per 60 s window: batches mostly time out
        (28800.0, 10),  # 20 per window: batches mostly fill
        (720.0, 3),  # 0.5 per window: mostly lone events
        (8640.0, 7),  # 6 per window: both endings are common
        (172800.0, 50),  # 120 per window: fills in about 25 s, p95 inside the window
    ],
)
def test_mean_and_p95_agree_with_a_seeded_simulation(
    events_per_day: float, batch_size: int
) -> None:
    waits = _simulate(events_per_day, batch_size, 60.0, events=120_000, seed=7)
    model = batch_wait(events_per_day, batch_size, 60.0)
    assert model.expected_s == pytest.approx(sum(waits) / len(waits), abs=0.6)
    assert model.p95_s == pytest.approx(_quantile(waits, 0.95), abs=1.0)


def test_mean_fill_agrees_with_a_seeded_simulation() -> None:
    rng = random.Random(11)
    rate, size, window = 8640.0 / 86_400.0, 7, 60.0
    fills: list[int] = []
    t, opened, count = 0.0, None, 0
    for _ in range(100_000):
        t += rng.expovariate(rate)
        if opened is not None and t >= opened + window:
            fills.append(count)
            opened, count = None, 0
        if opened is None:
            opened = t
        count += 1
        if count == size:
            fills.append(count)
            opened, count = None, 0
    assert batch_wait(8640.0, size, window).expected_fill == pytest.approx(
        sum(fills) / len(fills), rel=0.01
    )


def test_a_batch_of_one_never_waits() -> None:
    result = batch_wait(120.0, 1, 60.0)
    assert (result.expected_s, result.p95_s, result.expected_fill) == (0.0, 0.0, 1.0)


def test_batch_of_two_matches_its_closed_form() -> None:
    # B = 2: the opener waits min(T, Exp(lam)), the second event 0; D = 2 - e^-mu.
    lam, window = 5.0 / 60.0, 60.0
    mu = lam * window
    fill = 2.0 - math.exp(-mu)
    result = batch_wait(lam * 86_400.0, 2, window)
    assert result.expected_fill == pytest.approx(fill, rel=1e-12)
    assert result.expected_s == pytest.approx((1.0 - math.exp(-mu)) / (lam * fill), rel=1e-9)
    # P(W > w) = e^(-lam w) / D below T: the 95th percentile solves e^(-lam w) = 0.05 D.
    assert result.p95_s == pytest.approx(math.log(1.0 / (0.05 * fill)) / lam, rel=1e-6)


def test_heavy_traffic_fills_every_batch() -> None:
    # lam T huge: batches always fill; arrivals are uniform in the batch, mean wait (B-1)/(2 lam).
    lam = 1000.0
    result = batch_wait(lam * 86_400.0, 100, 60.0)
    assert result.expected_s == pytest.approx(99 / (2 * lam), rel=1e-9)
    assert result.expected_fill == pytest.approx(100.0, rel=1e-12)


def test_light_traffic_waits_out_the_timer() -> None:
    # lam T tiny: D ~ 1 + mu, total wait ~ T (1 + mu/2), so E[W] ~ T (1 + mu/2) / (1 + mu).
    window, mu = 60.0, 1e-4
    result = batch_wait(mu / window * 86_400.0, 50, window)
    assert result.expected_s == pytest.approx(window * (1 + mu / 2) / (1 + mu), rel=1e-6)
    assert result.p95_s == window  # the lone opener waits exactly T: the atom at T


def test_no_traffic_waits_the_whole_timer() -> None:
    result = batch_wait(0.0, 100, 60.0)
    assert (result.expected_s, result.p95_s, result.expected_fill) == (60.0, 60.0, 1.0)


def test_wait_grows_with_batch_size_and_timer_and_shrinks_with_traffic() -> None:
    sizes = [1, 2, 3, 5, 10, 50, 100, 500]
    rates = [10.0, 120.0, 500.0, 5_000.0, 50_000.0, 1e6]
    for rate in rates:
        waits = [batch_wait(rate, b, 60.0).expected_s for b in sizes]
        assert waits == sorted(waits)
        by_timer = [batch_wait(rate, 20, t).expected_s for t in (1.0, 10.0, 60.0, 300.0)]
        assert by_timer == sorted(by_timer)
    for b in sizes[1:]:
        waits = [batch_wait(rate, b, 60.0).expected_s for rate in rates]
        assert waits == sorted(waits, reverse=True)


def test_low_volume_with_batch_size_100_waits_about_a_minute() -> None:
    result = batch_wait(120.0, 100, 60.0)
    # mu = 1/12: E[W] ~ T (1 + mu/2) / (1 + mu) = 57.7 s
    assert result.expected_s == pytest.approx(60.0 * (1 + 1 / 24) / (1 + 1 / 12), rel=1e-3)
    assert largest_batch_size(120.0, 2.0, 60.0) == 1


def test_largest_batch_size_matches_a_linear_scan() -> None:
    for rate in (5_000.0, 50_000.0, 400_000.0):
        scan = max(b for b in range(1, 301) if batch_wait(rate, b, 60.0).expected_s <= 2.0)
        assert largest_batch_size(rate, 2.0, 60.0, limit=300) == scan


def test_largest_batch_size_under_heavy_traffic_follows_the_fill_time() -> None:
    # Batches fill long before the timer: (B-1)/(2 lam) <= 2.02 s gives B <= 41.4.
    lam = 10.0
    assert largest_batch_size(lam * 86_400.0, 2.02, 60.0) == 41
    assert largest_batch_size(lam * 86_400.0 * 1000, 2.0, 60.0, limit=4000) == 4000


@pytest.mark.parametrize(
    ("events_per_day", "batch_size", "max_wait_s"),
    [(-1.0, 10, 60.0), (math.nan, 10, 60.0), (10.0, 0, 60.0), (10.0, 10, -1.0)],
)
def test_invalid_inputs_are_refused(
    events_per_day: float, batch_size: int, max_wait_s: float
) -> None:
    with pytest.raises(ValueError):
        batch_wait(events_per_day, batch_size, max_wait_s)
