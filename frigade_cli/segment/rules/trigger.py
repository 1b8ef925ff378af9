"""The trigger: Segment accepts it, reads it as written, and lets identify, group and track through.

Segment's reading comes from `frigade_cli.segment.fql`, which reproduces the Actions runtime's
parser and evaluator; a trigger Segment accepts is never reported as unparseable, and where the
runtime reads it differently from what it seems to say, V206 gives the reading and a fix.
"""

from __future__ import annotations

from frigade_cli.segment.fql import (
    CHECKED_TYPES,
    EXAMPLE_TRIGGER,
    Trigger,
    TriggerError,
    parse_trigger,
    repair,
)
from frigade_cli.segment.mapping import WebhookMapping
from frigade_cli.segment.rules.base import Finding, Rule, finding

RULES: tuple[Rule, ...] = (
    Rule(
        "V114",
        "trigger-matches-none",
        "error",
        "trigger",
        "the trigger matches none of identify, group, track",
        f"set the trigger to {EXAMPLE_TRIGGER}",
        "Frigade's Segment guide (docs.frigade.com): identify, group and track",
    ),
    Rule(
        "V115",
        "trigger-parse",
        "error",
        "trigger",
        "the trigger is missing or Segment rejects it",
        f"set the trigger to {EXAMPLE_TRIGGER}",
        "Segment's FQL as the Actions runtime reads it (segmentio/action-destinations)",
    ),
    Rule(
        "V118",
        "trigger-fails",
        "error",
        "trigger",
        "Segment accepts the trigger but its runtime fails on the events that reach part of it",
        "remove the empty parentheses (or the field path without a name)",
        "Segment's FQL as the Actions runtime reads it (segmentio/action-destinations)",
    ),
    Rule(
        "V201",
        "trigger-leaves-out",
        "warning",
        "trigger",
        "the trigger leaves out identify, group or track",
        'add the missing type, e.g. or type = "group"',
        "Frigade's Segment guide (docs.frigade.com): identify, group and track",
    ),
    Rule(
        "V205",
        "trigger-mixed-operators",
        "warning",
        "trigger",
        "the trigger mixes and/or at one level: Segment applies the last one to all",
        "add parentheses so each level uses only and or only or",
        "Segment's FQL as the Actions runtime reads it (segmentio/action-destinations)",
    ),
    Rule(
        "V206",
        "trigger-misread",
        "warning",
        "trigger",
        "Segment reads the trigger differently from what it seems to say (OR, or(, a trailing "
        "and, !(...), ...)",
        "write the trigger as the finding shows",
        "Segment's FQL as the Actions runtime reads it (segmentio/action-destinations)",
    ),
)


TYPE_PURPOSE = {
    "identify": "Frigade never learns users' traits (targeting by user properties breaks)",
    "group": "Frigade never learns organizations (group targeting and group properties break)",
    "track": "Frigade never sees events (event-based targeting and flow triggers break)",
}


def check_trigger(mapping: WebhookMapping) -> tuple[list[Finding], Trigger | None]:
    """The trigger's findings, and Segment's reading of it (None when Segment rejects it)."""
    label = mapping.label
    if mapping.trigger is None or not mapping.trigger.strip():
        return [finding("V115", label, "there is no trigger: the mapping receives no events")], None
    try:
        trigger = parse_trigger(mapping.trigger)
    except TriggerError as exc:
        fixed = repair(mapping.trigger)
        return [
            finding(
                "V115",
                label,
                f"Segment rejects this trigger (column {exc.column}: {exc.message}); the "
                "mapping receives no events",
                f"write: {fixed}" if fixed is not None else None,
            )
        ], None
    out = []
    missing = [t for t in CHECKED_TYPES if not trigger.lets_through(t)]
    if len(missing) == len(CHECKED_TYPES):
        out.append(
            finding("V114", label, "the trigger lets no identify, group or track event through")
        )
    else:
        for message_type in missing:
            out.append(
                finding(
                    "V201",
                    label,
                    f"the trigger leaves out {message_type}: {TYPE_PURPOSE[message_type]}",
                    f'add or type = "{message_type}"',
                )
            )
    if trigger.fails:
        out.append(
            finding(
                "V118",
                label,
                f"Segment reads this trigger as {trigger.reading}, and its runtime throws on "
                "every event that reaches the empty condition: those events are not delivered",
            )
        )
    if trigger.misread:
        out.append(_misread(label, trigger))
    if trigger.mixed_at is not None:
        operator = _operator_at(mapping.trigger, trigger.mixed_at)
        out.append(
            finding(
                "V205",
                label,
                "the trigger mixes and/or without parentheses; Segment combines every condition "
                f"at that level with the '{operator}' at column {trigger.mixed_at}",
            )
        )
    return out, trigger


def _misread(label: str, trigger: Trigger) -> Finding:
    notes = "; ".join(f"column {column}: {text}" for column, text in trigger.notes)
    message = f"Segment reads this trigger as: {trigger.reading}"
    if notes:
        message += f" ({notes})"
    fix = trigger.fix
    if fix is not None:
        advice = f"write: {fix}"
    elif trigger.intent is not None:
        advice = (
            "Segment's FQL cannot say this in one trigger (no nested parentheses, no '!' before "
            "a group, contains()/match() only last in a group): split it across subscriptions"
        )
    else:
        advice = "remove or rewrite what Segment skips, as the notes say"
    return finding("V206", label, message, advice)


def _operator_at(source: str, column: int) -> str:
    return "and" if source[column - 1 :].lower().startswith("and") else "or"
