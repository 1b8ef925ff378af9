"""What latency-check shows: live progress, the report (table, histogram, gates, the comparison
with a baseline), JSON, a monitor's line per round, the files for CI (JUnit XML, the baseline to
save, the Markdown summary of a GitHub Actions step) and, through their own modules, the HTML
page and the Prometheus metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.latency import (
    PATH_HELP,
    LatencyReport,
    PathResult,
    Regression,
    Sample,
    WaitEstimate,
    changed_settings,
)
from frigade_cli.kernel.stats import FIGURES, histogram

if TYPE_CHECKING:
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.services.latency_check import Progress

BAR = "█"
BAR_WIDTH = 30


def ms(value: float | None) -> str:
    """`1,012.4` (milliseconds, one decimal), `-` when there is no value."""
    return "-" if value is None else f"{value:,.1f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g}s"


# Live progress (stderr, terminal only) ------------------------------------------------------------
@contextlib.contextmanager
def live_progress(terminal: Terminal, samples: int) -> Iterator[Progress | None]:
    """A progress line on stderr while sampling (nothing when stderr is not a terminal)."""
    progress = terminal.progress(samples, "starting")
    if progress is None:
        yield None
        return

    def update(result: PathResult, sample: Sample | None) -> None:
        task = progress.task_ids[0]
        if sample is None:  # a path starts: the bar counts its samples
            progress.reset(task, total=result.planned, description=f"{result.path}: sending")
            return
        arrived = result.arrived
        last = f"last {ms(sample.latency_ms)} ms" if sample.arrived else "last lost"
        p50 = result.latency.p50
        progress.update(
            task,
            advance=1,
            description=f"{result.path}: {last}, p50 {ms(p50)} ms, "
            f"{len(arrived)} arrived, {len(result.failures)} failed",
        )

    with progress:
        yield update


# The report on stdout -----------------------------------------------------------------------------
def show(terminal: Terminal, report: LatencyReport, json_output: bool) -> None:
    """The whole report: JSON document, or tables and histograms for people."""
    if json_output:
        terminal.json(report.as_dict())
        return
    settings = report.settings
    where = (
        f"sandbox, batch size {settings['batch_size']}, flush interval "
        f"{_seconds(settings['flush_interval_s'])}"
        if settings["sandbox"]
        else f"Frigade {settings['frigade_url']}"
    )
    terminal.line(
        f"latency-check ({where}): {settings['samples']} samples a path, concurrency "
        f"{settings['concurrency']}, interval {_seconds(settings['interval_s'])}, timeout "
        f"{_seconds(settings['timeout_s'])}, user {settings['user_id']}"
    )
    terminal.line("")
    columns = ["path", "samples", "failures", *(f"{f} ms" for f in FIGURES), "± read-back ms"]
    rows = []
    for result in report.results:
        figures = result.latency
        rows.append(
            [
                result.path,
                len(result.samples),
                len(result.failures),
                *(ms(figures.get(f)) for f in FIGURES),
                ms(result.resolution.p50),
            ]
        )
    terminal.table(columns, rows)
    for result in report.results:
        _histogram(terminal, result)
    _failures(terminal, report)
    _gates(terminal, report)
    _regressions(terminal, report)
    if report.cleanup is not None and report.cleanup.deleted:
        terminal.line("")
        terminal.line(f"deleted the user {report.cleanup.user_id} (keep it with --keep-user)")
    if report.model is not None:
        terminal.line("")
        terminal.line(_model_line(report))
    if report.advice is not None:
        terminal.line("")
        terminal.line(advice_line(report.advice))
    if report.interrupted:
        stop = "SIGTERM" if report.terminated else "Ctrl-C"
        cut = sum(len(r.interrupted) for r in report.results)
        terminal.line("")
        terminal.line(
            f"interrupted: the figures cover the samples measured before {stop}"
            + (
                f"; {cut} sample{'s' if cut != 1 else ''} still in flight then "
                "not measured (not counted as failures)"
                if cut
                else ""
            )
        )


def _histogram(terminal: Terminal, result: PathResult) -> None:
    values = [s.latency_ms for s in result.arrived if s.latency_ms is not None]
    if not values:
        return
    terminal.line("")
    terminal.line(f"{result.path} ({PATH_HELP[result.path]}): {len(values)} arrived, in ms")
    bins = histogram(values, min(10, len(values)))
    top = max(b.count for b in bins)
    width = max(len(f"{ms(b.low)} - {ms(b.high)}") for b in bins)
    for b in bins:
        label = f"{ms(b.low)} - {ms(b.high)}".rjust(width)
        bar = BAR * max(1 if b.count else 0, round(BAR_WIDTH * b.count / top))
        terminal.line(f"  {label}  {bar.ljust(BAR_WIDTH)} {b.count}")
    resolution, lag = result.resolution, result.server_lag
    terminal.line(
        f"  read-back error bar: p50 {ms(resolution.p50)} ms, max {ms(resolution.max)} ms "
        "(an event arrived at most this long before it was seen)"
    )
    if lag.count:
        terminal.line(
            f"  Frigade createdAt - send time: p50 {ms(lag.p50)} ms (right only when this "
            "machine's clock agrees with Frigade's)"
        )


def _failures(terminal: Terminal, report: LatencyReport) -> None:
    failed = [s for r in report.results for s in r.failures]
    if not failed:
        return
    terminal.line("")
    terminal.line(f"{len(failed)} sample{'s' if len(failed) != 1 else ''} never seen:")
    # Plain lines, not a table: a marker is never folded, so it can be copied and searched for.
    for s in failed:
        terminal.line(f"  {s.path}  {s.marker}  sent {s.sent_at or '-'}  {s.error or '-'}")


def _gates(terminal: Terminal, report: LatencyReport) -> None:
    results = report.gate_results
    terminal.line("")
    terminal.table(
        ["gate", "path", "result", "measured"],
        [[g.gate.label, g.path, "pass" if g.passed else "FAIL", g.describe()] for g in results],
    )


def _regressions(terminal: Terminal, report: LatencyReport) -> None:
    baseline = report.baseline
    if baseline is None:
        return
    terminal.line("")
    changed = changed_settings(baseline.settings, report.settings)
    terminal.line(
        f"against the baseline {baseline.source} (run {baseline.started_at or '-'}): change "
        f"with its 95% interval (bootstrap, seed {report.seed}); a gate trips only when the "
        "whole interval lies above it"
        + (
            "; settings changed: "
            + ", ".join(f"{k} {_setting(v[0])} -> {_setting(v[1])}" for k, v in changed.items())
            if changed
            else ""
        )
    )
    terminal.table(
        ["path", "figure", "baseline ms", "now ms", "change", "95% interval", "gate", "result"],
        [_regression_row(r) for r in report.regressions],
    )
    compared = {r.path for r in report.regressions}
    for result in report.results:
        if result.path not in compared:
            terminal.line(f"{result.path}: not in the baseline, not compared")


def _regression_row(r: Regression) -> list[str]:
    i = r.interval
    gate = f"<= {percent(r.gate.max_change)}" if r.gate else "-"
    if i is None:
        return [
            r.path,
            r.figure,
            "-",
            "-",
            "-",
            "-",
            gate,
            f"too few samples (needs {r.min_samples} a run)",
        ]
    return [
        r.path,
        r.figure,
        ms(i.baseline),
        ms(i.now),
        percent(i.change),
        f"{percent(i.low)} .. {percent(i.high)}",
        gate,
        r.status,
    ]


def percent(fraction: float) -> str:
    """`+20.0%`, `-3.5%`: a change given as a fraction, one decimal."""
    return f"{round(fraction * 100, 1) + 0.0:+.1f}%"


def _setting(value: object) -> str:
    return "-" if value is None else str(value)


def _model_line(report: LatencyReport) -> str:
    model = report.model
    assert model is not None
    line = (
        f"batch-wait model: on the sandbox each sample waits alone in its batch (no other "
        f"traffic), so at batch size {model.batch_size} and a wait of up to "
        f"{model.max_wait_s:g}s it predicts {ms(model.expected_ms)} ms on average, p95 "
        f"{ms(model.p95_ms)} ms, before delivery and read-back"
    )
    segment, direct = report.result("segment"), report.result("direct")
    if segment and direct and segment.latency.p50 is not None and direct.latency.p50 is not None:
        line += (
            f"; measured batching share (segment p50 - direct p50): "
            f"{ms(segment.latency.p50 - direct.latency.p50)} ms"
        )
    return line


def show_round(terminal: Terminal, report: LatencyReport, json_output: bool) -> None:
    """A monitor's round: its JSON document on one line, or one line per path for people."""
    if json_output:
        terminal.json_line(report.as_dict())
        return
    verdict = "passed" if report.passed else "FAILED"
    if report.interrupted:
        verdict = "interrupted"
    for result in report.results:
        latency = result.latency
        breached = [
            g.gate.figure for g in report.gate_results if g.path == result.path and not g.passed
        ]
        breached += [
            f"{r.figure} regression"
            for r in report.regressions
            if r.path == result.path and not r.passed
        ]
        terminal.line(
            f"round {report.round} {report.started_at or '-'} {result.path}: "
            f"{len(result.arrived)}/{len(result.samples)} arrived, p50 {ms(latency.p50)} ms, "
            f"p95 {ms(latency.p95)} ms, p99 {ms(latency.p99)} ms; {verdict}"
            + (f" ({', '.join(breached)})" if breached else "")
        )
    if report.error is not None:
        terminal.line(f"round {report.round}: {report.error.message}")


