"""Gates and figures of a latency report, on samples built by hand."""

from __future__ import annotations

from frigade_cli.kernel.latency import Gate, LatencyReport, PathResult, Sample, check_gates


def samples(path: str, latencies: list[float | None]) -> PathResult:
    result = PathResult(path)
    for n, latency in enumerate(latencies, start=1):
        sample = Sample(n, path, f"m-{path}-{n}", latency_ms=latency)
        if latency is None:
            sample.timed_out, sample.error = True, "not seen within 1s"
        result.samples.append(sample)
    return result


def test_figures_use_arrived_samples_only_and_count_the_lost_ones():
    result = samples("api", [40.0, 10.0, None, 20.0, 30.0])

    figures = result.figures()

    # Arrived: 10, 20, 30, 40. p50 rank 1.5 -> 25; p90 rank 2.7 -> 37; mean 25.
    assert figures["samples"] == 5 and figures["failures"] == 1
    assert (figures["min_ms"], figures["p50_ms"], figures["max_ms"]) == (10.0, 25.0, 40.0)
    assert figures["p90_ms"] == 37.0 and figures["mean_ms"] == 25.0
    assert result.as_dict()["failed_markers"] == ["m-api-3"]


def test_each_gate_is_checked_on_each_path():
    fast, slow = samples("api", [10.0, 20.0]), samples("segment", [900.0, 1100.0, None])
    gates = [Gate("p50", 500.0), Gate("failures", 0)]

    checked = check_gates([fast, slow], gates)

    assert [(g.path, g.gate.figure, g.value, g.passed) for g in checked] == [
        ("api", "p50", 15.0, True),
        ("api", "failures", 0.0, True),
        ("segment", "p50", 1000.0, False),
        ("segment", "failures", 1.0, False),
    ]
    assert checked[2].describe() == "p50 1,000 ms > 500 ms"
    assert checked[3].describe() == "failures 1 > 0"


def test_a_latency_gate_with_nothing_measured_is_breached():
    (gate,) = check_gates([samples("segment", [None, None])], [Gate("p95", 2000.0)])

    assert not gate.passed
    assert gate.describe() == "p95: nothing arrived to measure"


def test_json_puts_one_paths_figures_at_the_top_and_several_under_paths():
    one = LatencyReport(settings={}, results=[samples("api", [5.0])], gates=[Gate("failures", 0)])
    two = LatencyReport(settings={}, results=[samples("api", [5.0]), samples("direct", [6.0])])

    assert one.as_dict()["path"] == "api" and one.as_dict()["p50_ms"] == 5.0
    assert one.passed
    assert two.as_dict()["path"] == "compare"
    assert [p["path"] for p in two.as_dict()["paths"]] == ["api", "direct"]
