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
mutation Connect($type: String!, $status: String!, $data: String!) {
  upsertIntegration(type: $type, status: $status, connectionData: $data) {
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


def connect(
    sb: RunningSandbox, write_key: str, name: str = "writeKey", status: str = "ACTIVE"
) -> dict[str, Any]:
    response = graphql(
        sb, UPSERT, type="SEGMENT", status=status, data=orjson.dumps({name: write_key}).decode()
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
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
def test_upsert_integration_returns_it_with_the_connection_data_as_given(
    sb: RunningSandbox, name: str
) -> None:
    integration = connect(sb, sb.write_key, name)

    assert integration["type"] == "SEGMENT" and integration["status"] == "ACTIVE"
    # An ID of a numeric row: a string of digits.
    assert integration["id"].isdigit()
    # connectionData comes back as a JSON object (Frigade's Object scalar), not a string.
    assert integration["connectionData"] == {name: sb.write_key}


@pytest.mark.parametrize("name", ["writeKey", "segmentWriteKey", "apiKey"])
def test_with_connection_data_masked_the_key_reads_back_masked(
    sb: RunningSandbox, name: str
) -> None:
    sb.configure(connection_data="masked")
    integration = connect(sb, sb.write_key, name)

    listed = graphql(sb, "query { integrations(skip: 0, take: 10) { connectionData } }").json()

    assert integration["connectionData"] == {name: "****" + sb.write_key[-4:]}
    assert listed == {"data": {"integrations": [{"connectionData": integration["connectionData"]}]}}


def test_upsert_again_updates_the_one_integration(sb: RunningSandbox) -> None:
    first = connect(sb, "wk_one_123456")
    second = connect(sb, "wk_two_654321", status="INACTIVE")

    response = graphql(sb, "query { integrations(skip: 0, take: 10) { id status } }")

    assert first["id"] == second["id"]
    assert response.json() == {
        "data": {"integrations": [{"id": first["id"], "status": "INACTIVE"}]}
    }


def test_inline_string_literals_and_aliases_work(sb: RunningSandbox) -> None:
    data = orjson.dumps(orjson.dumps({"writeKey": "wk_inline_key"}).decode()).decode()
    query = (
        f'mutation {{ made: upsertIntegration(type: "SEGMENT", status: "INACTIVE", '
        f"connectionData: {data}) {{ status __typename }} }}"
    )

    response = graphql(sb, query)

    assert response.json() == {
        "data": {"made": {"status": "INACTIVE", "__typename": "ExternalizedIntegration"}}
    }


def test_delete_integration_takes_the_numeric_id_and_returns_the_deleted_one(
    sb: RunningSandbox,
) -> None:
    integration = connect(sb, sb.write_key)

    deleted = graphql(
        sb,
        "mutation($id: Float!) { deleteIntegration(id: $id) { id type } }",
        id=int(integration["id"]),
    )
    listed = graphql(sb, "{ integrations(take: 50) { id } }")

    assert deleted.json() == {
        "data": {"deleteIntegration": {"id": integration["id"], "type": "SEGMENT"}}
    }
    assert listed.json() == {"data": {"integrations": []}}


def test_delete_integration_refuses_a_string_id_as_frigades_schema_does(
    sb: RunningSandbox,
) -> None:
    integration = connect(sb, sb.write_key)

    response = graphql(
        sb, "mutation($id: Float!) { deleteIntegration(id: $id) { id } }", id=integration["id"]
    )

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert "Float cannot represent" in body["errors"][0]["message"]
    assert graphql(sb, "{ integrations(take: 1) { id } }").json()["data"]["integrations"]


def test_ids_are_never_reused_after_a_delete(sb: RunningSandbox) -> None:
    first = connect(sb, sb.write_key)
    graphql(sb, "mutation($id: Float!) { deleteIntegration(id: $id) { id } }", id=int(first["id"]))

    second = connect(sb, sb.write_key)

    assert int(second["id"]) == int(first["id"]) + 1


@pytest.mark.parametrize(
    ("query", "variables", "status", "fragment", "code"),
    [
        (UPSERT, {"type": "SEGMENT", "status": "ON", "data": "{}"}, 200, "status 'ON'",
         "BAD_USER_INPUT"),
        (UPSERT, {"type": "SEGMENTS", "status": "ACTIVE", "data": "{}"}, 200,
         "not an IntegrationType", "BAD_USER_INPUT"),
        (UPSERT, {"type": "SEGMENT", "status": "ACTIVE", "data": "not json"}, 200,
         "JSON-encoded", "BAD_USER_INPUT"),
        ("mutation { deleteIntegration(id: 424242) { id } }", {}, 200, "no integration",
         "BAD_USER_INPUT"),
        ("{ integrations { id } }", {}, 200, "take must be between 1 and 50", "BAD_USER_INPUT"),
        ("mutation { upsertIntegration(type: SEGMENT", {}, 400, "Syntax Error",
         "GRAPHQL_PARSE_FAILED"),
        ("query { users { id } }", {}, 400, "Cannot query field 'users'",
         "GRAPHQL_VALIDATION_FAILED"),
        ("query { integrations(take: 1) { secret } }", {}, 400, "Cannot query field 'secret'",
         "GRAPHQL_VALIDATION_FAILED"),
        ("mutation { integrations { id } }", {}, 400, "type 'Mutation'",
         "GRAPHQL_VALIDATION_FAILED"),
        ('mutation { upsertIntegration(type: SEGMENT, status: "ACTIVE", connectionData: "{}")'
         " { id } }", {}, 400, "String cannot represent",
         "GRAPHQL_VALIDATION_FAILED"),
        ('mutation { deleteIntegration(id: "1") { id } }', {}, 400,
         "Float cannot represent", "GRAPHQL_VALIDATION_FAILED"),
        ("mutation { deleteIntegration(id: 1) }", {}, 400, "must have a selection",
         "GRAPHQL_VALIDATION_FAILED"),
    ],
)  # fmt: skip
def test_graphql_errors_have_the_graphql_shape_and_name_the_problem(
    sb: RunningSandbox,
    query: str,
    variables: dict[str, Any],
    status: int,
    fragment: str,
    code: str,
) -> None:
    response = graphql(sb, query, **variables)

    assert response.status_code == status
    body = response.json()
    [error] = body["errors"]
    assert fragment in error["message"]
    assert error["extensions"]["code"] == code
    assert error["locations"][0]["line"] >= 1
    if status == 200:  # an execution error: data is there (null) and the error has a path
        assert body["data"] is None and error["path"]


def test_a_request_that_is_not_graphql_is_400(sb: RunningSandbox) -> None:
    for body in ({"variables": {}}, {"query": "{ integrations { id } }", "variables": [1]}, [1]):
        response = sb.client.post("/graphql", json=body, headers=bearer(sb.api_key))
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_operation_name_picks_the_operation(sb: RunningSandbox) -> None:
    connect(sb, sb.write_key)
    query = "query A { integrations(take: 1) { type } } query B { integrations(take: 1) { id } }"

    response = sb.client.post(
        "/graphql",
        json={"query": query, "operationName": "A"},
        headers=bearer(sb.api_key),
    )

    assert response.json() == {"data": {"integrations": [{"type": "SEGMENT"}]}}


def test_graphql_needs_the_private_key(sb: RunningSandbox) -> None:
    query = "{ integrations(take: 1) { id } }"
    assert graphql(sb, query, key=sb.public_key).status_code == 403
    assert sb.client.post("/graphql", json={"query": query}).status_code == 401


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
    connect(sb, sb.write_key, status="INACTIVE")

    flow_state(sb)
    sb.wait_idle()

    assert sb.stats()["forward"] == {"flow_states": 1, "forwarded": 0, "failed": 0}


def test_an_integration_without_a_known_write_key_field_fails_its_forwards_visibly(
    sb: RunningSandbox,
) -> None:
    connect(sb, sb.write_key, name="token")  # accepted, as Frigade accepts any JSON

    flow_state(sb)

    wait_until(lambda: sb.stats()["forward"]["failed"] == 1, what="the failed forward")
    [failed] = recent_events(sb, side="forward")
    assert "no write key" in failed["message"]["error"]
    assert sb.stats()["forward"]["forwarded"] == 0
