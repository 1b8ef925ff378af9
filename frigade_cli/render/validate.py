"""What `frigade segment validate` shows: a report grouped by severity, JSON, GitHub annotations,
and the rules table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.services.validate import ValidationReport

_HEADINGS = {"error": "errors", "warning": "warnings", "info": "info"}
_MAX_LISTED = 10  # mappings named one by one in the text report (--json lists every one)
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def rules_table() -> list[str]:
    """The rules as Markdown table lines (the README's table is this text)."""
    from frigade_cli.segment.rules import RULES

    lines = [
        "| code | name | severity | field | checks | fix | basis |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rule in RULES:
        cells = [
            f"`{rule.code}`",
            f"`{rule.name}`",
            rule.severity,
            f"`{rule.field}`",
            rule.summary,
            rule.fix,
            rule.basis,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def rules(terminal: Terminal, json_output: bool) -> None:
    """`--list-rules`: every rule, as a Markdown table or JSON."""
    from dataclasses import asdict

    from frigade_cli.segment.rules import RULES

    if json_output:
        terminal.json({"rules": [asdict(rule) for rule in RULES]})
        return
    for line in rules_table():
        terminal.line(line)


def report(terminal: Terminal, result: ValidationReport, output_format: str) -> None:
    """The report on stdout as `text`, `json` or `github` annotations."""
    if output_format == "json":
        terminal.json(result.as_dict())
    elif output_format == "github":
        for line in github_annotations(result):
            terminal.line(line)
    else:
        _text(terminal, result)


def github_annotations(result: ValidationReport) -> list[str]:
    """One `::error file=...,line=...,title=...::message` line per finding (GitHub Actions
    workflow commands); `line` is where the subscription starts in the file."""
    lines = []
    for f in result.findings:
        properties = f"title={_property(f'{f.code} {f.mapping}: {f.field}')}"
        if result.mapping_file:
            at = f"line={f.line}," if f.line is not None else ""
            properties = f"file={_property(result.mapping_file)},{at}" + properties
        message = _data(f"{f.message}. Fix: {f.fix}")
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {properties}::{message}")
    lines.append(f"frigade segment validate: {summary(result)}")
    return lines


def summary(result: ValidationReport) -> str:
    """`valid: 0 errors, 1 warning, 2 info`."""
    counts = result.counts()
    verdict = "valid" if result.valid else "invalid"
    errors = f"{counts['error']} error" + ("" if counts["error"] == 1 else "s")
    warnings = f"{counts['warning']} warning" + ("" if counts["warning"] == 1 else "s")
    return f"{verdict}: {errors}, {warnings}, {counts['info']} info"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _text(terminal: Terminal, result: ValidationReport) -> None:
    listed = result.mappings[:_MAX_LISTED]
    more = len(result.mappings) - len(listed)
    names = ", ".join(m.label for m in listed) or "no mapping"
    if more:
        names += f" and {more} more"
    noun = "mapping" if len(result.mappings) == 1 else "mappings"
    terminal.line(f"checked {len(result.mappings)} {noun} from {result.source}: {names}")
    for mapping in listed:
        reach = mapping.trigger_reach()
        if reach is not None:
            lets = ", ".join(f"{t} {r}" for t, r in reach.items())
            terminal.line(f"  {mapping.label}: the trigger lets through {lets}")
    for severity, heading in _HEADINGS.items():
        found = [f for f in result.findings if f.severity == severity]
        if not found:
            continue
        terminal.line("")
        terminal.line(f"{heading} ({len(found)})")
        for f in found:
            at = f"  line {f.line}" if f.line is not None else ""
            terminal.line(f"  {f.code} {_rule_name(f.code)}  {f.mapping}  {f.field}{at}")
            terminal.line(f"    {f.message}")
            terminal.line(f"    fix: {f.fix}")
            terminal.line(f"    basis: {f.basis}")
    if result.advice:
        _advice(terminal, result.advice)
    terminal.line("")
    ignored = f"; ignored {', '.join(result.ignored)}" if result.ignored else ""
    terminal.line(summary(result) + ignored)


def _advice(terminal: Terminal, advice: dict[str, Any]) -> None:
    terminal.line("")
    terminal.line(
        f"batch wait at {advice['events_per_day']:g} events/day (maximum batch wait "
        f"{advice['max_batch_wait_s']:g} s, unconfirmed; target {advice['target_wait_s']:g} s):"
    )
    for row in advice["mappings"]:
        terminal.line(
            f"  {row['mapping']}: batch size {row['batch_size']}: expected wait "
            f"{row['expected_wait_s']:.1f} s, p95 {row['p95_wait_s']:.1f} s, "
            f"{row['expected_fill']:.1f} events a batch"
        )
    terminal.line(
        f"  recommended batch size: {advice['recommended_batch_size']} (expected wait "
        f"{advice['recommended_expected_wait_s']:.1f} s)"
    )


def _rule_name(code: str) -> str:
    from frigade_cli.segment.rules import RULES_BY_CODE

    return RULES_BY_CODE[code].name
