"""`frigade segment tail`: flags in, service called, result rendered."""

from __future__ import annotations

from typing import Annotated

import typer

from frigade_cli.kernel.app import get_app
from frigade_cli.kernel.errors import UpstreamError


def tail(
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            metavar="[HOST:]PORT",
            help="Receive Segment's tracking API here (/v1/batch, /v1/track, ...): point a "
            "Segment library, the sandbox (--segment-api-url) or Frigade at it. 0 picks a free "
            "port. Binds 127.0.0.1 unless a host is given.",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to listen on (same as --listen PORT); 0: a free one."),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Address to listen on (default 127.0.0.1; others print a warning)."
        ),
    ] = None,
    sandbox: Annotated[
        str | None,
        typer.Option(
            "--sandbox",
            metavar="URL",
            help="Follow a running sandbox's live stream instead (e.g. http://127.0.0.1:8787); "
            "reconnects and resumes without missing or repeating an event.",
        ),
    ] = None,
    write_key: Annotated[
        str | None,
        typer.Option(
            "--write-key",
            help="With --listen: accept only this write key (others get 401). Default: any key, "
            "as Segment itself answers 200 to any.",
        ),
    ] = None,
    forward_to: Annotated[
        str | None,
        typer.Option(
            "--forward-to",
            metavar="URL",
            help="With --listen: relay every accepted request unchanged (headers, body) to this "
            "Segment API base URL (e.g. https://api.segment.io) and show its status and time.",
        ),
    ] = None,
    forward_timeout: Annotated[
        float, typer.Option("--forward-timeout", min=0.1, help="Seconds to wait for the relay.")
    ] = 10.0,
    kinds: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            help="Only these message types (track, identify, group, page, screen, alias; on the "
            "sandbox also its event kinds). Repeatable or comma-separated.",
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(
            "--event", "-e", help="Only events whose name matches this glob, e.g. 'flowResponse.*'."
        ),
    ] = None,
    user_id: Annotated[str | None, typer.Option("--user-id", help="Only this userId.")] = None,
    anonymous_id: Annotated[
        str | None, typer.Option("--anonymous-id", help="Only this anonymousId.")
    ] = None,
    group_id: Annotated[
        str | None,
        typer.Option(
            "--group-id",
            help="Only this group (groupId, else context.groupId, else properties.groupId).",
        ),
    ] = None,
    sides: Annotated[
        list[str] | None,
        typer.Option(
            "--side",
            help="With --sandbox: only events of these sides (segment, frigade, destination, "
            "forward). Repeatable.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Stop after this many events.")
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="DURATION",
            help="Stop after this long (30s, 2m, 500ms): exit 0 if an event arrived, else 5.",
        ),
    ] = None,
    dedup_window: Annotated[
        str,
        typer.Option(
            "--dedup-window",
            help="With --listen: how long a messageId is remembered; a repeat is answered 200 "
            "and not shown, as Segment drops it (0: show every repeat).",
        ),
    ] = "24h",
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="JSON Lines on stdout: each message exactly as received (as the tracking API "
            "records it), nothing else.",
        ),
    ] = False,
) -> None:
    """Show Segment events as they flow, one line each (or --json), until Ctrl-C.

    A ready line (JSON, with the URL to send to) goes to stderr once listening. Every event
    answered 200 is shown exactly once. Exit codes: 0 on Ctrl-C, --limit, a closed pipe, or
    --timeout with at least one event; 5 when --timeout passes with none or the port is in use;
    2 for conflicting flags; 3 for a bad value.
    """
    from frigade_cli.render.tail import EventPrinter, tail_summary
    from frigade_cli.services.tail import TailRequest, run_tail

    listening = listen is not None or port is not None or host is not None
    if listening == (sandbox is not None):
        raise typer.BadParameter(
            "choose one source: --listen [HOST:]PORT (a local receiver) or --sandbox URL",
            param_hint="'--listen' / '--sandbox'",
        )
    if listening and sides:
        raise typer.BadParameter(
            "it filters the sandbox's stream: use it with --sandbox", param_hint="'--side'"
        )
    if not listening and (forward_to or write_key):
        raise typer.BadParameter(
            "they go with --listen", param_hint="'--forward-to' / '--write-key'"
        )
    app = get_app()
    app.terminal.add_secret(write_key)
    result = run_tail(
        app,
        TailRequest(
            listen=listen,
            host=host,
            port=port,
            sandbox=sandbox,
            write_key=write_key,
            forward_to=forward_to,
            forward_timeout=forward_timeout,
            kinds=kinds or [],
            event=event,
            user_id=user_id,
            anonymous_id=anonymous_id,
            group_id=group_id,
            sides=sides or [],
            limit=limit,
            timeout=timeout,
            dedup_window=dedup_window,
            json_output=json_output,
        ),
        EventPrinter(app.terminal, json_output),
    )
    tail_summary(app.terminal, result)
    if result.stopped_because == "timeout" and result.events == 0:
        raise UpstreamError(f"no event arrived within {timeout}")


def register(app: typer.Typer) -> None:
    """Add tail to the `segment` group."""
    app.command("tail")(tail)
