"""Headers and auth: the Authorization header Frigade needs, ASCII only, masked secrets."""

from __future__ import annotations

from frigade_cli.segment.mapping import (
    PLACEHOLDER,
    WebhookMapping,
    is_masked,
)
from frigade_cli.segment.rules.base import Finding, Rule, finding

RULES: tuple[Rule, ...] = (
    Rule(
        "V108",
        "auth-missing",
        "error",
        "settings.headers",
        "no Authorization header",
        "add the header Authorization with the value 'Bearer ' and the private key",
        "Frigade's Segment guide (docs.frigade.com): Authorization 'Bearer ' and the private key",
    ),
    Rule(
        "V109",
        "auth-value",
        "error",
        "settings.headers.Authorization",
        "the Authorization value is not 'Bearer ' and a private key (api_private_...)",
        "set the value to 'Bearer ' followed by the private key",
        "Frigade's Segment guide (docs.frigade.com): Authorization 'Bearer ' and the private key",
    ),
    Rule(
        "V110",
        "header-ascii",
        "error",
        "settings.headers",
        "a header name or value is not ASCII",
        "remove the non-ASCII characters",
        "Segment's Webhooks (Actions) destination (segmentio/action-destinations): "
        "header names and values are ASCII",
    ),
    Rule(
        "V302",
        "key-masked",
        "info",
        "settings.headers.Authorization",
        "the key is masked (Public API) and could not be checked",
        "check it with --mapping FILE, or test it with frigade segment test-webhook",
        "Segment's Public API masks secrets",
    ),
)


def check_headers(mapping: WebhookMapping) -> list[Finding]:
    label = mapping.label
    out = []
    for name, value in mapping.headers.items():
        bad = [part for part in (name, value) if not part.isascii() and not is_masked(part)]
        if bad:
            where = "name" if not name.isascii() else "value"
            out.append(
                finding(
                    "V110",
                    label,
                    f"the header {name!r} has a non-ASCII {where}: "
                    "Segment refuses non-ASCII headers",
                    field=f"settings.headers.{name}",
                )
            )
    auth = [(k, v) for k, v in mapping.headers.items() if k.strip().lower() == "authorization"]
    if not auth:
        out.append(
            finding("V108", label, "no Authorization header: Frigade rejects the requests (401)")
        )
        return out
    name, value = auth[0]
    field_name = f"settings.headers.{name}"
    if is_masked(value):
        out.append(
            finding(
                "V302",
                label,
                "the Authorization value is masked by Segment's "
                "Public API, so the key could not be checked",
                field=field_name,
            )
        )
        return out
    problem = auth_problem(value)
    if problem:
        out.append(finding("V109", label, problem[0], problem[1], field=field_name))
    return out


def auth_problem(value: str) -> tuple[str, str] | None:
    """What is wrong with an Authorization value for Frigade's webhook, and the fix; or None."""
    text = value.strip()
    fix = "set the value to 'Bearer ' followed by the private key (api_private_...)"
    if not text:
        return "the Authorization value is empty", fix
    if PLACEHOLDER.search(text):
        return "the Authorization value is a placeholder, not a key", fix
    scheme, _, rest = text.partition(" ")
    if scheme.lower() == "basic":
        return "the Authorization value uses Basic: Frigade expects 'Bearer ' and the key", fix
    if scheme.lower() == "bearer":
        key = rest.strip()
        if key.startswith("api_public_"):
            return (
                "the key is a public key (api_public_...): the webhook needs the private key",
                "use the private key (api_private_...) from Frigade's dashboard",
            )
        if not key.startswith("api_private_") or len(key) <= len("api_private_"):
            return "the value after 'Bearer ' is not a Frigade private key (api_private_...)", fix
        return None
    if text.startswith("api_public_"):
        return (
            "the value is a bare public key: the webhook needs 'Bearer ' and the private key",
            "set the value to 'Bearer ' and the private key (api_private_...)",
        )
    if text.startswith("api_private_"):
        return (
            "the value is the bare key without 'Bearer ': Frigade rejects it (403)",
            "prefix the key with 'Bearer '",
        )
    return "the Authorization value is not 'Bearer ' and a private key (api_private_...)", fix
