"""Frigade's integrations, through its GraphQL API (private key), on the one HTTP layer.

Frigade has no public REST endpoint for integrations. Its GraphQL schema (a snapshot published in
FrigadeHQ/frigade-engage-skill, `reference/graphql-schema.md`; not public API documentation, so
*unconfirmed*, DESIGN.md "Integrations") has:

    mutation ($type: String!, $status: String!, $connectionData: String!) {
      upsertIntegration(type: $type, status: $status, connectionData: $connectionData) { id }
    }
    query { integrations(skip: 0, take: 50) { id type status connectionData createdAt } }
    mutation ($id: Float!) { deleteIntegration(id: $id) { id } }

`connectionData` goes in as a JSON-encoded string holding the write key and may come back as a
JSON object; `take` is at most 50; ids are numbers (read back as strings of digits). The path, the
type name and the key's name inside `connectionData` are settings (`IntegrationsApi`), never
hard-coded truths.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from frigade_cli.kernel.errors import AuthError, UpstreamError
from frigade_cli.kernel.http import RetryPolicy, describe_error, send_with_retry

if TYPE_CHECKING:
    import httpx

DEFAULT_PATH = "/graphql"
DEFAULT_TYPE = "SEGMENT"
DEFAULT_KEY_FIELD = "writeKey"
PAGE_SIZE = 50  # Frigade's validator refuses a larger `take`
INTEGRATION_FIELDS = "id type status connectionData createdAt modifiedAt"


@dataclass(frozen=True)
class IntegrationsApi:
    """Where and how the integrations are called; every value is unconfirmed, hence settable."""

    path: str = DEFAULT_PATH
    type_name: str = DEFAULT_TYPE
    key_field: str = DEFAULT_KEY_FIELD

    def check(self) -> IntegrationsApi:
        """Raise InputError for a value that cannot be written into a request."""
        from frigade_cli.kernel.errors import InputError

        if not self.path.startswith("/"):
            raise InputError(f"GraphQL path {self.path!r} must start with '/'")
        if not self.type_name or any(c.isspace() for c in self.type_name):
            raise InputError(f"integration type {self.type_name!r} must be one word, e.g. SEGMENT")
        if not self.key_field:
            raise InputError("the connectionData key field must not be empty")
        return self


@dataclass(frozen=True)
class Integration:
    """One integration as `integrations` returns it (its write key as the server shows it)."""

    id: str | int
    type: str
    status: str
    connection_data: str | None
    created_at: str | None
    updated_at: str | None

    def shown_key(self, key_field: str) -> str | None:
        """The write key redacted (`****abcd`), whether the server masked it or not."""
        from frigade_cli.kernel.redact import redact_key

        key = self.write_key(key_field)
        if key is None:
            return None
        return key if "*" in key else redact_key(key)

    def write_key(self, key_field: str) -> str | None:
        """The write key inside connectionData under `key_field` (often masked by the server)."""
        if not self.connection_data:
            return None
        try:
            data = json.loads(self.connection_data)
        except ValueError:
            return None
        value = data.get(key_field) if isinstance(data, dict) else None
        return value if isinstance(value, str) else None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Integration:
        raw = data.get("connectionData")
        id_ = data.get("id")
        return cls(
            id=id_ if isinstance(id_, (str, int)) and not isinstance(id_, bool) else str(id_),
            type=str(data.get("type")),
            status=str(data.get("status")),
            connection_data=raw if isinstance(raw, str) or raw is None else json.dumps(raw),
            created_at=data.get("createdAt"),
            updated_at=data.get("modifiedAt") or data.get("updatedAt"),
        )


@dataclass(frozen=True)
class GraphQLRequest:
    """One request as it goes on the wire: for sending, and for `--dry-run`."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]


