"""The three GraphQL operations the sandbox models at `POST /graphql` (private key).

Frigade has no public REST endpoint for integrations; the (unconfirmed) GraphQL operations are:

    mutation { upsertIntegration(type: SEGMENT, status: ACTIVE, connectionData: "{...}") { id } }
    query { integrations(skip: 0, take: 10) { id type status connectionData createdAt } }
    mutation { deleteIntegration(id: "int_...") { id } }

This is not a GraphQL engine (graphql-core is not a dependency): a small recursive-descent parser
for one operation with root fields, aliases, arguments (inline literals, enums, `$variables` with
defaults) and nested selections; no fragments or directives. `connectionData` is a JSON-encoded
string holding the Segment write key under `writeKey`, `segmentWriteKey` or `apiKey` (the real
key name is unconfirmed); it is returned with secrets masked, as Segment's Public API does.
Syntax and unknown fields answer 400 with `{errors}`; bad input answers 200 with
`{errors, data: null}`, as GraphQL servers do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from frigade_cli.clock import now_iso
from frigade_cli.redact import redact_key
from frigade_cli.sandbox.state import WRITE_KEY_NAMES, Integration, write_key_of

if TYPE_CHECKING:
    from frigade_cli.sandbox.app import Sandbox

INTEGRATION_TYPES = ("SEGMENT",)
INTEGRATION_STATUSES = ("ACTIVE", "INACTIVE")
INTEGRATION_FIELDS = ("id", "type", "status", "connectionData", "createdAt", "modifiedAt")
_ROOT_FIELDS = {
    "query": ("integrations",),
    "mutation": ("upsertIntegration", "deleteIntegration"),
}
_SECRET_NAME = re.compile(r"(?i)key|secret|token|password")

_TOKEN = re.compile(
    r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<block>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\")
  | (?P<string>"(?:[^"\\\n\r]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<punct>\.\.\.|[{}()\[\]:$!=@])
    """,
    re.VERBOSE,
)


class GraphQLError(Exception):
    def __init__(self, message: str, code: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _syntax(message: str) -> GraphQLError:
    return GraphQLError(f"Syntax Error: {message}", "GRAPHQL_PARSE_FAILED", 400)


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class _Variable:
    name: str


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(source):
            match = _TOKEN.match(source, pos)
            if match is None:
                raise _syntax(f"unexpected character {source[pos]!r} at offset {pos}")
            pos = match.end()
            kind = match.lastgroup or ""
            if kind != "skip":
                self.tokens.append((kind, match.group()))
        self.pos = 0
        self.defaults: dict[str, Any] = {}

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        tok_kind, tok_value = self.peek()
        if (value is not None and tok_value != value) or (kind is not None and tok_kind != kind):
            expected = value or kind
            raise _syntax(f"expected {expected}, found {tok_value or 'end of document'!r}")
        self.pos += 1
        return tok_value

    def accept(self, value: str) -> bool:
        if self.peek()[1] == value and self.peek()[0] == "punct":
            self.pos += 1
            return True
        return False

    def operation(self) -> tuple[str, list[Field]]:
        kind, value = self.peek()
        op = "query"
        if kind == "name" and value in ("query", "mutation", "subscription"):
            op = self.take()
            if op == "subscription":
                raise GraphQLError(
                    "subscriptions are not supported", "GRAPHQL_VALIDATION_FAILED", 400
                )
            if self.peek()[0] == "name":
                self.take()
            if self.accept("("):
                self.variable_definitions()
        selections = self.selection_set()
        if self.peek()[0] != "eof":
            raise _syntax("the sandbox runs one operation per request")
        return op, selections

    def variable_definitions(self) -> None:
        while not self.accept(")"):
            self.take("$")
            name = self.take(kind="name")
            self.take(":")
            self.type_ref()
            if self.accept("="):
                self.defaults[name] = self.value(const=True)

    def type_ref(self) -> None:
        if self.accept("["):
            self.type_ref()
            self.take("]")
        else:
            self.take(kind="name")
        self.accept("!")

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while not self.accept("}"):
            if self.peek()[1] == "...":
                raise GraphQLError(
                    "fragments are not supported by the sandbox", "GRAPHQL_VALIDATION_FAILED", 400
                )
            if self.peek()[1] == "@":
                raise GraphQLError(
                    "directives are not supported by the sandbox", "GRAPHQL_VALIDATION_FAILED", 400
                )
            name = self.take(kind="name")
            alias = None
            if self.accept(":"):
                alias, name = name, self.take(kind="name")
            args: dict[str, Any] = {}
            if self.accept("("):
                while not self.accept(")"):
                    arg = self.take(kind="name")
                    self.take(":")
                    args[arg] = self.value()
            selections = self.selection_set() if self.peek()[1] == "{" else None
            fields.append(Field(name, alias, args, selections))
        if not fields:
            raise _syntax("a selection set cannot be empty")
        return fields

    def value(self, const: bool = False) -> Any:
        kind, text = self.peek()
        if kind == "punct" and text == "$" and not const:
            self.take()
            return _Variable(self.take(kind="name"))
        if kind == "string":
            self.take()
            return orjson.loads(text)
        if kind == "block":
            self.take()
            return text[3:-3].replace('\\"""', '"""')
        if kind == "number":
            self.take()
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            self.take()
            return {"true": True, "false": False, "null": None}.get(text, text)
        if self.accept("["):
            items = []
            while not self.accept("]"):
                items.append(self.value(const))
            return items
        if self.accept("{"):
            obj = {}
            while not self.accept("}"):
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value(const)
            return obj
        raise _syntax(f"unexpected {text or 'end of document'!r}")


def _resolve(value: Any, variables: dict[str, Any], defaults: dict[str, Any]) -> Any:
    if isinstance(value, _Variable):
        return variables.get(value.name, defaults.get(value.name))
    if isinstance(value, list):
        return [_resolve(v, variables, defaults) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, variables, defaults) for k, v in value.items()}
    return value


