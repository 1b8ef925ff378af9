"""Segment's Public API (api.segmentapis.com): a destination, its subscriptions, Delivery Overview.

Facts (docs.segmentapis.com; segmentio/public-api-sdk-* generated clients):
- Bearer token auth. `GET /destinations/{id}` is stable; `GET /destinations/{id}/subscriptions` is
  alpha; Delivery Overview is beta. Requests carry `Accept: application/json`, as Segment's own
  SDKs send them: the Public API then answers from each endpoint's most stable version
  (docs.segmentapis.com, "Versioning"); a versioned media type would pin one instead.
- Path parameters are escaped as JavaScript's `encodeURIComponent` escapes them (the SDKs do).
- Lists are cursor-paginated: `pagination[count]` (1 to 200) and `pagination[cursor]`; the answer
  holds `data.pagination {current, next, previous, totalEntries}`; no `next` on the last page.
- Errors: `{"errors": [{"type", "message", "data"?}]}`. Rate limits: headers
  `X-RateLimit-Consumed`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (RFC 5322 date); a 429's
  error carries `data.msBeforeNext`.
- Secret settings come back masked (`••••••••••abcd`).
- Delivery Overview: see `frigade_cli.segment.delivery_overview`; a 422 names the rule the query
  broke.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from frigade_cli.kernel.errors import AuthError, FrigadeCliError, InputError, UpstreamError
from frigade_cli.kernel.exit_codes import ExitCode
from frigade_cli.kernel.http import RetryPolicy, check_url, make_client, send_with_retry

if TYPE_CHECKING:
    import httpx

    from frigade_cli.segment.delivery_overview import Metric

DEFAULT_URL = "https://api.segmentapis.com"
ACCEPT = "application/json"  # what the SDKs send: each endpoint's most stable version answers
PAGE_SIZE = 200  # the documented maximum of pagination[count]
MAX_PAGES = 1000
TOKEN_HELP = (
    "create a Public API token in Segment (Settings > Access Management > Tokens) and pass "
    "--token or set SEGMENT_PUBLIC_API_TOKEN"
)


def _path_part(value: str) -> str:
    """`value` escaped for a URL path as `encodeURIComponent` escapes it (`'` too: Node's URL
    parser escapes it on the way out)."""
    return quote(value, safe="!()*")


class NotFound(FrigadeCliError):
    """The destination does not exist in the token's workspace: nothing can be checked."""

    exit_code = ExitCode.USAGE


class QueryRejected(InputError):
    """Segment refused a query's settings (HTTP 422): the message names the rule (exit 3)."""


