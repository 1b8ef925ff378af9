"""`frigade segment connect`, `status`, `disconnect`: flags in, service called, result rendered."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from frigade_cli.cli.options import SECRET_HELP, JsonFlag, secret
from frigade_cli.kernel.app import get_app
from frigade_cli.kernel.exit_codes import ExitCode

if TYPE_CHECKING:
    from frigade_cli.services.connect import FrigadeTarget

UNCONFIRMED = "Unconfirmed: Frigade does not document its integrations API publicly."

ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="FRIGADE_API_KEY",
        show_envvar=True,
        parser=secret("--api-key"),
        metavar="KEY",
        help="Frigade private key (api_private_...). Falls back to the profile's api_key. "
        + SECRET_HELP,
    ),
]
ApiUrlOption = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        envvar="FRIGADE_API_URL",
        show_envvar=True,
        help="Frigade API base URL. Falls back to the profile's api_url, else "
        "https://api.frigade.com.",
    ),
]
GraphqlPathOption = Annotated[
    str,
    typer.Option("--graphql-path", help=f"Path of Frigade's GraphQL endpoint. {UNCONFIRMED}"),
]
IntegrationTypeOption = Annotated[
    str,
    typer.Option(
        "--integration-type",
        help=f"The integration's type (IntegrationType), e.g. SEGMENT. {UNCONFIRMED}",
    ),
]
KeyFieldOption = Annotated[
    str,
    typer.Option(
        "--key-field",
        help=f"Name of the write key's field inside connectionData. {UNCONFIRMED}",
    ),
]


def _target(
    api_key: str | None, api_url: str | None, path: str, type_name: str, key_field: str
) -> FrigadeTarget:
    from frigade_cli.clients.frigade_graphql import IntegrationsApi
    from frigade_cli.services.connect import FrigadeTarget

    return FrigadeTarget(api_key, api_url, IntegrationsApi(path, type_name, key_field))


def connect(
    write_key: Annotated[
        str | None,
        typer.Option(
            "--write-key",
            # Not envvar=: the config layer reads SEGMENT_WRITE_KEY, so a key given here can be
            # told from one in the environment (--verify alone never connects the latter).
            parser=secret("--write-key"),
            metavar="KEY",
            help="Write key of the Segment HTTP API source Frigade should send to. Default: "
            f"SEGMENT_WRITE_KEY, else the profile's segment_write_key. {SECRET_HELP} With "
            "--verify and no --write-key, the key Frigade holds is tested and nothing changes. "
            "[env var: SEGMENT_WRITE_KEY]",
        ),
    ] = None,
    api_key: ApiKeyOption = None,
    api_url: ApiUrlOption = None,
    save: Annotated[
        bool,
        typer.Option("--save", help="Store the write key in the active profile (file mode 0600)."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the exact requests (keys redacted); send nothing."),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Then send one identifiable test track event with the write key and print its "
            "messageId. Segment answers 200 even for an unknown key: look for the event in the "
            "source's Debugger or with 'frigade segment tail'.",
        ),
    ] = False,
    segment_api_url: Annotated[
        str | None,
        typer.Option(
            "--segment-api-url",
            envvar="SEGMENT_API_URL",
            show_envvar=True,
            help="Segment tracking API for --verify. Falls back to the profile's "
            "segment_api_url, else https://api.segment.io.",
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="Segment region for --verify: us (https://api.segment.io) or eu "
            "(https://events.eu1.segmentapis.com).",
        ),
    ] = None,
    graphql_path: GraphqlPathOption = "/graphql",
    integration_type: IntegrationTypeOption = "SEGMENT",
    key_field: KeyFieldOption = "writeKey",
    json_output: JsonFlag = False,
) -> None:
    """Connect Frigade to a Segment HTTP API source: Frigade then sends its flow events there.

    Registers the write key as Frigade's Segment integration (an upsert: connecting twice
    updates, never duplicates; a different key is reported, both redacted). The write key's form
    is checked first (exit 3, nothing sent). Uses the GraphQL call upsertIntegration(type, status,
    connectionData) with the private key: its path, type name and key field are unconfirmed and
    can be set with --graphql-path, --integration-type and --key-field.
    Exit codes: 0 connected, 3 bad input, 4 key rejected, 5 upstream failure.
    """
    from frigade_cli.render import connect as render
    from frigade_cli.services.connect import ConnectRequest, run_connect

    app = get_app()
    app.terminal.add_secret(api_key)
    target = _target(api_key, api_url, graphql_path, integration_type, key_field)
    result = run_connect(
        app,
        ConnectRequest(
            target,
            write_key,
            save=save,
            dry_run=dry_run,
            verify=verify,
            segment_api_url=segment_api_url,
            region=region,
        ),
    )
    render.connect_result(app.terminal, result, key_field, json_output)
    if result.verify_error is not None:
        raise result.verify_error


def status(
    api_key: ApiKeyOption = None,
    api_url: ApiUrlOption = None,
    graphql_path: GraphqlPathOption = "/graphql",
    integration_type: IntegrationTypeOption = "SEGMENT",
    key_field: KeyFieldOption = "writeKey",
    json_output: JsonFlag = False,
) -> None:
    """Show Frigade's Segment integration: id, status, write key (redacted), created, updated.

    Exit codes: 0 connected and ACTIVE, 3 none connected (or not active), 4 key rejected,
    5 upstream failure. The integrations API is unconfirmed (see --graphql-path).
    """
    from frigade_cli.render import connect as render
    from frigade_cli.services.connect import run_status

    app = get_app()
    app.terminal.add_secret(api_key)
    target = _target(api_key, api_url, graphql_path, integration_type, key_field)
    result = run_status(app, target)
    render.integration_status(app.terminal, result, json_output)
    if not result.connected:
        raise typer.Exit(ExitCode.VALIDATION)


def disconnect(
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Disconnect without asking (for scripts).")
    ] = False,
    api_key: ApiKeyOption = None,
    api_url: ApiUrlOption = None,
    graphql_path: GraphqlPathOption = "/graphql",
    integration_type: IntegrationTypeOption = "SEGMENT",
    key_field: KeyFieldOption = "writeKey",
    json_output: JsonFlag = False,
) -> None:
    """Remove Frigade's Segment integration: Frigade stops sending events to Segment.

    Asks first on a terminal; --yes for scripts. When stdin is not a terminal it never asks:
    without --yes it fails (exit 3) and removes nothing. Exit 0 when removed or when none was
    connected; 4 key rejected; 5 upstream failure.
    """
    from frigade_cli.render import connect as render
    from frigade_cli.services.connect import run_disconnect

    app = get_app()
    app.terminal.add_secret(api_key)
    target = _target(api_key, api_url, graphql_path, integration_type, key_field)
    ask = (lambda question: typer.confirm(question, err=True)) if sys.stdin.isatty() else None
    result = run_disconnect(app, target, yes, ask)
    render.disconnect_result(app.terminal, result, key_field, json_output)


def register(app: typer.Typer) -> None:
    """Add connect, status and disconnect to the `segment` group."""
    app.command("connect")(connect)
    app.command("status")(status)
    app.command("disconnect")(disconnect)
