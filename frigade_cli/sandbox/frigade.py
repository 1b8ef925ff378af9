"""The Frigade side, at Frigade's real paths (DESIGN.md section 2).

- `POST /v1/thirdParty/cdp/segment` (private key): Segment's webhook; a JSON array of Segment
  messages or one object. identify merges the user's properties (traits); group merges the group's
  properties and adds the user to it; track appends `{event, properties, createdAt}` (ingest
  time), as Frigade documents it, to the user's `trackingEvents`; page and screen are kept as
  tracking events named `Viewed <name> Page` / `Viewed <name> Screen` (`Loaded a Page` /
  `Loaded a Screen` without a name, as Segment names them for event-only tools); alias is counted
  only. A message with no userId is keyed by its anonymousId.
- `GET /v1/users?userId=`, `GET /v1/groups?groupId=` (private key): 404 until known; `properties`
  as an object, as documented (or, with the `properties: "string"` setting, JSON-encoded).
- `DELETE /v1/users?userId=` (private key): the user and their data go; 200, or 404 if unknown.
- `POST /v1/public/{users,groups,sessions,flowStates}` (public or private key); `properties` may
  be an object or a JSON-encoded string. A flowStates body with neither `flowSlug` nor
  `actionType` is a read (what `@frigade/js` sends as each session starts): it changes nothing.
- `POST /graphql` (private key): the integration operations, see `graphql.py`.

Answers as Frigade's (NestJS on Fastify) are described in FrigadeHQ/frigade-engage-skill,
`reference/rest-endpoints.md`: POSTs answer 201; `/v1/public/users`, `/groups` and `/sessions`
with an empty body, `/v1/public/flowStates` with the user's flow states (`eligibleFlows`,
`ineligibleFlows`: none here, the sandbox has no flows); the webhook answers `{}` to a request
with no body, and any POST with an empty body but `Content-Type: application/json` gets Fastify's
400. A trailing slash is a 404 (no redirect), as Fastify's router does.

Auth: no `Authorization` is 401; a scheme other than Bearer or Basic, a wrong key, or a public key
on a private endpoint is 403. (Basic is accepted with the key as the credential, raw or base64 of
`key:`; what Frigade does with Basic is not documented.) Errors are `{statusCode, message, error}`.
`fail_rate` answers that fraction of webhook requests with `fail_with` (503 by default; 429 with
Frigade's monthly-active-user message); `latency` delays every Frigade-side response.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from frigade_cli.frigade.rules import auth_problem as frigade_auth_problem
from frigade_cli.kernel.clock import now_iso
from frigade_cli.kernel.config import WEBHOOK_PATH
from frigade_cli.sandbox.forward import ACTION_TYPES
from frigade_cli.sandbox.parts import SandboxParts
from frigade_cli.sandbox.responses import (
    SUCCESS,
    frigade_error,
    json_response,
    raw_json,
)
from frigade_cli.sandbox.state import Store, User

if TYPE_CHECKING:
    from frigade_cli.sandbox.forward import SegmentForwarder

Endpoint = Callable[[Request], Awaitable[Response]]

# Frigade's RateLimitGuard answer once the monthly-active-user cap is reached (no `error` field).
MAU_CAP_BODY = {
    "statusCode": 429,
    "message": (
        "Your account has used its maximum allowed MAUs. Contact Frigade support to upgrade."
    ),
}
# Fastify's answer to an empty body sent as JSON.
EMPTY_JSON_BODY = {
    "statusCode": 400,
    "code": "FST_ERR_CTP_EMPTY_JSON_BODY",
    "error": "Bad Request",
    "message": "Body cannot be empty when content-type is set to 'application/json'",
}
# Every actionType Frigade's UserFlowStateDTO takes; only some are forwarded (see forward.py).
FLOW_ACTION_TYPES = (*ACTION_TYPES, "NOT_STARTED_STEP", "NOT_STARTED_FLOW")
# A user's flow states, as flowStates answers them (read or written): the sandbox has no flows.
FLOW_STATES: dict[str, list[Any]] = {"eligibleFlows": [], "ineligibleFlows": []}


class FrigadeParts(SandboxParts, Protocol):
    """What the Frigade side needs: the sandbox's parts and the flowStates forwarder."""

    @property
    def forwarder(self) -> SegmentForwarder: ...


