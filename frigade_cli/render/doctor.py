"""What `frigade doctor` shows: one line a step with its mark, the fix under a step that did not
pass, the verdict; or one JSON document."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.services.doctor import DoctorReport, Step

MARKS = {"passed": "✓", "warning": "!", "failed": "✗", "skipped": "-"}
NAME_WIDTH = 19  # the longest step name, frigade-to-segment, and a space


def step_lines(step: Step) -> list[str]:
    """`✓ name  detail`, then `    fix: ...` when the step did not pass (skips say why inline)."""
    detail = f"skipped: {step.detail}" if step.status == "skipped" else step.detail
    lines = [f"{MARKS[step.status]} {step.name:<{NAME_WIDTH}}{detail}"]
    if step.fix and step.status in ("failed", "warning"):
        lines.append(f"  {'':<{NAME_WIDTH}}fix: {step.fix}")
    return lines


def verdict(report: DoctorReport) -> str:
    """`doctor: 5 passed, 1 warning, 1 skipped` and, when a step failed, the exit code."""
    counts: dict[str, int] = {}
    for step in report.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    words = {"passed": "passed", "warning": "warning", "failed": "failed", "skipped": "skipped"}
    parts = []
    for status, word in words.items():
        n = counts.get(status, 0)
        if n:
            parts.append(f"{n} {word}" + ("s" if word == "warning" and n != 1 else ""))
    tail = "" if report.passed else f" (exit {report.exit_code})"
    return f"doctor on {report.target}: " + ", ".join(parts) + tail


class DoctorPrinter:
    """Prints each step as it ends (text), or the whole document at the end (`--json`)."""

    def __init__(self, terminal: Terminal, json_output: bool) -> None:
        self.terminal = terminal
        self.json_output = json_output

    def step(self, step: Step) -> None:
        if not self.json_output:
            self.terminal.lines([self.terminal.shown(line) for line in step_lines(step)])

    def report(self, report: DoctorReport) -> None:
        if self.json_output:
            self.terminal.json(report.as_dict())
        else:
            self.terminal.lines(["", verdict(report)])
