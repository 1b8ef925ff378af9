"""What `segment tail` shows: one line per event, and the closing count on stderr."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from frigade_cli.segment.event_filter import group_of

if TYPE_CHECKING:
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.services.tail import TailResult

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


class EventPrinter:
    """Where a tail's events go: JSON Lines (each message as received) or one line per event,
    coloured on a terminal. Every line passes the terminal's redaction."""

    def __init__(self, terminal: Terminal, json_output: bool) -> None:
        self.terminal = terminal
        self.json_output = json_output
        self.colour = not json_output and sys.stdout.isatty()

    def messages(self, messages: list[dict[str, Any]], upstream: str | None = None) -> None:
        """Messages as a tracking API received them."""
        if self.json_output:
            self.terminal.json_lines(messages)
            return
        self.lines([(str(m.get("type")), m, None, None) for m in messages], upstream)

    def lines(
        self, events: list[tuple[str, Any, str | None, str | None]], upstream: str | None = None
    ) -> None:
        """(type, message, side, received-at) rows, one line each."""
        rendered = [
            event_line(kind, message, side=side, at=at, upstream=upstream, colour=self.colour)
            for kind, message, side, at in events
        ]
        if self.colour:
            for line in rendered:
                self.terminal.out.print(self.terminal.redact(line))
            sys.stdout.flush()
        else:
            self.terminal.lines(rendered)
