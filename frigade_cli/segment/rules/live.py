"""A live test message sent to the mapping's URL (the checks run in the validate service)."""

from __future__ import annotations

from frigade_cli.segment.rules.base import Rule

RULES: tuple[Rule, ...] = (
    Rule(
        "V116",
        "live-rejected",
        "error",
        "settings.url",
        "the live test message was not accepted (--live)",
        "fix the URL and the Authorization header, then run again",
        "the answer of the mapping's URL to one test message (--live)",
    ),
    Rule(
        "V303",
        "live-accepted",
        "info",
        "settings.url",
        "the live test message was accepted (--live)",
        "nothing to do",
        "the answer of the mapping's URL to one test message (--live)",
    ),
    Rule(
        "V304",
        "live-skipped",
        "info",
        "settings.url",
        "the live test message was not sent (--live)",
        "see the message",
        "--live sends the key only to the expected URL, and only a key it can read",
    ),
)