def advice_line(advice: WaitEstimate) -> str:
    """`At 300 events/day a batch of 100 waits ...; batch size 1 keeps ... under 2,000 ms.`"""
    line = (
        f"At {advice.events_per_day:,.0f} events/day a batch size of {advice.batch_size} adds "
        f"{ms(advice.expected_ms)} ms on average to each event (p95 {ms(advice.p95_ms)} ms; "
        f"a batch holds {advice.expected_fill:,.1f} events on average, wait up to "
        f"{advice.max_wait_s:g}s)"
    )
    if advice.largest_batch_size is not None and advice.target_ms is not None:
        line += (
            f"; batch size {advice.largest_batch_size} keeps the average under "
            f"{ms(advice.target_ms)} ms"
        )
    return line + "."


# Files for CI -------------------------------------------------------------------------------------
def junit_xml(report: LatencyReport) -> str:
    """JUnit XML: one testcase per gate and path; a breach is a `<failure>` with the figures."""
    import xml.etree.ElementTree as ET

    results = report.gate_results
    regressions = [r for r in report.regressions if r.gate is not None]
    failures = sum(not g.passed for g in results) + sum(not r.passed for r in regressions)
    tests = len(results) + len(regressions)
    duration = sum(r.duration_s for r in report.results)
    suites = ET.Element(
        "testsuites",
        name="frigade segment latency-check",
        tests=str(tests),
        failures=str(failures),
        time=f"{duration:.3f}",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="latency-check",
        tests=str(tests),
        failures=str(failures),
        errors="0",
        skipped=str(sum(r.interval is None for r in regressions)),
        time=f"{duration:.3f}",
        timestamp=report.started_at or "",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in report.settings.items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            ET.SubElement(properties, "property", name=name, value=str(value))
    for gate in results:
        result = report.result(gate.path)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"latency-check.{gate.path}",
            name=gate.gate.label,
            time=f"{result.duration_s:.3f}" if result else "0",
        )
        figures = figures_text(result) if result else ""
        if not gate.passed:
            failure = ET.SubElement(case, "failure", message=gate.describe(), type="threshold")
            failure.text = figures
        ET.SubElement(case, "system-out").text = figures
    for regression in regressions:
        assert regression.gate is not None
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"latency-check.{regression.path}",
            name=regression.gate.label,
            time="0",
        )
        if not regression.passed:
            ET.SubElement(case, "failure", message=regression.describe(), type="regression")
        elif regression.interval is None:  # undecided, which is not a pass either
            ET.SubElement(case, "skipped", message=regression.describe())
        ET.SubElement(case, "system-out").text = regression.describe()
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def figures_text(result: PathResult) -> str:
    """`samples 20, failures 0, min 1,004.2 ms, p50 ...; lost: MARKER (why)`."""
    latency = result.latency
    parts = [f"samples {len(result.samples)}", f"failures {len(result.failures)}"]
    if result.interrupted:
        parts.append(f"interrupted {len(result.interrupted)}")
    parts += [f"{f} {ms(latency.get(f))} ms" for f in FIGURES]
    text = ", ".join(parts)
    if result.failures:
        text += "; not seen: " + ", ".join(f"{s.marker} ({s.error})" for s in result.failures)
    return text


