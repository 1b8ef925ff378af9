"""The sandbox's `POST /graphql` (private key): Frigade's integration operations on graphql-core.

Frigade has no public REST endpoint for integrations; its GraphQL schema has them (source:
FrigadeHQ/frigade-engage-skill, `reference/graphql-schema.md`, a snapshot of Frigade's schema):

    mutation ($type: String!, $status: String!, $connectionData: String!) {
      upsertIntegration(type: $type, status: $status, connectionData: $connectionData) { id }
    }
    query { integrations(skip: 0, take: 50) { id type status connectionData createdAt } }
    mutation ($id: Float!) { deleteIntegration(id: $id) { id } }

`type` and `status` are Strings holding an IntegrationType / IntegrationStatus name;
`connectionData` goes in as a JSON-encoded string and comes out as a JSON object (the `Object`
scalar), as it was given (with the `connection_data: "masked"` setting, secret-looking values
masked: whether Frigade masks them is not documented). `take` is 1 to 50 (its default, 250,
is refused as Frigade's validator refuses it). Integration ids are numbers: `deleteIntegration`
takes a `Float!`, and `id` reads back as a GraphQL `ID` (a string of digits).

graphql-core parses, validates and executes; errors have the GraphQL shape
`{"errors": [{"message", "locations", "path", "extensions": {"code"}}]}`. A syntax or validation
error answers HTTP 400 (as Apollo Server does); anything later answers 200 with `data`.
Frigade itself replaces every error message with "An unexpected error occurred in graphql"; the
sandbox keeps graphql-core's messages, which say what is wrong.

graphql-core is imported when this module is, i.e. when a sandbox starts, never by the CLI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute_sync,
    parse,
    validate,
)

from frigade_cli.kernel.clock import now_iso
from frigade_cli.kernel.redact import redact_key
from frigade_cli.sandbox.state import Integration, Store

# Enum values from the same schema snapshot; only SEGMENT is acted on (flowStates forwarding).
INTEGRATION_TYPES = (
    "SEGMENT",
    "POSTHOG",
    "MIXPANEL",
    "AMPLITUDE",
    "HEAP",
    "HUBSPOT",
    "SALESFORCE",
    "ZAPIER",
    "SEGMENT_WEBHOOK",
    "MIXPANEL_WEBHOOK",
    "SALESFORCE_SANDBOX",
)
INTEGRATION_STATUSES = ("ACTIVE", "INACTIVE")
MAX_TAKE = 50

SCHEMA_SDL = f"""
"Arbitrary JSON, as Frigade's ObjectScalarType."
scalar Object
"An ISO-8601 date and time."
scalar DateTime

enum IntegrationType {{ {" ".join(INTEGRATION_TYPES)} }}
enum IntegrationStatus {{ {" ".join(INTEGRATION_STATUSES)} }}

type ExternalizedIntegration {{
  id: ID!
  type: IntegrationType!
  status: IntegrationStatus!
  connectionData: Object
  createdAt: DateTime!
  modifiedAt: DateTime!
}}

type Query {{
  integrations(skip: Int! = 0, take: Int! = 250): [ExternalizedIntegration!]!
}}

