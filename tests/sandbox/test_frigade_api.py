"""The Frigade side at its real paths: auth, the Segment webhook, read-back, public writes."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from frigade_cli.sandbox.server import RunningSandbox
from tests.sandbox.conftest import bearer, group, identify, recent_events, track


def webhook(sb: RunningSandbox, body: Any, key: str | None = None) -> httpx.Response:
    return sb.client.post(
        "/v1/thirdParty/cdp/segment", json=body, headers=bearer(key or sb.api_key)
    )


def get_user(sb: RunningSandbox, user_id: str) -> httpx.Response:
    return sb.client.get("/v1/users", params={"userId": user_id}, headers=sb.auth_headers)


def test_the_webhook_without_authorization_is_401(sb: RunningSandbox) -> None:
    response = sb.client.post("/v1/thirdParty/cdp/segment", json=[track()])

    assert response.status_code == 401
    assert set(response.json()) == {"statusCode", "message", "error"}
    assert response.json()["statusCode"] == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer {public}", "Bearer api_private_wrong", "{private}", "Token {private}"],
    ids=["public-key", "wrong-key", "no-scheme", "other-scheme"],
)
def test_the_webhook_refuses_other_credentials_with_403(sb: RunningSandbox, header: str) -> None:
    value = header.format(public=sb.public_key, private=sb.api_key)

    response = sb.client.post(
        "/v1/thirdParty/cdp/segment", json=[track()], headers={"Authorization": value}
    )

    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"
    assert sb.stats()["frigade"]["auth_failures"] == 1


def test_basic_with_the_private_key_is_accepted(sb: RunningSandbox) -> None:
    token = base64.b64encode(f"{sb.api_key}:".encode()).decode()

    response = sb.client.post(
        "/v1/thirdParty/cdp/segment", json=[track()], headers={"Authorization": f"Basic {token}"}
    )

    assert response.status_code == 201


def test_a_user_is_404_until_the_webhook_creates_it(sb: RunningSandbox) -> None:
    assert get_user(sb, "u1").status_code == 404

    response = webhook(sb, [identify("u1", plan="pro"), identify("u1", name="Ada")])

    assert response.status_code == 201
    user = get_user(sb, "u1").json()
    assert user["userId"] == "u1"
    assert user["properties"] == {"plan": "pro", "name": "Ada"}
    assert user["createdAt"] and user["modifiedAt"]


def test_track_appends_a_tracking_event_as_frigade_documents_it(sb: RunningSandbox) -> None:
    webhook(sb, [track("u1", "Invoice Downloaded", messageId="m-1", properties={"amount": 129})])

    [event] = get_user(sb, "u1").json()["trackingEvents"]
    # docs.frigade.com, Users: get: {event, properties, createdAt} and nothing else (no messageId).
    assert sorted(event) == ["createdAt", "event", "properties"]
    assert event["event"] == "Invoice Downloaded"
    assert event["properties"] == {"amount": 129}
    assert event["createdAt"].endswith("Z")


def test_properties_can_read_back_json_encoded_as_some_answers_have_them(
    sb: RunningSandbox,
) -> None:
    sb.configure(properties="string")
    webhook(sb, [identify("u1", plan="pro"), track("u1", "Paid", properties={"amount": 129})])
    webhook(sb, [group("g1", "u1", name="Acme")])

    user = get_user(sb, "u1").json()
    found = sb.client.get("/v1/groups", params={"groupId": "g1"}, headers=sb.auth_headers).json()

    assert user["properties"] == '{"plan":"pro"}'
    assert [e["properties"] for e in user["trackingEvents"]] == ['{"amount":129}']
    assert found["properties"] == '{"name":"Acme"}'


def test_a_single_object_body_is_accepted(sb: RunningSandbox) -> None:
    assert webhook(sb, identify("solo", plan="free")).status_code == 201

    assert get_user(sb, "solo").json()["properties"] == {"plan": "free"}


def test_group_merges_properties_and_membership(sb: RunningSandbox) -> None:
    webhook(sb, [group("g1", "u1", plan="pro"), group("g1", "u2", size=5)])

    response = sb.client.get("/v1/groups", params={"groupId": "g1"}, headers=sb.auth_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["properties"] == {"plan": "pro", "size": 5}
    assert body["userIds"] == ["u1", "u2"]
    assert body["membersCount"] == 2
    assert body["name"] is None  # no `name` trait


def test_a_group_has_the_name_trait_as_its_name_and_counts_members_once(
    sb: RunningSandbox,
) -> None:
    webhook(sb, [group("g2", "u1", name="Acme Inc."), group("g2", "u1"), group("g2", "u3")])

    body = sb.client.get("/v1/groups", params={"groupId": "g2"}, headers=sb.auth_headers).json()

    assert body["name"] == "Acme Inc."
    assert body["membersCount"] == 2


def test_page_and_screen_become_viewed_events(sb: RunningSandbox) -> None:
    webhook(
        sb,
        [
            {"type": "page", "userId": "u1", "name": "Billing"},
            {"type": "screen", "userId": "u1", "name": "Home"},
            {"type": "page", "userId": "u1"},
        ],
    )

    names = [e["event"] for e in get_user(sb, "u1").json()["trackingEvents"]]
    assert names == ["Viewed Billing Page", "Viewed Home Screen", "Loaded a Page"]


def test_ingest_is_counted_by_type_and_streamed(sb: RunningSandbox) -> None:
    webhook(
        sb, [identify(), track(), track(), {"type": "alias", "userId": "u1", "previousId": "a"}]
    )

    ingested = sb.stats()["frigade"]["ingested_by_type"]
    assert ingested == {"identify": 1, "track": 2, "alias": 1}
    kinds = [e["kind"] for e in recent_events(sb, side="frigade")]
    assert kinds == ["identify", "track", "track", "alias"]


def test_the_webhook_refuses_a_body_that_is_not_json(sb: RunningSandbox) -> None:
    response = sb.client.post("/v1/thirdParty/cdp/segment", content=b"[{", headers=sb.auth_headers)

    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


def test_reads_need_the_private_key(sb: RunningSandbox) -> None:
    response = sb.client.get("/v1/users", params={"userId": "u1"}, headers=bearer(sb.public_key))

    assert response.status_code == 403


def test_public_users_accepts_the_public_key_and_string_properties(sb: RunningSandbox) -> None:
    response = sb.client.post(
        "/v1/public/users",
        json={
            "userId": "u7",
            "properties": orjson.dumps({"plan": "pro"}).decode(),
            "events": [{"event": "Opened App"}],
        },
        headers=bearer(sb.public_key),
    )

    assert (response.status_code, response.content) == (201, b"")  # NestJS: nothing returned
    user = get_user(sb, "u7").json()
    assert user["properties"] == {"plan": "pro"}
    assert [e["event"] for e in user["trackingEvents"]] == ["Opened App"]


def test_public_users_without_user_id_is_400(sb: RunningSandbox) -> None:
    response = sb.client.post(
        "/v1/public/users", json={"properties": {}}, headers=bearer(sb.public_key)
    )

    assert response.status_code == 400
    assert response.json()["message"] == "userId is required"


def test_a_bad_event_list_changes_nothing(sb: RunningSandbox) -> None:
    response = sb.client.post(
        "/v1/public/users",
        json={"userId": "u8", "properties": {"a": 1}, "events": [{"name": "x"}]},
        headers=sb.auth_headers,
    )

    assert response.status_code == 400
    assert get_user(sb, "u8").status_code == 404


def test_public_groups_adds_the_member_and_group_events(sb: RunningSandbox) -> None:
    response = sb.client.post(
        "/v1/public/groups",
        json={
            "groupId": "g9",
            "userId": "u9",
            "properties": {"plan": "team"},
            "events": [{"event": "Upgraded", "properties": {"to": "team"}}],
        },
        headers=bearer(sb.public_key),
    )

    assert (response.status_code, response.content) == (201, b"")  # NestJS: nothing returned
    body = sb.client.get("/v1/groups", params={"groupId": "g9"}, headers=sb.auth_headers).json()
    assert body["userIds"] == ["u9"]
    assert body["trackingEvents"][0]["event"] == "Upgraded"
    assert get_user(sb, "u9").status_code == 200


def test_public_sessions_writes_user_and_group(sb: RunningSandbox) -> None:
    response = sb.client.post(
        "/v1/public/sessions",
        json={
            "userId": "u3",
            "groupId": "g3",
            "userProperties": {"name": "Ada"},
            "userEvents": [{"event": "Logged In"}],
            "groupProperties": {"size": 3},
        },
        headers=bearer(sb.public_key),
    )

    assert (response.status_code, response.content) == (201, b"")  # NestJS: nothing returned
    assert get_user(sb, "u3").json()["properties"] == {"name": "Ada"}
    group_body = sb.client.get(
        "/v1/groups", params={"groupId": "g3"}, headers=sb.auth_headers
    ).json()
    assert group_body["properties"] == {"size": 3}
    assert group_body["userIds"] == ["u3"]
    assert sb.stats()["frigade"]["public_writes"] == {"session": 1}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"flowSlug": "f", "actionType": "STARTED_FLOW"}, "userId is required"),
        ({"userId": "u", "actionType": "STARTED_FLOW"}, "flowSlug is required"),
        ({"userId": "u", "flowSlug": "f", "actionType": "FINISHED"}, "actionType must be one of"),
    ],
)
def test_flow_states_refuses_incomplete_actions(
    sb: RunningSandbox, body: dict[str, Any], problem: str
) -> None:
    response = sb.client.post("/v1/public/flowStates", json=body, headers=bearer(sb.public_key))

    assert response.status_code == 400
    assert problem in response.json()["message"]


def test_flow_states_with_no_flow_is_a_read_that_changes_nothing(sb: RunningSandbox) -> None:
    # What @frigade/js sends as every session starts (tests/oracles runs the SDK itself).
    body = {"userId": "u1", "groupId": "g1", "context": {"url": "https://app.example/"}}

    response = sb.client.post("/v1/public/flowStates", json=body, headers=bearer(sb.public_key))

    assert response.status_code == 201
    assert response.json() == {"eligibleFlows": [], "ineligibleFlows": []}
    assert get_user(sb, "u1").status_code == 404  # nothing was written
    assert sb.stats()["forward"]["flow_states"] == 0
    assert recent_events(sb, side="frigade") == []


def test_flow_states_records_the_action(sb: RunningSandbox) -> None:
    response = sb.client.post(
        "/v1/public/flowStates",
        json={
            "userId": "u1",
            "flowSlug": "onboarding",
            "stepId": "s1",
            "actionType": "STARTED_STEP",
        },
        headers=bearer(sb.public_key),
    )

    assert response.status_code == 201
    # Frigade answers with the user's flow states; the sandbox has no flows to list.
    assert response.json() == {"eligibleFlows": [], "ineligibleFlows": []}
    assert sb.stats()["forward"] == {"flow_states": 1, "forwarded": 0, "failed": 0}
    [event] = recent_events(sb, side="frigade", type="flowState")
    assert event["message"]["actionType"] == "STARTED_STEP"


@pytest.mark.parametrize("action", ["NOT_STARTED_FLOW", "NOT_STARTED_STEP"])
def test_flow_states_takes_every_action_type_frigade_takes(sb: RunningSandbox, action: str) -> None:
    response = sb.client.post(
        "/v1/public/flowStates",
        json={"userId": "u1", "flowSlug": "onboarding", "actionType": action},
        headers=bearer(sb.public_key),
    )

    assert response.status_code == 201
    assert sb.stats()["forward"]["flow_states"] == 1


def test_an_unknown_route_answers_in_nestjs_words(sb: RunningSandbox) -> None:
    response = sb.client.get("/v1/nothing")

    assert response.status_code == 404
    assert response.json()["message"] == "Cannot GET /v1/nothing"


def test_latency_delays_frigade_responses(sb: RunningSandbox) -> None:
    sb.configure(latency="150ms")

    response = get_user(sb, "nobody")

    assert response.status_code == 404
    assert response.elapsed.total_seconds() >= 0.15


@pytest.mark.parametrize(
    "path",
    ["/v1/public/users/", "/v1/thirdParty/cdp/segment/", "/graphql/", "/v1/users/"],
)
def test_a_trailing_slash_is_a_404_not_a_redirect(sb: RunningSandbox, path: str) -> None:
    method = "GET" if path == "/v1/users/" else "POST"

    response = sb.client.request(
        method, path, json={"userId": "u1"}, headers=sb.auth_headers, follow_redirects=False
    )

    assert response.status_code == 404
    assert response.json()["message"] == f"Cannot {method} {path}"
    assert get_user(sb, "u1").status_code == 404  # nothing was written through a redirect


def test_the_same_path_without_the_slash_is_served(sb: RunningSandbox) -> None:
    response = sb.client.post("/v1/public/users", json={"userId": "u1"}, headers=sb.auth_headers)

    assert response.status_code == 201
    assert get_user(sb, "u1").status_code == 200


def test_a_webhook_request_with_no_body_is_answered_with_an_empty_object(
    sb: RunningSandbox,
) -> None:
    response = sb.client.post("/v1/thirdParty/cdp/segment", headers=sb.auth_headers)

    assert (response.status_code, response.json()) == (201, {})
    assert sb.stats()["frigade"]["ingested"] == 0


def test_an_empty_body_sent_as_json_is_fastifys_400(sb: RunningSandbox) -> None:
    for path in ("/v1/thirdParty/cdp/segment", "/v1/public/users"):
        response = sb.client.post(
            path,
            content=b"",
            headers={**sb.auth_headers, "Content-Type": "application/json; charset=utf-8"},
        )

        assert response.status_code == 400
        assert response.json() == {
            "statusCode": 400,
            "code": "FST_ERR_CTP_EMPTY_JSON_BODY",
            "error": "Bad Request",
            "message": "Body cannot be empty when content-type is set to 'application/json'",
        }


def test_injected_faults_are_503_by_default(sb: RunningSandbox) -> None:
    sb.configure(fail_rate=1)

    response = webhook(sb, [identify("u1")])

    assert response.status_code == 503
    assert response.json()["error"] == "Service Unavailable"
    assert get_user(sb, "u1").status_code == 404


def test_a_429_fault_is_frigades_monthly_active_user_cap(sb: RunningSandbox) -> None:
    settings = sb.configure(fail_rate=1, fail_with=429)

    response = webhook(sb, [identify("u1")])

    assert settings["fail_with"] == 429
    assert response.status_code == 429
    assert response.json() == {
        "statusCode": 429,
        "message": "Your account has used its maximum allowed MAUs. "
        "Contact Frigade support to upgrade.",
    }
    assert "retry-after" not in response.headers
    assert sb.stats()["frigade"]["faults_injected"] == 1


@pytest.mark.parametrize("value", [200, 600, "429", True, None])
def test_fail_with_must_be_an_error_status(sb: RunningSandbox, value: Any) -> None:
    response = sb.client.patch("/_sandbox/config", json={"fail_with": value})

    assert response.status_code == 400
    assert "fail" in response.json()["error"]
    assert sb.client.get("/_sandbox/config").json()["fail_with"] == 503


# Deleting a user -------------------------------------------------------------------------------
def delete_user(sb: RunningSandbox, user_id: str, key: str | None = None) -> httpx.Response:
    return sb.client.delete(
        "/v1/users", params={"userId": user_id}, headers=bearer(key or sb.api_key)
    )


def test_deleting_a_user_removes_it_its_events_and_its_memberships(sb: RunningSandbox) -> None:
    assert webhook(sb, [identify("u1", plan="pro"), track("u1"), group("g1", "u1")]).is_success

    deleted = delete_user(sb, "u1")

    assert deleted.status_code == 200 and deleted.content == b""
    assert get_user(sb, "u1").status_code == 404
    members = sb.client.get("/v1/groups", params={"groupId": "g1"}, headers=sb.auth_headers)
    assert members.json()["userIds"] == [] and members.json()["membersCount"] == 0
    assert webhook(sb, [track("u1", "Again")]).is_success
    assert [e["event"] for e in get_user(sb, "u1").json()["trackingEvents"]] == ["Again"]


def test_deleting_an_unknown_user_is_404_and_a_wrong_key_403(sb: RunningSandbox) -> None:
    assert webhook(sb, [track("u1")]).is_success

    unknown = delete_user(sb, "nobody")
    wrong_key = delete_user(sb, "u1", key="api_private_wrong")
    public_key = delete_user(sb, "u1", key=sb.public_key)
    no_id = sb.client.delete("/v1/users", headers=bearer(sb.api_key))

    assert unknown.status_code == 404 and unknown.json()["statusCode"] == 404
    assert wrong_key.status_code == public_key.status_code == 403
    assert no_id.status_code == 400
    assert get_user(sb, "u1").status_code == 200
