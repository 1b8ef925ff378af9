"""`frigade segment latency-check`: flags in, the service called, the report rendered."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from frigade_cli.cli.options import (
    DURATION,
    SECRET_HELP,
    FrigadeApiUrlOption,
    duration_text,
    secret,
)
from frigade_cli.kernel.app import App, get_app

if TYPE_CHECKING:
    from frigade_cli.render.latency_metrics import LatencyMetrics
    from frigade_cli.services.latency_check import Plan


def latency_check(
    path: Annotated[
        str | None,
        typer.Option(
            "--path",
            help="What to measure: 'segment' (default: Segment's tracking API, then its "
            "batched webhook delivery to Frigade), 'direct' (POST to Frigade's webhook as "
            "Segment does) or 'api' (Frigade's REST API, POST /v1/public/users).",
            show_default=False,
        ),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option("--compare", help="Measure every path that can run, side by side."),
    ] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Start a local sandbox and measure there (no account, no network).",
        ),
    ] = False,
    samples: Annotated[
        int, typer.Option("--samples", "-n", min=1, max=10_000, help="Marked events a path.")
    ] = 20,
    interval: Annotated[
        str,
        typer.Option(
            parser=duration_text("--interval"),
            metavar=DURATION,
            help="Time between the starts of two samples (250ms, 2s, 1.5).",
        ),
    ] = "0s",
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Samples in flight at once.")
    ] = 1,
    timeout: Annotated[
        str,
        typer.Option(
            parser=duration_text("--timeout"),
            metavar=DURATION,
            help="How long a sample may take to show up before it counts as a failure.",
        ),
    ] = "30s",
    poll_max: Annotated[
        str | None,
        typer.Option(
            parser=duration_text("--poll-max"),
            metavar=DURATION,
            help="Longest pause between two read-backs of one sample (they start at 10ms and "
            "back off 1.5x), which bounds the figures' error bar. Default 100ms; 20ms with "
            "--sandbox.",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=4000,
            help="With --sandbox: its destination's batch size. Otherwise: your mapping's, for "
            "--events-per-day advice. Default 100.",
            show_default=False,
        ),
    ] = None,
    flush_interval: Annotated[
        str | None,
        typer.Option(
            parser=duration_text("--flush-interval"),
            metavar=DURATION,
            help="With --sandbox: how long its destination's batch waits to fill. Default 1s.",
            show_default=False,
        ),
    ] = None,
    max_p50: Annotated[
        str | None,
        typer.Option(
            parser=duration_text("--max-p50"),
            metavar=DURATION,
            help="Gate: fail (exit 6) when p50 is above this (250ms, 2s).",
        ),
    ] = None,
    max_p95: Annotated[
        str | None,
        typer.Option(
            parser=duration_text("--max-p95"),
            metavar=DURATION,
            help="Gate: fail (exit 6) when p95 is above this.",
        ),
    ] = None,
    max_p99: Annotated[
        str | None,
        typer.Option(
            parser=duration_text("--max-p99"),
            metavar=DURATION,
            help="Gate: fail (exit 6) when p99 is above this.",
        ),
    ] = None,
    max_failures: Annotated[
        int,
        typer.Option(min=0, help="Gate: fail (exit 6) when more samples than this never show up."),
    ] = 0,
    events_per_day: Annotated[
        float | None,
        typer.Option(
            help="Your source's volume: print the wait a batch adds at the batch size, and the "
            "batch size that keeps it under the tightest --max-pNN gate (else 2s).",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            parser=secret("--api-key"),
            metavar="KEY",
            help=f"Frigade private key (api_private_...); {SECRET_HELP} [env FRIGADE_API_KEY, "
            "else the profile's api_key].",
            show_default=False,
        ),
    ] = None,
    api_url: FrigadeApiUrlOption = None,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="Frigade's Segment webhook, for --path direct [default: API URL + "
            "/v1/thirdParty/cdp/segment].",
            show_default=False,
        ),
    ] = None,
    write_key: Annotated[
        str | None,
        typer.Option(
            parser=secret("--write-key"),
            metavar="KEY",
            help="Write key of the Segment HTTP API source connected to Frigade, for --path "
            f"segment; {SECRET_HELP} [env SEGMENT_WRITE_KEY]. Segment answers 200 even to a "
            "wrong key: a wrong one shows up as samples that never arrive.",
            show_default=False,
        ),
    ] = None,
    segment_url: Annotated[
        str | None,
        typer.Option(
            help="Segment tracking API [env SEGMENT_API_URL; default https://api.segment.io; "
            "EU: https://events.eu1.segmentapis.com].",
            show_default=False,
        ),
    ] = None,
    user_id: Annotated[
        str | None,
        typer.Option(
            help="User the marked events belong to; must start with 'frigade-cli-latency-'. "
            "Default: a new one a run.",
            show_default=False,
        ),
    ] = None,
    keep_user: Annotated[
        bool,
        typer.Option(
            "--keep-user",
            help="Keep the user this run generates (it is deleted after the run with DELETE "
            "/v1/users?userId=). A --user-id you give is never deleted.",
        ),
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="A previous run's --json report (or --save-baseline file): compare p50, p95 "
            "and p99 with it, each with a 95% interval for the change.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    max_regression: Annotated[
        list[str] | None,
        typer.Option(
            help="Gate against --baseline: fail (exit 6) when the whole 95% interval of the "
            "change lies above this: 20% (p50, p95 and p99) or p95=20%; repeatable.",
            metavar="[pNN=]PCT",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the bootstrap behind the intervals: same seed, same ones.")
    ] = 0,
    save_baseline: Annotated[
        Path | None,
        typer.Option(
            help="Write this run's --json report to FILE, for a later --baseline.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(
            parser=duration_text("--every"),
            metavar=DURATION,
            help="Monitor: run a round this often (60s, 5m) until Ctrl-C or SIGTERM; with "
            "--json one JSON line per round.",
            show_default=False,
        ),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(min=1, help="With --every: stop after this many rounds.", show_default=False),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="With --every: serve Prometheus metrics on this port (/metrics; 0 picks a free "
            "one and says which).",
            show_default=False,
        ),
    ] = None,
    metrics_address: Annotated[
        str,
        typer.Option(help="Address --metrics-port listens on (0.0.0.0 for every interface)."),
    ] = "127.0.0.1",
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            help="Write the same metrics in Prometheus' text format to FILE (atomically, after "
            "every round), for node_exporter's textfile collector.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            help="Write a self-contained HTML report (charts per path, gates, the baseline "
            "overlaid); a monitor rewrites it every round.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(help="Write a JUnit XML file: one testcase per gate.", dir_okay=False),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON document.")
    ] = False,
) -> None:
    """Measure how long an event takes to be usable in Frigade, and gate CI on it.

    Each sample is a uniquely marked track event, read back from Frigade
    (GET /v1/users?userId=) until it shows up. Prints min, p50, p90, p95, p99, max and mean in
    ms; exit 6 when a gate is breached (after the full report), 5 when unreachable, 4 when a
    key is rejected, 3 for bad settings (before anything is sent), 130 on Ctrl-C and 143 on
    SIGTERM (after the report of the samples measured so far). A monitor (--every) reports each
    round and exits 0 when stopped between rounds, 130/143 when a signal cuts a round short.
    """
    from frigade_cli.kernel.errors import UsageError
    from frigade_cli.render import latency_check as render
    from frigade_cli.services.latency_check import LatencyCheckRequest, plan

    app = get_app()
    if every is None:
        for flag, value in (("--metrics-port", metrics_port), ("--rounds", rounds)):
            if value is not None:
                raise UsageError(f"{flag} belongs to a monitor: add --every")
    else:
        for flag, file in (("--junit", junit), ("--save-baseline", save_baseline)):
            if file is not None:
                raise UsageError(f"{flag} saves one run: a monitor (--every) has many")
    files = {"--junit": junit, "--save-baseline": save_baseline, "--html": html}
    for flag, file in {**files, "--metrics-file": metrics_file}.items():
        if file is not None:
            render.check_output_file(file, flag, regular=flag == "--metrics-file")
    request = LatencyCheckRequest(
        path=path,
        compare=compare,
        sandbox=sandbox,
        samples=samples,
        interval=interval,
        concurrency=concurrency,
        timeout=timeout,
        poll_max=poll_max,
        batch_size=batch_size,
        flush_interval=flush_interval,
        max_p50=max_p50,
        max_p95=max_p95,
        max_p99=max_p99,
        max_failures=max_failures,
        events_per_day=events_per_day,
        api_key=api_key,
        api_url=api_url,
        webhook_url=webhook_url,
        write_key=write_key,
        segment_url=segment_url,
        user_id=user_id,
        baseline=baseline,
        max_regression=max_regression or [],
        seed=seed,
        keep_user=keep_user,
        every=every,
        rounds=rounds,
    )
    checked = plan(app, request)
    metrics = None
    if metrics_port is not None or metrics_file is not None:
        from frigade_cli.render.latency_metrics import LatencyMetrics

        metrics = LatencyMetrics(
            checked.paths,
            checked.gates,
            checked.regression_gates,
            checked.baseline,
            checked.timeout_s,
        )
    try:
        if metrics is not None and metrics_port is not None:
            url = metrics.serve(metrics_address, metrics_port)
            app.terminal.info(f"serving metrics at {url}")
        if checked.every_s is None:
            _single_run(app, checked, json_output, files, metrics, metrics_file)
        else:
            _monitor(app, checked, json_output, files, metrics, metrics_file)
    finally:
        if metrics is not None:
            metrics.close()


def _single_run(
    app: App,
    checked: Plan,
    json_output: bool,
    files: dict[str, Path | None],
    metrics: LatencyMetrics | None,
    metrics_file: Path | None,
) -> None:
    import time

    from frigade_cli.kernel.errors import InputError
    from frigade_cli.render import latency_check as render
    from frigade_cli.services.latency_check import measure, raise_for_outcome

    with render.live_progress(app.terminal, checked.samples) as progress:
        report = measure(app, checked, progress)
    # With --json a CI step always gets its document; people get the error alone when nothing ran.
    if json_output or report.error is None or any(r.samples for r in report.results):
        render.show(app.terminal, report, json_output)
    # Written whatever the outcome: a run that stopped early says so there (never a stale file,
    # never partial figures that read as a pass).
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    problem = render.write_files(app.terminal, report, summary, files)
    if metrics is not None and metrics_file is not None:
        metrics.update(report, time.time())
        problem = _warned(app, metrics.write(metrics_file)) or problem
    raise_for_outcome(report)
    if problem:
        raise InputError(problem)


def _monitor(
    app: App,
    checked: Plan,
    json_output: bool,
    files: dict[str, Path | None],
    metrics: LatencyMetrics | None,
    metrics_file: Path | None,
) -> None:
    import time

    from frigade_cli.kernel.latency import LatencyReport
    from frigade_cli.render import latency_check as render
    from frigade_cli.services.latency_check import monitor, raise_for_monitor

    def on_round(report: LatencyReport) -> None:
        render.show_round(app.terminal, report, json_output)
        render.write_files(app.terminal, report, None, files)
        if metrics is not None:
            metrics.update(report, time.time())
            if metrics_file is not None:
                _warned(app, metrics.write(metrics_file))

    assert checked.every_s is not None
    app.terminal.info(
        f"monitoring every {checked.every_s:g}s"
        + (f", {checked.rounds} rounds" if checked.rounds else ", until Ctrl-C or SIGTERM")
    )
    with render.live_progress(app.terminal, checked.samples) as progress:
        outcome = monitor(app, checked, on_round, progress)
    app.terminal.info(
        f"monitor stopped after {outcome.rounds} round{'s' if outcome.rounds != 1 else ''}"
    )
    raise_for_monitor(outcome)


def _warned(app: App, problem: str | None) -> str | None:
    if problem:
        app.terminal.warn(problem)
    return problem
