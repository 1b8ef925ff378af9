"""End-to-end throughput of `frigade sandbox`: Segment batch in -> webhook -> Frigade ingest.

    .venv/bin/python benchmarks/bench_sandbox.py [--events 200000] [--batch 500] [--connections 4]
        [--json] [--no-baseline]

The sandbox runs as a subprocess (`python -m frigade_cli sandbox --port 0 --json`), so the load
generator here does not share its GIL: on a 2-core machine each gets a core, which is the honest
set-up (an in-process sandbox would be slowed by the generator, and flatter the figure's cost).
Request bodies are encoded before the clock starts. The clock runs from the first request until
the Frigade side has ingested every event (polled on `/_sandbox/stats`).

Baseline: the same request bodies POSTed over loopback to a no-op Starlette endpoint on uvicorn
(httptools, uvloop) in a subprocess, which reads the body and answers 200: the transport ceiling
of this stack on this machine. Also printed: the ratio to the 20,000 events/s target.

Bounded: at most --events events (default 200,000) and --timeout seconds (default 120); talks
only to 127.0.0.1; stops its subprocesses on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from frigade_cli.segment.factory import MessageFactory, iso_millis

TARGET_EVENTS_PER_SECOND = 20_000
SERVER_FIELDS = ("receivedAt", "timestamp")  # what Segment's API fills in, not the client


def noop_server() -> None:
    """The baseline server: read the body, answer 200 (run as a subprocess)."""
    import socket
    from datetime import datetime, timezone  # noqa: F401 - keeps imports comparable

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def accept(request: Request) -> Response:
        await request.body()
        return Response(b'{"success":true}', media_type="application/json")

    app = Starlette(routes=[Route("/segment/v1/batch", accept, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(orjson.dumps({"url": f"http://127.0.0.1:{sock.getsockname()[1]}"}).decode(), flush=True)
    config = uvicorn.Config(app, http="httptools", loop="uvloop", log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def subprocess_server(args: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Start a server subprocess that prints one JSON line when ready; stop it on exit."""
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"server {args} did not start (exit {proc.wait()})")
        yield orjson.loads(line)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def make_bodies(events: int, batch: int, write_key: str | None) -> list[bytes]:
    """Segment batch bodies holding `events` identify/group/track messages, client-shaped."""
    factory = MessageFactory(seed=7)
    bodies = []
    messages = []
    for message in factory.mix(events, ("track", "track", "track", "identify", "group")):
        for name in SERVER_FIELDS:
            message.pop(name, None)
        message.pop("sentAt", None)
        messages.append(message)
        if len(messages) == batch:
            bodies.append(_body(messages, write_key))
            messages = []
    if messages:
        bodies.append(_body(messages, write_key))
    return bodies


def _body(messages: list[dict[str, Any]], write_key: str | None) -> bytes:
    from datetime import datetime, timezone

    document: dict[str, Any] = {"batch": messages, "sentAt": iso_millis(datetime.now(timezone.utc))}
    if write_key:
        document["writeKey"] = write_key
    body = orjson.dumps(document)
    assert len(body) < 500_000, "a batch request must stay under Segment's 500 KB"
    return body


async def post_all(url: str, bodies: list[bytes], connections: int) -> None:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=60.0, trust_env=False) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post(
                    url, content=body, headers={"content-type": "application/json"}
                )
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}: {response.text}")

        await asyncio.gather(*(worker() for _ in range(connections)))


async def wait_ingested(control: str, events: int, deadline: float) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
        while True:
            stats: dict[str, Any] = (await client.get(f"{control}/stats")).json()
            if stats["frigade"]["ingested"] >= events:
                return stats
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {stats['frigade']['ingested']} of {events} ingested")
            await asyncio.sleep(0.01)


def run_baseline(bodies: list[bytes], connections: int) -> float:
    with subprocess_server([os.path.abspath(__file__), "--noop-server"]) as info:
        url = info["url"] + "/segment/v1/batch"
        asyncio.run(post_all(url, bodies[:2], connections))  # warm up connections and imports
        started = time.perf_counter()
        asyncio.run(post_all(url, bodies, connections))
        return time.perf_counter() - started


def run_sandbox(
    events: int, batch: int, connections: int, batch_size: int, timeout: float
) -> tuple[float, dict[str, Any]]:
    args = [
        "-m", "frigade_cli", "sandbox", "--port", "0", "--json",
        "--batch-size", str(batch_size), "--flush-interval", "100ms",
    ]  # fmt: skip
    with subprocess_server(args) as info:
        bodies = make_bodies(events, batch, info["write_key"])
        url = info["segment_api_url"] + "/v1/batch"
        started = time.perf_counter()
        asyncio.run(post_all(url, bodies, connections))
        sent = time.perf_counter() - started
        stats = asyncio.run(wait_ingested(info["control_url"], events, time.monotonic() + timeout))
        elapsed = time.perf_counter() - started
        stats["_sent_seconds"] = sent
        return elapsed, stats


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="events per Segment batch request")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=100, help="destination batch size")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", action="store_true", help="one JSON line of figures, no text")
    parser.add_argument("--no-baseline", action="store_true", help="skip the no-op baseline")
    parser.add_argument("--noop-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.noop_server:
        noop_server()
        return
    events = min(args.events, 1_000_000)

    elapsed, stats = run_sandbox(
        events, args.batch, args.connections, args.batch_size, args.timeout
    )
    rate = events / elapsed
    if args.json:
        figures = {
            "events": events,
            "end_to_end_s": round(elapsed, 3),
            "events_per_s": round(rate, 1),
            "accepted_by_segment_s": round(stats["_sent_seconds"], 3),
        }
        if not args.no_baseline:
            baseline_bodies = make_bodies(events, args.batch, None)
            baseline = events / run_baseline(baseline_bodies, args.connections)
            figures["noop_baseline_events_per_s"] = round(baseline, 1)
        print(orjson.dumps(figures).decode())
        return
    baseline_bodies = make_bodies(events, args.batch, None)
    baseline = events / run_baseline(baseline_bodies, args.connections)

    print(
        f"events:              {events:,} in batches of {args.batch}, "
        f"{args.connections} connections"
    )
    print(
        f"destination:         batch size {args.batch_size}, "
        f"{stats['destination']['delivered_batches']:,} webhook batches, "
        f"{stats['destination']['retries']} retries"
    )
    print(
        f"accepted by Segment: {stats['_sent_seconds']:.2f} s "
        f"({events / stats['_sent_seconds']:,.0f} events/s)"
    )
    print(
        f"end to end:          {elapsed:.2f} s -> {rate:,.0f} events/s "
        "(Segment batch in -> webhook delivery -> Frigade ingest)"
    )
    print(
        f"baseline:            {baseline:,.0f} events/s (same bodies POSTed to a no-op "
        "Starlette endpoint on uvicorn)"
    )
    target = TARGET_EVENTS_PER_SECOND
    print(
        f"ratio:               {rate / baseline:.2f}x the no-op baseline; "
        f"{rate / target:.2f}x the {target:,} events/s target"
    )


if __name__ == "__main__":
    main()