type Mutation {{
  upsertIntegration(
    type: String!, status: String!, connectionData: String!
  ): ExternalizedIntegration!
  deleteIntegration(id: Float!): ExternalizedIntegration!
}}
"""

# graphql-core's GraphQLResolveInfo became generic in 3.3; resolvers read only `info.context`.
ResolveInfo = Any
_SECRET_NAME = re.compile(r"(?i)key|secret|token|password")


class BadUserInput(GraphQLError):
    """A value the resolver refuses (Apollo's BAD_USER_INPUT)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT"})


def masked_connection_data(connection_data: str) -> Any:
    """connectionData as a JSON value, every secret-looking string value masked (`****abcd`)."""
    data = _json(connection_data)
    if not isinstance(data, dict):
        return data
    return {
        k: (redact_key(v) if isinstance(v, str) and _SECRET_NAME.search(k) else v)
        for k, v in data.items()
    }


@dataclass(frozen=True)
class _Context:
    store: Store
    masked: bool  # connectionData read back with secret-looking values masked


def _integration_json(integration: Integration, info: ResolveInfo) -> dict[str, Any]:
    body = integration.record()
    data = integration.connection_data
    context: _Context = info.context
    body["connectionData"] = masked_connection_data(data) if context.masked else _json(data)
    return body


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _store(info: ResolveInfo) -> Store:
    context: _Context = info.context
    return context.store


def _integrations(_root: None, info: ResolveInfo, skip: int, take: int) -> Any:
    if skip < 0:
        raise BadUserInput("skip must not be less than 0")
    if not 1 <= take <= MAX_TAKE:
        raise BadUserInput(f"take must be between 1 and {MAX_TAKE} (got {take})")
    found = sorted(_store(info).integrations.values(), key=lambda i: i.id)
    return [_integration_json(i, info) for i in found[skip : skip + take]]


def _upsert_integration(_root: None, info: ResolveInfo, **args: Any) -> Any:
    type_, status, connection_data = args["type"], args["status"], args["connectionData"]
    if type_ not in INTEGRATION_TYPES:
        raise BadUserInput(
            f"type {type_!r} is not an IntegrationType ({', '.join(INTEGRATION_TYPES)})"
        )
    if status not in INTEGRATION_STATUSES:
        raise BadUserInput(f"status {status!r} must be one of {', '.join(INTEGRATION_STATUSES)}")
    try:
        orjson.loads(connection_data)
    except orjson.JSONDecodeError as exc:
        raise BadUserInput(f"connectionData must be JSON-encoded: {exc}") from None
    store = _store(info)
    integration = store.upsert_integration(type_, status, connection_data, now_iso())
    store.commit()
    return _integration_json(integration, info)


def _delete_integration(_root: None, info: ResolveInfo, id: float) -> Any:
    store = _store(info)
    deleted = store.delete_integration(int(id)) if float(id).is_integer() else None
    if deleted is None:
        raise BadUserInput(f"no integration with id {id:g}")
    store.commit()
    return _integration_json(deleted, info)


@lru_cache(maxsize=1)
def schema() -> GraphQLSchema:
    """The sandbox's schema (built once) with its resolvers attached."""
    built = build_schema(SCHEMA_SDL)
    assert built.query_type is not None and built.mutation_type is not None
    built.query_type.fields["integrations"].resolve = _integrations
    built.mutation_type.fields["upsertIntegration"].resolve = _upsert_integration
    built.mutation_type.fields["deleteIntegration"].resolve = _delete_integration
    return built


def _errors(errors: list[GraphQLError], code: str) -> list[dict[str, Any]]:
    shaped = []
    for error in errors:
        formatted: dict[str, Any] = {**error.formatted}
        extensions = dict(formatted.get("extensions") or {})
        extensions.setdefault("code", code)
        formatted["extensions"] = extensions
        shaped.append(formatted)
    return shaped


def _bad_request(message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}


def execute_request(
    store: Store, body: Any, mask_connection_data: bool = False
) -> tuple[int, dict[str, Any]]:
    """Run one GraphQL request `{query, variables?, operationName?}` against `store`.

    `mask_connection_data`: read `connectionData` back with secret-looking values masked.

    Returns the HTTP status and the GraphQL response: 400 with `{errors}` for a malformed
    request, a syntax error or a validation error; otherwise 200 with `{data, errors?}`.
    """
    if not isinstance(body, dict):
        return _bad_request("the body must be a JSON object {query, variables?, operationName?}")
    query, variables = body.get("query"), body.get("variables")
    operation_name = body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return _bad_request("'query' must be a non-empty string")
    if variables is not None and not isinstance(variables, dict):
        return _bad_request("'variables' must be an object")
    if operation_name is not None and not isinstance(operation_name, str):
        return _bad_request("'operationName' must be a string")
    try:
        document = parse(query)
    except GraphQLError as exc:
        return 400, {"errors": _errors([exc], "GRAPHQL_PARSE_FAILED")}
    problems = validate(schema(), document)
    if problems:
        return 400, {"errors": _errors(problems, "GRAPHQL_VALIDATION_FAILED")}
    result = execute_sync(
        schema(),
        document,
        context_value=_Context(store, mask_connection_data),
        variable_values=variables,
        operation_name=operation_name,
    )
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = _errors(result.errors, "INTERNAL_SERVER_ERROR")
    return 200, response
