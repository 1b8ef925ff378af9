"""latency-check's `--html FILE`: one self-contained page, charts drawn here as inline SVG.

No script, no font, no image, nothing fetched: a Content-Security-Policy of `default-src 'none'`
keeps it so in any browser. Every chart element carries its figures as `data-*` attributes (ms,
and percent for changes), rounded as the `--json` report rounds them, so a page can be checked
against the report. Per path: the figures, a histogram (with `--baseline` the baseline's samples
overlaid in the same bins), the samples over time (both runs), and the gates; with a baseline,
each percentile's change and its confidence interval.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from frigade_cli.kernel.clock import parse_iso_ms
from frigade_cli.kernel.latency import PATH_HELP, LatencyReport, PathResult, Regression
from frigade_cli.kernel.stats import FIGURES

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 34
MAX_BINS = 20

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 720px; color: #1b1f24; }
h1 { font-size: 1.35rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { padding: .2rem .6rem; border-bottom: 1px solid #d0d7de; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.pass { color: #1a7f37; } .fail { color: #cf222e; font-weight: 600; } .muted { color: #656d76; }
svg { display: block; margin: .25rem 0 1rem; }
svg text { font: 11px system-ui, sans-serif; fill: #57606a; }
.axis { stroke: #8c959f; stroke-width: 1; }
.bar.now { fill: #0969da; fill-opacity: .75; } .bar.baseline { fill: #bf8700; fill-opacity: .45; }
.sample.now { fill: #0969da; } .sample.baseline { fill: #bf8700; fill-opacity: .7; }
.lost { stroke: #cf222e; stroke-width: 2; }
.gate { stroke: #cf222e; stroke-dasharray: 4 3; } .mark { stroke: #1b1f24; stroke-dasharray: 1 2; }
.ci { stroke: #0969da; stroke-width: 6; } .ci.fail { stroke: #cf222e; }
.zero { stroke: #8c959f; }
.legend span { display: inline-block; width: .8em; height: .8em; margin: 0 .3em 0 1em; }
"""


def html_report(report: LatencyReport) -> str:
    """The whole page as text (to be redacted and written by the caller)."""
    verdict = "passed" if report.passed else "FAILED"
    settings = report.settings
    where = (
        f"sandbox, batch size {settings['batch_size']}, flush interval "
        f"{settings['flush_interval_s']:g}s"
        if settings["sandbox"]
        else f"Frigade {settings['frigade_url']}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>frigade latency-check: {verdict}</title>",
        f"<style>{STYLE}</style></head>",
        f'<body data-passed="{_bool(report.passed)}" data-started-at="{_a(report.started_at)}" '
        f'data-round="{_a(report.round)}">',
        f'<h1>frigade latency-check: <span class="{_cls(report.passed)}">{verdict}</span></h1>',
        f'<p class="muted">{_t(where)}; {settings["samples"]} samples a path, user '
        f"{_t(settings['user_id'])}, started {_t(report.started_at or '-')}"
        + (f", round {report.round}" if report.round is not None else "")
        + (f". Compared with {_t(report.baseline.source)}" if report.baseline else "")
        + ".</p>",
    ]
    if report.interrupted:
        parts.append('<p class="fail">Interrupted: the figures cover the samples measured.</p>')
    if report.error is not None:
        parts.append(f'<p class="fail">{_t(report.error.message)}</p>')
    parts.append(_figures_table(report))
    parts.append(_gates_table(report))
    if report.baseline is not None:
        parts.append(_regression_section(report))
    for result in report.results:
        parts.append(_path_section(report, result))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# Tables ---------------------------------------------------------------------------------------
