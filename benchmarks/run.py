"""frigade-cli's performance, measured as a user meets it, against baselines run in the same round.

    python3 -m venv .venv && .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/run.py

Options: `--rounds N` (default 5), `--quick` (one small round: a sanity check, not a figure),
`--json PATH` (default `benchmarks/results.json`), `--only start-up,sending,...`.

It starts its own loopback sinks (`benchmarks/sink.py`: one answering at once, one answering
5 ms late), measures their ceiling with a near-zero-cost client, then runs rounds of:

1. start-up: `frigade --help`, `frigade segment --help`, `frigade segment test-webhook --help`,
   each against `python -c "import typer"` and a one-command Typer app's `--help`
   (`benchmarks/one_command_app.py`, the same Typer) in the same round;
2. sending, whole process: `frigade segment test-webhook --count 100000 --batch-size 100` against
   segment-analytics-python sending the same number of events in batches of 100 to the same
   sink, at once and 5 ms late: events/s over each process's wall time, peak RSS of each;
3. memory: peak RSS of a real send of 1,000,000 events against one of 100,000;
4. `frigade segment tail --listen --json` fed by concurrent senders, count checked (when the
   command exists);
5. the sandbox end to end (`benchmarks/bench_sandbox.py`);
6. `frigade segment latency-check`'s own floor: per-sample time against the sandbox (when the
   command exists).

Every figure is the median and min-max over the rounds; every ratio is paired within its round
(numerator and denominator measured back to back), so load from other processes on the machine
moves both. Peak RSS is read from each child's own rusage (`os.wait4`). Every count is checked at
the receiver. Talks only to 127.0.0.1; stops every process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
API_KEY = "api_private_benchmark0000"
WRITE_KEY = "benchmark_write_key"
RUN_SLOT = "runslot00000"  # 12 characters, as a run id
SECTIONS = ("start-up", "sending", "memory", "tail", "sandbox", "latency-check")


@dataclass
class Child:
    """A finished child process: wall time, its own peak RSS, exit code and output."""

    wall_s: float
    max_rss_mb: float
    returncode: int
    stdout: bytes
    stderr: bytes


def run_child(
    args: Sequence[str], timeout: float = 600.0, env: dict[str, str] | None = None
) -> Child:
    """Run `args` to completion; peak RSS from this child's rusage (os.wait4), not all children."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in kilobytes on Linux.
        return Child(wall, usage.ru_maxrss / 1024, proc.returncode, out.read(), err.read())


def child_env(state: Path) -> dict[str, str]:
    """The environment of every measured command: no proxy, no user config, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        FRIGADE_CONFIG_DIR=str(state / "config"),
        FRIGADE_STATE_DIR=str(state / "state"),
        NO_COLOR="1",
        COLUMNS="120",
    )
    env.pop("FRIGADE_API_KEY", None)
    return env


def frigade_command() -> list[str]:
    """The installed `frigade` script beside this interpreter, as a user runs it."""
    script = Path(sys.executable).parent / "frigade"
    return [str(script)] if script.exists() else [sys.executable, "-m", "frigade_cli"]


# Sinks ------------------------------------------------------------------------------------------
@dataclass
class Sink:
    """A running `benchmarks/sink.py`."""

    proc: subprocess.Popen[bytes]
    url: str
    port: int
    delay_ms: float

    def counts(self) -> tuple[int, int]:
        """(requests, events) the sink has received so far."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/_count")
            data = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        return int(data["requests"]), int(data["events"])


@contextmanager
def running_sink(delay_ms: float) -> Iterator[Sink]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "sink.py"), "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"the sink did not start (exit {proc.wait()})")
        info = json.loads(line)
        yield Sink(proc, info["url"], int(info["port"]), delay_ms)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def sample_body(events: int) -> bytes:
    """One webhook body of `events` synthetic messages, as test-webhook sends them."""
    from frigade_cli.segment import jsjson
    from frigade_cli.segment.factory import MessageFactory

    messages = MessageFactory(seed=1).mix(events, ["identify", "group", "track"])
    return b"[" + b",".join(jsjson.dumps(m) for m in messages) + b"]"


