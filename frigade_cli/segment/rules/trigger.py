"""The trigger: it parses as Segment's FQL and lets identify, group and track through."""

from __future__ import annotations

from frigade_cli.segment.fql import CHECKED_TYPES, Trigger, TriggerError, parse_trigger
from frigade_cli.segment.mapping import (
    WebhookMapping,
)
from frigade_cli.segment.rules.base import Finding, Rule, finding

RULES: tuple[Rule, ...] = (
    Rule(
        "V114",
        "trigger-matches-none",
        "error",
        "trigger",
        "the trigger matches none of identify, group, track",
        'set the trigger to type = "identify" or type = "group" or type = "track"',
    ),
    Rule(
        "V115",
        "trigger-parse",
        "error",
        "trigger",
        "the trigger is missing or does not parse",
        'set the trigger to type = "identify" or type = "group" or type = "track"',
    ),
    Rule(
        "V201",
        "trigger-leaves-out",
        "warning",
        "trigger",
        "the trigger leaves out identify, group or track",
        'add the missing type, e.g. or type = "group"',
    ),
    Rule(
        "V205",
        "trigger-mixed-operators",
        "warning",
        "trigger",
        "the trigger mixes and/or at one level: Segment applies the last one to all",
        "add parentheses so each level uses only and or only or",
    ),
)


TYPE_PURPOSE = {
    "identify": "Frigade never learns users' traits (targeting by user properties breaks)",
    "group": "Frigade never learns organizations (group targeting and group properties break)",
    "track": "Frigade never sees events (event-based targeting and flow triggers break)",
}


def check_trigger(mapping: WebhookMapping) -> tuple[list[Finding], Trigger | None]:
    label = mapping.label
    if mapping.trigger is None or not mapping.trigger.strip():
        return [finding("V115", label, "there is no trigger: the mapping receives no events")], None
    try:
        trigger = parse_trigger(mapping.trigger)
    except TriggerError as exc:
        return [
            finding(
                "V115", label, f"the trigger does not parse at column {exc.column}: {exc.message}"
            )
        ], None
    out = []
    missing = [t for t in CHECKED_TYPES if not trigger.lets_through(t)]
    notes = "".join(f"; column {col}: {text}" for col, text in trigger.notes)
    if len(missing) == len(CHECKED_TYPES):
        out.append(
            finding(
                "V114", label, f"the trigger lets no identify, group or track event through{notes}"
            )
        )
    else:
        for message_type in missing:
            out.append(
                finding(
                    "V201",
                    label,
                    f"the trigger leaves out {message_type}: {TYPE_PURPOSE[message_type]}{notes}",
                    f'add or type = "{message_type}"',
                )
            )
    if trigger.mixed_at is not None:
        out.append(
            finding(
                "V205",
                label,
                f"the trigger mixes and/or without parentheses; "
                f"Segment combines every condition at that level with the '"
                f"{_operator_at(mapping.trigger, trigger.mixed_at)}' at column "
                f"{trigger.mixed_at}",
            )
        )
    return out, trigger


def _operator_at(source: str, column: int) -> str:
    return "and" if source[column - 1 :].startswith("and") else "or"
