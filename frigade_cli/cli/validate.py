"""`frigade segment validate`: flags in, the validate service called, the report rendered."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from frigade_cli.cli.options import (
    DURATION,
    SECRET_HELP,
    HttpTimeoutOption,
    JsonFlag,
    duration,
    secret,
    stdin_reader,
)
from frigade_cli.kernel.app import get_app
from frigade_cli.kernel.exit_codes import ExitCode
from frigade_cli.render.validate_formats import FORMATS, FORMATS_HELP


def validate(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE",
            help="Mapping files, as --mapping (so `frigade segment validate *.json` and "
            "pre-commit work).",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--mapping",
            "-m",
            metavar="FILE",
            help="Mapping file, JSON or YAML ('-' reads stdin): a subscription as Segment's "
            'Public API returns it, bare, as {"subscription": ...}, {"data": {"subscription": '
            '...}}, {"data": {"subscriptions": [...]}} or a bare array. Repeatable: each '
            "file is checked on its own.",
            show_default=False,
        ),
    ] = None,
    url: Annotated[str | None, typer.Option(help="The mapping's URL (overrides the file).")] = None,
    method: Annotated[
        str | None, typer.Option(help="The mapping's method (overrides the file).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="The mapping's batch size (overrides the file).")
    ] = None,
    batching: Annotated[
        bool | None,
        typer.Option(
            "--batching/--no-batching", help="The mapping's Enable Batching (overrides the file)."
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            "-H",
            metavar="'NAME: VALUE'",
            help="A mapping header 'Name: value'; replaces the file's header of that name. "
            "Repeatable.",
        ),
    ] = None,
    trigger: Annotated[
        str | None,
        typer.Option(help='The mapping\'s FQL trigger, e.g. type = "identify" or type = "track".'),
    ] = None,
    enabled: Annotated[
        bool | None,
        typer.Option("--enabled/--disabled", help="The mapping's state (overrides the file)."),
    ] = None,
    destination_id: Annotated[
        str | None,
        typer.Option(
            metavar="ID",
            help="Read this destination and all its subscriptions from Segment's Public API.",
        ),
    ] = None,
    expect_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="The webhook URL a correct mapping points at. Default: Frigade's documented "
            "webhook (with --sandbox: the sandbox's). FRIGADE_API_URL and the profile's "
            "webhook_url do not change it.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="SEGMENT_PUBLIC_API_TOKEN",
            show_envvar=True,
            parser=secret("--token"),
            metavar="TOKEN",
            help="Segment Public API token (falls back to the profile's "
            "segment_public_api_token). With --sandbox-url: the sandbox's private key. "
            + SECRET_HELP,
        ),
    ] = None,
    segment_public_api_url: Annotated[
        str | None,
        typer.Option(help="Segment Public API base URL. Default: https://api.segmentapis.com."),
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Validate a local sandbox's Webhooks destination, read through its Public API "
            "routes (/segmentapis, Bearer token: the sandbox's private key). Starts one unless "
            "--sandbox-url names a running one.",
        ),
    ] = False,
    sandbox_url: Annotated[
        str | None,
        typer.Option(help="With --sandbox: a running sandbox, e.g. http://127.0.0.1:8787."),
    ] = None,
    events_per_day: Annotated[
        float | None,
        typer.Option(min=0, help="Events per day the source sends: enables the batch-wait advice."),
    ] = None,
    max_batch_wait: Annotated[
        float,
        typer.Option(
            parser=duration("--max-batch-wait"),
            metavar=DURATION,
            show_default="60s",
            help="Longest a Segment batch waits to fill (e.g. 60s, 1m). Segment documents 'up "
            "to about a minute': the 60 s default is that statement, unconfirmed.",
        ),
    ] = 60.0,
    target_wait: Annotated[
        float,
        typer.Option(
            parser=duration("--target-wait"),
            metavar=DURATION,
            show_default="2s",
            help="Expected wait in a batch to stay under (Frigade's guide: lag usually under 2 s).",
        ),
    ] = 2.0,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Also send one identify message for a synthetic user to the mapping's URL "
            "with its headers, and report the answer. Never sent when the URL is wrong.",
        ),
    ] = False,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore", metavar="CODE", help="Silence a rule by code or name. Repeatable."
        ),
    ] = None,
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="Print every rule (a Markdown table) and exit.")
    ] = False,
    output_format: Annotated[str, typer.Option("--format", help=FORMATS_HELP)] = "text",
    report_file: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE",
            help="Also write the JSON document (what --json prints) to FILE, whatever --format "
            "prints. With GITHUB_STEP_SUMMARY set, a Markdown summary is appended there too.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    timeout: HttpTimeoutOption = 30.0,
    json_output: JsonFlag = False,
) -> None:
    """Check a Segment Webhooks (Actions) mapping against Frigade's setup and Segment's contract.

    Exit codes: 0 no error (warnings allowed); 3 at least one error; 2 unusable input (an
    unreadable file, invalid JSON or YAML, not a mapping, an unknown rule); 4 the Public API
    rejected the token; 5 the Public API could not be reached.
    """
    from frigade_cli.render import validate as render_validate

    app = get_app()
    if "-" in [*(mapping or []), *(files or [])] and stdin_reader() is not None:
        from frigade_cli.kernel.errors import UsageError

        raise UsageError(f"--mapping - and {stdin_reader()} - both read stdin: give one a @FILE")
    if output_format not in FORMATS:
        raise typer.BadParameter(f"choose from {', '.join(FORMATS)}", param_hint="--format")
    if list_rules:
        render_validate.rules(app.terminal, json_output)
        return
    from frigade_cli.kernel.errors import InputError
    from frigade_cli.services.validate import ValidateRequest, run_validate

    if report_file is not None:
        from frigade_cli.render.latency_check import check_output_file

        check_output_file(report_file, "--report")
    report = run_validate(
        app,
        ValidateRequest(
            mapping_files=[*(mapping or []), *(files or [])],
            url=url,
            method=method,
            batch_size=batch_size,
            batching=batching,
            headers=header or [],
            trigger=trigger,
            enabled=enabled,
            destination_id=destination_id,
            expect_url=expect_url,
            token=token,
            public_api_url=segment_public_api_url,
            sandbox=sandbox,
            sandbox_url=sandbox_url,
            events_per_day=events_per_day,
            max_batch_wait=max_batch_wait,
            target_wait=target_wait,
            live=live,
            ignore=ignore or [],
            timeout=timeout,
        ),
    )
    render_validate.report(app.terminal, report, "json" if json_output else output_format)
    problem = render_validate.write_files(
        app.terminal, report, report_file, os.environ.get("GITHUB_STEP_SUMMARY")
    )
    if not report.valid:
        raise typer.Exit(ExitCode.VALIDATION)
    if problem:
        raise InputError(problem)
