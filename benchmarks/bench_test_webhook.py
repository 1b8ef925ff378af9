"""How close `test-webhook` sends to what the loopback link allows.

Baseline ("raw httpx"): the same pre-encoded batch bodies POSTed by a bare httpx.AsyncClient with
the same concurrency to the same receiver. Measured: frigade-cli's WebhookSender on those
batches (headers, retries, bookkeeping), and the whole run (generation + batching + sending).
The receiver is a no-op ASGI app on uvicorn in a separate process, on 127.0.0.1.

    python benchmarks/bench_test_webhook.py [--events 100000] [--batch-size 100] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time

import httpx

from frigade_cli.segment.factory import MessageFactory
from frigade_cli.webhook import DeliveryReport, WebhookSender, build_messages, plan_batches

RECEIVER = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"success":true}'})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            http="httptools", access_log=False)
"""
KEY = "api_private_benchmark_0000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("receiver did not start")


async def raw_httpx(url: str, bodies: list[bytes], concurrency: int) -> float:
    queue = list(reversed(bodies))
    headers = {"content-type": "application/json", "authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def worker() -> None:
            while queue:
                response = await client.post(url, content=queue.pop(), headers=headers)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    try:
        wait_ready(port)
        url = f"http://127.0.0.1:{port}/v1/thirdParty/cdp/segment"
        types = ["identify", "group", "track"]
        batches = plan_batches(
            list(MessageFactory(seed=1).mix(args.events, types)), args.batch_size
        )
        bodies = [b.body for b in batches]
        asyncio.run(raw_httpx(url, bodies[:20], args.concurrency))  # warm up

        baseline = asyncio.run(raw_httpx(url, bodies, args.concurrency))

        sender = WebhookSender(url, KEY, concurrency=args.concurrency)
        report = DeliveryReport(url=url, batch_size=args.batch_size, batches=batches)
        started = time.perf_counter()
        asyncio.run(sender.deliver(report))
        sending = time.perf_counter() - started
        assert report.ok, report.as_dict()

        started = time.perf_counter()
        messages = build_messages(args.events, types, seed=2)
        fresh = plan_batches(messages, args.batch_size)
        report = DeliveryReport(url=url, batch_size=args.batch_size, batches=fresh)
        asyncio.run(sender.deliver(report))
        whole = time.perf_counter() - started
        assert report.ok, report.as_dict()
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)

    n = args.events
    print(f"{n} events, batch size {args.batch_size}, concurrency {args.concurrency}, loopback")
    print(f"baseline raw httpx POST of the same bodies: {n / baseline:>10,.0f} events/s")
    print(
        f"frigade-cli WebhookSender (sending only):  {n / sending:>10,.0f} events/s"
        f"  = {baseline / sending:.0%} of baseline throughput"
    )
    print(
        f"frigade-cli whole run (generate+batch+send): {n / whole:>8,.0f} events/s"
        f"  = {baseline / whole:.0%} of baseline throughput"
    )


if __name__ == "__main__":
    main()
