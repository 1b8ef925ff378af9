"""`frigade segment tail`: flags in, service called, result rendered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frigade_cli.kernel.app import get_app
from frigade_cli.kernel.errors import Interrupted, Terminated, UnsavedError, UpstreamError
from frigade_cli.kernel.exit_codes import ExitCode


def tail(
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            metavar="[HOST:]PORT",
            help="Receive Segment's tracking API here (/v1/batch, /v1/track, ...): point a "
            "Segment library, the sandbox (--segment-api-url) or Frigade at it; and Webhooks "
            "(Actions) deliveries on any path outside /v1/ (a mapping's URL, through a tunnel). "
            "0 picks a free port. Binds 127.0.0.1 unless a host is given.",
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
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="With --listen: webhook deliveries must carry this Frigade private key "
            "(Authorization: Bearer api_private_...), as Frigade checks it: 401 without one, "
            "403 for another. With --replay: sent as that header on webhook deliveries.",
        ),
    ] = None,
    shared_secret: Annotated[
        str | None,
        typer.Option(
            "--shared-secret",
            help="With --listen: the Webhooks destination's shared secret; each delivery's "
            "X-Signature is checked (HMAC-SHA1 of the first event as JavaScript writes it) and a "
            "mismatch is flagged, the delivery still shown and answered 200. With --replay: "
            "deliveries are signed with it.",
        ),
    ] = None,
    forward_to: Annotated[
        str | None,
        typer.Option(
            "--forward-to",
            metavar="URL",
            help="Relay every accepted request unchanged (headers, body) to URL + its path "
            "(e.g. https://api.segment.io: /v1/batch goes to https://api.segment.io/v1/batch; "
            "a webhook delivery to / goes to URL itself), query strings kept. Answered first, "
            "relayed from a queue with retries; what still fails is saved to a spool file "
            "(exit 5). Each relay is shown with its status and time.",
        ),
    ] = None,
    forward_timeout: Annotated[
        str,
        typer.Option(
            "--forward-timeout",
            metavar="DURATION",
            help="How long one relay attempt may take (2s, 500ms, 1m); on stopping, how long "
            "queued relays may still take before they are saved.",
        ),
    ] = "10s",
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            metavar="FILE",
            dir_okay=False,
            help="With --listen: write every accepted request as received (headers without "
            "secrets, body, time) to FILE, one JSON line each (appended; mode 0600), before it "
            "is answered. Send them again with --replay FILE --forward-to URL.",
        ),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            metavar="FILE",
            dir_okay=False,
            help="Send again the requests in FILE (from --save, or a spool of failed relays) to "
            "--forward-to, showing each; no secret is saved, so give --write-key (tracking "
            "API), --api-key and --shared-secret (webhooks) as the upstream needs. FILE is not "
            "changed; what fails goes to a new spool file (exit 5).",
        ),
    ] = None,
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
            "records it; a webhook delivery's as Segment wrote it), nothing else.",
        ),
    ] = False,
) -> None:
    """Show Segment events as they flow, one line each (or --json), until Ctrl-C.

    A ready line (JSON, with the URLs to send to) goes to stderr once listening. Every event
    answered 200 is shown exactly once. Exit codes: 0 on Ctrl-C, --limit, a closed pipe, or
    --timeout with at least one event; 5 when --timeout passes with none, the port is in use,
    or a relay failed (its requests are in the spool file named); 7 when those could not be
    saved; 2 for conflicting flags; 3 for a bad value.
    """
    from frigade_cli.render.tail import EventPrinter, tail_summary
    from frigade_cli.services.tail import TailRequest, run_tail

    listening = listen is not None or port is not None or host is not None
    if [listening, sandbox is not None, replay is not None].count(True) != 1:
        raise typer.BadParameter(
            "choose one source: --listen [HOST:]PORT (a local receiver), --sandbox URL, or "
            "--replay FILE",
            param_hint="'--listen' / '--sandbox' / '--replay'",
        )
    if sides and sandbox is None:
        raise typer.BadParameter(
            "it filters the sandbox's stream: use it with --sandbox", param_hint="'--side'"
        )
    if sandbox is not None and (forward_to or write_key or api_key or shared_secret or save):
        raise typer.BadParameter(
            "they go with --listen or --replay",
            param_hint="'--forward-to' / '--write-key' / '--api-key' / '--shared-secret' / "
            "'--save'",
        )
    if replay is not None and forward_to is None:
        raise typer.BadParameter(
            "--replay sends to --forward-to URL: give it", param_hint="'--replay'"
        )
    if replay is not None and (save or limit is not None or timeout is not None):
        raise typer.BadParameter(
            "they go with --listen or --sandbox", param_hint="'--save' / '--limit' / '--timeout'"
        )
    app = get_app()
    app.terminal.add_secret(write_key, api_key, shared_secret)
    result = run_tail(
        app,
        TailRequest(
            listen=listen,
            host=host,
            port=port,
            sandbox=sandbox,
            write_key=write_key,
            api_key=api_key,
            shared_secret=shared_secret,
            forward_to=forward_to,
            forward_timeout=forward_timeout,
            save=str(save) if save is not None else None,
            replay=str(replay) if replay is not None else None,
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
    if result.exit_code is not None:  # a replay cut short: the rest of its file was not sent
        stopped = Terminated if result.exit_code == ExitCode.TERMINATED else Interrupted
        saved = f"; what was queued is saved in {result.spool_file}" if result.spool_file else ""
        raise stopped(
            f"replay stopped after {result.requests} of {result.saved_requests} saved "
            f"request(s){saved}"
        )
    if result.spool_error:
        raise UnsavedError(
            f"{result.forward_failures} relay(s) failed and {result.spool_error}",
            hint="their events were not delivered",
        )
    if result.forward_failures:
        raise UpstreamError(
            f"{result.forward_failures} relay(s) failed: {result.spooled_events} event(s) "
            f"saved in {result.spool_file}",
            hint=f"resend: frigade segment tail --replay {result.spool_file} --forward-to URL",
        )
    if result.stopped_because == "timeout" and result.events == 0:
        raise UpstreamError(f"no event arrived within {timeout}")


def register(app: typer.Typer) -> None:
    """Add tail to the `segment` group."""
    app.command("tail")(tail)