async def _ceiling(port: int, body: bytes, requests: int, connections: int) -> float:
    """Requests per second a minimal client (raw sockets, keep-alive) gets from the sink."""
    head = (
        f"POST /v1/thirdParty/cdp/segment HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    request = head + body
    left = [requests]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            writer.write(request)
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(16)  # the sink's fixed '{"success":true}'
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return requests / (time.perf_counter() - started)


def sink_ceiling(sink: Sink, batch_size: int, requests: int, connections: int) -> float:
    """Events per second the sink absorbs from a client that costs next to nothing."""
    body = sample_body(batch_size)
    rate = asyncio.run(_ceiling(sink.port, body, requests, connections))
    return rate * batch_size


# Measurements -----------------------------------------------------------------------------------
@dataclass
class Metric:
    """One figure measured once per round."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    note: str = ""

    def summary(self) -> dict[str, Any]:
        if not self.values:
            return {"unit": self.unit, "rounds": [], "note": self.note}
        return {
            "unit": self.unit,
            "rounds": [round(v, 4) for v in self.values],
            "median": round(statistics.median(self.values), 4),
            "min": round(min(self.values), 4),
            "max": round(max(self.values), 4),
            "note": self.note,
        }


@dataclass
class Bar:
    """A target: the metric's median must be at least (or at most) `limit`."""

    metric: str
    limit: float
    at_least: bool

    def held(self, metrics: dict[str, Metric]) -> bool | None:
        values = metrics[self.metric].values if self.metric in metrics else []
        if not values:
            return None
        median = statistics.median(values)
        return median >= self.limit if self.at_least else median <= self.limit

    def text(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.limit:g}"


BARS = [
    Bar("start-up: frigade --help / import typer", 2.0, at_least=False),
    Bar("start-up: frigade segment --help / import typer", 3.0, at_least=False),
    Bar("start-up: frigade segment test-webhook --help / import typer", 3.0, at_least=False),
    Bar("start-up: frigade segment --help / one-command Typer app --help", 1.0, at_least=False),
    Bar("sending, immediate sink: frigade / segment-analytics-python", 5.0, at_least=True),
    Bar("sending, 5 ms sink: frigade / segment-analytics-python", 6.0, at_least=True),
    Bar("memory: peak RSS at 1,000,000 / at 100,000", 1.3, at_least=False),
    Bar("tail --listen --json", 50_000, at_least=True),
    Bar("sandbox end to end", 20_000, at_least=True),
]


class Bench:
    """The rounds, their metrics, and the processes they need."""

    def __init__(self, args: argparse.Namespace, state: Path) -> None:
        self.args = args
        self.env = child_env(state)
        self.metrics: dict[str, Metric] = {}
        self.notes: list[str] = []
        self.frigade = frigade_command()

    def record(self, name: str, unit: str, value: float | None, note: str = "") -> None:
        metric = self.metrics.setdefault(name, Metric(name, unit))
        if value is not None:
            metric.values.append(value)
        if note:
            metric.note = note

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    # 1. start-up
    def start_up(self) -> None:
        commands = {
            "import typer": [sys.executable, "-c", "import typer"],
            "one-command Typer app --help": [
                sys.executable, str(HERE / "one_command_app.py"), "--help",
            ],
            "frigade --help": [*self.frigade, "--help"],
            "frigade segment --help": [*self.frigade, "segment", "--help"],
            "frigade segment test-webhook --help": [
                *self.frigade, "segment", "test-webhook", "--help",
            ],
        }  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(self.args.start_up_repeats):  # interleaved, so load hits all alike
            for name, command in commands.items():
                child = run_child(command, timeout=60, env=self.env)
                if child.returncode != 0:
                    raise SystemExit(f"{name} failed: {child.stderr.decode()[-500:]}")
                times[name].append(child.wall_s)
        best = {name: min(values) for name, values in times.items()}  # least-disturbed run
        for name, value in best.items():
            self.record(f"start-up: {name}", "ms", value * 1000)
            if name != "import typer":
                self.record(f"start-up: {name} / import typer", "x", value / best["import typer"])
        for name in ("frigade segment --help", "frigade segment test-webhook --help"):
            self.record(
                f"start-up: {name} / one-command Typer app --help",
                "x",
                best[name] / best["one-command Typer app --help"],
            )

    # 2. sending
    def test_webhook(self, sink: Sink, count: int) -> Child:
        before = sink.counts()[1]
        child = run_child(
            [
                *self.frigade, "segment", "test-webhook",
                "--url", f"{sink.url}/v1/thirdParty/cdp/segment", "--api-key", API_KEY,
                "--count", str(count), "--batch-size", "100", "--json",
            ],
            env=self.env,
        )  # fmt: skip
        if child.returncode != 0:
            raise SystemExit(f"test-webhook failed ({child.returncode}): {child.stderr[-800:]!r}")
        received = sink.counts()[1] - before
        if received != count:
            raise SystemExit(f"the sink received {received} events of {count} from test-webhook")
        return child

    def baseline(self, sink: Sink, count: int) -> Child:
        before = sink.counts()[1]
        child = run_child(
            [sys.executable, str(HERE / "baseline_segment.py"), sink.url, str(count)],
            env=self.env,
        )
        if child.returncode != 0:
            raise SystemExit(f"segment-analytics-python failed: {child.stderr[-800:]!r}")
        received = sink.counts()[1] - before
        if received != count:
            raise SystemExit(f"the sink received {received} events of {count} from the baseline")
        return child

    def sending(self, sink: Sink, label: str) -> None:
        count = self.args.count
        ours = self.test_webhook(sink, count)
        theirs = self.baseline(sink, count)
        summary = json.loads(ours.stdout)
        ours_rate, theirs_rate = count / ours.wall_s, count / theirs.wall_s
        prefix = f"sending, {label}"
        self.record(f"{prefix}: frigade events/s (whole process)", "events/s", ours_rate)
        self.record(
            f"{prefix}: frigade events/s (its own summary)", "events/s", summary["events_per_s"]
        )
        self.record(f"{prefix}: segment-analytics-python events/s", "events/s", theirs_rate)
        self.record(f"{prefix}: frigade / segment-analytics-python", "x", ours_rate / theirs_rate)
        self.record(f"{prefix}: frigade peak RSS", "MB", ours.max_rss_mb)
        self.record(f"{prefix}: segment-analytics-python peak RSS", "MB", theirs.max_rss_mb)

    # 3. memory
    def memory(self, sink: Sink) -> None:
        small, large = self.args.count, self.args.memory_count
        big = self.test_webhook(sink, large)
        little = self.test_webhook(sink, small)
        self.record(f"memory: peak RSS at {large:,}", "MB", big.max_rss_mb)
        self.record(f"memory: peak RSS at {small:,}", "MB", little.max_rss_mb)
        self.record(
            f"memory: peak RSS at {large:,} / at {small:,}", "x", big.max_rss_mb / little.max_rss_mb
        )
        self.record(f"memory: frigade events/s at {large:,} (whole process)", "events/s",
                    large / big.wall_s)  # fmt: skip

    # 4. tail --listen
    def has_command(self, *path: str) -> bool:
        child = run_child([*self.frigade, *path, "--help"], timeout=60, env=self.env)
        return child.returncode == 0

    def tail(self) -> None:
        name = "tail --listen --json"
        if not self.has_command("segment", "tail"):
            self.record(name, "events/s", None, "not available: no 'frigade segment tail' yet")
            return
        try:
            rate = tail_throughput(self.frigade, self.env, self.args.tail_events)
        except TailUnavailable as exc:
            self.record(name, "events/s", None, f"not available: {exc}")
            return
        self.record(name, "events/s", rate, "4 concurrent senders, batches of 100, count checked")

    # 5. sandbox
    def sandbox(self) -> None:
        events = self.args.sandbox_events
        child = run_child(
            [sys.executable, str(HERE / "bench_sandbox.py"), "--events", str(events),
             "--json", "--no-baseline"],
            env=self.env,
        )  # fmt: skip
        if child.returncode != 0:
            self.record(
                "sandbox end to end", "events/s", None, "failed: " + child.stderr[-300:].decode()
            )
            return
        figures = json.loads(child.stdout.decode().strip().splitlines()[-1])
        note = f"{events:,} events: Segment batch in -> webhook -> Frigade ingest"
        self.record("sandbox end to end", "events/s", figures["events_per_s"], note)

    # 6. latency-check
    def latency_check(self) -> None:
        name = "latency-check: per-sample floor against the sandbox"
        if not self.has_command("segment", "latency-check"):
            self.record(name, "ms", None, "not available: no 'frigade segment latency-check' yet")
            return
        samples = self.args.latency_samples
        child = run_child(
            [*self.frigade, "segment", "latency-check", "--sandbox", "--path", "api",
             "--samples", str(samples), "--json"],
            env=self.env,
        )  # fmt: skip
        try:
            report = json.loads(child.stdout)
            value = float(report["mean_ms"])
        except (ValueError, KeyError, TypeError):
            self.record(name, "ms", None, f"not available: exit {child.returncode}, "
                        + child.stderr.decode(errors="replace").strip()[-200:])  # fmt: skip
            return
        self.record(name, "ms", value, f"mean of {samples} samples, --path api, in-process sandbox")
        self.record("latency-check: whole run", "s", child.wall_s)


class TailUnavailable(Exception):
    """`tail --listen` exists but did not behave as the benchmark expects."""


def tail_throughput(frigade: list[str], env: dict[str, str], events: int) -> float:
    """events/s of `tail --listen 127.0.0.1:0 --json` fed by 4 concurrent batch senders.

    The clock runs from the first request to the last line of output; every event must come
    out exactly once (lines counted on its stdout).
    """
    proc = subprocess.Popen(
        [*frigade, "segment", "tail", "--listen", "127.0.0.1:0", "--json", "--limit", str(events)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        port = _ready_port(proc)
        lines = [0]

        def count_lines() -> None:
            assert proc.stdout is not None
            while chunk := proc.stdout.read(1 << 16):
                lines[0] += chunk.count(b"\n")

        reader = threading.Thread(target=count_lines, daemon=True)
        reader.start()
        body = _segment_batch_body(100)
        started = time.perf_counter()
        _post_concurrently(port, "/v1/batch", body, events // 100, 4)
        reader.join(timeout=60)
        elapsed = time.perf_counter() - started
    finally:
        proc.kill()
        proc.wait()
    if lines[0] != (events // 100) * 100:
        raise TailUnavailable(f"tail printed {lines[0]} events of {(events // 100) * 100}")
    return lines[0] / elapsed


def _ready_port(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise TailUnavailable(f"tail exited ({proc.wait()}) before saying where it listens")
        match = re.search(rb"127\.0\.0\.1:(\d+)", line)
        if match:
            return int(match.group(1))
    raise TailUnavailable("no ready line from tail")


def _segment_batch_body(events: int) -> bytes:
    """A tracking-API batch body (client-shaped: no server fields), with the write key."""
    from frigade_cli.segment.factory import MessageFactory

    messages = []
    # The run id sits in every messageId: each request puts its own in its place (tail shows a
    # repeated messageId once, as Segment drops it).
    for message in MessageFactory(seed=3, run_id=RUN_SLOT).mix(
        events, ["identify", "group", "track"]
    ):
        for name in ("receivedAt", "timestamp", "sentAt"):
            message.pop(name, None)
        messages.append(message)
    return json.dumps({"batch": messages, "writeKey": WRITE_KEY}).encode()


def _post_concurrently(port: int, path: str, body: bytes, requests: int, senders: int) -> None:
    left = [requests]
    sent = [0]
    lock = threading.Lock()
    failures: list[str] = []

    def sender() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"content-type": "application/json"}
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            with lock:
                sent[0] += 1
                unique = body.replace(RUN_SLOT.encode(), b"%012d" % sent[0])
            conn.request("POST", path, body=unique, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures.append(str(response.status))
        conn.close()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise TailUnavailable(f"tail answered {failures[0]} to {len(failures)} requests")


# Report -----------------------------------------------------------------------------------------
def fmt(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "events/s":
        return f"{value:,.0f}"
    if unit in ("MB", "ms"):
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def table(bench: Bench, ceilings: dict[str, float], judge: bool = True) -> str:
    """The results as a Markdown table; `judge` false (a --quick run) leaves the bars out."""
    bars = {bar.metric: bar for bar in BARS} if judge else {}
    rows = [("figure", "unit", "median", "min-max", "bar", "held")]
    for name, value in ceilings.items():
        rows.append((name, "events/s", fmt(value, "events/s"), "", "", ""))
    for metric in bench.metrics.values():
        bar = bars.get(metric.name)
        if not metric.values:
            rows.append((metric.name, metric.unit, metric.note, "", bar.text() if bar else "", ""))
            continue
        held = bar.held(bench.metrics) if bar else None
        rows.append(
            (
                metric.name,
                metric.unit,
                fmt(statistics.median(metric.values), metric.unit),
                f"{fmt(min(metric.values), metric.unit)} - {fmt(max(metric.values), metric.unit)}",
                bar.text() if bar else "",
                "" if held is None else ("yes" if held else "NO"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        )
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one small round, a sanity check")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", dest="json_path")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section {', '.join(sorted(unknown))}; choose from {SECTIONS}")
    args.count = 100_000
    args.memory_count = 1_000_000
    args.memory_rounds = 3
    args.start_up_repeats = 3
    args.tail_events = 200_000
    args.sandbox_events = 200_000
    args.latency_samples = 50
    if args.quick:
        args.rounds, args.memory_rounds, args.start_up_repeats = 1, 1, 1
        args.count, args.memory_count = 10_000, 50_000
        args.tail_events, args.sandbox_events, args.latency_samples = 10_000, 10_000, 5
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import segment.analytics  # noqa: F401
    except ImportError:
        raise SystemExit(
            "the baseline library is missing: pip install -e '.[bench]' (segment-analytics-python)"
        ) from None
    state = Path(tempfile.mkdtemp(prefix="frigade-bench-"))
    bench = Bench(args, state)
    ceilings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        with running_sink(0) as immediate, running_sink(5) as late:
            if "sending" in args.sections or "memory" in args.sections:
                requests = 200 if args.quick else 2000
                ceilings["sink ceiling, immediate (raw client, 4 connections)"] = sink_ceiling(
                    immediate, 100, requests, 4
                )
                ceilings["sink ceiling, 5 ms (raw client, 4 connections)"] = sink_ceiling(
                    late, 100, requests // 4, 4
                )
            for n in range(1, args.rounds + 1):
                bench.say(f"round {n} of {args.rounds}")
                if "start-up" in args.sections:
                    bench.start_up()
                if "sending" in args.sections:
                    bench.sending(immediate, "immediate sink")
                    bench.sending(late, "5 ms sink")
                if "memory" in args.sections and n <= args.memory_rounds:
                    bench.memory(immediate)
            if "tail" in args.sections:
                for _ in range(1 if args.quick else min(args.rounds, 3)):
                    bench.tail()
            if "sandbox" in args.sections:
                for _ in range(1 if args.quick else min(args.rounds, 3)):
                    bench.sandbox()
            if "latency-check" in args.sections:
                for _ in range(1 if args.quick else min(args.rounds, 3)):
                    bench.latency_check()
    finally:
        shutil.rmtree(state, ignore_errors=True)

    results = {
        "command": "python benchmarks/run.py" + (" --quick" if args.quick else ""),
        "machine": machine(),
        "rounds": args.rounds,
        "duration_s": round(time.perf_counter() - started, 1),
        "sink_ceiling_events_per_s": {k: round(v, 1) for k, v in ceilings.items()},
        "metrics": {name: metric.summary() for name, metric in bench.metrics.items()},
        "bars": [
            {"metric": bar.metric, "bar": bar.text(), "held": bar.held(bench.metrics)}
            for bar in BARS
            if bar.metric in bench.metrics and not args.quick  # a sanity run judges nothing
        ],
    }
    args.json_path.write_text(json.dumps(results, indent=2) + "\n")
    sys.stderr.flush()
    print(table(bench, ceilings, judge=not args.quick))
    print(f"\n{args.rounds} round(s) on {machine()['cpus']} CPUs, load {machine()['load_average']};"
          f" results written to {args.json_path}")  # fmt: skip


if __name__ == "__main__":
    main()
