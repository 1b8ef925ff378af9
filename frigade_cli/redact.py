"""Redaction of secrets in everything the tool prints or logs."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Frigade keys, Segment write keys given to us, bearer/basic credentials in headers.
# No word boundary before a key: it may follow "%20", "_" or any other text and is still a key.
_FRIGADE_KEY = re.compile(r"(api_(?:private|public)_)([A-Za-z0-9_\-]+)")
_AUTH_HEADER = re.compile(r"(?i)\b(Bearer|Basic)\s+([A-Za-z0-9_\-\.=+/:]+)")
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def redact_key(key: str | None) -> str:
    """Show a secret as `api_private_****abcd`: its kind prefix and last four characters."""
    if not key:
        return ""
    key = key.strip()
    scheme = ""
    m = re.match(r"(?i)(bearer|basic)\s+", key)
    if m:
        scheme, key = key[: m.end()], key[m.end() :]
    prefix_m = re.match(r"api_(?:private|public)_", key)
    prefix = prefix_m.group(0) if prefix_m else ""
    body = key[len(prefix) :]
    tail = body[-4:] if len(body) > 8 else ""
    return f"{scheme}{prefix}****{tail}"


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace every known secret and every Frigade-shaped key in `text` by its redacted form."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, redact_key(secret))
    # The case-blind header pattern is slow on long text (streams): run it only where it can match.
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        text = _AUTH_HEADER.sub(lambda m: _redact_match(m, text), text)
    if "api_p" in text:
        text = _FRIGADE_KEY.sub(lambda m: _redact_match(m, text), text)
    return text


def _redact_match(match: re.Match[str], text: str) -> str:
    # A token followed by '*' is already redacted: leave it, so redaction is idempotent.
    if match.end() < len(text) and text[match.end()] == "*":
        return match.group(0)
    return redact_key(match.group(0))


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with the values of credential-bearing ones redacted."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() in SENSITIVE_HEADERS:
            value = redact_key(value)
        out.append((name, value))
    return out
