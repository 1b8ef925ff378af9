"""What a rule is and what it finds: the data every rule family is written in."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Rule:
    """A named check: stable code, severity, the field it looks at, what it means, how to fix,
    and its basis: where what it expects comes from (a vendor's docs, a flag, a model)."""

    code: str
    name: str
    severity: str
    field: str
    summary: str
    fix: str
    basis: str = ""


@dataclass(frozen=True)
class Finding:
    """One problem (or note) about one mapping; `basis` says where the expectation it was held
    to comes from; `file` and `line` (1-based) where it is, when the mapping came from a file:
    the line of the field the finding is about, else the line the mapping starts on."""

    code: str
    severity: str
    mapping: str
    field: str
    message: str
    fix: str
    basis: str = ""
    line: int | None = None
    file: str | None = None

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "code": self.code,
            "severity": self.severity,
            "mapping": self.mapping,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
            "basis": self.basis,
            "file": self.file,
            "line": self.line,
        }


_REGISTRY: dict[str, Rule] = {}


def register(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """Make a family's rules known to `finding`; ValueError for a code or name used twice."""
    for rule in rules:
        if rule.code in _REGISTRY or any(r.name == rule.name for r in _REGISTRY.values()):
            raise ValueError(f"rule {rule.code} {rule.name} is defined twice")
        if rule.severity not in SEVERITIES:
            raise ValueError(f"rule {rule.code}: unknown severity {rule.severity!r}")
        _REGISTRY[rule.code] = rule
    return rules


def finding(
    code: str,
    mapping: str,
    message: str,
    fix: str | None = None,
    field: str | None = None,
    basis: str | None = None,
    line: int | None = None,
) -> Finding:
    """A finding of rule `code` about `mapping`, with the rule's severity, field, fix and basis
    unless this finding has a more precise one. KeyError for a code no family registered."""
    rule = _REGISTRY[code]
    return Finding(
        code,
        rule.severity,
        mapping,
        field or rule.field,
        message,
        fix or rule.fix,
        basis or rule.basis,
        line,
    )
