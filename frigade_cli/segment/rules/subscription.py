"""The subscription itself: method, enabled, the whole event as data, one per event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from frigade_cli.segment.fql import CHECKED_TYPES, Reach, Trigger
from frigade_cli.segment.mapping import (
    WHOLE_EVENT,
    DestinationInfo,
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
        "Frigade's Segment guide (docs.frigade.com): method POST",
    ),
    Rule(
        "V111",
        "mapping-disabled",
        "error",
        "enabled",
        "the mapping is disabled",
        "enable the mapping",
        "Frigade's Segment guide (docs.frigade.com): the mapping enabled",
    ),
    Rule(
        "V113",
        "data-not-whole-event",
        "error",
        "settings.data",
        "the data mapping does not send the whole event",
        'set Data to the whole event: {"@path": "$."}',
        "Frigade's Segment guide (docs.frigade.com); the send action's default Data is "
        "the whole event",
    ),
    Rule(
        "V117",
        "no-subscription",
        "error",
        "subscriptions",
        "the destination has no subscription",
        "add a mapping of the Send action with the recommended settings",
        "Frigade's Segment guide (docs.frigade.com): one mapping of the Send action",
    ),
    Rule(
        "V119",
        "not-boolean",
        "error",
        "enabled",
        "a true/false field (enabled, enable_batching) holds something else",
        "set it to true or false (JSON booleans, not strings)",
        "Segment's Public API: enabled and enable_batching are true or false",
    ),
    Rule(
        "V204",
        "duplicate-subscription",
        "warning",
        "trigger",
        "subscriptions of one destination send the same events to Frigade (one finding a group)",
        "keep one of them enabled, or make their triggers disjoint",
        "Segment's delivery: each subscription whose trigger matches sends its own copy",
    ),
)


MAX_NAMED = 5  # subscriptions a duplicate finding names before "and N more"


def check_subscription(mapping: WebhookMapping) -> list[Finding]:
    """V105 method, V111 disabled, V119 an `enabled` that is not true or false, V113 data."""
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
    wrong = mapping.non_boolean("enabled")
    if wrong is not None:
        out.append(not_boolean(label, *wrong))
    if mapping.data_set and mapping.data is not None and mapping.data != WHOLE_EVENT:
        out.append(
            finding(
                "V113",
                label,
                f"Data is {short_text(mapping.data)}: Frigade needs the whole Segment event",
            )
        )
    return out


def not_boolean(label: str, field_name: str, value: Any) -> Finding:
    """V119: `field_name` holds `value`, which is neither true nor false."""
    return finding(
        "V119",
        label,
        f"{field_name} is {short_text(value)}, not true or false: read as neither on nor off "
        "(Segment's Public API types it as a boolean)",
        field=field_name,
    )


def no_subscription(
    destination: DestinationInfo, mappings: Sequence[WebhookMapping]
) -> list[Finding]:
    """V117 when the destination has no subscription at all."""
    if mappings:
        return []
    return [
        finding(
            "V117",
            destination.label,
            "the destination has no subscription: Segment sends nothing to Frigade",
            line=destination.line,
        )
    ]


def duplicates(
    mappings: Sequence[WebhookMapping],
    triggers: Mapping[int, Trigger | None],
    expect: Expectations,
) -> list[Finding]:
    """V204: one finding per group of enabled subscriptions of one destination, bound for the
    expected URL, whose triggers let the same message types through (the group is the set of
    subscriptions sharing those types). Linear in the number of subscriptions; at most one
    finding per destination and message type."""
    # (destination, type) -> indexes of the subscriptions that let that type through
    senders: dict[tuple[str | None, str], list[int]] = {}
    for n, mapping in enumerate(mappings):
        trigger = triggers.get(n)
        if trigger is None or mapping.enabled is False or mapping.non_boolean("enabled"):
            continue
        if not _to_frigade(mapping, expect):
            continue
        for message_type in CHECKED_TYPES:
            if trigger.lets_through(message_type):
                senders.setdefault((mapping.destination_id, message_type), []).append(n)
    # One group per destination and set of members; it lists the types its members all send.
    groups: dict[tuple[str | None, tuple[int, ...]], list[str]] = {}
    for (destination_id, message_type), senders_of_type in senders.items():
        if len(senders_of_type) > 1:
            groups.setdefault((destination_id, tuple(senders_of_type)), []).append(message_type)
    out = []
    for (_, members), types in groups.items():
        member_triggers = [triggers[n] for n in members]
        kinds = ", ".join(f"{t} ({_share(member_triggers, t)})" for t in types)
        first, second = mappings[members[0]], mappings[members[1]]
        if len(members) == 2:
            message = (
                f"{second.label} and {first.label} both send {kinds} to Frigade: "
                "each event arrives twice"
            )
        else:
            named = ", ".join(mappings[n].label for n in members[:MAX_NAMED])
            more = len(members) - MAX_NAMED
            if more > 0:
                named += f" and {more} more"
            every = all(_share(member_triggers, t) == "every event" for t in types)
            message = (
                f"{len(members)} subscriptions all send {kinds} to Frigade: {named}; "
                f"each event arrives {'' if every else 'up to '}{len(members)} times"
            )
        out.append(finding("V204", second.label, message, line=second.line))
    return out


def _share(triggers: Sequence[Trigger | None], message_type: str) -> str:
    every = all(t is not None and t.reach[message_type] is Reach.ALL for t in triggers)
    return "every event" if every else "some events"


def _to_frigade(mapping: WebhookMapping, expect: Expectations) -> bool:
    url = (mapping.url or "").strip().rstrip("/").lower()
    return bool(url) and url == expect.webhook_url.rstrip("/").lower()
