"""A running sandbox's control API (`GET /_sandbox/config`): its keys and URLs.

Commands pointed at a running sandbox (`--sandbox --sandbox-url URL`) read its generated keys
here; keys the sandbox was started with are shown redacted, so they must be given instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from frigade_cli.kernel.errors import InputError, UpstreamError
from frigade_cli.kernel.http import check_url, describe_error, make_client


@dataclass(frozen=True)
class SandboxKeys:
    """What a running sandbox shows of itself; a key is None when it is shown redacted."""

    url: str
    api_key: str | None
    write_key: str | None
    urls: dict[str, str]

    def require(self, name: str, flag: str) -> str:
        """The key `name` ("api_key", "write_key"); InputError naming `flag` when not shown."""
        key = self.api_key if name == "api_key" else self.write_key
        if key is None:
            raise InputError(
                f"the sandbox at {self.url} was started with its own {name.replace('_', ' ')}, "
                "which it does not show",
                hint=f"pass that key with {flag}",
            )
        return key


def read_sandbox(url: str, timeout: float = 10.0) -> SandboxKeys:
    """The keys and URLs of the sandbox at `url`; UpstreamError (exit 5) when it cannot be read."""
    import httpx

    base = check_url(url, carries_secret=False, what="--sandbox-url").rstrip("/")

    async def read() -> Any:
        async with make_client(timeout=timeout) as client:
            response = await client.get(base + "/_sandbox/config")
            response.raise_for_status()
            return response.json()

    try:
        settings = asyncio.run(read())
        keys, urls = settings["keys"], settings["urls"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise UpstreamError(
            f"cannot read the sandbox at {base}: {describe_error(exc)}",
            hint="start one with 'frigade sandbox', or check --sandbox-url",
        ) from None

    def shown(name: str) -> str | None:
        value = keys.get(name)
        return value if isinstance(value, str) and value and "*" not in value else None

    return SandboxKeys(base, shown("api_key"), shown("write_key"), dict(urls))
