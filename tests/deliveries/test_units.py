"""The pieces with no I/O: windows and Segment's limits, rates, sparklines, discard reasons,
the doctor's verdict."""

from __future__ import annotations

import pytest

from frigade_cli.frigade.rules import delivery_failure_meaning
from frigade_cli.kernel.errors import InputError
from frigade_cli.render.deliveries import sparkline
from frigade_cli.segment.delivery_overview import HOUR_MS, MINUTE_MS, plan_window
from frigade_cli.services.deliveries import parse_rate
from frigade_cli.services.doctor import DoctorReport, Step

NOW = 1_764_700_000_000  # 2025-12-02T18:26:40Z


def test_the_default_window_is_the_last_hour_per_minute() -> None:
    window = plan_window(NOW)
    assert (window.start_ms, window.end_ms, window.granularity) == (NOW - HOUR_MS, NOW, "minute")


@pytest.mark.parametrize(
    ("since", "granularity"),
    [(4 * 3600, "minute"), (4 * 3600 + 1, "hour"), (14 * 86400, "hour"), (15 * 86400, "day")],
)
def test_the_finest_granularity_the_window_allows(since: float, granularity: str) -> None:
    assert plan_window(NOW, since_s=since).granularity == granularity


def test_a_start_past_the_limit_names_it() -> None:
    with pytest.raises(InputError, match="starting at most 48 h back: this window starts 49 h"):
        plan_window(
            NOW,
            start="2025-11-30T17:26:40Z",  # 49 h before NOW
            end="2025-11-30T18:26:40Z",
            granularity="minute",
        )


def test_a_start_just_inside_the_limit_is_taken() -> None:
    start = NOW - 48 * HOUR_MS + MINUTE_MS
    window = plan_window(NOW, since_s=3600, end=_iso(start + HOUR_MS), granularity="minute")
    assert window.start_ms == start


def _iso(ms: int) -> str:
    from frigade_cli.kernel.clock import iso_from_ms

    return iso_from_ms(ms)


@pytest.mark.parametrize(("text", "rate"), [("1%", 0.01), ("0%", 0.0), ("0.5", 0.5), ("100%", 1.0)])
def test_rates(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


def test_sparkline_scales_to_the_peak_and_sums_to_fit() -> None:
    assert sparkline([0, 1, 4, 8]) == ("·▁▄█", 1)
    marks, per = sparkline([1] * 240)  # 4 h by minute: 4 minutes a mark
    assert (len(marks), per) == (60, 4) and set(marks) == {"█"}


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("HTTP 401 Unauthorized", "the key"),
        ("Forbidden (403)", "the key"),
        ("HTTP 404 Not Found", "the URL path"),
        ("HTTP 429 Too Many Requests", "monthly-active-user cap"),
        ("HTTP 503 Service Unavailable", "unavailable"),
        ("ReadTimeout", "in time"),
    ],
)
def test_what_a_discard_reason_means_for_frigade(reason: str, words: str) -> None:
    meaning = delivery_failure_meaning(reason)
    assert meaning is not None and words in meaning


def test_an_unknown_reason_means_nothing_known() -> None:
    assert delivery_failure_meaning("Mapping not matched") is None
    assert delivery_failure_meaning("batch 4031 dropped") is None


def test_the_most_severe_failed_step_sets_the_exit_code() -> None:
    def report(*codes: int) -> DoctorReport:
        return DoctorReport(
            [Step("mapping", "failed", "x", None, c) for c in codes]
            + [Step("deliveries", "warning", "y")],
            "t",
        )

    assert report(3, 4).exit_code == 4
    assert report(6, 4, 3).exit_code == 6
    assert report(3, 1).exit_code == 1
    assert report().exit_code == 0 and report().passed
