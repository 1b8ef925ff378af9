"""Frigade's rules that more than one client or command applies.

Sources: docs.frigade.com (REST API reference, Segment guide) and the FrigadeHQ/javascript SDK.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from http import HTTPStatus
from typing import Any, Protocol

import orjson

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.keys import basic_user, check_private_key, strip_bearer

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
    return check_private_key(key, strict=True)


def auth_problem(
    authorization: str | None,
    accepted: Collection[str],
    public_keys: Collection[str] = (),
) -> tuple[int, str] | None:
    """None when the `Authorization` header carries one of the `accepted` keys, else the
    (status, message) Frigade answers: 401 without the header; 403 for a scheme other than
    Bearer or Basic, or for another key (one of `public_keys`, public keys that are not accepted
    here, gets a message saying the private key is needed).

    `Bearer <key>` is Frigade's documented form (docs.frigade.com: REST API, Segment guide);
    Basic is accepted with the key as the credential, raw or base64 of `key:` (what Frigade does
    with Basic is not documented). The 401/403 split is NestJS's, as Frigade's API answers.
    """
    if not authorization or not authorization.strip():
        return 401, "Missing API key: send Authorization: Bearer <key>"
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer":
        given = {credential}
    elif scheme.lower() == "basic":
        given = {credential, basic_user(credential) or ""}
    else:
        return 403, "Authorization must be 'Bearer <key>'"
    if given & set(accepted):
        return None
    if given & set(public_keys):
        return 403, "This endpoint needs the private API key (api_private_...)"
    return 403, "Invalid API key"


def error_body(status: int, message: str) -> dict[str, Any]:
    """Frigade's (NestJS's) error shape: `{statusCode, message, error}`."""
    return {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}


_STATUS = re.compile(r"(?<!\d)([1-5]\d\d)(?!\d)")
# What a failed delivery's status means for Frigade's Segment webhook (DESIGN.md, section 2).
_MEANINGS = {
    400: "Frigade refused the body: the mapping's Data must be the whole event",
    401: "the key: the Authorization header holds no key Frigade accepts (Bearer api_private_...)",
    403: "the key: Frigade rejected it; use 'Bearer ' and the private key (api_private_...)",
    404: "the URL path: use https://api.frigade.com/v1/thirdParty/cdp/segment",
    405: "the method: use POST",
    413: "the batch is too large for Frigade: lower the mapping's batch size",
    429: "Frigade's monthly-active-user cap is reached: retries cannot help; raise the limit",
}


def delivery_failure_meaning(reason: str) -> str | None:
    """What a Segment discard reason naming an HTTP status means for Frigade, or None.

    Segment does not document its `discardReason` values, so the first three-digit status in the
    text is read (`HTTP 403 Forbidden`, `Forbidden (403)`); 5xx and timeouts mean Frigade was
    down or slow, which Segment retries for up to 4 hours.
    """
    match = _STATUS.search(reason)
    lowered = reason.lower()
    if match is None:
        if "timeout" in lowered or "timed out" in lowered:
            return "Frigade did not answer in time: Segment retries; check Frigade's status"
        if "unauthorized" in lowered or "forbidden" in lowered:
            return _MEANINGS[403]
        return None
    status = int(match.group(1))
    if status in _MEANINGS:
        return _MEANINGS[status]
    if 500 <= status <= 599:
        return "Frigade was unavailable: Segment retries 5xx (except 501) for up to 4 hours"
    return None
