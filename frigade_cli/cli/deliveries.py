"""`frigade segment deliveries`: flags in, the deliveries service called, the report rendered."""

from __future__ import annotations

from typing import Annotated

import typer

from frigade_cli.cli.options import (
    DURATION,
    SECRET_HELP,
    HttpTimeoutOption,
    JsonFlag,
    duration_text,
    secret,
)
from frigade_cli.kernel.app import get_app

SourceIdOption = Annotated[
    str | None,
    typer.Option(
        "--source-id",
        metavar="ID",
        help="The Segment source feeding the Frigade Webhooks destination (Segment -> Frigade); "
        "its ingest is shown too.",
    ),
]
DestinationIdOption = Annotated[
    str | None,
    typer.Option(
        "--destination-id",
        metavar="ID",
        help="The Frigade Webhooks (Actions) destination (Delivery Overview's "
        "destinationConfigId).",
    ),
]
FrigadeSourceIdOption = Annotated[
    str | None,
    typer.Option(
        "--frigade-source-id",
        metavar="ID",
        help="The HTTP API source whose write key Frigade holds (Frigade -> Segment).",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        envvar="SEGMENT_PUBLIC_API_TOKEN",
        show_envvar=True,
        parser=secret("--token"),
        metavar="TOKEN",
        help="Segment Public API token (falls back to the profile's segment_public_api_token). "
        "With --sandbox-url: wins over the sandbox's own (its private key). " + SECRET_HELP,
    ),
]
PublicApiUrlOption = Annotated[
    str | None,
    typer.Option(help="Segment Public API base URL. Default: https://api.segmentapis.com."),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        parser=duration_text("--since"),
        metavar=DURATION,
        help="The window: this long back from --end (15m, 1h, 36h). Default 1h.",
        show_default=False,
    ),
]
MaxFailureRateOption = Annotated[
    str | None,
    typer.Option(
        metavar="RATE",
        help="Gate: exit 6 when failed / (delivered + failed) is above this (1%, 0.5%, 0.01).",
    ),
]
MinDeliveredOption = Annotated[
    int | None,
    typer.Option(metavar="N", help="Gate: exit 6 when fewer events than this were delivered."),
]
MinReceivedOption = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        help="Gate: exit 6 when the Frigade source received fewer events than this (proves "
        "Frigade streams).",
    ),
]
SandboxOption = Annotated[
    bool,
    typer.Option(
        "--sandbox",
        help="Read a local sandbox's Delivery Overview (its source src_sandbox, destination "
        "dst_sandbox_webhooks, Frigade source src_sandbox_frigade). Starts one unless "
        "--sandbox-url names a running one.",
    ),
]
SandboxUrlOption = Annotated[
    str | None,
    typer.Option(help="With --sandbox: a running sandbox, e.g. http://127.0.0.1:8787."),
]


def deliveries(
    source_id: SourceIdOption = None,
    destination_id: DestinationIdOption = None,
    frigade_source_id: FrigadeSourceIdOption = None,
    since: SinceOption = None,
    start: Annotated[
        str | None,
        typer.Option(help="The window's start, ISO 8601 (instead of --since).", show_default=False),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            help="The window's end (exclusive), ISO 8601. Default: now.", show_default=False
        ),
    ] = None,
    granularity: Annotated[
        str | None,
        typer.Option(
            help="Bucket size: minute (a window of at most 4 h, starting at most 48 h back), "
            "hour (14 d within 30 d) or day (30 d). Default: the finest the window allows.",
            show_default=False,
        ),
    ] = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            metavar="DIMENSION",
            help="Break the deliveries down by eventName, eventType, discardReason, appVersion, "
            "subscriptionId, ... Repeatable or comma-separated.",
        ),
    ] = None,
    max_failure_rate: MaxFailureRateOption = None,
    min_delivered: MinDeliveredOption = None,
    min_received: MinReceivedOption = None,
    token: TokenOption = None,
    segment_public_api_url: PublicApiUrlOption = None,
    sandbox: SandboxOption = False,
    sandbox_url: SandboxUrlOption = None,
    timeout: HttpTimeoutOption = 30.0,
    json_output: JsonFlag = False,
) -> None:
    """Segment's Delivery Overview for the integration: what Segment delivered to Frigade, what
    failed and why, and what Frigade streamed back into Segment.

    Exit codes: 0 ok; 6 a gate is breached (after the report); 3 bad settings (checked before
    anything is sent, or a 422 from Segment naming its rule); 4 the token was rejected; 5
    Segment's Public API could not be reached or answered 5xx.
    """
    from frigade_cli.render import deliveries as render
    from frigade_cli.services.deliveries import (
        DeliveriesRequest,
        raise_for_gates,
        run_deliveries,
    )

    app = get_app()
    report = run_deliveries(
        app,
        DeliveriesRequest(
            source_id=source_id,
            destination_id=destination_id,
            frigade_source_id=frigade_source_id,
            since=since,
            start=start,
            end=end,
            granularity=granularity,
            group_by=group_by or [],
            max_failure_rate=max_failure_rate,
            min_delivered=min_delivered,
            min_received=min_received,
            token=token,
            public_api_url=segment_public_api_url,
            sandbox=sandbox,
            sandbox_url=sandbox_url,
            timeout=timeout,
        ),
    )
    render.show(app.terminal, report, json_output)
    raise_for_gates(report)