class BadRequest(Exception):
    """A request body Frigade would refuse with 400."""


class EmptyJsonBody(Exception):
    """An empty body sent with a JSON content type (Fastify refuses it before any handler)."""


def _sent_as_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def created_empty() -> Response:
    """201 with no body: what NestJS sends for a handler that returns nothing."""
    return Response(status_code=201)


def injected_fault(status: int) -> Response:
    """An injected fault: Frigade's monthly-active-user 429, or `{statusCode, message, error}`."""
    if status == 429:
        return json_response(MAU_CAP_BODY, 429)
    return frigade_error(status, f"{HTTPStatus(status).phrase} (sandbox fault injection)")


def _properties(value: Any, strict: bool = False, name: str = "properties") -> dict[str, Any]:
    """An object, or a JSON string holding one (Frigade takes both); None is empty."""
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    if strict:
        raise BadRequest(f"{name} must be an object or a JSON-encoded object")
    return {}


def _page_event(message: dict[str, Any], kind: str) -> str:
    name = message.get("name")
    if not name and isinstance(message.get("properties"), dict):
        name = message["properties"].get("name")
    return f"Viewed {name} {kind}" if name else f"Loaded a {kind}"


def _user(store: Store, user_id: str, at: str) -> User:
    return store.users.get(user_id) or store.upsert_user(user_id, None, at)


def ingest(sandbox: SandboxParts, messages: list[Any], at: str) -> list[dict[str, Any]]:
    """Apply Segment messages to the state; the ones used (others are counted as ignored)."""
    store = sandbox.store
    counts = sandbox.stats.frigade_ingested
    used: list[dict[str, Any]] = []
    ignored = 0
    for message in messages:
        if type(message) is not dict:
            ignored += 1
            continue
        type_ = message.get("type")
        uid = message.get("userId") or message.get("anonymousId")
        user_id = uid if type(uid) is str else (str(uid) if uid else None)
        if type_ == "track":
            event = message.get("event")
            if not user_id or not event or type(event) is not str:
                ignored += 1
                continue
            store.add_user_event(
                _user(store, user_id, at),
                event,
                _properties(message.get("properties")),
                at,
            )
        elif type_ == "identify":
            if not user_id:
                ignored += 1
                continue
            store.upsert_user(user_id, _properties(message.get("traits")), at)
        elif type_ == "group":
            group_id = message.get("groupId")
            if not group_id:
                ignored += 1
                continue
            if user_id:
                _user(store, user_id, at)
            store.upsert_group(str(group_id), _properties(message.get("traits")), at, user_id)
        elif type_ == "page" or type_ == "screen":
            if not user_id:
                ignored += 1
                continue
            store.add_user_event(
                _user(store, user_id, at),
                _page_event(message, "Page" if type_ == "page" else "Screen"),
                _properties(message.get("properties")),
                at,
            )
        elif type_ != "alias":
            ignored += 1
            continue
        counts[type_] += 1
        used.append(message)
    sandbox.stats.frigade_ignored += ignored
    return used


def _events(value: Any, name: str) -> list[tuple[str, dict[str, Any]]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{name} must be an array of {{event, properties?}}")
    events = []
    for n, item in enumerate(value, start=1):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("event"), str)
            or not item["event"]
        ):
            raise BadRequest(f"{name}[{n}] needs an 'event' string")
        events.append(
            (item["event"], _properties(item.get("properties"), True, f"{name}[{n}].properties"))
        )
    return events


def _required_id(body: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"{name} is required")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise BadRequest(f"{name} must be a string")
    return str(value)