def markdown(report: LatencyReport) -> str:
    """A Markdown section for `$GITHUB_STEP_SUMMARY`: figures per path, then the gates."""
    verdict = "passed" if report.passed else "FAILED"
    settings = report.settings
    where = "sandbox" if settings["sandbox"] else settings["frigade_url"]
    lines = [
        f"### frigade latency-check: {verdict}",
        "",
        f"{settings['samples']} samples a path against {where}"
        + (
            f" (batch size {settings['batch_size']}, flush interval "
            f"{_seconds(settings['flush_interval_s'])})"
            if settings["sandbox"]
            else ""
        )
        + ". Figures in ms.",
        "",
        "| path | samples | failures | " + " | ".join(FIGURES) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in FIGURES) + " |",
    ]
    for result in report.results:
        latency = result.latency
        cells = [result.path, str(len(result.samples)), str(len(result.failures))]
        cells += [ms(latency.get(f)) for f in FIGURES]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| gate | path | result | measured |", "| --- | --- | --- | --- |"]
    for gate in report.gate_results:
        mark = "pass" if gate.passed else "**FAIL**"
        lines.append(f"| {gate.gate.label} | {gate.path} | {mark} | {gate.describe()} |")
    if report.baseline is not None:
        lines += [
            "",
            f"Against the baseline `{report.baseline.source}` (95% interval of the change):",
            "",
            "| path | figure | baseline ms | now ms | change | 95% interval | gate | result |",
            "| --- | --- | ---: | ---: | ---: | --- | --- | --- |",
        ]
        for r in report.regressions:
            cells = _regression_row(r)
            if not r.passed:
                cells[-1] = "**FAIL**"
            lines.append("| " + " | ".join(cells) + " |")
    if report.advice is not None:
        lines += ["", advice_line(report.advice)]
    return "\n".join(lines) + "\n"


