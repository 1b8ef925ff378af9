"""What the user sees: each command's result as a table for people or JSON for machines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from frigade_cli.segment.event_filter import group_of

if TYPE_CHECKING:
    from frigade_cli.clients.frigade_graphql import GraphQLRequest, Integration
    from frigade_cli.output import Terminal
    from frigade_cli.segment.batching import Batch
    from frigade_cli.services.connect import ConnectResult, DisconnectResult, StatusResult
    from frigade_cli.services.tail import TailResult


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def delivery_summary(terminal: Terminal, summary: dict[str, Any], json_output: bool) -> None:
    """The summary of a test-webhook run."""
    if json_output:
        terminal.json(summary)
        return
    latency = summary["latency_ms"]
    statuses = ", ".join(f"{code} x{n}" for code, n in summary["status_codes"].items()) or "-"
    rows = [
        ("url", summary["url"]),
        ("batches", f"{summary['batches']} (batch size {summary['batch_size']})"),
        ("events", summary["events"]),
        (
            "accepted",
            f"{summary['accepted']['events']} events in {summary['accepted']['batches']} batches",
        ),
        (
            "failed",
            f"{summary['failed']['events']} events in {summary['failed']['batches']} batches",
        ),
        (
            "not sent",
            f"{summary['unsent']['events']} events in {summary['unsent']['batches']} batches"
            + (
                f" ({summary['unsent']['not_generated']} of them never generated)"
                if summary["unsent"].get("not_generated")
                else ""
            ),
        ),
        ("status codes", statuses),
        ("retries", summary["retries"]),
        (
            "latency",
            f"p50 {_ms(latency['p50'])}, p95 {_ms(latency['p95'])}, max {_ms(latency['max'])}",
        ),
        (
            "rate",
            f"{summary['events_per_s'] or 0:,.0f} events/s over {summary['duration_s']:.2f} s",
        ),
    ]
    if summary["spool_file"]:
        rows.append(("saved to", summary["spool_file"]))
    if "sandbox" in summary:
        check = summary["sandbox"]
        by_type = ", ".join(f"{t} {n}" for t, n in sorted(check["ingested_by_type"].items()))
        rows.append(("sandbox", f"ingested {check['ingested']} events ({by_type or 'none'})"))
    terminal.table(["", ""], rows, show_header=False)


def dry_run(
    terminal: Terminal,
    requests: list[tuple[str, str, dict[str, str], Batch]],
    json_output: bool,
) -> None:
    """The exact requests a run would send (keys redacted by the terminal)."""
    if json_output:
        terminal.json(
            {
                "dry_run": True,
                "requests": [
                    {
                        "method": method,
                        "url": url,
                        "headers": headers,
                        "events": batch.size,
                        "bytes": len(batch.body),
                        "body": orjson.Fragment(batch.body),  # the exact bytes sent
                    }
                    for method, url, headers, batch in requests
                ],
            }
        )
        return
    for n, (method, url, headers, batch) in enumerate(requests, start=1):
        events = f"{batch.size} event" + ("" if batch.size == 1 else "s")
        terminal.line(f"# request {n} of {len(requests)}: {events}, {len(batch.body)} bytes")
        terminal.line(f"{method} {url}")
        for name, value in headers.items():
            terminal.line(f"{name}: {value}")
        terminal.line("")
        terminal.line(batch.body.decode())
        terminal.line("")


# connect, status, disconnect ----------------------------------------------------------------


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


# tail -----------------------------------------------------------------------------------------

TYPE_STYLES = {
    "track": "cyan",
    "identify": "green",
    "group": "magenta",
    "page": "blue",
    "screen": "blue",
    "alias": "yellow",
    "failed": "red",
    "undeliverable": "red",
    "retry": "yellow",
}
_WHAT_WIDTH = 36


def _summary(values: Any, width: int = _WHAT_WIDTH) -> str:
    if not isinstance(values, dict) or not values:
        return "-"
    text = ", ".join(f"{k}={v}" for k, v in values.items())
    return text if len(text) <= width else text[: width - 1] + "…"


def _what(kind: str, message: dict[str, Any]) -> str:
    if kind == "track" or "event" in message:
        return str(message.get("event"))
    if kind in ("page", "screen"):
        return str(message.get("name") or _summary(message.get("properties")))
    if kind in ("identify", "group"):
        return _summary(message.get("traits"))
    if kind == "alias":
        return f"{message.get('previousId')} -> {message.get('userId')}"
    # A sandbox event that is not a Segment message (a delivery, a Frigade write).
    keys = ("status", "events", "actionType", "flowSlug", "error")
    return _summary({k: message[k] for k in keys if k in message})


def event_line(
    kind: str,
    message: Any,
    *,
    side: str | None = None,
    at: str | None = None,
    upstream: str | None = None,
    colour: bool = False,
) -> str:
    """One event as one line: time, [side,] type, event name or traits, user, group, messageId,
    [upstream status]. With `colour`, rich markup colouring the type (the rest escaped)."""
    from rich.markup import escape

    body = message if isinstance(message, dict) else {}
    when = at or body.get("receivedAt") or body.get("timestamp") or ""
    when = when[11:23] if isinstance(when, str) and len(when) >= 23 else str(when)
    who = (
        f"user={body['userId']}"
        if body.get("userId") is not None
        else f"anon={body['anonymousId']}"
        if body.get("anonymousId") is not None
        else ""
    )
    group = group_of(body)
    parts = [
        _what(kind, body).ljust(_WHAT_WIDTH),
        who,
        f"group={group}" if group is not None else "",
        f"id={body['messageId']}" if body.get("messageId") else "",
        f"-> {upstream}" if upstream else "",
    ]
    rest = "  ".join(p for p in parts if p)
    head = f"{when:<12}  " + (f"{side:<11} " if side else "")
    if not colour:
        return f"{head}{kind:<9} {rest}"
    style = TYPE_STYLES.get(kind, "white")
    return f"{escape(head)}[{style}]{escape(kind):<9}[/{style}] {escape(rest)}"


def tail_summary(terminal: Terminal, result: TailResult) -> None:
    """The count of events shown (and what else happened) on stderr; nothing after `| head`."""
    if result.stopped_because == "closed":
        return
    parts = [f"{result.events} event" + ("" if result.events == 1 else "s") + " shown"]
    for count, what in (
        (result.duplicates, "duplicate(s) dropped"),
        (result.rejected, "request(s) rejected"),
        (result.forward_failures, "forward(s) failed"),
        (result.reconnects, "reconnect(s)"),
        (result.missed, "missed (no longer held by the sandbox)"),
    ):
        if count:
            parts.append(f"{count} {what}")
    reason = {
        "interrupted": "stopped",
        "limit": "limit reached",
        "timeout": "timed out",
    }.get(result.stopped_because or "", "ended")
    terminal.info(f"{reason}: " + ", ".join(parts))
