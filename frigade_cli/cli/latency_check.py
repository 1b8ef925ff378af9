"""`frigade segment latency-check`: flags in, the service called, the report rendered."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from frigade_cli.kernel.app import get_app


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
        typer.Option(help="Time between the starts of two samples (250ms, 2s, 1.5)."),
    ] = "0",
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Samples in flight at once.")
    ] = 1,
    timeout: Annotated[
        str,
        typer.Option(help="How long a sample may take to show up before it counts as a failure."),
    ] = "30s",
    poll_max: Annotated[
        str | None,
        typer.Option(
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
            help="With --sandbox: how long its destination's batch waits to fill. Default 1s.",
            show_default=False,
        ),
    ] = None,
    max_p50: Annotated[
        str | None, typer.Option(help="Gate: fail (exit 6) when p50 is above this (250ms, 2s).")
    ] = None,
    max_p95: Annotated[
        str | None, typer.Option(help="Gate: fail (exit 6) when p95 is above this.")
    ] = None,
    max_p99: Annotated[
        str | None, typer.Option(help="Gate: fail (exit 6) when p99 is above this.")
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
            help="Frigade private key (api_private_...) [env FRIGADE_API_KEY, else the "
            "profile's api_key].",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            help="Frigade API base URL [env FRIGADE_API_URL; default https://api.frigade.com].",
            show_default=False,
        ),
    ] = None,
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
            help="Write key of the Segment HTTP API source connected to Frigade, for --path "
            "segment [env SEGMENT_WRITE_KEY]. Segment answers 200 even to a wrong key: a "
            "wrong one shows up as samples that never arrive.",
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
    SIGTERM (after the report of the samples measured so far).
    """
    from frigade_cli.kernel.errors import InputError
    from frigade_cli.render import latency_check as render
    from frigade_cli.services.latency_check import (
        LatencyCheckRequest,
        raise_for_outcome,
        run_latency_check,
    )

    app = get_app()
    if junit is not None:
        render.check_output_file(junit, "--junit")
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
    )
    with render.live_progress(app.terminal, samples) as progress:
        report = run_latency_check(app, request, progress)
    # With --json a CI step always gets its document; people get the error alone when nothing ran.
    if json_output or report.error is None or any(r.samples for r in report.results):
        render.show(app.terminal, report, json_output)
    junit_problem = None
    if report.error is None:
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        junit_problem = render.write_files(app.terminal, report, junit, summary)
    raise_for_outcome(report)
    if junit_problem:
        raise InputError(junit_problem)
