"""Latency statistics against values computed by hand and by Python's own `statistics`."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from frigade_cli.kernel.stats import Distribution, histogram, percentile


def test_percentiles_of_one_to_ten_computed_by_hand():
    # rank h = 9 q / 100: p50 -> 4.5 -> 5 + 0.5 * 1; p90 -> 8.1 -> 9.1; p95 -> 8.55; p99 -> 8.91.
    values = [7, 3, 10, 1, 5, 2, 9, 4, 8, 6]
    d = Distribution.of(values)

    assert d.count == 10
    assert (d.min, d.max, d.mean) == (1, 10, 5.5)
    assert d.p50 == pytest.approx(5.5)
    assert d.p90 == pytest.approx(9.1)
    assert d.p95 == pytest.approx(9.55)
    assert d.p99 == pytest.approx(9.91)


def test_the_textbook_example_of_linear_interpolation():
    # Wikipedia, "Percentile", the C = 1 variant on {15, 20, 35, 40, 50}: the 40th is 29.
    values = [15, 20, 35, 40, 50]

    assert percentile(values, 40) == pytest.approx(29.0)
    assert percentile(values, 50) == 35
    assert percentile(values, 90) == pytest.approx(46.0)
    assert (percentile(values, 0), percentile(values, 100)) == (15, 50)


def test_agrees_with_the_standard_librarys_inclusive_quantiles():
    rng = random.Random(7)
    values = [rng.lognormvariate(7, 0.5) for _ in range(37)]
    cuts = statistics.quantiles(values, n=100, method="inclusive")

    for q in (1, 10, 50, 90, 95, 99):
        assert percentile(values, q) == pytest.approx(cuts[q - 1], rel=1e-12)


def test_one_value_no_values_and_a_bad_percentile():
    assert Distribution.of([42.0]).p99 == 42.0
    empty = Distribution.of([])
    assert empty.count == 0 and empty.p50 is None and empty.mean is None
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_percentiles_never_decrease_and_stay_within_min_and_max():
    rng = random.Random(3)
    for n in (2, 3, 15, 20, 101):
        d = Distribution.of([rng.expovariate(1) for _ in range(n)])
        assert d.min <= d.p50 <= d.p90 <= d.p95 <= d.p99 <= d.max  # type: ignore[operator]


def test_histogram_bins_are_equal_width_from_min_to_max():
    bins = histogram(list(range(10)), bins=5)

    assert [b.count for b in bins] == [2, 2, 2, 2, 2]
    assert bins[0].low == 0 and bins[-1].high == pytest.approx(9)
    assert bins[1].low == pytest.approx(1.8)
    assert histogram([5.0, 5.0], bins=4) == [type(bins[0])(5.0, 5.0, 2)]
    assert histogram([], bins=3) == []
