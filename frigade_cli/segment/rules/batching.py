"""Batching: on, a size Segment accepts, and a size that does not keep events waiting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from frigade_cli.segment import batch_wait as wait_model
from frigade_cli.segment.mapping import (
    MAX_BATCH_SIZE,
    RECOMMENDED_BATCH_SIZE,
    SEGMENT_DEFAULT_BATCH_SIZE,
    Expectations,
    WebhookMapping,
)
from frigade_cli.segment.rules.base import Finding, Rule, finding
from frigade_cli.segment.rules.subscription import not_boolean

RULES: tuple[Rule, ...] = (
    Rule(
        "V106",
        "batching-off",
        "error",
        "settings.enable_batching",
        "batching is off",
        "turn Enable Batching on",
        "Frigade's Segment guide (docs.frigade.com): batching on",
    ),
    Rule(
        "V107",
        "batch-size-range",
        "error",
        "settings.batch_size",
        "the batch size is outside 1..4000",
        "set the batch size to 100",
        "Segment's Webhooks (Actions) destination (segmentio/action-destinations): "
        "batch_size 1 to 4000",
    ),
    Rule(
        "V202",
        "batch-size-large",
        "warning",
        "settings.batch_size",
        "the batch size is above 100",
        "set the batch size to 100 or less",
        "Frigade's Segment guide (docs.frigade.com): batch size 100",
    ),
    Rule(
        "V203",
        "batch-wait",
        "warning",
        "settings.batch_size",
        "events wait too long for the batch to fill (--events-per-day)",
        "set the batch size to the recommended value",
        "the batch-wait model at --events-per-day, --max-batch-wait (unconfirmed) "
        "and --target-wait",
    ),
)


def check_batching(mapping: WebhookMapping, expect: Expectations) -> list[Finding]:
    """V106 batching off, V119 an enable_batching that is not true or false, V107 the size,
    V202 above Frigade's 100, V203 the expected wait at --events-per-day."""
    label = mapping.label
    wrong = mapping.non_boolean("settings.enable_batching")
    if wrong is not None:
        return [not_boolean(label, *wrong)]
    if mapping.enable_batching is not True:
        state = "off" if mapping.enable_batching is False else "not set (Segment's default: off)"
        return [
            finding(
                "V106",
                label,
                f"batching is {state}: Segment sends one request per "
                "event, and Frigade's guide asks for batches",
            )
        ]
    size = mapping.batch_size
    if size is None:
        size = SEGMENT_DEFAULT_BATCH_SIZE
        note = f" (not set: Segment's default is {SEGMENT_DEFAULT_BATCH_SIZE})"
    else:
        note = ""
    if isinstance(size, bool) or not isinstance(size, int):
        return [finding("V107", label, f"the batch size {size!r} is not a whole number")]
    if not 1 <= size <= MAX_BATCH_SIZE:
        return [
            finding(
                "V107", label, f"the batch size is {size}: Segment allows 1 to {MAX_BATCH_SIZE}"
            )
        ]
    out = []
    if size > RECOMMENDED_BATCH_SIZE:
        out.append(
            finding(
                "V202",
                label,
                f"the batch size is {size}{note}: Frigade's guide "
                f"recommends {RECOMMENDED_BATCH_SIZE}, and larger batches wait "
                "longer to fill",
            )
        )
    if expect.events_per_day is not None:
        wait = wait_model.batch_wait(expect.events_per_day, size, expect.max_batch_wait_s)
        if wait.expected_s > expect.target_wait_s:
            best = recommended_batch_size(expect)
            best_wait = wait_model.expected_wait(
                expect.events_per_day, best, expect.max_batch_wait_s
            )
            message = (
                f"at {expect.events_per_day:g} events/day a batch of {size} holds "
                f"{wait.expected_fill:.1f} events on average when sent: an event waits "
                f"{wait.expected_s:.1f} s on average (p95 {wait.p95_s:.1f} s) before it is sent, "
                f"over the {expect.target_wait_s:g} s target"
            )
            fix = f"set the batch size to {best} (expected wait {best_wait:.1f} s)"
            out.append(finding("V203", label, message, fix))
    return out


def recommended_batch_size(expect: Expectations) -> int:
    """The largest batch size whose expected wait meets the target, capped at Frigade's 100."""
    assert expect.events_per_day is not None
    return wait_model.largest_batch_size(
        expect.events_per_day,
        expect.target_wait_s,
        expect.max_batch_wait_s,
        limit=RECOMMENDED_BATCH_SIZE,
    )


def advice(mappings: Iterable[WebhookMapping], expect: Expectations) -> dict[str, Any]:
    """The batch-wait figures per batched mapping, for the report's `advice` (empty without
    --events-per-day)."""
    if expect.events_per_day is None:
        return {}
    rows = []
    for mapping in mappings:
        size = mapping.batch_size if mapping.batch_size is not None else SEGMENT_DEFAULT_BATCH_SIZE
        if (
            mapping.enable_batching is not True
            or not isinstance(size, int)
            or isinstance(size, bool)
            or not 1 <= size <= MAX_BATCH_SIZE
        ):
            continue
        wait = wait_model.batch_wait(expect.events_per_day, size, expect.max_batch_wait_s)
        rows.append(
            {
                "mapping": mapping.label,
                "batch_size": size,
                "expected_wait_s": round(wait.expected_s, 3),
                "p95_wait_s": round(wait.p95_s, 3),
                "expected_fill": round(wait.expected_fill, 3),
            }
        )
    best = recommended_batch_size(expect)
    return {
        "events_per_day": expect.events_per_day,
        "max_batch_wait_s": expect.max_batch_wait_s,
        "max_batch_wait_confirmed": False,
        "target_wait_s": expect.target_wait_s,
        "recommended_batch_size": best,
        "recommended_expected_wait_s": round(
            wait_model.expected_wait(expect.events_per_day, best, expect.max_batch_wait_s), 3
        ),
        "mappings": rows,
    }
