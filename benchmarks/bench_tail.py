"""Throughput of `frigade segment tail --listen 0 --json`, fed by concurrent batch senders.

    .venv/bin/python benchmarks/bench_tail.py [--events 300000] [--batch 500] [--connections 8]
                                              [--output file|devnull]

The tail runs as a subprocess (`python -m frigade_cli segment tail --listen 0 --json`), its
stdout going to a file (default; every line is then checked) or to /dev/null (`--output
devnull`: the count is checked from the tail's own summary). Request bodies (Segment batches
with unique messageIds, sent as the Python library sends them: Basic auth, writeKey, sentAt) are
encoded before the clock starts. The clock runs from the first request to the last answer: the
tail answers a request only once its events are written, so every answered event is out.

Checked after the run: every message answered 200 appears exactly once (messageIds compared,
with --output file), and the tail's summary counts as many. Target: 50,000 events/s.
Bounded: at most --events events (default 300,000, cap 2,000,000) and --timeout seconds; talks
only to 127.0.0.1; stops its subprocess on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import httpx
import orjson

from frigade_cli.segment.factory import MessageFactory, iso_millis

TARGET_EVENTS_PER_SECOND = 50_000
WRITE_KEY = "wk_bench0000abcd"
SERVER_FIELDS = ("receivedAt", "timestamp", "sentAt")  # what the API fills in, not the client


def make_bodies(events: int, batch: int) -> tuple[list[bytes], list[str]]:
    """Batch bodies holding `events` track/identify/group messages; and their messageIds."""
    factory = MessageFactory(seed=11)
    bodies: list[bytes] = []
    ids: list[str] = []
    messages: list[dict[str, Any]] = []
    sent_at = iso_millis(datetime.now(timezone.utc))
    for message in factory.mix(events, ("track", "track", "track", "identify", "group")):
        for name in SERVER_FIELDS:
            message.pop(name, None)
        ids.append(message["messageId"])
        messages.append(message)
        if len(messages) == batch:
            bodies.append(
                orjson.dumps({"batch": messages, "sentAt": sent_at, "writeKey": WRITE_KEY})
            )
            messages = []
    if messages:
        bodies.append(orjson.dumps({"batch": messages, "sentAt": sent_at, "writeKey": WRITE_KEY}))
    assert all(len(b) < 500_000 for b in bodies), "a batch must stay under Segment's 500 KB"
    assert len(set(ids)) == len(ids), "the generator must give unique messageIds"
    return bodies, ids


async def post_all(url: str, bodies: list[bytes], connections: int) -> int:
    """POST every body over `connections` keep-alive connections; the events answered 200."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    headers = {"content-type": "application/json", "authorization": auth}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    answered = 0
    async with httpx.AsyncClient(limits=limits, timeout=60.0, trust_env=False) as client:

        async def worker() -> None:
            nonlocal answered
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post(url, content=body, headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}: {response.text}")
                answered += body.count(b'"messageId"')

        await asyncio.gather(*(worker() for _ in range(connections)))
    return answered


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=500, help="events per batch request")
    parser.add_argument("--connections", type=int, default=8, help="concurrent senders")
    parser.add_argument("--output", choices=("file", "devnull"), default="file")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    events = min(args.events, 2_000_000)
    bodies, ids = make_bodies(events, args.batch)

    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "tail.jsonl") if args.output == "file" else os.devnull
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "frigade_cli", "segment", "tail", "--listen", "0", "--json"],
                stdout=out,
                stderr=subprocess.PIPE,
                env=env,
            )
        try:
            assert proc.stderr is not None
            ready = orjson.loads(proc.stderr.readline())
            stderr: list[bytes] = []
            drain = threading.Thread(target=lambda: stderr.extend(proc.stderr or []), daemon=True)
            drain.start()
            url = ready["batch_url"]
            sender_cpu = time.process_time()
            started = time.perf_counter()
            answered = asyncio.run(
                asyncio.wait_for(post_all(url, bodies, args.connections), args.timeout)
            )
            elapsed = time.perf_counter() - started
            sender_cpu = time.process_time() - sender_cpu
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(30)
            tail_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            tail_cpu_s = tail_cpu.ru_utime + tail_cpu.ru_stime
        drain.join(10)
        summary = b"".join(stderr).decode()
        shown = re.search(r"(\d+) events? shown", summary)
        counted = int(shown.group(1)) if shown else -1
        if args.output == "file":
            with open(out_path, "rb") as result:
                lines = result.read().splitlines()
            seen = [orjson.loads(line)["messageId"] for line in lines]
            once = len(seen) == len(set(seen)) and set(seen) == set(ids)
        else:
            seen, once = [], counted == events

    rate = answered / elapsed
    print(f"command:      frigade segment tail --listen 0 --json > {args.output}")
    print(
        f"events:       {answered:,} answered 200 in batches of {args.batch}, "
        f"{args.connections} concurrent senders"
    )
    print(f"elapsed:      {elapsed:.2f} s (first request to last answer)")
    print(
        f"throughput:   {rate:,.0f} events/s "
        f"({rate / TARGET_EVENTS_PER_SECOND:.2f}x the {TARGET_EVENTS_PER_SECOND:,} target)"
    )
    print(f"tail summary: {counted:,} events shown, exit {code}")
    print(
        f"cpu:          tail {tail_cpu_s:.2f} s (whole process, start-up included), "
        f"senders {sender_cpu:.2f} s, on {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}"
    )
    # On a shared machine the wall-clock figure moves with others' load; this one does not.
    print(f"capacity:     {answered / tail_cpu_s:,.0f} events per CPU-second of the tail")
    if args.output == "file":
        print(
            f"output:       {len(seen):,} lines, {len(set(seen)):,} distinct messageIds; "
            f"each sent id exactly once: {once}"
        )
    if answered != events or counted != events or not once or code != 0:
        raise SystemExit("FAILED: events lost, duplicated or miscounted")


if __name__ == "__main__":
    main()