def check_output_file(path: Path, what: str, *, regular: bool = False) -> None:
    """InputError (exit 3) unless `path` can be written: its directory exists and is writable,
    and it is not a directory or a read-only file (nor, with `regular`, anything but a regular
    file, for a file that is replaced by renaming). Run before anything is sent."""
    import os

    directory = path.parent
    if path.is_dir():
        raise InputError(f"{what} {path}: is a directory")
    if regular and path.exists() and not path.is_file():
        raise InputError(f"{what} {path}: not a regular file")
    if not directory.is_dir():
        raise InputError(f"{what} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: the directory {directory} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{what} {path}: the file is not writable")


def write_files(
    terminal: Terminal,
    report: LatencyReport,
    step_summary: str | None,
    files: dict[str, Path | None],
) -> str | None:
    """Write the files asked for, each redacted: `--junit` (JUnit XML), `--save-baseline` (the
    `--json` document), `--html` (the page; every round of a monitor rewrites it); append to
    the step summary. In the XML, HTML and Markdown, control characters are escaped
    (`kernel.output.document_text`); JSON escapes them itself.

    Never raises: a file that cannot be written is a warning, and the first such message is
    returned, for the caller to exit 3 with unless the run's own outcome (a breach, an error)
    decides the exit code. A step summary that cannot be written is only a warning. The baseline
    is saved only from a run that was neither stopped nor ended by an error.
    """
    import json

    from frigade_cli.kernel.output import document_text

    if step_summary:
        summary = document_text(markdown(report))
        problem = _write(
            terminal, Path(step_summary), summary, append=True, what="GITHUB_STEP_SUMMARY"
        )
        if problem:
            terminal.warn(problem)
    first: str | None = None
    for flag, path in files.items():
        if path is None:
            continue
        if flag == "--save-baseline" and (report.interrupted or report.error is not None):
            terminal.warn(f"{flag} {path}: not saved, the run did not complete")
            continue
        if flag == "--junit":
            text = document_text(junit_xml(report))
        elif flag == "--html":
            from frigade_cli.render.latency_html import html_report

            text = document_text(html_report(report))
        else:
            text = json.dumps(report.as_dict(), indent=2) + "\n"
        problem = _write(terminal, path, text, append=False, what=flag)
        if problem:
            terminal.warn(problem)
            first = first or problem
    return first


def _write(terminal: Terminal, path: Path, text: str, *, append: bool, what: str) -> str | None:
    """Append, or replace a regular file atomically (a temporary file beside it, renamed over
    it) so that a reader never sees half of it; a device or a pipe is written to as it is."""
    import os

    try:
        if append or (path.exists() and not path.is_file()):
            with path.open("a" if append else "w", encoding="utf-8") as handle:
                handle.write(terminal.redact(text))
            return None
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(terminal.redact(text))
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as exc:
        return f"cannot write {what} file {path}: {exc.strerror or exc}"
    return None
