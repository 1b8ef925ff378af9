"""The headers Segment's Webhooks (Actions) destination sends with each request (no I/O).

One place for them, used by `test-webhook`'s sender, `validate --live` and the sandbox's emulated
destination. Sources, each checked by running the destination's own code
(`new Destination(definition).executeBatch('send', ...)` from `@segment/action-destinations`
on `@segment/actions-core`, whose HTTP client is node-fetch 2 on Node's HTTP agent):

- actions-core's request client starts from `user-agent: Segment (Actions)`;
- the destination's `extendRequest` adds `X-Signature` (hex HMAC-SHA1 of `JSON.stringify` of the
  event's `data`, the first event's when batched) when there is a shared secret and that `data` is
  truthy in JavaScript;
- the `send` action's mapping headers come next: names compared case-insensitively, a repeated
  name's values joined with `", "`, a later name replacing an earlier one (Segment's own
  `user-agent` and `X-Signature` included), and a value of `"undefined"` removing the header;
- the body is JSON, so `content-type: application/json` is set last, whatever the mapping says;
- node-fetch adds `Accept: */*`, `User-Agent: node-fetch/1.0 (...)` and
  `Accept-Encoding: gzip,deflate` unless present, and sets `Content-Length` itself;
- Node's HTTP agent (keep-alive, Node 19 and later) adds `Connection: keep-alive`.

`Host` and `Content-Length` are left to the HTTP layer, which writes them from the URL and body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from frigade_cli.segment import jsjson, signing

SEGMENT_USER_AGENT = "Segment (Actions)"
JSON_CONTENT_TYPE = "application/json"
SIGNATURE_HEADER = "X-Signature"
# What node-fetch 2 sends when a request has none (its getNodeRequestOptions).
NODE_FETCH_USER_AGENT = "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"

Headers = list[tuple[str, str]]


def js_string(value: Any) -> str:
    """`String(value)` as JavaScript writes it, for a JSON value (`true`, `5`, `null`, `1,2`)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return jsjson.number_text(value)
    if isinstance(value, list):
        # Array.prototype.join writes null (and undefined) items as empty strings.
        return ",".join("" if item is None else js_string(item) for item in value)
    return "[object Object]"


def _js_truthy(value: Any) -> bool:
    if isinstance(value, float) and value != value:  # NaN
        return False
    return value not in (None, False, 0, "")


def delivery_headers(
    mapping_headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
    signed: Any = None,
    shared_secret: str | None = None,
) -> Headers:
    """The final `(name, value)` list for one webhook request, one entry per name.

    `mapping_headers`: the mapping's `headers` field (a dict or pairs; values as JSON gives
    them, written as JavaScript's `String()` does). `signed`: the event's `data` (the body's first
    element when batched, the event itself otherwise), used only with a `shared_secret`. Names keep
    their first spelling; HTTP compares them case-insensitively (RFC 9110, section 5.1).
    """
    headers: dict[str, tuple[str, str]] = {}

    def put(name: str, value: str) -> None:
        # A dict keeps a replaced key in its first place: Segment's defaults stay first.
        key = name.lower()
        headers[key] = (headers[key][0] if key in headers else name, value)

    def put_missing(name: str, value: str) -> None:
        if name.lower() not in headers:
            headers[name.lower()] = (name, value)

    put("User-Agent", SEGMENT_USER_AGENT)
    if shared_secret and _js_truthy(signed):
        put(SIGNATURE_HEADER, signing.signature(signed, shared_secret))
    pairs = mapping_headers.items() if isinstance(mapping_headers, Mapping) else mapping_headers
    mapping: dict[str, tuple[str, list[str]]] = {}
    for name, value in pairs or ():
        entry = mapping.setdefault(str(name).lower(), (str(name), []))
        entry[1].append(js_string(value))
    for key, (name, values) in mapping.items():
        value = ", ".join(values)
        if key == "content-length":
            continue  # node-fetch writes the body's own length
        if value == "undefined":
            headers.pop(key, None)
        else:
            # Whitespace around a value is not part of it (RFC 9110, section 5.5): receivers drop
            # what Node sends, and the HTTP layer refuses to send it.
            put(name, value.strip(" \t"))
    put("Content-Type", JSON_CONTENT_TYPE)
    put_missing("Accept", "*/*")
    put_missing("User-Agent", NODE_FETCH_USER_AGENT)
    put_missing("Accept-Encoding", "gzip,deflate")
    put_missing("Connection", "keep-alive")
    return list(headers.values())
