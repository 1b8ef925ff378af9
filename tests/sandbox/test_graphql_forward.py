"""GraphQL integrations and the reverse stream: flowStates -> Segment track events."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from frigade_cli.sandbox.forward import FLOW_STATE_EVENTS
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import wait_until
from tests.sandbox.conftest import bearer, recent_events
from tests.support.recorder import Recorder

UPSERT = """
mutation Connect($data: String!) {
  upsertIntegration(type: SEGMENT, status: ACTIVE, connectionData: $data) {
    id type status connectionData
  }
}
"""


def graphql(sb: RunningSandbox, query: str, key: str | None = None, **variables: Any) -> Any:
    response = sb.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=bearer(key or sb.api_key),
    )
    return response


def connect(sb: RunningSandbox, write_key: str, name: str = "writeKey") -> dict[str, Any]:
    response = graphql(sb, UPSERT, data=orjson.dumps({name: write_key}).decode())
    assert response.status_code == 200, response.text
    integration: dict[str, Any] = response.json()["data"]["upsertIntegration"]
    return integration


def flow_state(sb: RunningSandbox, action: str = "STARTED_FLOW") -> None:
    response = sb.client.post(
        "/v1/public/flowStates",
        json={"userId": "u1", "flowSlug": "onboarding", "stepId": "welcome", "actionType": action},
        headers=bearer(sb.public_key),
    )
    assert response.status_code == 201


@pytest.mark.parametrize("name", ["writeKey", "segmentWriteKey", "apiKey"])
def test_upsert_integration_returns_it_with_the_key_masked(sb: RunningSandbox, name: str) -> None:
    integration = connect(sb, sb.write_key, name)

    assert integration["type"] == "SEGMENT" and integration["status"] == "ACTIVE"
    assert integration["id"].startswith("int_")
    masked = orjson.loads(integration["connectionData"])
    assert masked[name] == "****" + sb.write_key[-4:]


def test_upsert_again_updates_the_one_integration(sb: RunningSandbox) -> None:
    first = connect(sb, "wk_one_123456")
    second = connect(sb, "wk_two_654321")

    response = graphql(sb, "query { integrations(skip: 0, take: 10) { id status } }")

    assert first["id"] == second["id"]
    assert response.json() == {"data": {"integrations": [{"id": first["id"], "status": "ACTIVE"}]}}


def test_inline_literals_and_aliases_work(sb: RunningSandbox) -> None:
    data = orjson.dumps(orjson.dumps({"writeKey": "wk_inline_key"}).decode()).decode()
    query = f"mutation {{ made: upsertIntegration(type: SEGMENT, status: INACTIVE, connectionData: {data}) {{ status __typename }} }}"  # noqa: E501

    response = graphql(sb, query)

    assert response.json() == {
        "data": {"made": {"status": "INACTIVE", "__typename": "Integration"}}
    }


def test_delete_integration_removes_it(sb: RunningSandbox) -> None:
    integration = connect(sb, sb.write_key)

    deleted = graphql(
        sb, "mutation($id: String!) { deleteIntegration(id: $id) }", id=integration["id"]
    )
    listed = graphql(sb, "{ integrations { id } }")

    assert deleted.json() == {"data": {"deleteIntegration": True}}
    assert listed.json() == {"data": {"integrations": []}}


@pytest.mark.parametrize(
    ("query", "variables", "status", "fragment"),
    [
        (UPSERT, {"data": '{"token": "x"}'}, 200, "writeKey, segmentWriteKey, apiKey"),
        (UPSERT, {"data": "not json"}, 200, "JSON object"),
        ('mutation { deleteIntegration(id: "nope") }', {}, 200, "no integration"),
        ("mutation { upsertIntegration(type: SEGMENT", {}, 400, "Syntax Error"),
        ("query { users { id } }", {}, 400, 'Cannot query field "users"'),
        ("query { integrations { secret } }", {}, 400, 'Cannot query field "secret"'),
        ("mutation { integrations { id } }", {}, 400, 'on type "Mutation"'),
    ],
)
def test_graphql_errors_name_the_problem(
    sb: RunningSandbox, query: str, variables: dict[str, Any], status: int, fragment: str
) -> None:
    response = graphql(sb, query, **variables)

    assert response.status_code == status
    [error] = response.json()["errors"]
    assert fragment in error["message"]


def test_graphql_needs_the_private_key(sb: RunningSandbox) -> None:
    assert graphql(sb, "{ integrations { id } }", key=sb.public_key).status_code == 403
    assert sb.client.post("/graphql", json={"query": "{ integrations { id } }"}).status_code == 401


def test_a_flow_state_reaches_the_segment_side_as_a_track_event(sb: RunningSandbox) -> None:
    connect(sb, sb.write_key)

    flow_state(sb, "COMPLETED_STEP")

    wait_until(lambda: sb.stats()["forward"]["forwarded"] == 1, what="the forward")
    [received] = recent_events(sb, side="segment", type="track")
    message = received["message"]
    assert message["event"] == FLOW_STATE_EVENTS["COMPLETED_STEP"] == "flowResponse.completedStep"
    assert message["properties"] == {
        "flowSlug": "onboarding",
        "stepId": "welcome",
        "actionType": "COMPLETED_STEP",
    }
    assert message["userId"] == "u1" and message["receivedAt"]
    assert [e["kind"] for e in recent_events(sb, side="forward")] == ["track"]


def test_forwards_go_to_the_configured_segment_api_with_basic_auth(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    sb.configure(segment_api_url=recorder.url)
    connect(sb, "wk_customer_0001")

    flow_state(sb)

    wait_until(lambda: recorder.requests, what="the track request")
    [request] = recorder.requests
    assert (request.method, request.path) == ("POST", "/v1/track")
    expected = base64.b64encode(b"wk_customer_0001:").decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.json()["event"] == "flowResponse.startedFlow"


def test_a_wrong_write_key_is_refused_by_the_segment_side_and_counted(sb: RunningSandbox) -> None:
    connect(sb, "wk_not_the_sandbox_key")

    flow_state(sb)

    wait_until(lambda: sb.stats()["forward"]["failed"] == 1, what="the failed forward")
    [failed] = recent_events(sb, side="forward")
    assert failed["kind"] == "failed" and failed["message"]["status"] == 401


def test_without_an_active_integration_nothing_is_forwarded(sb: RunningSandbox) -> None:
    query = UPSERT.replace("ACTIVE", "INACTIVE")
    graphql(sb, query, data=orjson.dumps({"writeKey": sb.write_key}).decode())

    flow_state(sb)
    sb.wait_idle()

    assert sb.stats()["forward"] == {"flow_states": 1, "forwarded": 0, "failed": 0}
