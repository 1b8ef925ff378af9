"""`frigade segment ...`: the Segment <-> Frigade commands (flags in, service called, rendered)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frigade_cli.cli import connect as connect_cli
from frigade_cli.cli import tail as tail_cli
from frigade_cli.cli.deliveries import deliveries
from frigade_cli.cli.latency_check import latency_check
from frigade_cli.cli.options import (
    DURATION,
    DURATION_HELP,
    SECRET_HELP,
    JsonFlag,
    duration,
    duration_text,
    secret,
)
from frigade_cli.cli.validate import validate as validate_command
from frigade_cli.kernel.app import get_app

app = typer.Typer(
    help="Test and observe the Segment <-> Frigade integration.", no_args_is_help=True
)

ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        # Not envvar=: the environment is read by the config layer, so a flag can be told
        # from FRIGADE_API_KEY (which --sandbox ignores).
        parser=secret("--api-key"),
        metavar="KEY",
        help="Frigade private key (api_private_...), with or without 'Bearer '; "
        f"{SECRET_HELP} Default: FRIGADE_API_KEY, else the profile's api_key. "
        "[env var: FRIGADE_API_KEY]",
    ),
]


@app.command("test-webhook")
def test_webhook(
    url: Annotated[
        str | None,
        typer.Option(
            help="Webhook URL. Default: FRIGADE_API_URL + /v1/thirdParty/cdp/segment, else the "
            "profile's webhook_url, else its api_url (https://api.frigade.com) + that path.",
        ),
    ] = None,
    api_key: ApiKeyOption = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            "-n",
            help="Messages to send (at least 1). Default: one of each type (or each fixture "
            "message). A fixture message's own messageId is kept; when --count repeats it, the "
            "copies get ID-2, ID-3, ...",
        ),
    ] = None,
    types: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated message types to generate. Default: identify,group,track."
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            help="Messages per request, as the mapping's batch_size (Segment allows 1-4000). "
            "A request is also split to stay under 500 KB.",
        ),
    ] = 100,
    fixture: Annotated[
        list[str] | None,
        typer.Option(
            "--fixture",
            "-f",
            metavar="FILE|NAME",
            help="Send messages from a fixture: a UTF-8 file (JSON object, JSON array or NDJSON, "
            "gzipped or not) or a shipped name (identify, group, track, page, screen, alias). "
            "Repeatable.",
        ),
    ] = None,
    override: Annotated[
        list[str] | None,
        typer.Option(
            "--override",
            "-o",
            metavar="[TYPE:]FIELD=VALUE",
            help="Set a field in every message: [TYPE:]path.to.field=value (value parsed as JSON "
            "when it is JSON), e.g. traits.plan=pro or track:properties.amount=5. Repeatable.",
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once (1-64).")] = 8,
    signing_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SEGMENT_SHARED_SECRET",
            show_envvar=True,
            parser=secret("--signing-secret"),
            metavar="SECRET",
            help="Destination shared secret: adds X-Signature (hex HMAC-SHA1 of the first "
            f"message's JSON) as Segment does. {SECRET_HELP}",
        ),
    ] = None,
    resend: Annotated[
        Path | None,
        typer.Option(
            help="Send again the batches saved in this spool file by an earlier run (not with "
            "--count, --fixture, --types or --override).",
            dir_okay=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the exact requests (keys redacted); send nothing."),
    ] = False,
    retries: Annotated[
        int,
        typer.Option(
            help="Retries per batch (0-20) for 408, 423, 429 and 5xx except 501 (backoff with "
            "jitter, Retry-After honoured). Frigade's monthly-active-user 429 is not retried.",
        ),
    ] = 4,
    max_retry_wait: Annotated[
        str,
        typer.Option(
            parser=duration_text("--max-retry-wait"),
            metavar=DURATION,
            help="Longest wait a Retry-After can impose (250ms, 30s, 2m); a longer one is "
            "reported on stderr and cut to this.",
        ),
    ] = "60s",
    timeout: Annotated[
        float,
        typer.Option(
            parser=duration("--timeout"),
            metavar=DURATION,
            show_default="30s",
            help=f"How long to wait for each response (more than 0): {DURATION_HELP}.",
        ),
    ] = 30.0,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed for repeatable synthetic messages: the same seed gives the same users "
            "(userId cli_user_s<SEED>_<n>, traits) and values in every run; messageIds stay "
            "unique, as Segment drops a repeated one."
        ),
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Start a local sandbox (no account, no network), send to its webhook with its "
            "key (FRIGADE_API_KEY and profiles are ignored), and check that its Frigade side "
            "ingested every event.",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Send test batches to Frigade's Segment webhook, exactly as Segment sends them.

    Each request is a POST whose body is a bare JSON array of Segment messages, with
    'Authorization: Bearer api_private_...'. Batches that still fail after retries are saved to
    a spool file; resend them with --resend FILE. Ctrl-C or SIGTERM stops sending, saves
    what was not delivered and prints the summary (exit 130, or 143 for SIGTERM); exit 7 when
    those events could not be saved.
    """
    from frigade_cli.render.test_webhook import TestWebhookPrinter
    from frigade_cli.services.test_webhook import TestWebhookRequest, run_test_webhook

    app_ = get_app()
    run_test_webhook(
        app_,
        TestWebhookRequest(
            url=url,
            api_key=api_key,
            count=count,
            types=types,
            batch_size=batch_size,
            fixtures=fixture or [],
            overrides=override or [],
            concurrency=concurrency,
            signing_secret=signing_secret,
            resend=resend,
            dry_run=dry_run,
            retries=retries,
            timeout=timeout,
            max_retry_wait=max_retry_wait,
            seed=seed,
            sandbox=sandbox,
            json_output=json_output,
        ),
        TestWebhookPrinter(app_.terminal),
    )


app.command("validate")(validate_command)
app.command("latency-check")(latency_check)
app.command("deliveries")(deliveries)
connect_cli.register(app)
tail_cli.register(app)
