"""Frigade's rules that more than one client or command applies.

Sources: docs.frigade.com (REST API reference, Segment guide) and the FrigadeHQ/javascript SDK.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.keys import check_private_key, strip_bearer

QUOTA_MESSAGE = (
    "HTTP 429: the Frigade account's monthly active user cap is reached; retrying cannot help"
)


class Answer(Protocol):
    """The parts of an HTTP response the rules read (an httpx.Response has them)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...


def is_quota_exhausted(response: Answer) -> bool:
    """Frigade's 429 for the monthly-active-user cap: a quota, not a rate; retrying cannot help.

    Frigade's rule, not Segment's (DESIGN: Frigade answers 429 with no Retry-After when the
    plan's monthly active users are used up), so it lives here, not in the HTTP layer.
    """
    if response.status_code != 429:
        return False
    text = response.text.lower()
    return any(word in text for word in ("monthly", "mau", "active user", "quota", "plan limit"))


def parse_properties(value: Any) -> dict[str, Any]:
    """`properties` as a dict, whether Frigade sent an object or a JSON-encoded string.

    None, an unreadable string or a non-object JSON value give `{}`.
    """
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes)) and value:
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


KEY_HELP = (
    "pass --api-key, set FRIGADE_API_KEY, or run 'frigade config set api_key api_private_...' "
    "(Frigade dashboard: Developer > API keys)"
)


def check_webhook_key(key: str | None, *, required: bool = True) -> str | None:
    """The private key for the webhook, or an InputError (exit 3) saying what is wrong with it."""
    if not key or not strip_bearer(key):
        if required:
            raise InputError("no Frigade API key", hint=KEY_HELP)
        return None
    return check_private_key(key)
