"""What `segment connect`, `status` and `disconnect` show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from frigade_cli.clients.frigade_graphql import GraphQLRequest, Integration
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.services.connect import ConnectResult, DisconnectResult, StatusResult


def _integration_json(integration: Integration, key_field: str) -> dict[str, Any]:
    return {
        "id": integration.id,
        "type": integration.type,
        "status": integration.status,
        "write_key": integration.shown_key(key_field),
        "created_at": integration.created_at,
        "updated_at": integration.updated_at,
    }


def graphql_requests(terminal: Terminal, requests: list[GraphQLRequest], json_output: bool) -> None:
    """The exact GraphQL requests a dry run would send (keys redacted by the terminal)."""
    if json_output:
        terminal.json(
            {
                "dry_run": True,
                "requests": [
                    {"method": r.method, "url": r.url, "headers": r.headers, "body": r.body}
                    for r in requests
                ],
            }
        )
        return
    for n, request in enumerate(requests, start=1):
        terminal.line(f"# request {n} of {len(requests)}")
        terminal.line(f"{request.method} {request.url}")
        for name, value in request.headers.items():
            terminal.line(f"{name}: {value}")
        terminal.line("")
        terminal.line(orjson.dumps(request.body).decode())
        terminal.line("")


def connect_result(
    terminal: Terminal, result: ConnectResult, key_field: str, json_output: bool
) -> None:
    """What `segment connect` did."""
    if result.dry_run:
        graphql_requests(terminal, result.requests, json_output)
        if result.extra.get("verify_url"):
            terminal.info(
                f"--verify would then send one test track event to {result.extra['verify_url']}"
            )
        terminal.info("dry run: nothing sent")
        return
    integration = result.integration
    assert integration is not None
    if json_output:
        terminal.json(
            {
                "action": result.action,
                "write_key": result.write_key,
                "previous_write_key": result.previous_key,
                "integration": _integration_json(integration, key_field),
                "saved_to": result.saved_to,
                **result.extra,
            }
        )
        return
    if result.action == "changed":
        terminal.warn(
            f"the Segment write key changed from {result.previous_key or 'unknown'} to "
            f"{result.write_key}"
        )
    verb = {"connected": "connected", "updated": "already connected; updated"}.get(
        result.action, "connected with the new key"
    )
    terminal.success(f"Frigade -> Segment {verb}: write key {result.write_key}")
    _integrations_table(terminal, [integration], key_field)
    if result.saved_to:
        terminal.info(f"write key saved to {result.saved_to}")
    verify = result.extra.get("verify")
    if verify:
        terminal.success(
            f"test event '{verify['event']}' sent to {verify['url']} (HTTP {verify['status']}), "
            f"messageId {verify['messageId']}"
        )
        terminal.info(verify["note"])


def _integrations_table(
    terminal: Terminal, integrations: list[Integration], key_field: str
) -> None:
    terminal.table(
        ["id", "type", "status", "write key", "created", "updated"],
        [
            (
                i.id,
                i.type,
                i.status,
                i.shown_key(key_field) or "-",
                i.created_at or "-",
                i.updated_at or "-",
            )
            for i in integrations
        ],
    )


def integration_status(terminal: Terminal, result: StatusResult, json_output: bool) -> None:
    """The Segment integration Frigade holds, or that there is none."""
    if json_output:
        terminal.json(
            {
                "connected": result.connected,
                "integrations": [
                    _integration_json(i, result.key_field) for i in result.integrations
                ],
            }
        )
        return
    if not result.integrations:
        terminal.info("no Segment integration is connected to Frigade")
        return
    _integrations_table(terminal, result.integrations, result.key_field)


def disconnect_result(
    terminal: Terminal, result: DisconnectResult, key_field: str, json_output: bool
) -> None:
    """What `segment disconnect` removed."""
    if json_output:
        terminal.json(
            {
                "disconnected": bool(result.removed),
                "declined": result.declined,
                "removed": [_integration_json(i, key_field) for i in result.removed],
            }
        )
        return
    if result.declined:
        terminal.info("kept: nothing was disconnected")
    elif not result.removed:
        terminal.info("no Segment integration was connected: nothing to disconnect")
    for integration in result.removed:
        terminal.success(
            f"disconnected Segment integration {integration.id} "
            f"(write key {integration.shown_key(key_field) or 'unknown'})"
        )
