"""`frigade sandbox`: flags in, `frigade_cli.sandbox.serve_forever` called, the ready line printed.

Nothing heavy is imported here at module level (the sandbox's server loads only when it runs), so
`frigade --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from frigade_cli.kernel.app import get_app
from frigade_cli.kernel.http import is_loopback

if TYPE_CHECKING:
    from frigade_cli.sandbox.server import RunningSandbox

_KEYS_NOTE = (
    "Generated when not given; FRIGADE_API_KEY and SEGMENT_WRITE_KEY are deliberately not read."
)


def sandbox(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. Anything but loopback makes the sandbox (and its "
            "unauthenticated control API) reachable from other machines: a warning is printed.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on; 0 picks a free one.")
    ] = 8787,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help=f"Private key (api_private_...) the Frigade side accepts. {_KEYS_NOTE}",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key", help=f"Public key (api_public_...) for /v1/public/*. {_KEYS_NOTE}"
        ),
    ] = None,
    write_key: Annotated[
        str | None,
        typer.Option(
            "--write-key",
            help=f"Segment write key the Segment side accepts. {_KEYS_NOTE} Unlike real Segment, "
            "which answers 200 to any key, a wrong key gets 401.",
        ),
    ] = None,
    segment_api_url: Annotated[
        str | None,
        typer.Option(
            "--segment-api-url",
            help="Segment tracking API base URL that flowStates actions are sent to as track "
            "events once a Segment integration is connected via GraphQL (default: this "
            "sandbox's own Segment side).",
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            help="Destination batch size (1-4000). Frigade recommends 100; Segment's default "
            "is 1000.",
        ),
    ] = 100,
    flush_interval: Annotated[
        str,
        typer.Option(
            "--flush-interval",
            help="How long a batch waits to fill before it is sent: 250ms, 2s, 1.5 (seconds). "
            "Segment's own wait can reach about a minute.",
        ),
    ] = "1s",
    batching: Annotated[
        bool,
        typer.Option(
            "--batching/--no-batching", help="Batch webhook deliveries (Frigade recommends it)."
        ),
    ] = True,
    shared_secret: Annotated[
        str | None,
        typer.Option(
            "--shared-secret",
            help="Destination shared secret: deliveries carry X-Signature (HMAC-SHA1; of the "
            "first element when batched).",
        ),
    ] = None,
    trigger: Annotated[
        str | None,
        typer.Option(
            "--trigger",
            help="The destination subscription's FQL trigger, applied as Segment's runtime "
            'applies it (default: type = "identify" or type = "group" or type = "track"). '
            "Exit 3 when Segment would reject it.",
        ),
    ] = None,
    destination_url: Annotated[
        str | None,
        typer.Option(
            "--destination-url",
            metavar="URL",
            help="Where the Webhooks destination delivers (default: this sandbox's own Frigade "
            "webhook), e.g. a 'frigade segment tail --listen' URL, to watch what it sends.",
        ),
    ] = None,
    fail_rate: Annotated[
        float | None,
        typer.Option(
            "--fail-rate",
            help="Fraction (0-1) of Frigade webhook requests answered with --fail-with (503), "
            "to exercise retries. Default 0, or 1 when --fail-with is given.",
        ),
    ] = None,
    fail_with: Annotated[
        int | None,
        typer.Option(
            "--fail-with",
            help="HTTP status (400-599) of the injected webhook faults, default 503. 429 answers "
            "Frigade's monthly-active-user cap (not retryable by test-webhook); alone, it makes "
            "every webhook request fail.",
        ),
    ] = None,
    latency: Annotated[
        str,
        typer.Option("--latency", help="Delay added to every Frigade-side response, e.g. 200ms."),
    ] = "0",
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            dir_okay=False,
            help="SQLite file keeping the Frigade-side state across restarts. It holds write "
            "keys: created 0600, and an existing file readable by others is made 0600 (a "
            "warning says so). Default: in memory.",
        ),
    ] = None,
    strict_spec: Annotated[
        bool,
        typer.Option(
            "--strict-spec",
            help="Validate every message against the full Segment Spec model (slower); by "
            "default only the required fields and the size limits are checked.",
        ),
    ] = False,
    connection_data: Annotated[
        str,
        typer.Option(
            "--connection-data",
            help="How GraphQL's integrations read back connectionData: clear (as given) or "
            "masked (secret-looking values as ****abcd). Whether Frigade masks them is not "
            "documented.",
        ),
    ] = "clear",
    properties: Annotated[
        str,
        typer.Option(
            "--properties",
            help="How GET /v1/users and /v1/groups return properties: object (as Frigade "
            "documents) or string (JSON-encoded, a form clients should also read).",
        ),
    ] = "object",
    dedup_window: Annotated[
        str,
        typer.Option(
            "--dedup-window",
            help="How long the Segment side remembers a messageId and drops a repeat of it, as "
            "Segment does (about 24 hours there); 0 accepts every repeat.",
        ),
    ] = "24h",
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON ready line on stdout: URLs and keys (generated keys in full: "
            "they are fake; keys you pass are redacted).",
        ),
    ] = False,
) -> None:
    """Run a local stand-in for Frigade and Segment until Ctrl-C (exit 0).

    Frigade: /v1/thirdParty/cdp/segment, /v1/users, /v1/groups, /v1/public/*, /graphql.
    Segment: the tracking API under /segment/v1/*, and a Webhooks (Actions) destination
    that delivers accepted identify, group and track events to the Frigade webhook.
    Control and a live event stream (SSE) under /_sandbox: health, stats, config, reset, stream.
    Exit 3 for a bad value; 5 when the address cannot be bound (e.g. the port is in use).
    """
    from frigade_cli.kernel.durations import parse_duration
    from frigade_cli.sandbox.config import DEFAULT_FAIL_WITH, DestinationConfig, SandboxConfig
    from frigade_cli.sandbox.server import serve_forever

    app_ = get_app()
    terminal = app_.terminal
    terminal.add_secret(api_key, public_key, write_key, shared_secret)
    config = SandboxConfig(
        host=host,
        port=port,
        api_key=api_key,
        public_key=public_key,
        write_key=write_key,
        segment_api_url=segment_api_url,
        destination=DestinationConfig(
            url=destination_url,
            enable_batching=batching,
            batch_size=batch_size,
            flush_interval=parse_duration(flush_interval, "--flush-interval"),
            shared_secret=shared_secret,
            trigger=trigger,
        ),
        fail_rate=fail_rate if fail_rate is not None else (1.0 if fail_with is not None else 0.0),
        fail_with=fail_with if fail_with is not None else DEFAULT_FAIL_WITH,
        latency=parse_duration(latency, "--latency"),
        data_path=data,
        strict_spec=strict_spec,
        connection_data=connection_data,
        properties=properties,
        dedup_window=parse_duration(dedup_window, "--dedup-window"),
    ).validate()
    if not is_loopback(host):
        terminal.warn(
            f"listening on {host}: anyone who can reach it can use the sandbox and its "
            "unauthenticated control API"
        )

    def on_ready(running: RunningSandbox) -> None:
        info = running.ready_info()
        # Written directly, not through the Terminal: it would redact the generated keys, which
        # are fake and which the user needs (given keys are already redacted in `info`).
        if json_output:
            import orjson

            sys.stdout.write(orjson.dumps(info).decode() + "\n")
            sys.stdout.flush()
        if not terminal.quiet:
            sys.stderr.write(
                f"sandbox ready at {info['url']} (webhook {info['webhook_url']}, segment "
                f"{info['segment_api_url']}, api key {info['api_key']}, write key "
                f"{info['write_key']})\n"
                f"  public key {info['public_key']}; stream {info['stream_url']}; control "
                f"{info['control_url']}"
                + (f"; state in {data}" if data else "")
                + "; Ctrl-C to stop\n"
            )
            sys.stderr.flush()

    serve_forever(config, on_ready, log=terminal.warn)
    terminal.info("sandbox stopped")
