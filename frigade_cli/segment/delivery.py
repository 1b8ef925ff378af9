"""The headers Segment's Webhooks (Actions) destination sends with each request (no I/O).

One place for them, used by `test-webhook`'s sender and by the sandbox's emulated destination.
Source: segmentio/action-destinations, `packages/destination-actions/src/destinations/webhook/`
(its `send` action and `extendRequest`) and Segment's "Webhooks (Actions)" docs: every request
carries `user-agent: Segment (Actions)` and `content-type: application/json`, then the mapping's
own headers, then, when the destination has a shared secret, `X-Signature`: the hex HMAC-SHA1 of
the JSON of the body (of its first element when batched).

Header names are case-insensitive (RFC 9110, section 5.1): a mapping header named like one of
Segment's (`Content-Type`, `user-agent`, ...) replaces it, in its place, rather than doubling it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from frigade_cli.segment import signing

SEGMENT_USER_AGENT = "Segment (Actions)"
JSON_CONTENT_TYPE = "application/json"
SIGNATURE_HEADER = "X-Signature"

Headers = list[tuple[str, str]]


def delivery_headers(
    mapping_headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
    signed: Any = None,
    shared_secret: str | None = None,
) -> Headers:
    """The final `(name, value)` list for one webhook request, without duplicate names.

    `mapping_headers`: the mapping's `headers` field (a dict or pairs). `signed`: what Segment
    signs, i.e. the body's first element when batched, the event itself otherwise; it is used
    only with a `shared_secret`. Later entries with a name already present (compared
    case-insensitively) replace the earlier value and keep the later spelling.
    """
    headers: dict[str, tuple[str, str]] = {}

    def put(name: str, value: str) -> None:
        # A dict keeps a replaced key in its first place: Segment's defaults stay first.
        headers[name.lower()] = (name, value)

    put("User-Agent", SEGMENT_USER_AGENT)
    put("Content-Type", JSON_CONTENT_TYPE)
    pairs = mapping_headers.items() if isinstance(mapping_headers, Mapping) else mapping_headers
    for name, value in pairs or ():
        put(str(name), str(value))
    if shared_secret:
        put(SIGNATURE_HEADER, signing.signature(signed, shared_secret))
    return list(headers.values())
