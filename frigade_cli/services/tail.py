"""`frigade segment tail`: Segment events as they flow, from a local receiver or the sandbox.

Three sources:
- listen: the project's one tracking-API receiver (`frigade_cli.receiver`) on a local port, so
  any Segment library, the sandbox's forwarder or Frigade itself can send to it, and, on any path
  outside `/v1/`, Webhooks (Actions) deliveries (`receiver.webhook`: signatures checked, Frigade's
  key check). Each accepted request is saved (`save`) and shown before it is answered (an event
  answered 200 is shown exactly once), then optionally relayed unchanged (`forward_to`) from a
  bounded queue with retries (`clients.relay`): the sender never waits on the upstream, and a
  request whose relay fails is kept in a spool file;
- replay: the requests a save (or a spool) holds, relayed again the same way;
- sandbox: the sandbox's live stream (server-sent events), resumed with `Last-Event-ID` after a
  reconnect or a sandbox restart, reconnecting with capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from frigade_cli.clients.relay import HOP_BY_HOP
from frigade_cli.kernel.app import App
from frigade_cli.kernel.clock import now_iso
from frigade_cli.kernel.durations import parse_duration
from frigade_cli.kernel.errors import InputError, UnsavedError, UpstreamError
from frigade_cli.kernel.http import check_url, describe_error, is_loopback, make_client
from frigade_cli.kernel.interrupts import StopSignals
from frigade_cli.kernel.keys import check_private_key
from frigade_cli.kernel.redact import is_secret_header, redact_text
from frigade_cli.kernel.spool import SpoolAppender, iter_records
from frigade_cli.segment import jsjson
from frigade_cli.segment.event_filter import EventFilter
from frigade_cli.segment.messages import MESSAGE_TYPES
from frigade_cli.segment.signing import signature
from frigade_cli.segment.spool_format import SEGMENT_SPOOL
from frigade_cli.segment.write_key import check_write_key

if TYPE_CHECKING:
    import httpx

    from frigade_cli.clients.relay import RelayOutcome, RelayRequest
    from frigade_cli.receiver.tracking import Received

DEFAULT_HOST = "127.0.0.1"
STREAM_PATH = "/_sandbox/stream"
SANDBOX_SIDES = ("segment", "frigade", "destination", "forward")
RECONNECT_BASE = 0.25  # seconds: the first reconnect waits up to this, then doubles ...
RECONNECT_CAP = 5.0  # ... up to this


def redrop_delay(drops: int) -> float:
    """Seconds to wait before reconnecting after the `drops`-th stream drop in a row with no event
    in between: at once the first time, then RECONNECT_BASE doubling up to RECONNECT_CAP, so a
    sandbox that accepts and drops at once (one that is stopping) is not hammered."""
    if drops <= 1:
        return 0.0
    return float(min(RECONNECT_BASE * 2 ** (drops - 2), RECONNECT_CAP))


STREAM_READ_TIMEOUT = 60.0  # the sandbox sends a keep-alive comment every 15 s


@dataclass
class TailRequest:
    """Everything `frigade segment tail` was asked to do (flags as given)."""

    listen: str | None = None
    host: str | None = None
    port: int | None = None
    sandbox: str | None = None
    write_key: str | None = None
    api_key: str | None = None
    shared_secret: str | None = None
    forward_to: str | None = None
    forward_timeout: str = "10s"
    save: str | None = None
    replay: str | None = None
    kinds: list[str] = field(default_factory=list)
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    group_id: str | None = None
    sides: list[str] = field(default_factory=list)
    limit: int | None = None
    timeout: str | None = None
    dedup_window: str = "24h"
    json_output: bool = False


@dataclass
class TailResult:
    """How a tail went. `stopped_because`: limit, timeout, interrupted, closed (stdout gone) or
    replayed (a replay that sent its whole file).

    `forwarded`/`forward_failures` count relayed requests; each failed one is in `spool_file`
    (`spooled_events` events), or, when that could not be written, `spool_error` says why.
    """

    source: str
    url: str | None = None
    events: int = 0
    requests: int = 0
    rejected: int = 0
    duplicates: int = 0
    webhook_requests: int = 0
    signatures_verified: int = 0
    signature_failures: int = 0
    forwarded: int = 0
    forward_failures: int = 0
    spool_file: str | None = None
    spooled_events: int = 0
    spool_error: str | None = None
    save_file: str | None = None
    forward_to: str | None = None
    saved_requests: int = 0  # a replay: the requests its file holds (`requests`: those sent)
    exit_code: int | None = None  # a replay cut short by a signal: 130 or 143
    reconnects: int = 0
    missed: int = 0
    skipped: int = 0
    stopped_because: str | None = None
    timeout: float | None = None


def listen_address(listen: str | None, host: str | None, port: int | None) -> tuple[str, int]:
    """(host, port) from `--listen [HOST:]PORT`, `--host` and `--port`; InputError when they
    disagree or a port is not 0-65535. The host defaults to 127.0.0.1, the port to 0 (free)."""
    given_host: str | None = None
    given_port: int | None = port
    if listen is not None:
        text = listen.strip()
        port_text = text
        if text.startswith("["):  # [::1]:8080
            inside, _, rest = text[1:].partition("]")
            given_host, port_text = inside, rest.removeprefix(":")
        elif ":" in text:
            given_host, _, port_text = text.rpartition(":")
        if not port_text.isdigit():
            raise InputError(
                f"--listen {listen!r}: expected [HOST:]PORT, e.g. 8788 or 0.0.0.0:8788"
            )
        if port is not None and int(port_text) != port:
            raise InputError(f"--listen {listen!r} and --port {port} name different ports")
        given_port = int(port_text)
    if given_host and host and given_host != host:
        raise InputError(f"--listen {listen!r} and --host {host} name different hosts")
    chosen_port = given_port if given_port is not None else 0
    if not 0 <= chosen_port <= 65535:
        raise InputError(f"port {chosen_port} is out of range (0-65535; 0 picks a free port)")
    return given_host or host or DEFAULT_HOST, chosen_port


def stream_url(url: str) -> str:
    """The sandbox's stream URL from its base URL (or the stream URL itself)."""
    check_url(url, carries_secret=False, what="sandbox URL")
    base = url.rstrip("/")
    return base if base.endswith(STREAM_PATH) else base + STREAM_PATH


