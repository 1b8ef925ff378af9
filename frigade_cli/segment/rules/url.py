"""The URL Segment posts to: absolute, https, Frigade's host and its Segment path."""

from __future__ import annotations

from urllib.parse import urlsplit

from frigade_cli.segment.mapping import FRIGADE_WEBHOOK_URL, Expectations, WebhookMapping
from frigade_cli.segment.rules.base import Finding, Rule, finding

URL_BASIS = (
    "the expected URL: Frigade's documented webhook (docs.frigade.com), "
    "or the one --expect-url or --sandbox names"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "V101",
        "url-invalid",
        "error",
        "settings.url",
        "the URL is missing or not absolute",
        f"set the URL to {FRIGADE_WEBHOOK_URL}",
        URL_BASIS,
    ),
    Rule(
        "V102",
        "url-scheme",
        "error",
        "settings.url",
        "the URL's scheme is not the expected one (https)",
        "use https://",
        URL_BASIS,
    ),
    Rule(
        "V103",
        "url-host",
        "error",
        "settings.url",
        "the URL's host is not the expected one (Frigade's API)",
        "use the host api.frigade.com",
        URL_BASIS,
    ),
    Rule(
        "V104",
        "url-path",
        "error",
        "settings.url",
        "the URL's path is not the expected one (Frigade's webhook)",
        "use the path /v1/thirdParty/cdp/segment",
        URL_BASIS,
    ),
    Rule(
        "V207",
        "url-trailing-slash",
        "warning",
        "settings.url",
        "the URL's path differs from the expected one by a trailing slash",
        "write the path exactly as expected (check the answer with --live)",
        URL_BASIS,
    ),
)


def check_url(mapping: WebhookMapping, expect: Expectations) -> list[Finding]:
    """V101-V104 and V207: the mapping's URL against `expect.webhook_url`, each finding naming
    the expected URL and where it comes from."""
    label = mapping.label
    basis = f"expected {expect.webhook_url} ({expect.webhook_url_basis})"
    want = urlsplit(expect.webhook_url)
    url = (mapping.url or "").strip()
    parts = urlsplit(url)
    if not url or parts.scheme not in ("http", "https") or not parts.hostname:
        shown = "missing" if not url else f"{url!r}, not an absolute http(s) URL"
        return [
            finding(
                "V101",
                label,
                f"the URL is {shown}",
                f"set the URL to {expect.webhook_url}",
                basis=basis,
            )
        ]
    out = []
    if parts.scheme != want.scheme:
        why = ": the key would travel unencrypted" if parts.scheme == "http" else ""
        out.append(
            finding(
                "V102",
                label,
                f"the URL uses {parts.scheme}://, not {want.scheme}://{why}",
                f"use {want.scheme}://",
                basis=basis,
            )
        )
    host = _netloc(parts.scheme, parts.netloc)
    want_host = _netloc(want.scheme, want.netloc)
    if host != want_host:
        hint = _likely_typo(host, want_host) or f", not {want_host!r}"
        out.append(
            finding(
                "V103",
                label,
                f"the host is {host!r}{hint}: events go somewhere else",
                f"use the host {want_host}",
                basis=basis,
            )
        )
    path, want_path = parts.path or "/", want.path or "/"
    if path.rstrip("/") != want_path.rstrip("/"):
        hint = _likely_typo(path.rstrip("/"), want_path.rstrip("/")) or f", not {want_path!r}"
        out.append(
            finding(
                "V104",
                label,
                f"the path is {path!r}{hint}: the webhook is not there",
                f"use the path {want_path}",
                basis=basis,
            )
        )
    elif path != want_path:
        slash = (
            f"ends with a slash that {want_path!r} does not have"
            if path.endswith("/")
            else f"lacks the final slash of {want_path!r}"
        )
        out.append(
            finding(
                "V207",
                label,
                f"the path {path!r} {slash}: a server that matches paths "
                "exactly answers 404 there (the sandbox does; Frigade's answer is unconfirmed)",
                f"use the path {want_path} (or check the answer with --live)",
                basis=basis,
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