def _figures_table(report: LatencyReport) -> str:
    head = "".join(f"<th>{f} ms</th>" for f in FIGURES)
    rows = []
    for result in report.results:
        figures = result.figures()
        attrs = " ".join(
            [f'data-path="{_a(result.path)}"', f'data-samples="{figures["samples"]}"']
            + [f'data-failures="{figures["failures"]}"']
            + [f'data-{f}-ms="{_num(figures[f"{f}_ms"])}"' for f in FIGURES]
        )
        cells = "".join(f"<td>{_ms(figures[f'{f}_ms'])}</td>" for f in FIGURES)
        rows.append(
            f'<tr class="figures" {attrs}><td>{_t(result.path)}</td>'
            f"<td>{figures['samples']}</td><td>{figures['failures']}</td>{cells}</tr>"
        )
    return (
        "<h2>Latency</h2><table><thead><tr><th>path</th><th>samples</th><th>failures</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _gates_table(report: LatencyReport) -> str:
    rows = []
    for g in report.gate_results:
        d = g.as_dict()
        rows.append(
            f'<tr class="gate-result" data-path="{_a(g.path)}" data-gate="{_a(g.gate.figure)}" '
            f'data-limit="{_num(d["limit"])}" data-value="{_num(d["value"])}" '
            f'data-unit="{d["unit"]}" data-passed="{_bool(g.passed)}">'
            f"<td>{_t(g.gate.label)}</td><td>{_t(g.path)}</td>"
            f'<td class="{_cls(g.passed)}">{"pass" if g.passed else "FAIL"}</td>'
            f"<td>{_t(g.describe())}</td></tr>"
        )
    for r in report.regressions:
        if r.gate is None:
            continue
        limit = _num(r.as_dict()["max_regression_pct"])
        rows.append(
            f'<tr class="gate-result" data-path="{_a(r.path)}" '
            f'data-gate="{r.figure}_regression" data-limit="{limit}"'
            f' data-unit="%" data-passed="{_bool(r.passed)}"><td>{_t(r.gate.label)}</td>'
            f'<td>{_t(r.path)}</td><td class="{_status_cls(r)}">{_t(r.status)}</td>'
            f"<td>{_t(r.describe())}</td></tr>"
        )
    return (
        "<h2>Gates</h2><table><thead><tr><th>gate</th><th>path</th><th>result</th>"
        f"<th>measured</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _regression_section(report: LatencyReport) -> str:
    assert report.baseline is not None
    rows = []
    for r in report.regressions:
        d = r.as_dict()
        attrs = " ".join(
            f'data-{k.replace("_", "-")}="{_num(d[k]) if k != "status" else _a(d[k])}"'
            for k in (
                "baseline_ms",
                "now_ms",
                "change_pct",
                "ci_low_pct",
                "ci_high_pct",
                "max_regression_pct",
                "status",
            )
        )
        interval = (
            f"{_pct(d['ci_low_pct'])} .. {_pct(d['ci_high_pct'])}"
            if d["ci_low_pct"] is not None
            else f"too few samples ({r.min_samples} needed)"
        )
        rows.append(
            f'<tr class="regression" data-path="{_a(r.path)}" data-figure="{r.figure}" {attrs}>'
            f"<td>{_t(r.path)}</td><td>{r.figure}</td><td>{_ms(d['baseline_ms'])}</td>"
            f"<td>{_ms(d['now_ms'])}</td><td>{_pct(d['change_pct'])}</td><td>{interval}</td>"
            f"<td>{_pct(d['max_regression_pct'])}</td>"
            f'<td class="{_status_cls(r)}">{_t(r.status)}</td></tr>'
        )
    changed = report.as_dict()["regression"]["baseline"]["settings_changed"]
    note = (
        "<p>Settings changed since the baseline: "
        + ", ".join(f"{_t(k)} {_t(str(v[0]))} &rarr; {_t(str(v[1]))}" for k, v in changed.items())
        + ".</p>"
        if changed
        else ""
    )
    charts = "".join(
        _interval_chart(result.path, [r for r in report.regressions if r.path == result.path])
        for result in report.results
        if any(r.path == result.path for r in report.regressions)
    )
    return (
        f'<h2>Against the baseline</h2><p class="muted">{_t(report.baseline.source)}, started '
        f"{_t(report.baseline.started_at or '-')}. Change of each percentile with its 95% "
        f"interval from a bootstrap (seed {report.seed}); a gate trips only when the whole "
        f"interval lies above it.</p>{note}"
        "<table><thead><tr><th>path</th><th>figure</th><th>baseline ms</th><th>now ms</th>"
        "<th>change</th><th>95% interval</th><th>gate</th><th>result</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{charts}"
    )


# Charts ---------------------------------------------------------------------------------------
def _path_section(report: LatencyReport, result: PathResult) -> str:
    # As the JSON report rounds them, so the page and the report count the same values.
    now = [round(s.latency_ms, 1) for s in result.arrived if s.latency_ms is not None]
    baseline = report.baseline.samples.get(result.path) if report.baseline else None
    legend = '<p class="legend"><span style="background:#0969da"></span>this run'
    if baseline is not None:
        legend += '<span style="background:#bf8700"></span>baseline'
    legend += "</p>"
    return (
        f'<section class="path" data-path="{_a(result.path)}"><h2>{_t(result.path)} '
        f'<span class="muted">({_t(PATH_HELP.get(result.path, ""))})</span></h2>{legend}'
        f"{_histogram_chart(report, result, now, baseline)}"
        f"{_timeline_chart(report, result, baseline is not None)}</section>"
    )


def _histogram_chart(
    report: LatencyReport, result: PathResult, now: list[float], baseline: list[float] | None
) -> str:
    values = now + (baseline or [])
    if not values:
        return '<p class="muted">No sample arrived: nothing to draw.</p>'
    low, high = min(values), max(values)
    count = max(len(now), len(baseline or []))
    bins = 1 if high == low else min(MAX_BINS, max(5, math.ceil(2 * math.sqrt(count))))
    width = (high - low) / bins if high > low else 1.0
    edges = [low + i * width for i in range(bins)] + [high]
    series = [("now", now)] + ([("baseline", baseline)] if baseline is not None else [])
    counted = {name: _bin_counts(vals, low, width, bins) for name, vals in series}
    top = max(max(c) for c in counted.values()) or 1
    x = _scale(low, high if high > low else low + 1, LEFT, WIDTH - RIGHT)
    y = _scale(0, top, HEIGHT - BOTTOM, TOP)
    out = [
        f'<svg class="histogram" data-path="{_a(result.path)}" data-bins="{bins}" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f"<title>{_t(result.path)}: latency histogram</title>",
    ]
    for name, counts in counted.items():
        for i, n in enumerate(counts):
            x0, x1 = x(edges[i]), x(edges[i + 1]) if bins > 1 else WIDTH - RIGHT
            out.append(
                f'<rect class="bar {name}" data-low-ms="{edges[i]!r}" '
                f'data-high-ms="{edges[i + 1]!r}" data-count="{n}" x="{x0:.1f}" '
                f'y="{y(n):.1f}" width="{max(1.0, x1 - x0 - 1):.1f}" '
                f'height="{HEIGHT - BOTTOM - y(n):.1f}"><title>{_ms(edges[i])} - '
                f"{_ms(edges[i + 1])} ms: {n} ({name})</title></rect>"
            )
    figures = result.latency
    for name in ("p50", "p95"):
        value = figures.get(name)
        if value is not None:
            out.append(_vline("mark", x(value), f'data-figure="{name}" data-ms="{_num(value)}"'))
            out.append(_label(x(value), name))
    off_chart = []
    for gate in report.gates:
        if gate.figure == "failures":
            continue
        attrs = f'data-gate="{gate.figure}" data-limit-ms="{_num(gate.limit)}"'
        if low <= gate.limit <= high:
            out.append(_vline("gate", x(gate.limit), attrs))
            out.append(_label(x(gate.limit), f"{gate.figure} gate", below=True))
        else:
            off_chart.append(f"{gate.figure} gate {_ms(gate.limit)} ms")
    out += _axes(f"{_ms(low)} ms", f"{_ms(high)} ms", f"{top}", "latency; bar height: samples")
    out.append("</svg>")
    if off_chart:
        out.append(f'<p class="muted">Off the chart: {_t(", ".join(off_chart))}.</p>')
    return "".join(out)


def _timeline_chart(report: LatencyReport, result: PathResult, with_baseline: bool) -> str:
    points: list[tuple[str, float, float, dict[str, Any]]] = []
    sent = [parse_iso_ms(s.sent_at) for s in result.samples]
    first = min((t for t in sent if t is not None), default=None)
    lost: list[tuple[float, str]] = []
    for sample, at in zip(result.samples, sent, strict=True):
        offset = (at - first) / 1000 if at is not None and first is not None else None
        if offset is None:
            continue
        if sample.latency_ms is not None:
            latency = round(sample.latency_ms, 1)
            attrs = {"index": sample.index, "latency-ms": _num(latency)}
            points.append(("now", offset, latency, attrs))
        elif not sample.interrupted:
            lost.append((offset, sample.marker))
    if with_baseline and report.baseline is not None:
        for i, (offset, latency) in enumerate(report.baseline.timeline.get(result.path, []), 1):
            points.append(("baseline", offset, latency, {"order": i, "latency-ms": _num(latency)}))
    if not points and not lost:
        return ""
    t_max = max([p[1] for p in points] + [t for t, _ in lost] + [0.001])
    l_max = max([p[2] for p in points] + [0.001])
    x = _scale(0, t_max, LEFT, WIDTH - RIGHT)
    y = _scale(0, l_max * 1.05, HEIGHT - BOTTOM, TOP)
    out = [
        f'<svg class="timeline" data-path="{_a(result.path)}" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f"<title>{_t(result.path)}: samples over time</title>",
    ]
    for name, offset, latency, attrs in points:
        data = " ".join(f'data-{k}="{v}"' for k, v in attrs.items())
        out.append(
            f'<circle class="sample {name}" {data} data-t-s="{offset:.3f}" cx="{x(offset):.1f}" '
            f'cy="{y(latency):.1f}" r="3"><title>{_ms(latency)} ms at +{offset:.2f}s '
            f"({name})</title></circle>"
        )
    for offset, marker in lost:
        cx = x(offset)
        out.append(
            f'<path class="lost" data-marker="{_a(marker)}" d="M{cx - 4:.1f},{TOP} '
            f'L{cx + 4:.1f},{TOP + 8} M{cx + 4:.1f},{TOP} L{cx - 4:.1f},{TOP + 8}">'
            f"<title>never seen: {_t(marker)}</title></path>"
        )
    out += _axes("0 s", f"{t_max:.1f} s", f"{_ms(l_max * 1.05)} ms", "sent at")
    out.append("</svg>")
    return "".join(out)


def _interval_chart(path: str, regressions: list[Regression]) -> str:
    """Each percentile's change as a bar from the interval's low to high end, the gate dashed."""
    decided = [r for r in regressions if r.interval is not None]
    if not decided:
        return ""
    ends = [0.0]
    for r in decided:
        assert r.interval is not None
        ends += [r.interval.low, r.interval.high]
        if r.gate is not None:
            ends.append(r.gate.max_change)
    lo, hi = min(ends), max(ends)
    pad = (hi - lo) * 0.08 or 0.1
    x = _scale(lo - pad, hi + pad, LEFT, WIDTH - RIGHT)
    row = 28
    height = TOP + row * len(decided) + BOTTOM
    out = [
        f'<svg class="intervals" data-path="{_a(path)}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img"><title>{_t(path)}: change with its '
        "95% interval</title>",
        f'<line class="zero" x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{TOP}" y2="{height - BOTTOM}"/>',
    ]
    for i, r in enumerate(decided):
        i_ = r.interval
        assert i_ is not None
        cy = TOP + row * i + row / 2
        d = r.as_dict()
        out.append(
            f'<g class="interval" data-figure="{r.figure}" '
            f'data-ci-low-pct="{_num(d["ci_low_pct"])}"'
            f' data-ci-high-pct="{_num(d["ci_high_pct"])}" data-change-pct="'
            f'{_num(d["change_pct"])}"><text x="8" y="{cy + 4:.1f}">{r.figure}</text>'
            f'<line class="ci {"fail" if not r.passed else ""}" x1="{x(i_.low):.1f}" '
            f'x2="{x(i_.high):.1f}" y1="{cy:.1f}" y2="{cy:.1f}"/>'
            f'<circle cx="{x(i_.change):.1f}" cy="{cy:.1f}" r="4" fill="#1b1f24"/></g>'
        )
        if r.gate is not None:
            gx = x(r.gate.max_change)
            out.append(
                f'<line class="gate" data-figure="{r.figure}" data-limit-pct="'
                f'{_num(d["max_regression_pct"])}" x1="{gx:.1f}" x2="{gx:.1f}" '
                f'y1="{cy - 10:.1f}" y2="{cy + 10:.1f}"/><text x="{gx + 3:.1f}" '
                f'y="{cy - 4:.1f}">gate {_pct(d["max_regression_pct"])}</text>'
            )
    out += [
        f'<text x="{x(0):.1f}" y="{height - BOTTOM + 14}" text-anchor="middle">0%</text>',
        f'<text x="{LEFT}" y="{height - 8}">{_pct(round((lo - pad) * 100, 1))}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{height - 8}" text-anchor="end">'
        f"{_pct(round((hi + pad) * 100, 1))}</text>",
        "</svg>",
    ]
    return "".join(out)


def _bin_counts(values: list[float], low: float, width: float, bins: int) -> list[int]:
    """How many values fall in each bin `[low + i*width, low + (i+1)*width)`, the last closed."""
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1) if width > 0 else 0] += 1
    return counts


