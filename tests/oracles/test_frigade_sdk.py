"""Frigade's own JavaScript SDK (`@frigade/js`) against the sandbox's Frigade side.

Every call must succeed with no warning (the SDK reports a failed call only with
`console.warn("Call to Frigade failed: ...")`), and what it wrote must read back exactly once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from frigade_cli.sandbox import run_sandbox
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config
from tests.oracles import corpus
from tests.oracles.harness import Oracles

SEED = 20261203


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(fast_config()) as running:
        yield running


def read(sandbox: RunningSandbox, kind: str, key: str) -> dict[str, Any]:
    response = sandbox.client.get(
        f"/v1/{kind}s", params={f"{kind}Id": key}, headers=sandbox.auth_headers
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_session_of_sdk_calls_succeeds_with_no_warning_and_reads_back_once(
    oracles: Oracles, sandbox: RunningSandbox
) -> None:
    rng = random.Random(SEED)
    user_id, group_id = f"sdk-user-{rng.randrange(10**6)}", f"sdk-group-{rng.randrange(10**6)}"
    user_traits: dict[str, Any] = {}
    group_traits: dict[str, Any] = {}
    tracked: list[tuple[str, dict[str, Any]]] = []
    calls: list[dict[str, Any]] = [{"op": "identify", "args": [user_id, {"plan": "free"}]}]
    user_traits["plan"] = "free"
    calls.append({"op": "group", "args": [group_id, {"name": "Acme"}]})
    group_traits["name"] = "Acme"
    for n in range(60):
        kind = rng.choice(["track", "track", "track", "identify", "group", "getFlows"])
        if kind == "track":
            event = (f"Event {n}", corpus.plain_properties(rng))
            tracked.append(event)
            calls.append({"op": "track", "args": list(event)})
        elif kind == "identify":
            traits = corpus.plain_properties(rng)
            user_traits.update(traits)
            calls.append({"op": "identify", "args": [user_id, traits]})
        elif kind == "group":
            traits = corpus.plain_properties(rng)
            group_traits.update(traits)
            calls.append({"op": "group", "args": [group_id, traits]})
        else:
            calls.append({"op": "getFlows"})
    calls += [{"op": "getFlow", "args": ["no-such-flow"]}, {"op": "getCollections"}]

    [answer] = oracles.map(
        "frigade.mjs",
        [{"apiUrl": sandbox.url, "apiKey": sandbox.public_key, "userId": user_id, "calls": calls}],
    )

    assert answer["warnings"] == []
    assert answer["hasFailed"] is False
    user, group = read(sandbox, "user", user_id), read(sandbox, "group", group_id)
    assert user["properties"] == user_traits
    assert group["properties"] == group_traits and group["userIds"] == [user_id]
    # A track with a group set is written to the user and to the group: once each.
    for record in (user, group):
        events = [(e["event"], e["properties"]) for e in record["trackingEvents"]]
        assert events == tracked


def test_a_guest_session_reads_its_flows_without_writing_anything(
    oracles: Oracles, sandbox: RunningSandbox
) -> None:
    before = sandbox.stats(), len(sandbox.sandbox.store.flow_states)
    calls = [{"op": "getFlows"}, {"op": "getFlow", "args": ["onboarding"]}]

    [answer] = oracles.map(
        "frigade.mjs", [{"apiUrl": sandbox.url, "apiKey": sandbox.public_key, "calls": calls}]
    )

    assert answer["warnings"] == [] and answer["hasFailed"] is False
    assert answer["results"] == [[], None]  # the sandbox has no flows
    # A read: no write, no flow state recorded.
    assert (sandbox.stats()["frigade"], len(sandbox.sandbox.store.flow_states)) == (
        before[0]["frigade"],
        before[1],
    )
