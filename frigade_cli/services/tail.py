"""`frigade segment tail`: Segment events as they flow, from a local receiver or the sandbox.

Two sources:
- listen: the project's one tracking-API receiver (`frigade_cli.receiver`) on a local port, so
  any Segment library, the sandbox's forwarder or Frigade itself can send to it; each accepted
  request is shown before it is answered (an event answered 200 is shown exactly once), and
  optionally relayed unchanged to a real Segment endpoint (`forward_to`);
- sandbox: the sandbox's live stream (server-sent events), resumed with `Last-Event-ID` after a
  reconnect or a sandbox restart, reconnecting with capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from frigade_cli.kernel.app import App
from frigade_cli.kernel.durations import parse_duration
from frigade_cli.kernel.errors import InputError, UpstreamError
from frigade_cli.kernel.http import check_url, describe_error, is_loopback, make_client
from frigade_cli.segment.event_filter import EventFilter
from frigade_cli.segment.messages import MESSAGE_TYPES
from frigade_cli.segment.write_key import check_write_key

if TYPE_CHECKING:
    import httpx

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
# Not relayed: they describe this hop, not the request (RFC 9110, section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "proxy-authorization",
    }
)


@dataclass
class TailRequest:
    """Everything `frigade segment tail` was asked to do (flags as given)."""

    listen: str | None = None
    host: str | None = None
    port: int | None = None
    sandbox: str | None = None
    write_key: str | None = None
    forward_to: str | None = None
    forward_timeout: float = 10.0
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
    """How a tail went. `stopped_because`: limit, timeout, interrupted or closed (stdout gone)."""

    source: str
    url: str | None = None
    events: int = 0
    requests: int = 0
    rejected: int = 0
    duplicates: int = 0
    forwarded: int = 0
    forward_failures: int = 0
    reconnects: int = 0
    missed: int = 0
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
    (type, message, side, received-at) rows, each with the upstream status when relaying."""

    def messages(self, messages: list[dict[str, Any]], upstream: str | None = None) -> None: ...

    def lines(
        self, events: list[tuple[str, Any, str | None, str | None]], upstream: str | None = None
    ) -> None: ...