class FrigadeIntegrations:
    """The integrations calls for one API base URL and private key (`client` None: requests
    can be built, for a dry run, but not sent).

    Errors: AuthError for 401/403; UpstreamError for transport failures, other HTTP errors and
    GraphQL errors (with the server's message and a hint at the unconfirmed settings).
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None,
        api_url: str,
        api_key: str,
        api: IntegrationsApi = IntegrationsApi(),
        retry: RetryPolicy = RetryPolicy(attempts=3),
        on_retry: Callable[[int, str, float], None] | None = None,
    ) -> None:
        self.client = client
        self.url = api_url.rstrip("/") + api.path
        self.api_key = api_key
        self.api = api
        self.retry = retry
        self.on_retry = on_retry

    # Requests --------------------------------------------------------------------------------
    def request(self, query: str, variables: dict[str, Any] | None = None) -> GraphQLRequest:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/json",
        }
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return GraphQLRequest("POST", self.url, headers, body)

    def list_request(self, skip: int = 0, take: int = PAGE_SIZE) -> GraphQLRequest:
        return self.request(
            "query ($skip: Int!, $take: Int!) { integrations(skip: $skip, take: $take) "
            f"{{ {INTEGRATION_FIELDS} }} }}",
            {"skip": skip, "take": take},
        )

    def upsert_request(self, write_key: str, status: str = "ACTIVE") -> GraphQLRequest:
        connection_data = json.dumps({self.api.key_field: write_key}, separators=(",", ":"))
        return self.request(
            "mutation ($type: String!, $status: String!, $connectionData: String!) { "
            "upsertIntegration(type: $type, status: $status, connectionData: $connectionData) "
            f"{{ {INTEGRATION_FIELDS} }} }}",
            {"type": self.api.type_name, "status": status, "connectionData": connection_data},
        )

    def delete_request(self, integration_id: str | int) -> GraphQLRequest:
        # Ids are numbers (`Float!`); one that is not (another server's) goes as an `ID!`.
        number = str(integration_id).isdigit()
        return self.request(
            f"mutation ($id: {'Float!' if number else 'ID!'}) {{ deleteIntegration(id: $id) "
            "{ id } }",
            {"id": int(integration_id) if number else integration_id},
        )

    # Calls -----------------------------------------------------------------------------------
    async def integrations(self) -> list[Integration]:
        """Every integration of the configured type, page by page."""
        found: list[Integration] = []
        skip = 0
        while True:
            data = await self.send(self.list_request(skip, PAGE_SIZE))
            page = data.get("integrations")
            if not isinstance(page, list):
                raise UpstreamError(f"{self.url}: 'integrations' is not a list in the answer")
            found.extend(Integration.from_json(i) for i in page if isinstance(i, dict))
            if len(page) < PAGE_SIZE:
                break
            skip += PAGE_SIZE
        return [i for i in found if i.type == self.api.type_name]

    async def upsert(self, write_key: str, status: str = "ACTIVE") -> Integration:
        data = await self.send(self.upsert_request(write_key, status))
        result = data.get("upsertIntegration")
        if not isinstance(result, dict):
            raise UpstreamError(f"{self.url}: upsertIntegration returned no integration")
        return Integration.from_json(result)

    async def delete(self, integration_id: str | int) -> None:
        await self.send(self.delete_request(integration_id))

    async def send(self, request: GraphQLRequest) -> dict[str, Any]:
        """POST one request; its `data` object, or the error that says why there is none."""
        import httpx

        client = self.client
        assert client is not None, "no HTTP client: requests can only be shown"

        async def post() -> httpx.Response:
            return await client.post(request.url, headers=request.headers, json=request.body)

        try:
            response = await send_with_retry(post, self.retry, self.on_retry)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"cannot reach {self.url}: {describe_error(exc)}") from None
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                f"Frigade rejected the API key (HTTP {status})",
                hint="integrations need the private key (api_private_...)",
            )
        try:
            document = response.json()
        except ValueError:
            document = None
        errors = document.get("errors") if isinstance(document, dict) else None
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
            raise UpstreamError(
                f"{self.url} answered with a GraphQL error: {first.get('message')}",
                hint="the integrations API is not publicly documented: check --graphql-path, "
                "--integration-type and --key-field",
            )
        if status == 404:
            raise UpstreamError(
                f"{self.url} answered 404: no GraphQL endpoint there",
                hint="the path is not publicly documented: set it with --graphql-path",
            )
        if not 200 <= status < 300 or not isinstance(document, dict):
            raise UpstreamError(f"{self.url} answered HTTP {status}: {response.text[:200]}")
        data = document.get("data")
        if not isinstance(data, dict):
            raise UpstreamError(f"{self.url} answered without 'data'")
        return data