def masked_connection_data(connection_data: str) -> str:
    """connectionData with every secret-looking value masked (`****abcd`)."""
    try:
        data = orjson.loads(connection_data)
    except orjson.JSONDecodeError:
        return "****"
    if not isinstance(data, dict):
        return "****"
    masked = {
        k: (redact_key(v) if isinstance(v, str) and _SECRET_NAME.search(k) else v)
        for k, v in data.items()
    }
    return orjson.dumps(masked).decode()


def _integration_json(integration: Integration) -> dict[str, Any]:
    body = integration.record()
    body["connectionData"] = masked_connection_data(integration.connection_data)
    return body


def _project(value: Any, selections: list[Field] | None, type_name: str) -> Any:
    if selections is None or value is None or isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [_project(v, selections, type_name) for v in value]
    out = {}
    for f in selections:
        if f.name == "__typename":
            out[f.key] = type_name
            continue
        if f.name not in value:
            raise GraphQLError(
                f'Cannot query field "{f.name}" on type "{type_name}".',
                "GRAPHQL_VALIDATION_FAILED",
                400,
            )
        out[f.key] = value[f.name]
    return out


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, "BAD_USER_INPUT")


def _resolve_field(sandbox: Sandbox, f: Field, args: dict[str, Any]) -> Any:
    store = sandbox.store
    if f.name == "integrations":
        skip, take = args.get("skip") or 0, args.get("take")
        if not isinstance(skip, int) or (take is not None and not isinstance(take, int)):
            raise _bad_input("skip and take must be integers")
        found = sorted(store.integrations.values(), key=lambda i: i.created_at)
        chosen = found[skip:] if take is None else found[skip : skip + max(take, 0)]
        return [_integration_json(i) for i in chosen]
    if f.name == "upsertIntegration":
        type_, status, data = args.get("type"), args.get("status"), args.get("connectionData")
        if type_ not in INTEGRATION_TYPES:
            raise _bad_input(
                f"type {type_!r}: the sandbox models only {', '.join(INTEGRATION_TYPES)}"
            )
        if status not in INTEGRATION_STATUSES:
            raise _bad_input(f"status {status!r} must be one of {', '.join(INTEGRATION_STATUSES)}")
        if not isinstance(data, str):
            raise _bad_input("connectionData must be a JSON-encoded string")
        if write_key_of(data) is None:
            raise _bad_input(
                "connectionData must be a JSON object holding the Segment write key under one of "
                + ", ".join(WRITE_KEY_NAMES)
            )
        integration = store.upsert_integration(type_, status, data, now_iso())
        store.commit()
        return _integration_json(integration)
    if f.name == "deleteIntegration":
        integration_id = args.get("id")
        if not isinstance(integration_id, str):
            raise _bad_input("id must be a string")
        deleted = store.delete_integration(integration_id)
        if deleted is None:
            raise _bad_input(f"no integration with id {integration_id!r}")
        store.commit()
        return _integration_json(deleted) if f.selections is not None else True
    raise AssertionError(f.name)


def execute(sandbox: Sandbox, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Run one request `{query, variables?}`; the HTTP status and the GraphQL response."""
    try:
        query, variables = body.get("query"), body.get("variables") or {}
        if not isinstance(query, str) or not query.strip():
            raise GraphQLError("'query' must be a non-empty string", "BAD_REQUEST", 400)
        if not isinstance(variables, dict):
            raise GraphQLError("'variables' must be an object", "BAD_REQUEST", 400)
        parser = _Parser(query)
        op, selections = parser.operation()
        allowed = _ROOT_FIELDS[op]
        root_type = "Mutation" if op == "mutation" else "Query"
        for f in selections:
            if f.name not in allowed and f.name != "__typename":
                raise GraphQLError(
                    f'Cannot query field "{f.name}" on type "{root_type}".',
                    "GRAPHQL_VALIDATION_FAILED",
                    400,
                )
            if f.selections is not None:
                bad = [
                    s.name
                    for s in f.selections
                    if s.name not in (*INTEGRATION_FIELDS, "__typename")
                ]
                if bad:
                    raise GraphQLError(
                        f'Cannot query field "{bad[0]}" on type "Integration".',
                        "GRAPHQL_VALIDATION_FAILED",
                        400,
                    )
        data: dict[str, Any] = {}
        for f in selections:
            if f.name == "__typename":
                data[f.key] = root_type
                continue
            args = _resolve(f.args, variables, parser.defaults)
            data[f.key] = _project(_resolve_field(sandbox, f, args), f.selections, "Integration")
        return 200, {"data": data}
    except GraphQLError as exc:
        error = {"message": str(exc), "extensions": {"code": exc.code}}
        if exc.status == 400:
            return 400, {"errors": [error]}
        return 200, {"errors": [error], "data": None}