def routes(sandbox: FrigadeParts) -> list[Route]:
    # graphql-core loads here, when a sandbox starts, not on the first GraphQL request.
    from frigade_cli.sandbox.graphql import execute_request as execute_graphql

    stats = sandbox.stats
    store = sandbox.store

    def auth_problem(request: Request, public_ok: bool) -> Response | None:
        accepted = (sandbox.api_key, sandbox.public_key) if public_ok else (sandbox.api_key,)
        problem = frigade_auth_problem(
            request.headers.get("authorization"), accepted, public_keys=(sandbox.public_key,)
        )
        if problem is None:
            return None
        stats.frigade_auth_failures += 1
        return frigade_error(*problem)

    def endpoint(handler: Callable[[Request], Awaitable[Response]], public_ok: bool) -> Endpoint:
        """Latency, auth and 400s around a handler."""

        async def wrapped(request: Request) -> Response:
            if sandbox.config.latency:
                await asyncio.sleep(sandbox.config.latency)
            problem = auth_problem(request, public_ok)
            if problem is not None:
                return problem
            try:
                return await handler(request)
            except BadRequest as exc:
                return frigade_error(400, str(exc))
            except EmptyJsonBody:
                return json_response(EMPTY_JSON_BODY, 400)

        return wrapped

    async def json_body(request: Request, *, object_only: bool = True) -> Any:
        raw = await request.body()
        if not raw and _sent_as_json(request):
            raise EmptyJsonBody
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"Invalid JSON: {exc}") from None
        if object_only and not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object")
        return body

    async def webhook(request: Request) -> Response:
        stats.frigade_webhook_requests += 1
        config = sandbox.config
        if config.fail_rate and random.random() < config.fail_rate:
            stats.frigade_faults_injected += 1
            return injected_fault(config.fail_with)
        if not await request.body() and not _sent_as_json(request):
            return raw_json(b"{}", 201)  # Frigade's answer to a request with no body
        body = await json_body(request, object_only=False)
        if isinstance(body, dict):
            body = [body]
        elif not isinstance(body, list):
            raise BadRequest("The body must be a Segment message or an array of them")
        at = now_iso()
        used = ingest(sandbox, body, at)
        store.commit()
        sandbox.hub.publish_messages("frigade", used, at)
        return raw_json(SUCCESS, 201)

    def read_back(request: Request, param: str, records: Mapping[str, Any], noun: str) -> Response:
        """GET /v1/users?userId= and /v1/groups?groupId=: the record, 404 until it exists."""
        key = request.query_params.get(param)
        if not key:
            raise BadRequest(f"{param} is required")
        record = records.get(key)
        if record is None:
            return frigade_error(404, f"{noun} {key} not found")
        body = record.to_json()
        if sandbox.config.properties == "string":  # the undocumented form some answers take
            body["properties"] = orjson.dumps(body["properties"]).decode()
            body["trackingEvents"] = [
                {**e, "properties": orjson.dumps(e["properties"]).decode()}
                for e in body["trackingEvents"]
            ]
        return json_response(body)

    async def get_user(request: Request) -> Response:
        return read_back(request, "userId", store.users, "User")

    async def delete_user(request: Request) -> Response:
        """DELETE /v1/users?userId=: the user, their events, flow states and memberships go."""
        user_id = request.query_params.get("userId")
        if not user_id:
            raise BadRequest("userId is required")
        if not store.delete_user(user_id):
            return frigade_error(404, f"User {user_id} not found")
        store.commit()
        return Response(status_code=200)  # NestJS: a handler returning nothing

    async def get_group(request: Request) -> Response:
        return read_back(request, "groupId", store.groups, "Group")

    def write_user(
        user_id: str, properties: Any, events: Any, at: str, names: tuple[str, str]
    ) -> User:
        props = _properties(properties, True, names[0])
        user = store.upsert_user(user_id, props, at)
        for event, event_props in _events(events, names[1]):
            store.add_user_event(user, event, event_props, at)
        return user

    def write_group(
        group_id: str,
        user_id: str | None,
        properties: Any,
        events: Any,
        at: str,
        names: tuple[str, str],
    ) -> dict[str, Any]:
        props = _properties(properties, True, names[0])
        parsed_events = _events(events, names[1])
        if user_id is not None:
            _user(store, user_id, at)
        group = store.upsert_group(group_id, props, at, user_id)
        for event, event_props in parsed_events:
            store.add_group_event(group, event, event_props, at)
        return group.to_json()

    def recorded(kind: str, body: dict[str, Any], at: str) -> None:
        store.commit()
        stats.frigade_public_writes[kind] += 1
        sandbox.hub.publish("frigade", kind, body, at)

    async def public_users(request: Request) -> Response:
        body = await json_body(request)
        user_id = _required_id(body, "userId")
        assert user_id is not None
        at = now_iso()
        _events(body.get("events"), "events")  # refuse a bad body before changing anything
        write_user(
            user_id, body.get("properties"), body.get("events"), at, ("properties", "events")
        )
        recorded("user", body, at)
        return created_empty()

    async def public_groups(request: Request) -> Response:
        body = await json_body(request)
        group_id = _required_id(body, "groupId")
        assert group_id is not None
        user_id = _required_id(body, "userId", required=False)
        at = now_iso()
        write_group(
            group_id,
            user_id,
            body.get("properties"),
            body.get("events"),
            at,
            ("properties", "events"),
        )
        recorded("group", body, at)
        return created_empty()

    async def public_sessions(request: Request) -> Response:
        body = await json_body(request)
        user_id = _required_id(body, "userId")
        assert user_id is not None
        group_id = _required_id(body, "groupId", required=False)
        # Check everything before writing anything.
        _properties(body.get("userProperties"), True, "userProperties")
        _events(body.get("userEvents"), "userEvents")
        _properties(body.get("groupProperties"), True, "groupProperties")
        _events(body.get("groupEvents"), "groupEvents")
        at = now_iso()
        write_user(
            user_id,
            body.get("userProperties"),
            body.get("userEvents"),
            at,
            ("userProperties", "userEvents"),
        )
        if group_id is not None:
            write_group(
                group_id,
                user_id,
                body.get("groupProperties"),
                body.get("groupEvents"),
                at,
                ("groupProperties", "groupEvents"),
            )
        recorded("session", body, at)
        return created_empty()

    async def public_flow_states(request: Request) -> Response:
        body = await json_body(request)
        user_id = _required_id(body, "userId")
        flow_slug = body.get("flowSlug")
        if flow_slug is None and body.get("actionType") is None:
            # A read, as Frigade's SDK starts every session: `{userId, groupId?, context}`
            # and no flow; it changes nothing and answers the user's flow states.
            _required_id(body, "groupId", required=False)
            return json_response(FLOW_STATES, 201)
        if not isinstance(flow_slug, str) or not flow_slug:
            raise BadRequest("flowSlug is required")
        step_id = body.get("stepId")
        if step_id is not None and not isinstance(step_id, str):
            raise BadRequest("stepId must be a string")
        action_type = body.get("actionType")
        if action_type not in FLOW_ACTION_TYPES:
            raise BadRequest(f"actionType must be one of {', '.join(FLOW_ACTION_TYPES)}")
        at = now_iso()
        assert user_id is not None
        _user(store, user_id, at)
        record: dict[str, Any] = {
            "userId": user_id,
            "flowSlug": flow_slug,
            "stepId": step_id,
            "actionType": action_type,
            "createdAt": at,
        }
        for extra in ("groupId", "data", "context"):
            if body.get(extra) is not None:
                record[extra] = body[extra]
        store.add_flow_state(record)
        stats.flow_states += 1
        recorded("flowState", record, at)
        if action_type in ACTION_TYPES:
            sandbox.forwarder.forward(record)
        return json_response(FLOW_STATES, 201)

    async def graphql(request: Request) -> Response:
        body = await json_body(request, object_only=False)
        masked = sandbox.config.connection_data == "masked"
        status, result = execute_graphql(store, body, mask_connection_data=masked)
        return json_response(result, status)

    return [
        Route(WEBHOOK_PATH, endpoint(webhook, False), methods=["POST"]),
        Route("/v1/users", endpoint(get_user, False), methods=["GET"]),
        Route("/v1/users", endpoint(delete_user, False), methods=["DELETE"]),
        Route("/v1/groups", endpoint(get_group, False), methods=["GET"]),
        Route("/v1/public/users", endpoint(public_users, True), methods=["POST"]),
        Route("/v1/public/groups", endpoint(public_groups, True), methods=["POST"]),
        Route("/v1/public/sessions", endpoint(public_sessions, True), methods=["POST"]),
        Route("/v1/public/flowStates", endpoint(public_flow_states, True), methods=["POST"]),
        Route("/graphql", endpoint(graphql, False), methods=["POST"]),
    ]
