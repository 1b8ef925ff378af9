"""The live stream's ids name the sandbox run, so a reader resumes across a restart too."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import post_batch
from tests.sandbox.conftest import track


def _blocks(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """SSE blocks as {field: value} (comments dropped), one per blank-line-terminated block."""
    block: dict[str, str] = {}
    for line in lines:
        if not line:
            if block:
                yield block
            block = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            block[name] = value


def test_a_stream_opens_with_its_position_and_ids_name_the_run(sb: RunningSandbox) -> None:
    post_batch(sb, [track(messageId="before")])
    with sb.client.stream("GET", "/_sandbox/stream", params={"side": "segment"}) as response:
        blocks = _blocks(response.iter_lines())
        opening = next(blocks)
        post_batch(sb, [track(messageId="after")])
        event = next(b for b in blocks if "data" in b)

    run, _, start = opening["id"].partition(".")
    assert "data" not in opening and int(start) >= 1  # after the event sent before it opened
    assert event["id"] == f"{run}.{orjson.loads(event['data'])['seq']}"
    assert orjson.loads(event["data"])["message"]["messageId"] == "after"


def test_an_id_from_another_run_replays_everything_this_run_holds(sb: RunningSandbox) -> None:
    post_batch(sb, [track(messageId="one"), track(messageId="two")])

    headers = {"Last-Event-ID": "0000dead.500"}
    with sb.client.stream(
        "GET", "/_sandbox/stream", params={"side": "segment"}, headers=headers
    ) as response:
        blocks = (b for b in _blocks(response.iter_lines()) if "data" in b)
        replayed = [orjson.loads(next(blocks)["data"])["message"]["messageId"] for _ in range(2)]

    assert replayed == ["one", "two"]
