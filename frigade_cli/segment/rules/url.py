"""The URL Segment posts to: absolute, https, Frigade's host and its Segment path."""

from __future__ import annotations

from urllib.parse import urlsplit

from frigade_cli.segment.mapping import (
    FRIGADE_WEBHOOK_URL,
    Expectations,
    WebhookMapping,
)
from frigade_cli.segment.rules.base import Finding, Rule, finding

RULES: tuple[Rule, ...] = (
    Rule(
        "V101",
        "url-invalid",
        "error",
        "settings.url",
        "the URL is missing or not absolute",
        f"set the URL to {FRIGADE_WEBHOOK_URL}",
    ),
    Rule("V102", "url-scheme", "error", "settings.url", "the URL is not https", "use https://"),
    Rule(
        "V103",
        "url-host",
        "error",
        "settings.url",
        "the URL's host is not Frigade's API",
        "use the host api.frigade.com",
    ),
    Rule(
        "V104",
        "url-path",
        "error",
        "settings.url",
        "the URL's path is not Frigade's webhook",
        "use the path /v1/thirdParty/cdp/segment",
    ),
)


def check_url(mapping: WebhookMapping, expect: Expectations) -> list[Finding]:
    label = mapping.label
    want = urlsplit(expect.webhook_url)
    url = (mapping.url or "").strip()
    parts = urlsplit(url)
    if not url or parts.scheme not in ("http", "https") or not parts.hostname:
        shown = "missing" if not url else f"{url!r}, not an absolute http(s) URL"
        return [
            finding("V101", label, f"the URL is {shown}", f"set the URL to {expect.webhook_url}")
        ]
    out = []
    if parts.scheme != want.scheme:
        out.append(
            finding(
                "V102",
                label,
                f"the URL uses {parts.scheme}://: the key would travel unencrypted",
                f"use {want.scheme}://",
            )
        )
    host = _netloc(parts.scheme, parts.netloc)
    if host != _netloc(want.scheme, want.netloc):
        hint = _likely_typo(host, want.netloc.lower())
        out.append(
            finding(
                "V103",
                label,
                f"the host is {host!r}{hint}: events go somewhere other than Frigade",
                f"use the host {want.netloc}",
            )
        )
    path = parts.path.rstrip("/") or "/"
    want_path = want.path.rstrip("/")
    if path != want_path:
        hint = _likely_typo(path, want_path)
        out.append(
            finding(
                "V104",
                label,
                f"the path is {parts.path or '/'!r}{hint}: Frigade answers 404 there",
                f"use the path {want_path}",
            )
        )
    return out


def _netloc(scheme: str, netloc: str) -> str:
    """`host[:port]` without credentials or the scheme's default port, lower case."""
    host = netloc.rsplit("@", 1)[-1].lower()
    default = {"https": ":443", "http": ":80"}.get(scheme, "")
    return host[: -len(default)] if default and host.endswith(default) else host


def _likely_typo(found: str, wanted: str) -> str:
    distance = edit_distance(found, wanted)
    if found.lower() == wanted.lower():
        return f" (letter case differs from {wanted!r})"
    if 0 < distance <= max(2, len(wanted) // 6):
        return f" (likely a typo of {wanted!r}: {distance} edit{'s' if distance > 1 else ''} away)"
    return ""


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions turning `a` into `b`."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
