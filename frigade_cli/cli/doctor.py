"""`frigade doctor`: flags in (named as in the commands it runs), the doctor service called, each
step rendered as it ends."""

from __future__ import annotations

from typing import Annotated

import typer

from frigade_cli.cli.deliveries import (
    DestinationIdOption,
    FrigadeSourceIdOption,
    MaxFailureRateOption,
    MinDeliveredOption,
    MinReceivedOption,
    PublicApiUrlOption,
    SourceIdOption,
)
from frigade_cli.cli.options import (
    DURATION,
    SECRET_HELP,
    FrigadeApiUrlOption,
    JsonFlag,
    duration_text,
    secret,
)
from frigade_cli.kernel.app import get_app

UNCONFIRMED = "Unconfirmed: Frigade does not document its integrations API publicly."


def doctor(
    api_key: Annotated[
        str | None,
        typer.Option(
            parser=secret("--api-key"),
            metavar="KEY",
            help="Frigade private key (api_private_...) [env FRIGADE_API_KEY, else the "
            "profile's api_key]. With --sandbox-url: wins over the sandbox's own. " + SECRET_HELP,
            show_default=False,
        ),
    ] = None,
    api_url: FrigadeApiUrlOption = None,
    write_key: Annotated[
        str | None,
        typer.Option(
            parser=secret("--write-key"),
            metavar="KEY",
            help="Write key of the Segment source feeding Frigade's destination, for the "
            "end-to-end event [env SEGMENT_WRITE_KEY, else the profile's segment_write_key]. "
            + SECRET_HELP,
            show_default=False,
        ),
    ] = None,
    segment_url: Annotated[
        str | None,
        typer.Option(
            help="Segment tracking API [env SEGMENT_API_URL; default https://api.segment.io].",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            parser=secret("--token"),
            metavar="TOKEN",
            help="Segment Public API token [env SEGMENT_PUBLIC_API_TOKEN, else the profile's "
            "segment_public_api_token]. " + SECRET_HELP,
            show_default=False,
        ),
    ] = None,
    segment_public_api_url: PublicApiUrlOption = None,
    destination_id: DestinationIdOption = None,
    source_id: SourceIdOption = None,
    frigade_source_id: FrigadeSourceIdOption = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            "-m",
            metavar="FILE",
            help="Check this mapping file instead of the destination's subscriptions.",
        ),
    ] = None,
    since: Annotated[
        str,
        typer.Option(
            parser=duration_text("--since"),
            metavar=DURATION,
            help="The deliveries' window, back from now (15m, 1h, 1d).",
        ),
    ] = "1h",
    max_failure_rate: MaxFailureRateOption = "1%",
    min_delivered: MinDeliveredOption = None,
    min_received: MinReceivedOption = None,
    timeout: Annotated[
        str,
        typer.Option(
            parser=duration_text("--timeout"),
            metavar=DURATION,
            help="How long the marked event may take to show up in Frigade (a Segment batch "
            "can wait about a minute to fill); each HTTP response gets at most 30 s of it.",
        ),
    ] = "90s",
    no_send: Annotated[
        bool, typer.Option("--no-send", help="Send nothing: skip the end-to-end event.")
    ] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Run every step on a local sandbox: a fresh one, set up as a connected "
            "workspace, unless --sandbox-url names a running one.",
        ),
    ] = False,
    sandbox_url: Annotated[
        str | None,
        typer.Option(
            help="With --sandbox: a running sandbox, e.g. http://127.0.0.1:8787 (keys given by "
            "flag or environment win over its own)."
        ),
    ] = None,
    graphql_path: Annotated[
        str, typer.Option(help=f"Path of Frigade's GraphQL endpoint. {UNCONFIRMED}")
    ] = "/graphql",
    integration_type: Annotated[
        str, typer.Option(help=f"The integration's type, e.g. SEGMENT. {UNCONFIRMED}")
    ] = "SEGMENT",
    key_field: Annotated[
        str,
        typer.Option(help=f"Name of the write key's field inside connectionData. {UNCONFIRMED}"),
    ] = "writeKey",
    json_output: JsonFlag = False,
) -> None:
    """Check the whole Segment <-> Frigade integration: one line a step, with the fix for each
    step that fails.

    Steps: configuration, frigade-key, public-api, mapping, end-to-end, deliveries,
    frigade-to-segment. A step that lacks an input is skipped and says what enables it.
    Exit code: the most severe failed step's (3 findings, 4 auth rejected, 5 upstream, 6 a
    gate); 0 when none failed (warnings and skips allowed).
    """
    from frigade_cli.render.doctor import DoctorPrinter
    from frigade_cli.services.doctor import DoctorRequest, run_doctor

    app = get_app()
    printer = DoctorPrinter(app.terminal, json_output)
    report = run_doctor(
        app,
        DoctorRequest(
            api_key=api_key,
            api_url=api_url,
            write_key=write_key,
            segment_url=segment_url,
            token=token,
            public_api_url=segment_public_api_url,
            destination_id=destination_id,
            source_id=source_id,
            frigade_source_id=frigade_source_id,
            mapping=mapping,
            since=since,
            max_failure_rate=max_failure_rate,
            min_delivered=min_delivered,
            min_received=min_received,
            timeout=timeout,
            no_send=no_send,
            sandbox=sandbox,
            sandbox_url=sandbox_url,
            graphql_path=graphql_path,
            integration_type=integration_type,
            key_field=key_field,
        ),
        printer.step,
    )
    printer.report(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
