"""Regression gates on synthetic sample sets whose answers are known by construction or by
enumerating every bootstrap draw."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import pytest

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.latency import (
    Baseline,
    PathResult,
    RegressionGate,
    Sample,
    baseline_from_report,
    compare_to_baseline,
    min_samples,
)
from frigade_cli.kernel.stats import bootstrap_changes
from frigade_cli.services.latency_check import parse_max_regression


def run(path: str, latencies: list[float]) -> PathResult:
    result = PathResult(path)
    for n, latency in enumerate(latencies, start=1):
        result.samples.append(Sample(n, path, f"m-{n}", latency_ms=latency))
    return result


def baseline(path: str, latencies: list[float]) -> Baseline:
    return Baseline("base.json", None, {}, {path: latencies})


def exact_quantile(weights: Counter[float], p: float) -> float:
    """The smallest value whose cumulative probability reaches p (the inverse CDF)."""
    total, seen = sum(weights.values()), 0
    for value in sorted(weights):
        seen += weights[value]
        if seen / total >= p:
            return value
    raise AssertionError("p above 1")


# The bootstrap itself --------------------------------------------------------------------------
def test_constant_sets_have_a_change_and_an_interval_of_exactly_the_ratio():
    (p50,) = bootstrap_changes([100.0] * 10, [150.0] * 10, [50])

    assert (p50.baseline, p50.now) == (100.0, 150.0)
    assert p50.change == p50.low == p50.high == pytest.approx(0.5)


def test_the_interval_matches_the_exact_bootstrap_distribution_of_four_values():
    base, now = (10.0, 20.0, 30.0, 40.0), (15.0, 30.0, 45.0, 90.0)
    # Every one of the 256 x 256 equally likely pairs of draws, and the ratio of their medians
    # (type 7: the mean of the two middle values).
    ratios: Counter[float] = Counter()
    for b in itertools.product(base, repeat=4):
        median_b = (sorted(b)[1] + sorted(b)[2]) / 2
        for n in itertools.product(now, repeat=4):
            ratios[(sorted(n)[1] + sorted(n)[2]) / 2 / median_b - 1] += 1

    (p50,) = bootstrap_changes(list(base), list(now), [50], resamples=20_000, seed=7)

    assert p50.change == pytest.approx(37.5 / 25 - 1)
    # The Monte Carlo ends lie within the exact distribution's 1.5-3.5% and 96.5-98.5% points
    # (-0.5 .. -0.4 and 3.5 .. 5.0 here).
    assert exact_quantile(ratios, 0.015) <= p50.low <= exact_quantile(ratios, 0.035)
    assert exact_quantile(ratios, 0.965) <= p50.high <= exact_quantile(ratios, 0.985)
    assert exact_quantile(ratios, 0.035) - exact_quantile(ratios, 0.015) < 0.11


def test_two_samples_of_one_distribution_give_an_interval_around_zero():
    rng = random.Random(3)
    a = [rng.lognormvariate(math.log(100), 0.1) for _ in range(200)]
    b = [rng.lognormvariate(math.log(100), 0.1) for _ in range(200)]

    p50, p95 = bootstrap_changes(a, b, [50, 95])

    assert p50.low < 0 < p50.high and p95.low < 0 < p95.high
    assert p50.high - p50.low < 0.1  # 200 samples at 10% spread: a few percent either way


def test_a_doubled_distribution_gives_an_interval_around_one_hundred_percent():
    rng = random.Random(4)
    a = [rng.lognormvariate(math.log(100), 0.1) for _ in range(100)]
    b = [2 * rng.lognormvariate(math.log(100), 0.1) for _ in range(100)]

    (p50,) = bootstrap_changes(a, b, [50])

    assert p50.low < 1.0 < p50.high
    assert p50.low > 0.8


def test_the_same_seed_gives_the_same_interval_and_another_seed_another():
    rng = random.Random(5)
    a = [rng.uniform(50, 150) for _ in range(30)]
    b = [rng.uniform(50, 150) for _ in range(30)]

    first = bootstrap_changes(a, b, [50, 95], seed=1)

    assert bootstrap_changes(a, b, [50, 95], seed=1) == first
    assert bootstrap_changes(a, b, [50, 95], seed=2) != first


def test_an_empty_set_or_a_zero_baseline_is_refused():
    with pytest.raises(ValueError):
        bootstrap_changes([], [1.0], [50])
    with pytest.raises(ValueError):
        bootstrap_changes([0.0, 0.0], [1.0], [50])


# Gates ------------------------------------------------------------------------------------------
def test_min_samples_leave_two_samples_above_each_percentile():
    assert [min_samples(f) for f in ("p50", "p95", "p99")] == [5, 40, 200]


def test_a_regression_trips_only_when_the_whole_interval_lies_above_the_limit():
    gates = [RegressionGate("p50", 0.2)]
    before = baseline("api", [100.0] * 10)

    doubled = compare_to_baseline([run("api", [200.0] * 10)], before, gates)
    just_above = compare_to_baseline([run("api", [121.0] * 10)], before, gates)
    at_limit = compare_to_baseline([run("api", [120.0] * 10)], before, gates)

    assert doubled[0].status == "FAIL" and not doubled[0].passed
    assert "clearly above +20%" in doubled[0].describe()
    assert just_above[0].status == "FAIL"
    assert at_limit[0].status == "pass"  # +20% is not above +20%


def test_noise_with_a_change_above_the_limit_but_an_interval_reaching_below_passes():
    rng = random.Random(6)
    before = [rng.uniform(50, 150) for _ in range(12)]
    now = [v * 1.25 for v in before]  # +25%, but 12 samples spread over 3x cannot tell 20% apart

    (p50, _, _) = compare_to_baseline(
        [run("api", now)], baseline("api", before), [RegressionGate("p50", 0.2)]
    )

    assert p50.interval is not None
    assert p50.interval.change == pytest.approx(0.25)
    assert p50.interval.low < 0.2 < p50.interval.high
    assert p50.status == "pass"


def test_too_few_samples_say_so_and_never_trip():
    gates = [RegressionGate(f, 0.2) for f in ("p50", "p95", "p99")]

    p50, p95, p99 = compare_to_baseline(
        [run("api", [500.0] * 39)], baseline("api", [100.0] * 50), gates
    )

    assert p50.status == "FAIL"
    assert p95.status == p99.status == "too few samples" and p95.passed and p99.passed
    assert p95.interval is None and p95.min_samples == 40
    assert "too few samples to tell (40 needed in each run; baseline 50, now 39)" in (
        p95.describe()
    )


def test_a_path_the_baseline_lacks_is_not_compared():
    found = compare_to_baseline(
        [run("api", [1.0] * 10), run("direct", [1.0] * 10)], baseline("api", [1.0] * 10), []
    )

    assert {r.path for r in found} == {"api"}
    assert [r.status for r in found] == ["no gate", "too few samples", "too few samples"]


# Reading a baseline and the flag ----------------------------------------------------------------
def test_a_baseline_is_read_from_one_path_or_compare_reports_with_arrived_samples_only():
    sample = {"arrived": True, "latency_ms": 12.5, "sent_at": "2026-01-01T00:00:00.000Z"}
    lost = {"arrived": False, "latency_ms": None, "sent_at": "2026-01-01T00:00:01.000Z"}
    later = {**sample, "latency_ms": 14.0, "sent_at": "2026-01-01T00:00:02.500Z"}
    one = {"path": "api", "each_sample": [sample, lost, later], "started_at": "x"}
    both = {"path": "compare", "paths": [one, {**one, "path": "direct"}]}

    single = baseline_from_report(one, "a.json")
    compared = baseline_from_report(both, "b.json")

    assert single is not None and single.samples == {"api": [12.5, 14.0]}
    assert single.timeline == {"api": [(0.0, 12.5), (2.5, 14.0)]}
    assert compared is not None and set(compared.samples) == {"api", "direct"}
    assert baseline_from_report({"path": "api"}, "c.json") is None
    assert baseline_from_report([1, 2], "d.json") is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["20%"], [("p50", 0.2), ("p95", 0.2), ("p99", 0.2)]),
        (["p95=10%"], [("p95", 0.1)]),
        (["p95=10%", "20%"], [("p50", 0.2), ("p95", 0.1), ("p99", 0.2)]),
        (["P99 = 5.5%"], [("p99", 0.055)]),
        ([], []),
    ],
)
def test_max_regression_takes_one_value_for_all_or_one_per_percentile(values, expected):
    gates = parse_max_regression(values)

    assert [(g.figure, pytest.approx(g.max_change)) for g in gates] == expected


@pytest.mark.parametrize("value", ["20", "p90=20%", "fast", "-5%", "p95=", "nan%"])
def test_a_max_regression_that_is_not_a_percentage_of_a_gated_percentile_is_refused(value):
    with pytest.raises(InputError, match="--max-regression"):
        parse_max_regression([value])
