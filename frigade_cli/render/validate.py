"""What `frigade segment validate` shows: a report grouped by severity, JSON, the formats CI
systems read (GitHub annotations, SARIF, JUnit XML, GitLab Code Quality, JSON Lines), the step
summary and the rules table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.segment.rules import Finding
    from frigade_cli.services.validate import ValidationReport

_HEADINGS = {"error": "errors", "warning": "warnings", "info": "info"}
_MAX_LISTED = 10  # mappings named one by one in the text report (--json lists every one)
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
# GitLab's scale is info, minor, major, critical, blocker; a rule's error blocks nothing else.
_GITLAB_SEVERITY = {"error": "major", "warning": "minor", "info": "info"}
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


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
    """The report on stdout in one of FORMATS."""
    if output_format == "json":
        terminal.json(result.as_dict())
    elif output_format == "github":
        for line in github_annotations(result):
            terminal.line(line)
    elif output_format == "sarif":
        terminal.json(sarif(result))
    elif output_format == "junit":
        terminal.write_text_bytes(junit_xml(result).encode())
    elif output_format == "gitlab":
        terminal.json(gitlab_code_quality(result))
    elif output_format == "json-lines":
        terminal.json_lines(json_lines(result))
    else:
        _text(terminal, result)


def write_files(
    terminal: Terminal, result: ValidationReport, report_file: Path | None, step_summary: str | None
) -> str | None:
    """Write the --report file (the JSON document) and append to the step summary, redacted.

    Never raises: a step summary that cannot be written is a warning; a report file that
    cannot is a warning whose message is returned, for the caller to exit 3 with unless the
    findings already decide the exit code.
    """
    import orjson

    if step_summary:
        problem = _write(terminal, Path(step_summary), markdown(result), append=True)
        if problem:
            terminal.warn(f"GITHUB_STEP_SUMMARY: {problem}")
    if report_file is not None:
        text = orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"
        problem = _write(terminal, report_file, text, append=False)
        if problem:
            terminal.warn(f"--report: {problem}")
            return f"--report: {problem}"
    return None


def _write(terminal: Terminal, path: Path, text: str, *, append: bool) -> str | None:
    try:
        with path.open("a" if append else "w", encoding="utf-8") as handle:
            handle.write(terminal.redact(text))
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


def github_annotations(result: ValidationReport) -> list[str]:
    """One `::error file=...,line=...,title=...::message` line per finding (GitHub Actions
    workflow commands, docs.github.com "Workflow commands for GitHub Actions")."""
    lines = []
    for f in result.findings:
        properties = f"title={_property(f'{f.code} {f.mapping}: {f.field}')}"
        if f.file:
            where = f"file={_property(f.file)},"
            if f.line is not None:
                where += f"line={f.line},"
            properties = where + properties
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
    several_files = len({file for file in result.mapping_files if file}) > 1
    for severity, heading in _HEADINGS.items():
        found = [f for f in result.findings if f.severity == severity]
        if not found:
            continue
        terminal.line("")
        terminal.line(f"{heading} ({len(found)})")
        for f in found:
            # One file: its name heads the report, the line is enough; several: file:line.
            shown = _where(f) if several_files else (f"line {f.line}" if f.line else "")
            where = f"  {shown}" if shown else ""
            terminal.line(f"  {f.code} {_rule_name(f.code)}  {f.mapping}  {f.field}{where}")
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


def _where(f: Finding) -> str:
    """`mapping.json:12`, `line 12` (stdin) or nothing."""
    if f.file and f.line is not None:
        return f"{f.file}:{f.line}"
    if f.file:
        return f.file
    return f"line {f.line}" if f.line is not None else ""


# Formats for CI systems --------------------------------------------------------------------------
def sarif(result: ValidationReport) -> dict[str, Any]:
    """A SARIF 2.1.0 log (OASIS, errata01 schema): every rule as a reportingDescriptor, each
    finding a result at its file and line, with the mapping and field as a logical location."""
    from frigade_cli import __version__
    from frigade_cli.segment.rules import RULES

    index = {rule.code: n for n, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary} (field {rule.field})."},
            "help": {"text": f"Fix: {rule.fix}."},
            "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
            "properties": {"field": rule.field, "severity": rule.severity, "basis": rule.basis},
        }
        for rule in RULES
    ]
    results = []
    for f in result.findings:
        location: dict[str, Any] = {
            "logicalLocations": [
                {"name": f.field, "fullyQualifiedName": f"{f.mapping}/{f.field}", "kind": "member"}
            ]
        }
        if f.file:
            physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.file)}}
            if f.line is not None:
                physical["region"] = {"startLine": f.line}
            location["physicalLocation"] = physical
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f"{f.mapping}: {f.message}. Fix: {f.fix}."},
                "locations": [location],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "frigade-cli",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _uri(path: str) -> str:
    """A file as a SARIF artifact URI: relative paths stay relative (to the repository root, as
    GitHub code scanning reads them), absolute ones become file: URIs."""
    from urllib.parse import quote

    as_path = Path(path)
    if as_path.is_absolute():
        return as_path.as_uri()
    return quote(as_path.as_posix().removeprefix("./"))


def junit_xml(result: ValidationReport) -> str:
    """JUnit XML: a testsuite per subscription with a testcase per rule. An error is a
    `<failure>`; a warning or note passes with its message in `<system-out>`; an ignored rule
    or one this run could not check is `<skipped>`."""
    import xml.etree.ElementTree as ET

    from frigade_cli.kernel.output import printable
    from frigade_cli.segment.rules import RULES

    subjects = [(m.label, result.file_of(n)) for n, m in enumerate(result.mappings)]
    labels = {label for label, _ in subjects}
    subjects += sorted({(f.mapping, f.file) for f in result.findings if f.mapping not in labels})
    if not subjects and result.destination is not None:
        subjects.append((f"destination {result.destination.id}", None))
    suites = ET.Element("testsuites", name="frigade segment validate")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for label, file in subjects:
        suite = ET.SubElement(suites, "testsuite", name=printable(label))
        if file:
            suite.set("file", file)
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for rule in RULES:
            found = [f for f in result.findings if f.mapping == label and f.code == rule.code]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=printable(label),
                name=f"{rule.code} {rule.name}",
            )
            if file:
                case.set("file", file)
                line = next((f.line for f in found if f.line is not None), None)
                if line is not None:
                    case.set("line", str(line))
            counts["tests"] += 1
            text = "\n".join(printable(f"{f.message}. Fix: {f.fix}.") for f in found)
            if rule.code in result.ignored:
                ET.SubElement(case, "skipped", message="ignored (--ignore)")
                counts["skipped"] += 1
            elif any(f.severity == "error" for f in found):
                failure = ET.SubElement(
                    case, "failure", message=printable(found[0].message), type=rule.severity
                )
                failure.text = text
                counts["failures"] += 1
            elif found:
                ET.SubElement(case, "system-out").text = text
            elif rule.code in result.not_checked:
                ET.SubElement(case, "skipped", message=result.not_checked[rule.code])
                counts["skipped"] += 1
        for name, value in counts.items():
            suite.set(name, str(value))
            totals[name] += value
        suite.set("errors", "0")
    for name, value in totals.items():
        suites.set(name, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def gitlab_code_quality(result: ValidationReport) -> list[dict[str, Any]]:
    """A GitLab Code Quality report (docs.gitlab.com, "Code Quality report format"): an issue
    per finding with description, check_name, fingerprint, severity and location. A finding
    not from a file is placed at the source it was read from."""
    import hashlib

    issues = []
    for f in result.findings:
        path = f.file or result.source
        identity = "\0".join((path, f.mapping, f.code, f.field, f.message))
        issues.append(
            {
                "description": f"{f.mapping}: {f.message}. Fix: {f.fix}.",
                "check_name": f"{f.code} {_rule_name(f.code)}",
                "fingerprint": hashlib.sha256(identity.encode()).hexdigest()[:32],
                "severity": _GITLAB_SEVERITY[f.severity],
                "location": {"path": path, "lines": {"begin": f.line or 1}},
            }
        )
    return issues


def json_lines(result: ValidationReport) -> list[dict[str, Any]]:
    """A JSON object per finding (the --json document's findings, with the rule's name)."""
    return [{**f.as_dict(), "name": _rule_name(f.code)} for f in result.findings]


def markdown(result: ValidationReport) -> str:
    """A Markdown section for `$GITHUB_STEP_SUMMARY`: the verdict, then a row per finding."""
    verdict = "valid" if result.valid else "INVALID"
    noun = "mapping" if len(result.mappings) == 1 else "mappings"
    lines = [
        f"### frigade segment validate: {verdict}",
        "",
        f"Checked {len(result.mappings)} {noun} from {_cell(result.source)}: {summary(result)}.",
    ]
    if result.findings:
        lines += [
            "",
            "| severity | rule | mapping | field | where | message | fix |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for f in result.findings:
            cells = [
                f.severity,
                f"`{f.code}` {_rule_name(f.code)}",
                f.mapping,
                f"`{f.field}`",
                _where(f),
                f.message,
                f.fix,
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
