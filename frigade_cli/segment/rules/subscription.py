"""The subscription itself: method, enabled, the whole event as data, one per event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from frigade_cli.segment.fql import CHECKED_TYPES, Reach, Trigger
from frigade_cli.segment.mapping import (
    WHOLE_EVENT,
    Expectations,
    WebhookMapping,
    short_text,
)
from frigade_cli.segment.rules.base import Finding, Rule, finding

RULES: tuple[Rule, ...] = (
    Rule(
        "V105",
        "method",
        "error",
        "settings.method",
        "the method is not POST",
        "set the method to POST",
    ),
    Rule(
        "V111",
        "mapping-disabled",
        "error",
        "enabled",
        "the mapping is disabled",
        "enable the mapping",
    ),
    Rule(
        "V113",
        "data-not-whole-event",
        "error",
        "settings.data",
        "the data mapping does not send the whole event",
        'set Data to the whole event: {"@path": "$."}',
    ),
    Rule(
        "V117",
        "no-subscription",
        "error",
        "subscriptions",
        "the destination has no subscription",
        "add a mapping of the Send action with the recommended settings",
    ),
    Rule(
        "V204",
        "duplicate-subscription",
        "warning",
        "trigger",
        "two subscriptions of one destination send the same events to Frigade",
        "disable one of them or make their triggers disjoint",
    ),
)


def check_subscription(mapping: WebhookMapping) -> list[Finding]:
    label = mapping.label
    out: list[Finding] = []
    method = (mapping.method or "POST").strip().upper()
    if method != "POST":
        out.append(
            finding(
                "V105", label, f"the method is {mapping.method!r}: Frigade's webhook accepts POST"
            )
        )
    if mapping.enabled is False:
        out.append(
            finding("V111", label, "the mapping is disabled: Segment sends nothing through it")
        )
    if mapping.data_set and mapping.data is not None and mapping.data != WHOLE_EVENT:
        out.append(
            finding(
                "V113",
                label,
                f"Data is {short_text(mapping.data)}: Frigade needs the whole Segment event",
            )
        )
    return out


def duplicates(
    mappings: Sequence[WebhookMapping],
    triggers: Mapping[int, Trigger | None],
    expect: Expectations,
) -> list[Finding]:
    out = []
    live = [
        (n, m)
        for n, m in enumerate(mappings)
        if m.enabled is not False and triggers.get(n) is not None and _to_frigade(m, expect)
    ]
    for i, (n, first) in enumerate(live):
        for k, second in live[i + 1 :]:
            if first.destination_id != second.destination_id:
                continue
            a, b = triggers[n], triggers[k]
            assert a is not None and b is not None
            both = [t for t in CHECKED_TYPES if a.lets_through(t) and b.lets_through(t)]
            if both:
                kinds = ", ".join(f"{t} ({_share(a, b, t)})" for t in both)
                out.append(
                    finding(
                        "V204",
                        second.label,
                        f"{second.label} and {first.label} "
                        f"both send {kinds} to Frigade: each event arrives twice",
                    )
                )
    return out


def _share(a: Trigger, b: Trigger, message_type: str) -> str:
    every = a.reach[message_type] is Reach.ALL and b.reach[message_type] is Reach.ALL
    return "every event" if every else "some events"


def _to_frigade(mapping: WebhookMapping, expect: Expectations) -> bool:
    url = (mapping.url or "").strip().rstrip("/").lower()
    return bool(url) and url == expect.webhook_url.rstrip("/").lower()
