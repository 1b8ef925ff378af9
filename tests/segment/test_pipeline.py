"""test-webhook as a pipeline: messages made lazily, sent while they are made, few held at once.

Structural checks, against a real recording server on 127.0.0.1; nothing here times anything.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from frigade_cli.clients.delivery_report import DeliveryReport, LatencySample
from frigade_cli.clients.frigade_webhook import WebhookSender
from frigade_cli.segment.batching import make_batches
from frigade_cli.segment.factory import MessageFactory
from frigade_cli.segment.streams import iter_messages
from tests.conftest import Cli
from tests.support.recorder import Recorder

KEY = "api_private_test0000abcd"
TYPES = ["identify", "group", "track"]


class Watched:
    """Synthetic messages that note, as each is made, what the server has received so far."""

    def __init__(self, recorder: Recorder, count: int) -> None:
        self.recorder = recorder
        self.count = count
        self.made = 0
        self.requests_seen_at: dict[int, int] = {}  # messages made -> requests received then

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for message in MessageFactory(seed=1).mix(self.count, TYPES):
            self.made += 1
            self.requests_seen_at[self.made] = len(self.recorder.requests)
            yield message


def deliver(
    recorder: Recorder, source: Any, batch_size: int, concurrency: int = 4
) -> tuple[DeliveryReport, list[int]]:
    """Send `source` through the real sender; the batches held unaccepted after each answer."""
    sender = WebhookSender(recorder.webhook_url, KEY, concurrency=concurrency)
    report = DeliveryReport(url=recorder.webhook_url, batch_size=batch_size)
    held: list[int] = []
    asyncio.run(
        sender.deliver(
            report,
            lambda _: held.append(len(report.pending)),
            source=make_batches(source, batch_size),
        )
    )
    return report, held


def test_the_first_request_is_sent_while_messages_are_still_being_made(
    recorder: Recorder,
) -> None:
    watched = Watched(recorder, 3000)

    report, _ = deliver(recorder, watched, batch_size=100)

    assert report.ok
    assert watched.made == 3000
    first_seen = min(made for made, seen in watched.requests_seen_at.items() if seen > 0)
    # The server had the first batch when a small part of the messages had been made.
    assert first_seen <= 600


def test_at_most_concurrency_batches_are_held_and_none_after_acceptance(
    recorder: Recorder,
) -> None:
    report, held = deliver(recorder, MessageFactory(seed=2).mix(5000, TYPES), 50, concurrency=3)

    assert report.ok
    assert report.as_dict()["accepted"] == {"batches": 100, "events": 5000}
    assert len(held) == 100
    assert max(held) <= 3
    assert report.pending == {}
    assert report.outcomes == {}  # outcomes are kept only for batches not accepted


def test_iter_messages_is_lazy_even_for_ten_million() -> None:
    messages = iter_messages(10_000_000, TYPES)

    assert inspect.isgenerator(messages)
    first = [next(messages) for _ in range(3)]
    assert [m["type"] for m in first] == TYPES


def test_a_bounded_sample_keeps_the_exact_count_and_maximum() -> None:
    sample = LatencySample(keep=100)
    for n in range(1, 10_001):
        sample.add(float(n % 997))

    summary = sample.as_dict()

    assert len(sample.values) == 100
    assert summary["count"] == 10_000
    assert summary["max"] == 996.0
    assert summary["p50"] is not None and 200 < summary["p50"] < 800


def test_below_its_bound_a_sample_gives_exact_percentiles() -> None:
    sample = LatencySample(keep=1000)
    for n in range(1, 102):
        sample.add(float(n))

    # 101 values 1..101: the median is 51, the 95th percentile 96 (linear interpolation).
    assert sample.as_dict() == {"count": 101, "p50": 51.0, "p95": 96.0, "max": 101.0}


def test_the_summary_rates_the_whole_run_and_the_send_phase(cli: Cli, recorder: Recorder) -> None:
    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--count", "500", "--batch-size", "50", "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accepted"] == {"batches": 10, "events": 500}
    assert summary["events"] == 500
    assert summary["batches"] == 10
    # The whole run includes the send phase, so its rate cannot be higher.
    assert 0 < summary["events_per_s"] <= summary["send_events_per_s"]
    assert len(recorder.requests) == 10


def test_a_bad_line_deep_in_a_streamed_file_sends_what_came_before_and_exits_3(
    cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"type": "track", "userId": f"u{n}", "event": "E", "messageId": f"m{n}"})
        for n in range(1, 26)
    ]
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join([*lines, '{"type": "track", "userId": ', *lines[:5]]) + "\n")

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--fixture", str(path), "--batch-size", "10",
    )  # fmt: skip

    assert result.exit_code == 3
    assert f"{path} line 26" in result.stderr
    assert "after 25 accepted events" in result.stderr
    sent = [m["messageId"] for body in recorder.bodies() for m in body]
    # Batches are in flight together and may arrive in either order.
    assert sorted(sent, key=lambda m: int(m[1:])) == [f"m{n}" for n in range(1, 26)]


def test_a_fixture_file_is_read_again_when_count_asks_for_more(
    cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    path = tmp_path / "two.ndjson"
    path.write_text(
        '{"type":"identify","userId":"a","messageId":"id-a"}\n'
        '{"type":"track","userId":"b","event":"E"}\n'
    )

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--fixture", str(path), "--count", "5",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    (body,) = recorder.bodies()
    ids = [m["messageId"] for m in body]
    assert [m["userId"] for m in body] == ["a", "b", "a", "b", "a"]
    assert ids[0] == "id-a" and ids[2] == "id-a-2" and ids[4] == "id-a-3"
    assert len(set(ids)) == 5
