"""Redaction of secrets in everything the tool prints or logs."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Frigade keys, Segment write keys given to us, bearer/basic credentials in headers.
# No word boundary before a key: it may follow "%20", "_" or any other text and is still a key.
_FRIGADE_KEY = re.compile(r"(api_(?:private|public)_)([A-Za-z0-9_\-]+)")
_AUTH_HEADER = re.compile(r"(?i)\b(Bearer|Basic)\s+([A-Za-z0-9_\-\.=+/:]+)")
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# Secrets inside URLs: the userinfo part (`https://user:password@host`) and query parameters
# whose name says they carry one (`?api_key=`, `&token=`, `?sig=`, ...).
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s@?#\"'<>]+)@")
_SECRET_QUERY = re.compile(
    r"(?i)([?&;][^=&#\s\"'<>]*?(?:key|token|secret|passw|pwd|auth|sig|credential|session)"
    r"[^=&#\s\"'<>]*=)([^&#\s\"'<>]+)"
)


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
    # Each pattern runs only where it can match: the case-blind ones are slow on long text
    # (streams of events), and most text holds none of their anchors.
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        text = _AUTH_HEADER.sub(lambda m: _redact_credential(m, text), text)
    if "api_p" in text:
        text = _FRIGADE_KEY.sub(lambda m: _redact_match(m, text), text)
    if "@" in text and "://" in text:
        text = _URL_USERINFO.sub(_redact_userinfo, text)
    if "=" in text:
        text = _SECRET_QUERY.sub(_redact_query_value, text)
    return text


def _looks_like_credential(scheme: str, token: str) -> bool:
    """A token after `Bearer`/`Basic` that is a credential, not prose ("Basic monthly plan").

    Credentials are at least 8 characters; a Basic one is base64, which holds a digit, `=`, `+`,
    `/` or an upper-case letter after the first, where an English word after "Basic" does not.
    """
    if len(token) < 8:
        return False
    if scheme.lower() == "bearer":
        return True
    return any(c.isdigit() or c in "=_+/" for c in token) or any(c.isupper() for c in token[1:])


def _redact_credential(match: re.Match[str], text: str) -> str:
    if not _looks_like_credential(match.group(1), match.group(2)):
        return match.group(0)
    return _redact_match(match, text)


def _redact_userinfo(match: re.Match[str]) -> str:
    # `user:password@` keeps the user name; a lone `token@` may itself be the secret.
    user, colon, password = match.group(2).partition(":")
    if "****" in match.group(2):
        return match.group(0)
    shown = f"{user}:****" if colon else "****"
    return f"{match.group(1)}{shown}@" if password or not colon else f"{match.group(1)}{user}:@"


def _redact_query_value(match: re.Match[str]) -> str:
    value = match.group(2)
    if "****" in value:
        return match.group(0)
    return match.group(1) + redact_key(value)


def _redact_match(match: re.Match[str], text: str) -> str:
    # A token followed by '*' is already redacted: leave it, so redaction is idempotent.
    if match.end() < len(text) and text[match.end()] == "*":
        return match.group(0)
    return redact_key(match.group(0))


def is_secret_header(name: str) -> bool:
    """True for a header whose value is a credential: Authorization, cookies, `x-api-key`, ..."""
    lowered = name.lower()
    return lowered in SENSITIVE_HEADERS or any(
        word in lowered for word in ("key", "token", "secret", "auth", "signature", "password")
    )


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with the values of credential-bearing ones redacted."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() in SENSITIVE_HEADERS:
            value = redact_key(value)
        out.append((name, value))
    return out
