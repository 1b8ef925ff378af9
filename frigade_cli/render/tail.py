"""What `segment tail` shows: one line per event, and the closing count on stderr."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from frigade_cli.segment.event_filter import group_of

if TYPE_CHECKING:
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.services.tail import RelayReport, TailResult

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
    "relay": "white",
}
# How a Webhooks (Actions) delivery's X-Signature checked out, as its lines say it.
SIGNATURE_MARKS = {"verified": "signed", "mismatch": "SIGNATURE MISMATCH", "missing": "UNSIGNED"}
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
    note: str | None = None,
    colour: bool = False,
) -> str:
    """One event as one line: time, [side,] type, event name or traits, user, group, messageId,
    [upstream status], [note]. With `colour`, rich markup colouring the type (the rest
    escaped)."""
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
        note or "",
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
    if result.source == "replay":
        parts.append(f"{result.requests} of {result.saved_requests} saved request(s) sent")
    relayed = result.forwarded + result.forward_failures
    for count, what in (
        (
            result.webhook_requests,
            "webhook deliveries" if result.webhook_requests > 1 else "webhook delivery",
        ),
        (result.signatures_verified, "signature(s) verified"),
        (result.signature_failures, "signature(s) MISMATCHED or missing"),
        (result.duplicates, "duplicate(s) dropped"),
        (result.rejected, "request(s) rejected"),
        (relayed, f"request(s) relayed to {result.forward_to}"),
        (result.forward_failures, "relay(s) FAILED"),
        (result.reconnects, "reconnect(s)"),
        (result.missed, "missed (no longer held by the sandbox)"),
        (result.skipped, "unreadable stream event(s) skipped"),
    ):
        if count:
            parts.append(f"{count} {what}")
    reason = {
        "interrupted": "stopped",
        "limit": "limit reached",
        "timeout": "timed out",
        "replayed": "replayed",
    }.get(result.stopped_because or "", "ended")
    terminal.info(f"{reason}: " + ", ".join(parts))
    if result.save_file:
        terminal.info(
            f"requests saved to {result.save_file}; send them again with: frigade segment "
            f"tail --replay {result.save_file} --forward-to URL"
        )


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
        self,
        events: list[tuple[str, Any, str | None, str | None]],
        upstream: str | None = None,
        note: str | None = None,
    ) -> None:
        """(type, message, side, received-at) rows, one line each."""
        self._print(
            [
                event_line(
                    kind,
                    message,
                    side=side,
                    at=at,
                    upstream=upstream,
                    note=note,
                    colour=self.colour,
                )
                for kind, message, side, at in events
            ]
        )

    def webhook(
        self,
        messages: list[dict[str, Any]],
        batch_size: int,
        signature: str | None,
        received_at: str | None = None,
    ) -> None:
        """A Webhooks (Actions) delivery's new messages: as JSON exactly as Segment wrote them
        (JavaScript's JSON), or lines marked `webhook` with the batch size and the signature."""
        if not messages:
            return
        if self.json_output:
            from frigade_cli.segment import jsjson

            self.terminal.write_text_bytes(b"".join(jsjson.dumps(m) + b"\n" for m in messages))
            return
        note = f"batch={batch_size}"
        if signature is not None:
            note += f" {SIGNATURE_MARKS.get(signature, signature)}"
        self.lines([(str(m.get("type")), m, "webhook", received_at) for m in messages], note=note)

    def relayed(self, report: RelayReport) -> None:
        """One line per relayed request (not with --json: stdout holds messages only)."""
        if self.json_output:
            return
        from frigade_cli.kernel.clock import now_iso

        outcome = (
            f"{report.status}" if report.error is None else f"FAILED {report.error}"
        ) + f" {report.elapsed_ms:.0f}ms"
        if report.attempts > 1:
            outcome += f" after {report.attempts} attempts"
        events = f"{report.events} event" + ("" if report.events == 1 else "s")
        line = f"{now_iso()[11:23]:<12}  {'relay':<11} {report.method} {report.url}  {events}"
        text = f"{line}  -> {outcome}"
        if self.colour:
            from rich.markup import escape

            text = escape(text)
        self._print([text])

    def _print(self, rendered: list[str]) -> None:
        if self.colour:
            for line in rendered:
                self.terminal.out.print(self.terminal.shown(line, one_line=True))
            sys.stdout.flush()
        else:
            self.terminal.lines([self.terminal.shown(line, one_line=True) for line in rendered])