class EventSink(Protocol):
    """Where a tail's events go (the render layer's printer): whole messages as received, or
    (type, message, side, received-at) rows; a Webhooks (Actions) delivery's new messages with
    its batch size and signature check ("verified", "mismatch", "missing", or None unchecked);
    and how each relayed request ended."""

    def messages(self, messages: list[dict[str, Any]], upstream: str | None = None) -> None: ...

    def lines(
        self, events: list[tuple[str, Any, str | None, str | None]], upstream: str | None = None
    ) -> None: ...

    def webhook(
        self,
        messages: list[dict[str, Any]],
        batch_size: int,
        signature: str | None,
        received_at: str | None = None,
    ) -> None: ...

    def relayed(self, report: RelayReport) -> None: ...


def _silence_stdout() -> None:
    """The reader went away (`| head`): point stdout at /dev/null so exiting stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _filter(req: TailRequest, listening: bool) -> EventFilter:
    flt = EventFilter.build(req.kinds, req.event, req.user_id, req.anonymous_id, req.group_id)
    if listening and flt.kinds is not None:
        unknown = sorted(flt.kinds - set(MESSAGE_TYPES))
        if unknown:
            raise InputError(
                f"--type {unknown[0]!r} is not a Segment type: use {', '.join(MESSAGE_TYPES)}"
            )
    return flt


def run_tail(app: App, req: TailRequest, sink: EventSink) -> TailResult:
    """Show events until the limit, the timeout, Ctrl-C/SIGTERM or a closed stdout.

    Each event shown goes to `sink` (the render layer's printer). Raises InputError for bad
    values (before listening or connecting), UpstreamError when the address cannot be bound
    (exit 5) or the sandbox answers that it is no stream.
    """
    timeout = parse_duration(req.timeout, "--timeout") if req.timeout is not None else None
    if timeout is not None and timeout <= 0:
        raise InputError("--timeout must be above 0")
    if req.sandbox is not None:
        result = _follow_sandbox(app, req, timeout, sink)
    elif req.replay is not None:
        result = _replay(app, req, sink)
    else:
        result = _listen(app, req, timeout, sink)
    result.timeout = timeout
    return result


# Listening --------------------------------------------------------------------------------------


def _positive_duration(value: str, what: str) -> float:
    seconds = parse_duration(value, what)
    if seconds <= 0:
        raise InputError(f"{what} must be above 0")
    return seconds


def _header_pairs(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def _saved_headers(headers: list[tuple[str, str]], decoded: bool) -> list[list[str]]:
    """The headers a spool line keeps: none that carries a secret (`is_secret_header`) or
    describes one hop, nor the encoding of a body kept decoded."""
    dropped = HOP_BY_HOP | ({"content-encoding"} if decoded else set())
    return [
        [name, value]
        for name, value in headers
        if name.lower() not in dropped and not is_secret_header(name)
    ]


def _saved_body(received: Received) -> str:
    """The request's body as text, decompressed, without the write key a tracking-API body may
    carry (`writeKey`, the one secret a body holds): the key is given again on replay."""
    body = received.body
    encodings = [v for k, v in received.headers if k.lower() == b"content-encoding"]
    if encodings and encodings[-1].strip().lower() in (b"gzip", b"x-gzip"):
        body = gzip.decompress(body)
    if received.kind == "tracking" and b"writeKey" in body:
        document = jsjson.loads(body)
        if isinstance(document, dict):
            document.pop("writeKey", None)
            for message in document.get("batch") or ():
                if isinstance(message, dict):
                    message.pop("writeKey", None)
            return jsjson.dumps(document).decode()
    return body.decode("utf-8")


def request_record(
    received: Received, url: str, secrets: Iterable[str | None] = ()
) -> dict[str, Any]:
    """A spool line for an accepted request (`kernel.spool`): where it came (`url`) and the
    request itself (`request`), replayable with `tail --replay`; secrets are left out."""
    encoded = any(k.lower() == b"content-encoding" for k, _ in received.headers)
    messages = [
        {k: v for k, v in m.items() if k != "writeKey"} if isinstance(m, dict) else m
        for m in received.sent
    ]
    return {
        "url": redact_text(url, secrets),
        "status": None,
        "error": None,
        "messages": messages,
        "request": {
            "kind": received.kind,
            "method": received.method,
            "path": received.path,
            "query": redact_text(received.query, secrets),
            "headers": _saved_headers(_header_pairs(received.headers), encoded),
            "body": _saved_body(received),
            "received_at": received.received_at,
        },
    }


def _failed_record(
    record: dict[str, Any], outcome: RelayOutcome, secrets: Iterable[str | None]
) -> dict[str, Any]:
    """The spool line of a request whose relay failed: the request, and how the relay ended."""
    secrets = list(secrets)
    return {
        **record,
        "url": redact_text(outcome.request.url, secrets),
        "status": outcome.status,
        "error": redact_text(outcome.error or "", secrets) or None,
        "failed_at": now_iso(),
    }


@dataclass
class RelayReport:
    """One relayed request as a tail shows it: where it went, how it ended, how long it took."""

    method: str
    url: str
    events: int
    status: int | None
    error: str | None
    attempts: int
    elapsed_ms: float


class _Relaying:
    """What `--forward-to` and `--replay` share: the relay, its counts, and the spool that keeps
    every request whose relay failed (or never went), each saved once."""

    def __init__(
        self,
        app: App,
        result: TailResult,
        output: EventSink,
        timeout: float,
        secrets: list[str | None],
    ) -> None:
        from frigade_cli.clients.relay import Relay

        self.terminal = app.terminal
        self.result = result
        self.output = output
        self.secrets = secrets
        self.spool = SpoolAppender(SEGMENT_SPOOL, kind="tail-relay")
        self.relay = Relay(
            timeout=timeout,
            on_outcome=self.settle,
            on_retry=self.retrying,
            log=self.terminal.debug,
        )

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        body: bytes,
        record: Callable[[], dict[str, Any]],
        events: int,
    ) -> RelayRequest:
        """A request to relay; `record()` gives its spool line should it fail."""
        from frigade_cli.clients.relay import RelayRequest

        return RelayRequest(method, url, headers, body, tag=(record, events))

    def offer(self, request: RelayRequest) -> None:
        """Queue a request without waiting; when the queue is full it is saved at once."""
        if not self.relay.offer(request):
            from frigade_cli.clients.relay import RelayOutcome

            reason = "not relayed: the relay queue is full (the upstream is too slow)"
            self.settle(RelayOutcome(request, None, reason, 0, 0.0))

    def retrying(self, request: RelayRequest, attempt: int, reason: str, wait: float) -> None:
        self.terminal.debug(
            f"relay to {request.url}: attempt {attempt} got {reason}; retrying in {wait:.2f} s"
        )

    def settle(self, outcome: RelayOutcome) -> None:
        record, events = outcome.request.tag
        result = self.result
        if outcome.delivered:
            result.forwarded += 1
        else:
            result.forward_failures += 1
            self.keep(_failed_record(record(), outcome, self.secrets), events, outcome.error)
        report = RelayReport(
            outcome.request.method,
            redact_text(outcome.request.url, self.secrets),
            events,
            outcome.status,
            outcome.error,
            outcome.attempts,
            outcome.elapsed_ms,
        )
        with contextlib.suppress(BrokenPipeError):
            self.output.relayed(report)

    def keep(self, record: dict[str, Any], events: int, error: str | None) -> None:
        try:
            self.spool.write(record, events)
            path = self.spool.path
        except UnsavedError as exc:
            self.result.spool_error = exc.message
            self.terminal.warn(f"relay of {events} event(s) failed ({error}) and {exc.message}")
            return
        self.result.spool_file = str(path)
        self.result.spooled_events = self.spool.events
        self.terminal.warn(
            f"relay of {events} event(s) to {redact_text(record['url'], self.secrets)} "
            f"failed: {error}; saved to {path}"
        )

    async def finish(self, grace: float) -> None:
        """Let queued requests go out for up to `grace` seconds; save what is left."""
        if self.relay.waiting:
            self.terminal.info(
                f"relaying the {self.relay.waiting} request(s) still queued "
                f"(up to {grace:g} s; then they are saved)"
            )
        for request in await self.relay.close(grace):
            record, events = request.tag
            self.result.forward_failures += 1
            failed = {
                **record(),
                "url": redact_text(request.url, self.secrets),
                "error": "not relayed before the tail stopped (it may have reached the upstream)",
                "failed_at": now_iso(),
            }
            self.keep(failed, events, failed["error"])
        self.spool.close()


def _listen(app: App, req: TailRequest, timeout: float | None, output: EventSink) -> TailResult:
    from frigade_cli.receiver.tracking import Refused, TrackingReceiver
    from frigade_cli.receiver.webhook import WebhookReceiver

    terminal = app.terminal
    host, port = listen_address(req.listen, req.host, req.port)
    write_key = check_write_key(req.write_key, "--write-key") if req.write_key is not None else None
    api_key = check_private_key(req.api_key, "--api-key") if req.api_key is not None else None
    if req.shared_secret is not None and not req.shared_secret.strip():
        raise InputError("--shared-secret is empty")
    secrets = [write_key, api_key, req.shared_secret]
    terminal.add_secret(*secrets)
    if req.forward_to is not None:
        check_url(req.forward_to, carries_secret=True, what="--forward-to URL")
    forward_timeout = _positive_duration(req.forward_timeout, "--forward-timeout")
    dedup_window = parse_duration(req.dedup_window, "--dedup-window")
    flt = _filter(req, listening=True)
    save = SpoolAppender(SEGMENT_SPOOL, Path(req.save)) if req.save is not None else None
    if save is not None:
        save.open()  # a file that cannot be written is said before anything is accepted
    if not is_loopback(host):
        terminal.warn(
            f"listening on {host}: anyone who can reach it can send events that are shown here"
        )

    from frigade_cli.kernel.listen import base_url, bind, new_event_loop
    from frigade_cli.receiver.asgi import create_app
    from frigade_cli.receiver.serve import make_server, tune_gc_for_receiving

    sock = bind(host, port)
    result = TailResult("listen", base_url(sock, host), forward_to=req.forward_to)
    if save is not None:
        result.save_file = str(save.path)
    stoppers: list[Callable[[], None]] = []
    relaying = (
        _Relaying(app, result, output, forward_timeout, secrets)
        if req.forward_to is not None
        else None
    )

    def stop(reason: str) -> None:
        if result.stopped_because is None:
            result.stopped_because = reason
        for stopper in stoppers:
            stopper()

    def show(received: Received) -> None:
        # The request that reaches the limit is shown whole: every event answered 200 is printed.
        selected = flt.select(received.messages)
        try:
            if received.kind == "webhook":
                output.webhook(
                    selected, received.batch_size, received.signature, received.received_at
                )
            elif selected:
                output.messages(selected)
        except BrokenPipeError:
            _silence_stdout()
            stop("closed")
            raise Refused(503, "the tail stopped: its output was closed") from None
        result.events += len(selected)
        if req.limit is not None and result.events >= req.limit:
            stop("limit")

    def check_signature(received: Received) -> None:
        if received.signature is None:
            return
        if received.signature == "verified":
            result.signatures_verified += 1
            return
        result.signature_failures += 1
        first = received.sent[0].get("messageId") if received.sent else None
        what = (
            "carries no X-Signature"
            if received.signature == "missing"
            else "has an X-Signature that does not match --shared-secret"
        )
        terminal.warn(
            f"webhook delivery {received.method} {received.path} ({received.batch_size} "
            f"event(s), first {first}) {what}: not sent by a destination with this secret, "
            "or changed on the way"
        )

    def on_accept(received: Received) -> None:
        if result.stopped_because is not None:
            raise Refused(503, "the tail is stopping")
        if req.limit is not None and result.events >= req.limit:
            # Refused, not answered 200 and dropped: the sender keeps what the tail cannot show.
            raise Refused(503, "the tail has stopped: its --limit was reached")
        url = f"{result.url}{received.path}" + (f"?{received.query}" if received.query else "")
        record: dict[str, Any] | None = None
        if save is not None:
            record = request_record(received, url, secrets)
            try:
                save.write(record, len(received.sent))
            except UnsavedError as exc:
                terminal.warn(f"answered 503: {exc.message}")
                raise Refused(503, "the tail cannot save the request (--save)") from None
        result.requests += 1
        result.duplicates += received.duplicates
        if received.kind == "webhook":
            result.webhook_requests += 1
            check_signature(received)
        show(received)
        if relaying is not None and req.forward_to is not None:
            from frigade_cli.clients.relay import relay_url

            target = relay_url(req.forward_to, received.path, received.query)
            saved = record
            relaying.offer(
                relaying.request(
                    received.method,
                    target,
                    received.headers,
                    received.body,
                    # Built only if the relay fails, unless --save built it already.
                    (lambda: saved)
                    if saved is not None
                    else (lambda: request_record(received, url, secrets)),
                    len(received.sent),
                )
            )

    def on_reject(status: int, problem: str) -> None:
        result.rejected += 1
        terminal.warn(f"answered {status}: {problem}")

    receiver = TrackingReceiver(
        write_keys=[write_key] if write_key else None,
        on_accept=on_accept,
        on_reject=on_reject,
        dedup_window=dedup_window,
    )
    webhooks = WebhookReceiver(
        shared_secret=req.shared_secret,
        api_keys=[api_key] if api_key else None,
        on_accept=on_accept,
        on_reject=on_reject,
        dedup_window=dedup_window,
    )
    server = make_server(create_app(receiver, webhooks), on_signal=lambda sig: stop("interrupted"))
    stoppers.append(server.stop)
    loop = new_event_loop()
    tune_gc_for_receiving()

    async def main() -> None:
        if relaying is not None:
            await relaying.relay.start()
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if server.started:
            terminal.status_line(
                {
                    "event": "ready",
                    "url": result.url,
                    "batch_url": f"{result.url}/v1/batch",
                    "webhook_url": f"{result.url}/",
                    "write_key": write_key,
                    "forward_to": req.forward_to,
                    "save": result.save_file,
                }
            )
            terminal.info(
                f"listening: point Segment senders at {result.url} (the sandbox: "
                f"--segment-api-url {result.url}), a Webhooks (Actions) mapping at "
                f"{result.url}/ (through a tunnel); Ctrl-C to stop"
            )
            if timeout is not None:
                asyncio.get_running_loop().call_later(timeout, stop, "timeout")
        try:
            await task
        finally:
            if relaying is not None:
                draining.append(True)
                await relaying.finish(forward_timeout)

    draining: list[bool] = []

    def on_signal(n: int) -> None:
        # The server handles signals while it serves; before, a signal stops it as it starts;
        # after, while queued requests are relayed, it stops the relay: what is left is saved.
        stop("interrupted")
        if relaying is not None and draining:
            loop.call_soon_threadsafe(relaying.relay.abort)

    with StopSignals() as signals:
        signals.on_signal(on_signal)
        try:
            loop.run_until_complete(main())
        except SystemExit:  # uvicorn exits when it cannot start
            raise UpstreamError(f"cannot listen on {host}:{port}") from None
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            sock.close()
            if save is not None:
                save.close()
    return result


# Replaying a saved session ----------------------------------------------------------------------


def _replay_request(
    record: dict[str, Any],
    forward_to: str,
    *,
    write_key: str | None,
    api_key: str | None,
    shared_secret: str | None,
) -> tuple[str, str, list[tuple[str, str]], bytes, str]:
    """(method, url, headers, body, kind) to send one spool line again: the request as saved,
    with the credentials given for this replay; a line with no request (a test-webhook spool)
    is sent as the Webhooks destination would send its messages."""
    from frigade_cli.clients.relay import relay_url
    from frigade_cli.segment.delivery import delivery_headers

    saved = record.get("request")
    if isinstance(saved, dict):
        kind = str(saved.get("kind") or "tracking")
        headers = [(str(k), str(v)) for k, v in saved.get("headers") or []]
        body = str(saved.get("body") or "").encode()
        url = relay_url(forward_to, str(saved.get("path") or "/"), str(saved.get("query") or ""))
        method = str(saved.get("method") or "POST")
    else:
        # The whole header set as Segment's destination sends it, from the one builder.
        messages = record.get("messages") or []
        mapping = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        first = messages[0] if messages else None
        headers = delivery_headers(mapping, first, shared_secret)
        return "POST", forward_to, headers, jsjson.dumps(messages), "webhook"
    if kind == "tracking" and write_key:
        token = base64.b64encode(f"{write_key}:".encode()).decode()
        headers.append(("Authorization", f"Basic {token}"))
    if kind == "webhook":
        if api_key:
            headers.append(("Authorization", f"Bearer {api_key}"))
        if shared_secret:
            document = jsjson.loads(body)
            first = document[0] if isinstance(document, list) and document else document
            headers.append(("X-Signature", signature(first, shared_secret)))
    return method, url, headers, body, kind


def _constant(record: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: record


def _replay(app: App, req: TailRequest, output: EventSink) -> TailResult:
    terminal = app.terminal
    assert req.replay is not None and req.forward_to is not None
    path = Path(req.replay)
    write_key = check_write_key(req.write_key, "--write-key") if req.write_key is not None else None
    api_key = check_private_key(req.api_key, "--api-key") if req.api_key is not None else None
    secrets = [write_key, api_key, req.shared_secret]
    terminal.add_secret(*secrets)
    check_url(req.forward_to, carries_secret=True, what="--forward-to URL")
    forward_timeout = _positive_duration(req.forward_timeout, "--forward-timeout")
    flt = _filter(req, listening=True)

    def planned() -> Iterator[tuple[int, dict[str, Any], tuple[Any, ...]]]:
        for number, record in iter_records(path, SEGMENT_SPOOL):
            try:
                plan = _replay_request(
                    record,
                    req.forward_to or "",
                    write_key=write_key,
                    api_key=api_key,
                    shared_secret=req.shared_secret,
                )
            except (ValueError, TypeError) as exc:
                raise InputError(f"{path} line {number}: not a saved request ({exc})") from None
            yield number, record, plan

    # Read once first: a bad line is said before anything is sent.
    kinds = [plan[4] for _, _, plan in planned()]
    if not kinds:
        raise InputError(f"{path}: holds no saved request")
    if "tracking" in kinds and write_key is None:
        terminal.warn(
            "the saved tracking-API requests carry no write key (a save never keeps it): "
            "give --write-key, or the upstream sees none"
        )
    result = TailResult("replay", str(path), forward_to=req.forward_to, saved_requests=len(kinds))
    relaying = _Relaying(app, result, output, forward_timeout, secrets)
    from frigade_cli.kernel.listen import new_event_loop

    loop = new_event_loop()

    async def main() -> None:
        await relaying.relay.start()
        try:
            for _, record, (method, url, headers, body, kind) in planned():
                if result.stopped_because is not None:
                    break
                messages = [m for m in record.get("messages") or [] if isinstance(m, dict)]
                selected = flt.select(messages)
                if kind == "webhook":
                    output.webhook(selected, len(messages), None)
                elif selected:
                    output.messages(selected)
                result.events += len(selected)
                result.requests += 1
                request = relaying.request(
                    method, url, headers, body, _constant(record), len(messages)
                )
                if not await relaying.relay.put(request):
                    break
            await relaying.relay.join()
        finally:
            await relaying.finish(forward_timeout)

    def interrupted(n: int) -> None:
        result.stopped_because = "interrupted"
        loop.call_soon_threadsafe(relaying.relay.abort)

    with StopSignals() as signals:
        signals.on_signal(interrupted)
        try:
            loop.run_until_complete(main())
        except BrokenPipeError:
            _silence_stdout()
            result.stopped_because = "closed"
        finally:
            loop.close()
        if signals.requested:
            result.exit_code = int(signals.exit_code)
    result.stopped_because = result.stopped_because or "replayed"
    return result


# Following the sandbox --------------------------------------------------------------------------


@dataclass
class StreamCursor:
    """Where a reader of the sandbox's stream is: its run and the last seq seen (ids `RUN.SEQ`).

    Read unfiltered, the stream's seqs are consecutive, so a gap is events the sandbox no longer
    had (its buffer overflowed during a disconnect, or it dropped them for a slow reader).
    """

    run: str | None = None
    seq: int = 0
    last_id: str | None = None

    def advance(self, event_id: str, opening: bool = False) -> tuple[bool, int, bool]:
        """(new, missed, restarted) for an event's id, or the position a stream opens at."""
        this_run, _, text = event_id.rpartition(".")
        seq = int(text) if text.isdigit() else 0
        restarted = self.run is not None and this_run != self.run
        if self.run is not None and not restarted and seq <= self.seq:
            return False, 0, False  # already seen: a stream replays nothing twice
        missed = 0
        if self.run is not None and not restarted and not opening:
            missed = seq - self.seq - 1
        self.run, self.seq, self.last_id = this_run, seq, event_id
        return True, missed, restarted


class _Unreachable(Exception):
    """No stream could be opened (retried with backoff)."""


class _Dropped(Exception):
    """An open stream ended (reconnected at once, backoff starting afresh)."""


class _Finished(Exception):
    """The tail has shown what it was asked to."""


def _follow_sandbox(
    app: App, req: TailRequest, timeout: float | None, output: EventSink
) -> TailResult:
    from frigade_cli.kernel.listen import new_event_loop

    terminal = app.terminal
    if req.forward_to is not None or req.write_key is not None:
        raise InputError("--forward-to and --write-key go with --listen, not --sandbox")
    assert req.sandbox is not None
    url = stream_url(req.sandbox)
    sides = {p.strip() for s in req.sides for p in s.split(",") if p.strip()}
    unknown = sorted(sides - set(SANDBOX_SIDES))
    if unknown:
        raise InputError(f"--side {unknown[0]!r} is not one of {', '.join(SANDBOX_SIDES)}")
    flt = _filter(req, listening=False)
    result = TailResult("sandbox", url)
    cursor = StreamCursor()

    def position(event_id: str, opening: bool = False) -> bool:
        """Note the stream's position; False when that event was already shown."""
        new, missed, restarted = cursor.advance(event_id, opening)
        if restarted:
            terminal.warn("the sandbox restarted: showing the events it has received since")
        if missed:
            result.missed += missed
            terminal.warn(
                f"missed {missed} event(s): the sandbox no longer held them (it keeps the last "
                "1000, and drops events for a reader that falls behind)"
            )
        return new

    def handle(event_id: str, data: str) -> None:
        if not position(event_id):
            return
        try:
            item = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            item = exc
        if not isinstance(item, dict):
            # One bad event (a proxy's error page, a truncated line) must not end the tail.
            result.skipped += 1
            terminal.warn(
                f"skipped stream event {event_id or '(no id)'}: not a JSON object "
                f"({item if isinstance(item, Exception) else type(item).__name__}): "
                f"{data[:80]!r}"
            )
            return
        kind, message = str(item.get("kind")), item.get("message")
        if (sides and item.get("side") not in sides) or not flt.matches(kind, message):
            return
        try:
            if req.json_output:
                terminal.json_lines([message])
            else:
                side, at = item.get("side"), item.get("at")
                output.lines(
                    [
                        (
                            kind,
                            message,
                            None if side is None else str(side),
                            at if isinstance(at, str) else None,
                        )
                    ]
                )
        except BrokenPipeError:
            _silence_stdout()
            result.stopped_because = "closed"
            raise _Finished from None
        result.events += 1
        if req.limit is not None and result.events >= req.limit:
            result.stopped_because = "limit"
            raise _Finished

    async def read_stream(client: httpx.AsyncClient) -> None:
        import httpx
        from httpx_sse import SSEError, aconnect_sse

        last_id = cursor.last_id
        headers = {"Last-Event-ID": last_id} if last_id else {}
        connected = False
        try:
            # Unfiltered, so the ids are consecutive and a gap shows what was missed.
            async with aconnect_sse(client, "GET", url, headers=headers) as source:
                response = source.response
                if response.status_code in (400, 404):
                    body = (await response.aread()).decode(errors="replace")[:200]
                    raise UpstreamError(
                        f"{url} answered {response.status_code}: {body}",
                        hint="--sandbox takes the URL of a running 'frigade sandbox'",
                    )
                if response.status_code != 200:
                    raise _Unreachable(f"HTTP {response.status_code}")
                connected = True
                if result.reconnects or last_id:
                    terminal.info(
                        f"reconnected to {url}" + (f" after event {last_id}" if last_id else "")
                    )
                async for sse in source.aiter_sse():
                    if sse.data:
                        handle(sse.id, sse.data)
                    elif sse.id:
                        position(sse.id, opening=True)  # where the stream starts
        except SSEError as exc:
            raise UpstreamError(f"{url} is not an event stream: {exc}") from None
        except httpx.HTTPError as exc:
            reason = describe_error(exc)
            raise (_Dropped if connected else _Unreachable)(reason) from None
        raise _Dropped("the sandbox closed the stream")

    async def follow() -> None:
        from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
        from tenacity import wait_exponential_jitter as backoff

        def say(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            terminal.info(f"cannot reach the sandbox at {url} ({error}); retrying in {wait:.1f} s")

        async with make_client(timeout=STREAM_READ_TIMEOUT, log=terminal.debug) as client:
            terminal.info(f"following {url}; Ctrl-C to stop")
            drops, events_at_drop = 0, -1
            while True:
                try:
                    async for attempt in AsyncRetrying(
                        retry=retry_if_exception_type(_Unreachable),
                        wait=backoff(
                            initial=RECONNECT_BASE, max=RECONNECT_CAP, jitter=RECONNECT_BASE
                        ),
                        before_sleep=say,
                        reraise=True,
                    ):
                        with attempt:
                            await read_stream(client)
                except _Dropped as exc:
                    result.reconnects += 1
                    drops = drops + 1 if result.events == events_at_drop else 1
                    events_at_drop = result.events
                    delay = redrop_delay(drops)
                    terminal.warn(
                        f"lost the sandbox stream ({exc}); reconnecting"
                        + (f" in {delay:.2f} s" if delay else "")
                    )
                    await asyncio.sleep(delay)

    loop = new_event_loop()
    task = loop.create_task(follow())

    def stop(reason: str) -> None:
        if result.stopped_because is None:
            result.stopped_because = reason
        task.cancel()

    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop, "interrupted")
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread: Ctrl-C arrives as KeyboardInterrupt instead
    if timeout is not None:
        loop.call_later(timeout, stop, "timeout")
    try:
        loop.run_until_complete(task)
    except (asyncio.CancelledError, _Finished):
        pass
    except KeyboardInterrupt:
        result.stopped_because = result.stopped_because or "interrupted"
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return result