class SegmentPublicApi:
    """An async client for the Public API calls `validate`, `deliveries` and `doctor` need.

    Raises AuthError (401/403), NotFound (404), QueryRejected (422), UpstreamError (network,
    5xx, a 429 that retries did not clear, or an unreadable answer).
    """

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        page_size: int = PAGE_SIZE,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = check_url(base_url, carries_secret=True, what="Public API URL").rstrip("/")
        self.token = token
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.page_size = page_size
        self.log = log
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> SegmentPublicApi:
        self._client = make_client(timeout=self.timeout, log=self.log, max_connections=2)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def get_destination(self, destination_id: str) -> dict[str, Any]:
        """`data.destination` of `GET /destinations/{id}`: `{id, name, enabled, settings, ...}`."""
        body = await self._get(f"/destinations/{_path_part(destination_id)}")
        destination = _dig(body, "data", "destination")
        if not isinstance(destination, dict):
            raise UpstreamError("Segment's Public API answer has no data.destination")
        return destination

    async def list_subscriptions(self, destination_id: str) -> list[dict[str, Any]]:
        """Every subscription of the destination, following `pagination.next` page by page."""
        path = f"/destinations/{_path_part(destination_id)}/subscriptions"
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params = {"pagination[count]": str(self.page_size)}
            if cursor:
                params["pagination[cursor]"] = cursor
            body = await self._get(path, params)
            page = _dig(body, "data", "subscriptions")
            if not isinstance(page, list):
                raise UpstreamError("Segment's Public API answer has no data.subscriptions")
            found.extend(s for s in page if isinstance(s, dict))
            next_cursor = _dig(body, "data", "pagination", "next")
            if not next_cursor:
                return found
            if next_cursor in seen:
                raise UpstreamError("Segment's Public API returned the same page cursor twice")
            seen.add(str(next_cursor))
            cursor = str(next_cursor)
        raise UpstreamError(f"more than {MAX_PAGES} pages of subscriptions: stopped reading")

    async def delivery_overview(
        self,
        metric: str,
        *,
        source_id: str,
        destination_id: str | None,
        start: str,
        end: str,
        granularity: str,
        group_by: Sequence[str] = (),
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> Metric:
        """`GET /delivery-overview/{metric}`, every page: the total and the dataset's rows.

        `destination_id` is the `destinationConfigId` of egress metrics (None for ingress);
        `group_by` and `filters` are sent as the typescript SDK sends them (`groupBy[0]=...`,
        `filter[discardReason][0]=...`). A 404 names the ids to check.
        """
        from frigade_cli.segment.delivery_overview import (
            PATH,
            AnswerShapeError,
            Metric,
            parse_page,
        )

        params: dict[str, str] = {
            "sourceId": source_id,
            "startTime": start,
            "endTime": end,
            "granularity": granularity,
            "pagination[count]": str(self.page_size),
        }
        if destination_id is not None:
            params["destinationConfigId"] = destination_id
        for n, dimension in enumerate(group_by):
            params[f"groupBy[{n}]"] = dimension
        for name, values in (filters or {}).items():
            for n, value in enumerate(values):
                params[f"filter[{name}][{n}]"] = value
        ids = "--source-id" + (" and --destination-id" if destination_id is not None else "")
        found = Metric(metric)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            try:
                body = await self._get(f"{PATH}/{metric}", params)
            except NotFound as exc:  # a value the user gave that Segment does not know: exit 3
                raise InputError(
                    exc.message, hint=f"check {ids}: Segment knows no such source or destination"
                ) from None
            try:
                total, rows, following = parse_page(body)
            except AnswerShapeError as exc:
                raise UpstreamError(
                    f"Segment's Delivery Overview answer to {metric} cannot be read: {exc}"
                ) from None
            found.total = total
            found.rows.extend(rows)
            if not following:
                return found
            if following in seen:
                raise UpstreamError("Segment's Public API returned the same page cursor twice")
            seen.add(following)
            params["pagination[cursor]"] = following
        raise UpstreamError(f"more than {MAX_PAGES} pages of {metric}: stopped reading")

    async def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        import httpx

        assert self._client is not None, "use the client in 'async with'"
        client = self._client
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {self.token}", "Accept": ACCEPT}

        async def attempt() -> httpx.Response:
            response = await client.get(url, params=params, headers=headers)
            if response.status_code == 429 and "retry-after" not in response.headers:
                hint = retry_hint(response)
                if hint is not None:
                    # The one retry policy honours Retry-After; Segment gives the wait elsewhere.
                    response.headers["Retry-After"] = hint
            return response

        def on_retry(number: int, reason: str, sleep: float) -> None:
            if self.log:
                self.log(f"Public API {reason}: retry {number} in {sleep:.2f}s")

        try:
            response = await send_with_retry(attempt, self.policy, on_retry)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"cannot reach Segment's Public API at {self.base_url}: {type(exc).__name__}"
                + (f": {exc}" if str(exc) else "")
            ) from None
        return _body_or_raise(response)


def _body_or_raise(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if 200 <= status < 300:
        if not isinstance(body, dict):
            raise UpstreamError(f"Segment's Public API answered HTTP {status} without JSON")
        return body
    detail = error_message(body) or response.reason_phrase
    if status in (401, 403):
        raise AuthError(
            f"Segment's Public API rejected the token (HTTP {status}: {detail})", hint=TOKEN_HELP
        )
    if status == 404:
        raise NotFound(
            f"Segment's Public API: not found (HTTP 404: {detail})",
            hint="check --destination-id (Segment: the destination's Settings page shows its id)",
        )
    if status == 422:
        raise QueryRejected(f"Segment's Public API refused the query (HTTP 422): {detail}")
    if status == 429:
        raise UpstreamError(
            f"Segment's Public API rate limit: HTTP 429 ({detail}){_rate_limit_text(response)}",
            hint="wait for the window to reset and run again",
        )
    raise UpstreamError(f"Segment's Public API answered HTTP {status}: {detail}")


def retry_hint(response: httpx.Response) -> str | None:
    """Seconds to wait after a 429, from the body's `msBeforeNext` or `X-RateLimit-Reset`.

    Segment documents both (docs.segmentapis.com, Rate Limits) rather than `Retry-After`.
    """
    try:
        ms = response.json()["errors"][0]["data"]["msBeforeNext"]
        if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms >= 0:
            return f"{ms / 1000:.3f}"
    except (ValueError, KeyError, IndexError, TypeError):
        pass
    reset = response.headers.get("X-RateLimit-Reset")
    return reset or None


def error_message(body: Any) -> str:
    """The messages of a Public API error body `{"errors": [{"type", "message"}]}`."""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, list):
        messages = [
            str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")
        ]
        return "; ".join(messages)
    return str(body.get("message") or "")


def _rate_limit_text(response: httpx.Response) -> str:
    parts = []
    for header in ("X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"):
        value = response.headers.get(header)
        if value:
            parts.append(f"{header}: {value}")
    try:
        wait = response.json()["errors"][0]["data"]["msBeforeNext"]
        parts.append(f"msBeforeNext: {wait}")
    except (ValueError, KeyError, IndexError, TypeError):
        pass
    return ("; " + ", ".join(parts)) if parts else ""


def _dig(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body
