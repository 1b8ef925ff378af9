"""What every service client shares: one httpx client made on first use, closed with the client."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from frigade_cli.kernel.http import RetryPolicy

if TYPE_CHECKING:
    import httpx

_Client = TypeVar("_Client", bound="ServiceClient")


class ServiceClient:
    """Base of the clients of the real services, on the one HTTP layer (`frigade_cli.kernel.http`).

    Use as an async context manager, or pass an `httpx.AsyncClient` as `http` (then it belongs to
    the caller and is not closed here). `timeout` is in seconds per response; `log` receives
    redacted request lines (`-v`).
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._timeout = timeout
        self._log = log
        self._http = http
        self._owns_http = http is None

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the httpx client if this object made it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            from frigade_cli.kernel.http import make_client

            self._http = make_client(timeout=self._timeout, log=self._log)
        return self._http
