"""What latency-check shows: live progress, the report (table, histogram, gates), JSON, JUnit XML
and the Markdown summary of a GitHub Actions step."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.latency import PATH_HELP, LatencyReport, PathResult, Sample, WaitEstimate
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
    failures = sum(not g.passed for g in results)
    duration = sum(r.duration_s for r in report.results)
    suites = ET.Element(
        "testsuites",
        name="frigade segment latency-check",
        tests=str(len(results)),
        failures=str(failures),
        time=f"{duration:.3f}",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="latency-check",
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
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
    if report.advice is not None:
        lines += ["", advice_line(report.advice)]
    return "\n".join(lines) + "\n"


def check_output_file(path: Path, what: str) -> None:
    """InputError (exit 3) unless `path` can be written: its directory exists and is writable,
    and it is not a directory or a read-only file. Run before anything is sent."""
    import os

    directory = path.parent
    if path.is_dir():
        raise InputError(f"{what} {path}: is a directory")
    if not directory.is_dir():
        raise InputError(f"{what} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: the directory {directory} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{what} {path}: the file is not writable")


def write_files(
    terminal: Terminal,
    report: LatencyReport,
    junit: Path | None,
    step_summary: str | None,
) -> str | None:
    """Write the JUnit file, append to the step summary (both redacted, and control characters
    escaped: `kernel.output.document_text`).

    Never raises: a step summary that cannot be written is a warning; so is a JUnit file that
    cannot, and then its message is returned, for the caller to exit 3 with unless the run's own
    outcome (a breach, an error) decides the exit code.
    """
    if step_summary:
        problem = _write(
            terminal, Path(step_summary), markdown(report), append=True, what="GITHUB_STEP_SUMMARY"
        )
        if problem:
            terminal.warn(problem)
    if junit is not None:
        problem = _write(terminal, junit, junit_xml(report), append=False, what="--junit")
        if problem:
            terminal.warn(problem)
            return problem
    return None


def _write(terminal: Terminal, path: Path, text: str, *, append: bool, what: str) -> str | None:
    from frigade_cli.kernel.output import document_text

    try:
        with path.open("a" if append else "w", encoding="utf-8") as handle:
            handle.write(document_text(terminal.redact(text)))
    except OSError as exc:
        return f"cannot write {what} file {path}: {exc.strerror or exc}"
    return None
