"""What `frigade segment deliveries` shows: the report per direction with a sparkline per
outcome, the gates, and `--json`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.services.deliveries import DeliveriesReport, Egress, Ingress, Reason

MARKS = "▁▂▃▄▅▆▇█"
ZERO = "·"
WIDTH = 60  # marks a sparkline holds at most; more buckets are summed a few to a mark
TOP_REASONS = 5
_BUCKET_WORD = {"minute": "minute", "hour": "hour", "day": "day"}


def sparkline(counts: list[int], width: int = WIDTH) -> tuple[str, int]:
    """Counts drawn as block marks (`·` for none), and how many buckets each mark sums."""
    per = max(1, -(-len(counts) // width))
    summed = [sum(counts[i : i + per]) for i in range(0, len(counts), per)]
    peak = max(summed, default=0)
    marks = [
        ZERO if value == 0 else MARKS[min(len(MARKS) - 1, -(-value * len(MARKS) // peak) - 1)]
        for value in summed
    ]
    return "".join(marks), per


def show(terminal: Terminal, report: DeliveriesReport, json_output: bool) -> None:
    """The report on stdout, as text or one JSON document."""
    if json_output:
        terminal.json(report.as_dict())
        return
    lines = _text(report)
    terminal.lines([terminal.shown(line) for line in lines])


def _span(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{seconds / 86400:g} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 60:.3g} min"


def _text(report: DeliveriesReport) -> list[str]:
    w = report.window
    seconds = (w.end_ms - w.start_ms) / 1000
    lines = [
        f"Delivery Overview {w.start} to {w.end} ({_span(seconds)}, per {w.granularity}), "
        f"read from {report.source}",
    ]
    unit = _BUCKET_WORD[w.granularity]
    if report.segment_to_frigade is not None:
        lines += ["", *_egress(report.segment_to_frigade, unit)]
    if report.segment_source is not None:
        lines += ["", *_ingress("Segment source", report.segment_source, unit)]
    if (
        report.frigade_to_segment is not None
        and report.frigade_to_segment is not report.segment_source
    ):
        lines += ["", *_ingress("Frigade -> Segment", report.frigade_to_segment, unit)]
    elif report.frigade_to_segment is not None:
        lines += ["", "Frigade -> Segment: the same source, above"]
    if report.gates:
        lines += ["", "gates"]
        for g in report.gates:
            lines.append(f"  {'✓' if g.passed else '✗'} {g.gate.flag}: {g.describe()}")
        lines += ["", "passed" if report.passed else "gate breached"]
    return lines


def _series_line(label: str, counts: list[int], unit: str) -> str:
    line, per = sparkline(counts)
    each = f"per {unit}" if per == 1 else f"{per} {unit}s a mark"
    return f"    {label:<10} {line}  (peak {max(counts, default=0)}, {each})"


def _reasons(title: str, reasons: list[Reason]) -> list[str]:
    if not reasons:
        return []
    out = [f"  {title}"]
    width = max(len(r.reason) for r in reasons[:TOP_REASONS])
    for r in reasons[:TOP_REASONS]:
        meaning = f"  {r.meaning}" if r.meaning else ""
        out.append(f"    {r.reason:<{width}}  {r.count:>6}{meaning}")
    if len(reasons) > TOP_REASONS:
        out.append(f"    ... and {len(reasons) - TOP_REASONS} more (--json lists every one)")
    return out


def _egress(e: Egress, unit: str) -> list[str]:
    rate = "-" if e.failure_rate is None else f"{e.failure_rate:.2%}"
    lines = [
        f"Segment -> Frigade ({e.source_id} -> {e.destination_id})",
        f"  delivered                {e.delivered:>8}",
        f"  failed                   {e.failed:>8}   failure rate {rate}",
        f"  filtered at destination  {e.filtered:>8}",
        f"  retries                  {e.retries:>8}",
    ]
    lines += _reasons("top discard reasons (failed)", e.discard_reasons)
    lines += _reasons("filtered because", e.filtered_reasons)
    if e.series:
        lines.append("  series")
        lines.append(_series_line("delivered", [s[1] for s in e.series], unit))
        lines.append(_series_line("failed", [s[2] for s in e.series], unit))
        lines.append(_series_line("filtered", [s[3] for s in e.series], unit))
    if e.groups:
        lines.append("  by " + ", ".join(k for k in e.groups[0] if k not in ("outcome", "total")))
        for group in e.groups:
            values = ", ".join(
                str(v) for k, v in group.items() if k not in ("outcome", "total") and v
            )
            lines.append(f"    {group['outcome']:<9} {values or '(none)'}: {group['total']}")
    return lines


def _ingress(title: str, i: Ingress, unit: str) -> list[str]:
    lines = [
        f"{title} ({i.source_id})",
        f"  received                 {i.received:>8}",
        f"  failed on ingest         {i.failed_on_ingest:>8}",
        f"  filtered at source       {i.filtered_at_source:>8}",
    ]
    lines += _reasons("failed on ingest because", i.reasons)
    if i.series:
        lines.append("  series")
        lines.append(_series_line("received", [s[1] for s in i.series], unit))
        lines.append(_series_line("failed", [s[2] for s in i.series], unit))
    return lines
