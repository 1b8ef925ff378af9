"""latency-check --html: the page, loaded in headless Chromium, shows the JSON report's figures."""

from __future__ import annotations

import json
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.support.tools import system_tool

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
)


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def having(self, tag: str, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.found if t == tag and cls in a.get("class", "").split()]


def render(page: Path) -> tuple[Elements, list[str]]:
    """The page's DOM after Chromium loaded it, and every console message it logged."""
    chromium = system_tool("chromium")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        proc = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert proc.returncode == 0, proc.stderr
    dom = Elements()
    dom.feed(proc.stdout)
    return dom, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def floats(value: str) -> float | None:
    return float(value) if value else None


def test_the_console_check_sees_what_a_page_logs(tmp_path: Path):
    page = tmp_path / "noisy.html"
    page.write_text("<!DOCTYPE html><body><script>console.error('boom')</script></body>")

    _, console = render(page)

    assert any('"boom"' in line for line in console)


def test_the_html_report_loads_cleanly_and_its_charts_carry_the_reports_figures(
    cli: Cli, tmp_path: Path
):
    base, now, page = tmp_path / "base.json", tmp_path / "now.json", tmp_path / "report.html"
    common = ("segment", "latency-check", "--sandbox", "-n", "8", "--poll-max", "10ms")
    # Five times the wait: the p50 gate trips however loaded the machine is.
    first = cli(*common, "--flush-interval", "50ms", "--save-baseline", str(base))
    second = cli(
        *common,
        "--flush-interval",
        "250ms",
        "--max-p95",
        "10s",
        "--baseline",
        str(base),
        "--max-regression",
        "p50=20%",
        "--html",
        str(page),
        "--save-baseline",
        str(now),  # the same run's --json document
    )
    assert first.exit_code == 0, first.output
    assert second.exit_code == 6, second.output
    report, before = json.loads(now.read_text()), json.loads(base.read_text())

    dom, console = render(page)

    assert console == []
    # Self-contained: nothing to fetch, no script.
    assert not [t for t, _ in dom.found if t in ("script", "link", "img", "iframe")]
    assert not [a for _, a in dom.found for k in ("src", "href") if k in a]
    (body,) = [a for t, a in dom.found if t == "body"]
    assert body["data-passed"] == "false"
    (row,) = dom.having("tr", "figures")
    for figure in ("min", "p50", "p90", "p95", "p99", "max", "mean"):
        assert floats(row[f"data-{figure}-ms"]) == report[f"{figure}_ms"], figure
    assert int(row["data-samples"]) == report["samples"]

    # The histogram: each bar counts the samples of the JSON report in its range.
    arrived = [s["latency_ms"] for s in report["each_sample"] if s["arrived"]]
    earlier = [s["latency_ms"] for s in before["each_sample"] if s["arrived"]]
    for cls, values in (("now", arrived), ("baseline", earlier)):
        bars = dom.having("rect", cls)
        assert sum(int(b["data-count"]) for b in bars) == len(values)
        for i, bar in enumerate(bars):
            low, high = float(bar["data-low-ms"]), float(bar["data-high-ms"])
            last = i == len(bars) - 1
            inside = [v for v in values if low <= v < high or (last and v == high)]
            assert int(bar["data-count"]) == len(inside), (cls, low, high)
    # Samples over time: every arrived sample of both runs, by index and latency.
    dots = dom.having("circle", "now")
    assert sorted((int(d["data-index"]), float(d["data-latency-ms"])) for d in dots) == sorted(
        (s["index"], s["latency_ms"]) for s in report["each_sample"] if s["arrived"]
    )
    assert sorted(float(d["data-latency-ms"]) for d in dom.having("circle", "baseline")) == sorted(
        earlier
    )
    # The gates, and the change against the baseline with its interval.
    gates = {(g["data-path"], g["data-gate"]): g for g in dom.having("tr", "gate-result")}
    for gate in report["gates"]:
        shown = gates[gate["path"], gate["gate"]]
        assert shown["data-passed"] == str(gate["passed"]).lower()
        assert floats(shown["data-value"]) == gate["value"]
    assert gates["segment", "p50_regression"]["data-passed"] == "false"
    p50 = next(f for f in report["regression"]["figures"] if f["figure"] == "p50")
    (shown,) = [r for r in dom.having("tr", "regression") if r["data-figure"] == "p50"]
    for key in ("baseline_ms", "now_ms", "change_pct", "ci_low_pct", "ci_high_pct"):
        assert floats(shown[f"data-{key.replace('_', '-')}"]) == p50[key], key
    assert shown["data-status"] == "fail"
    (interval,) = dom.having("g", "interval")
    assert floats(interval["data-ci-low-pct"]) == p50["ci_low_pct"] > 20
    assert floats(interval["data-ci-high-pct"]) == p50["ci_high_pct"]


@pytest.mark.parametrize("flag", ["--html"])
def test_an_html_path_in_a_missing_directory_exits_3_before_anything_runs(
    cli: Cli, tmp_path: Path, flag: str
):
    result = cli("segment", "latency-check", "--sandbox", flag, str(tmp_path / "no" / "r.html"))

    assert result.exit_code == 3, result.output
    assert "does not exist" in result.stderr and "sandbox started" not in result.stderr


def test_the_page_is_redacted_and_escaped(cli: Cli, tmp_path: Path):
    page = tmp_path / "r.html"

    result = cli(
        "segment", "latency-check", "--sandbox", "-n", "1", "--flush-interval", "20ms",
        "--user-id", "frigade-cli-latency-<b>x</b>", "--html", str(page),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert "api_private_" not in text
