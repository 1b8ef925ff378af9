"""Segment's official Node library (`@segment/analytics-node`) against the sandbox's tracking API
and against `tail --listen`: every call is accepted, every message is read back exactly once."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from frigade_cli.sandbox import run_sandbox
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config, wait_until
from tests.oracles import corpus
from tests.oracles.harness import Oracles
from tests.support.tail import Tail

SEED = 20261204
METHODS = ["track", "track", "identify", "group", "page", "screen", "alias"]


def calls(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """`count` library calls of every kind, for a few users, some anonymous."""
    made = []
    for n in range(count):
        method = rng.choice(METHODS)
        who: dict[str, Any] = (
            {"userId": f"lib-user-{rng.randrange(5)}"}
            if rng.random() < 0.8 or method == "alias"
            else {"anonymousId": f"lib-anon-{rng.randrange(3)}"}
        )
        params: dict[str, Any] = {**who}
        if method == "track":
            params.update(event=f"Event {n}", properties=corpus.plain_properties(rng))
        elif method in ("identify", "group"):
            params["traits"] = corpus.plain_properties(rng)
            if method == "group":
                params["groupId"] = f"lib-group-{rng.randrange(3)}"
        elif method in ("page", "screen"):
            params.update(name=f"Screen {n}", properties=corpus.plain_properties(rng))
        else:
            params["previousId"] = f"lib-prev-{n}"
        made.append({"method": method, "params": params})
    return made


def assert_all_accepted(answer: dict[str, Any], count: int) -> None:
    assert answer["errors"] == []
    assert answer["delivered"] == [True] * count
    assert answer["statuses"] and set(answer["statuses"]) == {200}
    assert len(set(answer["messageIds"])) == count


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(fast_config(recent_events=5000)) as running:
        yield running


def test_the_library_sends_to_the_sandbox_and_each_message_arrives_once(
    oracles: Oracles, sandbox: RunningSandbox
) -> None:
    rng = random.Random(SEED)
    made = calls(rng, 150)

    [answer] = oracles.map(
        "analytics.mjs",
        [
            {
                "host": sandbox.url,
                "path": "/segment/v1/batch",
                "writeKey": sandbox.write_key,
                "settings": {"maxEventsInBatch": 7, "flushInterval": 50},
                "calls": made,
            }
        ],
    )

    assert_all_accepted(answer, len(made))
    assert sandbox.wait_idle(timeout=10)
    received = sandbox.client.get(
        "/_sandbox/events", params={"side": "segment", "limit": "5000"}
    ).json()["events"]
    seen = Counter(e["message"]["messageId"] for e in received)
    assert seen == Counter(answer["messageIds"])  # every message once, nothing else
    by_id = {e["message"]["messageId"]: e["message"] for e in received}
    for call, message_id in zip(made, answer["messageIds"], strict=True):
        message = by_id[message_id]
        assert message["type"] == call["method"]
        assert {k: message.get(k) for k in call["params"]} == call["params"]
    # The tracks reach the Frigade side through the destination, each once.
    for user in {c["params"].get("userId") or c["params"]["anonymousId"] for c in made}:
        tracks = [
            c["params"]["event"]
            for c in made
            if c["method"] == "track"
            and (c["params"].get("userId") or c["params"].get("anonymousId")) == user
        ]
        response = sandbox.client.get(
            "/v1/users", params={"userId": user}, headers=sandbox.auth_headers
        )
        stored = response.json()["trackingEvents"] if response.status_code == 200 else []
        assert [e["event"] for e in stored] == tracks, user


def test_the_library_sends_to_tail_listen_and_each_message_is_shown_once(
    oracles: Oracles,
) -> None:
    rng = random.Random(SEED + 1)
    made = calls(rng, 120)

    with Tail("--listen", "0", "--json") as tail:
        [answer] = oracles.map(
            "analytics.mjs",
            [
                {
                    "host": tail.url,
                    "writeKey": "wk_library0000abcd",
                    "settings": {"maxEventsInBatch": 9, "flushInterval": 50},
                    "calls": made,
                }
            ],
        )
        wait_until(lambda: len(tail.stdout) >= len(made), timeout=30, what="every message")
        code = tail.stop()

    assert_all_accepted(answer, len(made))
    shown = tail.messages()
    assert Counter(m["messageId"] for m in shown) == Counter(answer["messageIds"])
    assert Counter(m["type"] for m in shown) == Counter(c["method"] for c in made)
    assert code == 0
