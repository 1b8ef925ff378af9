"""The destination: enabled, and whether it signs requests."""

from __future__ import annotations

from frigade_cli.segment.mapping import DestinationInfo
from frigade_cli.segment.rules.base import Finding, Rule, finding
from frigade_cli.segment.rules.subscription import not_boolean

RULES: tuple[Rule, ...] = (
    Rule(
        "V112",
        "destination-disabled",
        "error",
        "destination.enabled",
        "the destination is disabled",
        "enable the destination",
        "Frigade's Segment guide (docs.frigade.com): the destination enabled",
    ),
    Rule(
        "V301",
        "shared-secret",
        "info",
        "destination.sharedSecret",
        "a shared secret is set; Frigade does not check X-Signature",
        "nothing to do; remove it if nothing else needs it",
        "Frigade's docs name no signature check; Segment signs requests with the shared secret",
    ),
)


def check_destination(destination: DestinationInfo) -> list[Finding]:
    """V112 disabled, V119 an `enabled` that is not true or false, V301 a shared secret."""
    label = destination.label
    out = [not_boolean(label, name, value) for name, value in destination.non_booleans]
    if destination.enabled is False:
        out.append(
            finding(
                "V112",
                label,
                "the destination is disabled: Segment sends nothing to any of its mappings",
            )
        )
    if destination.shared_secret:
        out.append(
            finding(
                "V301",
                label,
                "a shared secret is set: Segment signs each request "
                "with X-Signature, which Frigade does not check",
            )
        )
    return out
