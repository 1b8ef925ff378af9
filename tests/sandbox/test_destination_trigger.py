"""The sandbox's destination filters with the subscription's trigger as Segment's runtime does:
its deliveries, for the same messages, against Segment's own evaluator run in Node."""

from __future__ import annotations

import random
from typing import Any

import pytest

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import post_batch
from tests.conftest import Cli
from tests.oracles import fql_corpus
from tests.oracles.harness import Oracles
from tests.sandbox.conftest import group, identify, track
from tests.support.recorder import Recorder

# Each one read by Segment otherwise than it seems to say, or a quirk of its evaluator.
TRIGGERS = [
    'type = "identify" OR type = "track"',  # OR is a word: and
    'type = "track" or(type = "identify")',  # or( is a word: and
    'type = "identify" or type = "track" and',  # the trailing and decides
    '!(type = "track")',  # the ! is dropped
    "type = identify or type = group",  # bare words are strings
    'event != "Signed Up"',  # identify and group have no event: undefined !== "Signed Up"
    'type = "track" and (contains(event, "Order") or contains(event, "Signed"))',
    'properties.price < "100" or traits.count = 5',
    "properties.empty = null or traits.flag = true",
    'match(event, "Signed*") or !contains(userId, "u")',
    "properties.tags.length = 2",
    'type = "track" or ()',  # the runtime throws on what reaches ()
]


def delivered_ids(recorder: Recorder) -> set[str]:
    return {
        m["messageId"]
        for body in recorder.bodies()
        for m in (body if isinstance(body, list) else [body])
    }


def test_deliveries_follow_segments_own_evaluator(
    sb: RunningSandbox, recorder: Recorder, oracles: Oracles
) -> None:
    # The corpus, minus what the sandbox's Segment side refuses (a track with an empty event).
    messages = [m for m in fql_corpus.events(7, 8) if m.get("event") != ""]
    cases = fql_corpus.triggers(7, 400)
    rng = random.Random(7)
    triggers = TRIGGERS + rng.sample([c.written for c in cases], 60)
    with oracles.run("fql.mjs") as oracle:
        answers = oracle.map([{"trigger": t, "events": messages} for t in triggers])
        accepted = [(t, a) for t, a in zip(triggers, answers, strict=True) if a["error"] is None]
        assert len(accepted) > 40
        disagreements = []
        for n, (trigger, answer) in enumerate(accepted):
            sb.configure(
                destination={
                    "url": recorder.webhook_url,
                    "headers": {"Authorization": "Bearer k"},
                    "trigger": trigger,
                }
            )
            batch = [{**m, "messageId": f"{n}-{m['messageId']}"} for m in messages]
            assert post_batch(sb, batch).status_code == 200
            sb.wait_idle()
            sent = delivered_ids(recorder)
            recorder.requests.clear()
            expected = {
                b["messageId"]
                for b, decided in zip(batch, answer["matches"], strict=True)
                if decided is True
            }
            if sent != expected:
                disagreements.append((trigger, sorted(sent ^ expected)[:3]))
    assert disagreements == []


def test_the_public_api_shows_the_trigger_the_destination_applies(sb: RunningSandbox) -> None:
    path = "/segmentapis/destinations/dst_sandbox_webhooks/subscriptions"
    sb.configure(destination={"trigger": 'type = "track" and event = "Signed Up"'})
    response = sb.client.get(path, headers=sb.auth_headers)
    assert response.status_code == 200, response.text
    subscriptions = response.json()["data"]["subscriptions"]
    assert subscriptions[0]["trigger"] == 'type = "track" and event = "Signed Up"'


def test_events_the_trigger_leaves_out_are_counted_as_filtered(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    sb.configure(
        destination={
            "url": recorder.webhook_url,
            "headers": {"Authorization": "Bearer k"},
            "trigger": 'type = "identify" OR type = "track"',  # reads as `and`: nothing passes
        }
    )
    post_batch(sb, [track(), identify(), group()])
    sb.wait_idle()

    assert recorder.requests == []
    assert sb.stats()["destination"]["filtered_events"] == 3


@pytest.mark.parametrize(
    ("trigger", "fragment"),
    [
        ('type !="track"', 'write: type != "track"'),
        ('traits.plan< "a"', 'write: traits.plan < "a"'),
        ('((type = "track"))', "cannot nest parentheses"),
        (5, "must be an FQL string"),
    ],
)
def test_a_trigger_segment_rejects_is_400_and_changes_nothing(
    sb: RunningSandbox, trigger: Any, fragment: str
) -> None:
    response = sb.client.patch("/_sandbox/config", json={"destination": {"trigger": trigger}})

    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert sb.client.get("/_sandbox/config").json()["destination"]["trigger"] is None


def test_the_trigger_flag_refuses_what_segment_rejects_with_exit_3(cli: Cli) -> None:
    result = cli("sandbox", "--port", "0", "--trigger", '! contains(event, "x")')

    assert result.exit_code == 3
    assert "Segment rejects it" in result.stderr and 'write: !contains(event, "x")' in result.stderr
