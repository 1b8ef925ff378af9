"""validate's rules, one family per module, each rule's metadata beside its check.

`RULES` is every rule in code order (the rules table in the docs is generated from it);
`check_mappings` runs every family over a set of subscriptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from frigade_cli.segment.fql import Trigger
from frigade_cli.segment.mapping import DestinationInfo, Expectations, WebhookMapping
from frigade_cli.segment.rules import (
    batching,
    destination,
    headers,
    live,
    subscription,
    trigger,
    url,
)
from frigade_cli.segment.rules.base import Finding, Rule, register
from frigade_cli.segment.rules.batching import advice, recommended_batch_size
from frigade_cli.segment.rules.headers import auth_problem
from frigade_cli.segment.rules.url import edit_distance

FAMILIES = (url, batching, headers, trigger, subscription, destination, live)
RULES: tuple[Rule, ...] = register(
    tuple(sorted((r for family in FAMILIES for r in family.RULES), key=lambda r: r.code))
)
RULES_BY_CODE = {r.code: r for r in RULES}
RULES_BY_NAME = {r.name: r for r in RULES}

__all__ = [
    "RULES",
    "RULES_BY_CODE",
    "Finding",
    "Rule",
    "advice",
    "auth_problem",
    "check_mappings",
    "edit_distance",
    "find_rule",
    "recommended_batch_size",
]


def find_rule(code_or_name: str) -> Rule | None:
    """A rule by its code (`V106`) or its name (`batching-off`), case-insensitively."""
    key = code_or_name.strip()
    return RULES_BY_CODE.get(key.upper()) or RULES_BY_NAME.get(key.lower())


def check_mappings(
    mappings: Sequence[WebhookMapping],
    expect: Expectations = Expectations(),
    destination_info: DestinationInfo | None = None,
) -> list[Finding]:
    """Every finding about `mappings` (and their destination), in rule order per mapping:
    URL, method, batching, headers, enabled, data, trigger; then duplicates across them.

    Each finding carries the line its mapping (or the destination) starts on in its file."""
    findings: list[Finding] = []
    if destination_info is not None:
        found = destination.check_destination(destination_info)
        findings.extend(_at(found, destination_info.line))
        findings.extend(subscription.no_subscription(destination_info, mappings))
    triggers: dict[int, Trigger | None] = {}
    for n, mapping in enumerate(mappings):
        method_findings = subscription.check_subscription(mapping)
        trigger_findings, triggers[n] = trigger.check_trigger(mapping)
        found = [
            *url.check_url(mapping, expect),
            *(f for f in method_findings if f.code == "V105"),
            *batching.check_batching(mapping, expect),
            *headers.check_headers(mapping),
            *(f for f in method_findings if f.code != "V105"),
            *trigger_findings,
        ]
        findings.extend(_at(found, mapping.line))
    findings.extend(subscription.duplicates(mappings, triggers, expect))
    return findings


def _at(found: list[Finding], line: int | None) -> list[Finding]:
    return found if line is None else [replace(f, line=line) for f in found]
