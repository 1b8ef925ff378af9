"""Text helpers of the output layer: error lines cut to a readable length, counts in words."""

from __future__ import annotations

import pytest

from frigade_cli.kernel.output import MAX_ERROR_LINE, capped, counted


def test_a_short_error_is_left_whole() -> None:
    assert capped("no key", "pass --api-key") == "no key; pass --api-key"


def test_a_long_error_is_cut_saying_how_much_and_keeps_its_hint_whole() -> None:
    text = "HTTP 500: " + "x" * 1000

    line = capped(text, "try again later")

    assert len(line) <= MAX_ERROR_LINE
    assert line.endswith("; try again later")
    cut = line.split(" … (+", 1)
    assert text.startswith(cut[0])
    left_out = int(cut[1].split(" ", 1)[0])
    assert len(cut[0]) + left_out == len(text)


def test_an_overlong_hint_is_cut_too() -> None:
    line = capped("x" * 1000, "y" * 1000)

    assert len(line) <= MAX_ERROR_LINE
    assert line.endswith("…")


@pytest.mark.parametrize(
    ("n", "noun", "text"),
    [(1, "batch", "1 batch"), (2, "batch", "2 batches"), (0, "event", "0 events"),
     (1, "sample", "1 sample"), (3, "request", "3 requests")],
)  # fmt: skip
def test_counts_take_the_noun_in_the_right_number(n: int, noun: str, text: str) -> None:
    assert counted(n, noun) == text