def _silence_stdout() -> None:
    """The reader went away (`| head`): point stdout at /dev/null so exiting stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class _Relay:
    """Relays an accepted request unchanged (headers, body) to a Segment API base URL."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client

    async def relay(self, received: Received) -> tuple[int | None, float, str | None]:
        """(upstream status or None, milliseconds, error or None)."""
        import httpx

        headers = [
            (k, v) for k, v in received.headers if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        started = time.perf_counter()
        try:
            response = await self.client.post(
                f"{self.base_url}/v1/{received.endpoint}", content=received.body, headers=headers
            )
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return None, elapsed, describe_error(exc)
        elapsed = (time.perf_counter() - started) * 1000
        status = response.status_code
        return status, elapsed, None if 200 <= status < 300 else f"HTTP {status}"


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
    else:
        result = _listen(app, req, timeout, sink)
    result.timeout = timeout
    return result


# Listening --------------------------------------------------------------------------------------


def _listen(app: App, req: TailRequest, timeout: float | None, output: EventSink) -> TailResult:
    from frigade_cli.receiver.tracking import Refused, TrackingReceiver

    terminal = app.terminal
    host, port = listen_address(req.listen, req.host, req.port)
    write_key = check_write_key(req.write_key, "--write-key") if req.write_key is not None else None
    terminal.add_secret(write_key)
    if req.forward_to is not None:
        check_url(req.forward_to, carries_secret=True, what="--forward-to URL")
    dedup_window = parse_duration(req.dedup_window, "--dedup-window")
    flt = _filter(req, listening=True)
    if not is_loopback(host):
        terminal.warn(
            f"listening on {host}: anyone who can reach it can send events that are shown here"
        )

    from frigade_cli.receiver.asgi import create_app
    from frigade_cli.receiver.serve import make_server, tune_gc_for_receiving
    from frigade_cli.sandbox.server import base_url, bind, new_event_loop

    sock = bind(host, port)
    result = TailResult("listen", base_url(sock, host))
    stoppers: list[Callable[[], None]] = []

    def stop(reason: str) -> None:
        if result.stopped_because is None:
            result.stopped_because = reason
        for stopper in stoppers:
            stopper()

    def show(messages: list[dict[str, Any]], upstream: str | None = None) -> None:
        if req.limit is not None and result.events >= req.limit:
            # Refused, not answered 200 and dropped: the sender keeps what the tail cannot show.
            raise Refused(503, "the tail has stopped: its --limit was reached")
        # The request that reaches the limit is shown whole: every event answered 200 is printed.
        selected = flt.select(messages)
        if selected:
            try:
                output.messages(selected, upstream)
            except BrokenPipeError:
                _silence_stdout()
                stop("closed")
                raise Refused(503, "the tail stopped: its output was closed") from None
            result.events += len(selected)
        if req.limit is not None and result.events >= req.limit:
            stop("limit")

    relay: _Relay | None = None

    async def relayed(received: Received) -> None:
        assert relay is not None
        status, elapsed, error = await relay.relay(received)
        events = len(received.messages)
        if error is None:
            result.forwarded += 1
            upstream = f"{status} {elapsed:.0f}ms"
        else:
            result.forward_failures += 1
            upstream = f"failed {error} {elapsed:.0f}ms"
            terminal.warn(
                f"forward of {events} event(s) to {relay.base_url}/v1/{received.endpoint} "
                f"failed: {error} after {elapsed:.0f} ms"
            )
        show(received.messages, upstream)

    def on_accept(received: Received) -> Any:
        if result.stopped_because is not None:
            raise Refused(503, "the tail is stopping")
        result.requests += 1
        result.duplicates += received.duplicates
        if relay is not None:
            return relayed(received)
        show(received.messages)
        return None

    def on_reject(status: int, problem: str) -> None:
        result.rejected += 1
        terminal.warn(f"answered {status}: {problem}")

    receiver = TrackingReceiver(
        write_keys=[write_key] if write_key else None,
        on_accept=on_accept,
        on_reject=on_reject,
        dedup_window=dedup_window,
    )
    server = make_server(create_app(receiver), on_signal=lambda sig: stop("interrupted"))
    stoppers.append(server.stop)
    loop = new_event_loop()
    tune_gc_for_receiving()

    async def main() -> None:
        nonlocal relay
        client = None
        if req.forward_to is not None:
            client = make_client(
                timeout=req.forward_timeout, log=terminal.debug, max_connections=64
            )
            relay = _Relay(req.forward_to, client)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if server.started:
            terminal.status_line(
                {
                    "event": "ready",
                    "url": result.url,
                    "batch_url": f"{result.url}/v1/batch",
                    "write_key": write_key,
                    "forward_to": req.forward_to,
                }
            )
            terminal.info(
                f"listening: point Segment senders at {result.url} (the sandbox: "
                f"--segment-api-url {result.url}); Ctrl-C to stop"
            )
            if timeout is not None:
                asyncio.get_running_loop().call_later(timeout, stop, "timeout")
        try:
            await task
        finally:
            if client is not None:
                await client.aclose()

    try:
        loop.run_until_complete(main())
    except SystemExit:  # uvicorn exits when it cannot start
        raise UpstreamError(f"cannot listen on {host}:{port}") from None
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        sock.close()
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
    from frigade_cli.sandbox.server import new_event_loop

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
        item = orjson.loads(data)
        kind, message = str(item.get("kind")), item.get("message")
        if (sides and item.get("side") not in sides) or not flt.matches(kind, message):
            return
        try:
            if req.json_output:
                terminal.json_lines([message])
            else:
                output.lines([(kind, message, item.get("side"), item.get("at"))])
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