def _scale(d0: float, d1: float, r0: float, r1: float) -> Any:
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def _vline(cls: str, x: float, attrs: str) -> str:
    return (
        f'<line class="{cls}" {attrs} x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
    )


def _label(x: float, text: str, *, below: bool = False) -> str:
    y = TOP + 22 if below else TOP + 10
    return f'<text x="{x + 3:.1f}" y="{y}">{_t(text)}</text>'


def _axes(x_low: str, x_high: str, y_top: str, x_label: str) -> list[str]:
    base = HEIGHT - BOTTOM
    return [
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>',
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}"/>',
        f'<text x="{LEFT}" y="{base + 16}">{_t(x_low)}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{base + 16}" text-anchor="end">{_t(x_high)}</text>',
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{base + 30}" text-anchor="middle">'
        f"{_t(x_label)}</text>",
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end">{_t(y_top)}</text>',
    ]


def _t(text: str) -> str:
    return escape(text, quote=False)


def _a(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: float | int | None) -> str:
    """A figure as the JSON report gives it (`1012.4`), empty for none."""
    return "" if value is None else repr(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _cls(passed: bool) -> str:
    return "pass" if passed else "fail"


def _status_cls(r: Regression) -> str:
    return "muted" if r.interval is None or r.gate is None else _cls(r.passed)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"
