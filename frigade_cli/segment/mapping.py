"""A Segment Webhooks (Actions) mapping bound for Frigade, and the rules it is checked against.

No I/O: documents come in as parsed JSON/YAML, findings go out as data. Facts encoded here and
their sources:
- Frigade's webhook is `POST https://api.frigade.com/v1/thirdParty/cdp/segment` with
  `Authorization: Bearer api_private_...`; identify, group and track; batching on, batch size 100
  (Frigade's Segment guide, docs.frigade.com).
- The `send` action's fields `url`, `method` (POST, PUT, PATCH), `headers` (ASCII only), `data`
  (default the whole event, `{"@path": "$."}`), `enable_batching`, `batch_size` (1 to 4000, default
  1000) and the destination's `sharedSecret` (segmentio/action-destinations, destinations/webhook).
- A subscription as Segment's Public API returns it: `{id, name, actionId, actionSlug,
  destinationId, enabled, settings, trigger}`; secrets come back masked as `••••••••••abcd`
  (docs.segmentapis.com, Destinations).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from frigade_cli.segment import batch_wait as wait_model
from frigade_cli.segment.fql import CHECKED_TYPES, Reach, Trigger, TriggerError, parse_trigger

FRIGADE_WEBHOOK_URL = "https://api.frigade.com/v1/thirdParty/cdp/segment"
WHOLE_EVENT = {"@path": "$."}
MAX_BATCH_SIZE = 4000
RECOMMENDED_BATCH_SIZE = 100  # Frigade's Segment guide
SEGMENT_DEFAULT_BATCH_SIZE = 1000  # the send action's default when batch_size is not set
SEVERITIES = ("error", "warning", "info")
# Frigade's docs name what each type is for; a trigger without one loses that.
TYPE_PURPOSE = {
    "identify": "Frigade never learns users' traits (targeting by user properties breaks)",
    "group": "Frigade never learns organizations (group targeting and group properties break)",
    "track": "Frigade never sees events (event-based targeting and flow triggers break)",
}
_PLACEHOLDER = re.compile(
    r"(<[^>]*>|\{\{|\}\}|\$\{|\byour[_\- ]|xxxx|placeholder|changeme|replace[_\- ]?me|"
    r"\.\.\.|api_private_$)",
    re.IGNORECASE,
)
_MASK = re.compile(r"(•|\*{4,})")


@dataclass(frozen=True)
class Rule:
    """A named check: stable code, severity, the field it looks at, what it means, how to fix."""

    code: str
    name: str
    severity: str
    field: str
    summary: str
    fix: str


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
    Rule(
        "V105",
        "method",
        "error",
        "settings.method",
        "the method is not POST",
        "set the method to POST",
    ),
    Rule(
        "V106",
        "batching-off",
        "error",
        "settings.enable_batching",
        "batching is off",
        "turn Enable Batching on",
    ),
    Rule(
        "V107",
        "batch-size-range",
        "error",
        "settings.batch_size",
        "the batch size is outside 1..4000",
        "set the batch size to 100",
    ),
    Rule(
        "V108",
        "auth-missing",
        "error",
        "settings.headers",
        "no Authorization header",
        "add the header Authorization with the value 'Bearer ' and the private key",
    ),
    Rule(
        "V109",
        "auth-value",
        "error",
        "settings.headers.Authorization",
        "the Authorization value is not 'Bearer ' and a private key (api_private_...)",
        "set the value to 'Bearer ' followed by the private key",
    ),
    Rule(
        "V110",
        "header-ascii",
        "error",
        "settings.headers",
        "a header name or value is not ASCII",
        "remove the non-ASCII characters",
    ),
    Rule(
        "V111",
        "mapping-disabled",
        "error",
        "enabled",
        "the mapping is disabled",
        "enable the mapping",
    ),
    Rule(
        "V112",
        "destination-disabled",
        "error",
        "destination.enabled",
        "the destination is disabled",
        "enable the destination",
    ),
    Rule(
        "V113",
        "data-not-whole-event",
        "error",
        "settings.data",
        "the data mapping does not send the whole event",
        'set Data to the whole event: {"@path": "$."}',
    ),
    Rule(
        "V114",
        "trigger-matches-none",
        "error",
        "trigger",
        "the trigger matches none of identify, group, track",
        'set the trigger to type = "identify" or type = "group" or type = "track"',
    ),
    Rule(
        "V115",
        "trigger-parse",
        "error",
        "trigger",
        "the trigger is missing or does not parse",
        'set the trigger to type = "identify" or type = "group" or type = "track"',
    ),
    Rule(
        "V116",
        "live-rejected",
        "error",
        "settings.url",
        "the live test message was not accepted (--live)",
        "fix the URL and the Authorization header, then run again",
    ),
    Rule(
        "V117",
        "no-subscription",
        "error",
        "subscriptions",
        "the destination has no subscription",
        "add a mapping of the Send action with the recommended settings",
    ),
    Rule(
        "V201",
        "trigger-leaves-out",
        "warning",
        "trigger",
        "the trigger leaves out identify, group or track",
        'add the missing type, e.g. or type = "group"',
    ),
    Rule(
        "V202",
        "batch-size-large",
        "warning",
        "settings.batch_size",
        "the batch size is above 100",
        "set the batch size to 100 or less",
    ),
    Rule(
        "V203",
        "batch-wait",
        "warning",
        "settings.batch_size",
        "events wait too long for the batch to fill (--events-per-day)",
        "set the batch size to the recommended value",
    ),
    Rule(
        "V204",
        "duplicate-subscription",
        "warning",
        "trigger",
        "two subscriptions of one destination send the same events to Frigade",
        "disable one of them or make their triggers disjoint",
    ),
    Rule(
        "V205",
        "trigger-mixed-operators",
        "warning",
        "trigger",
        "the trigger mixes and/or at one level: Segment applies the last one to all",
        "add parentheses so each level uses only and or only or",
    ),
    Rule(
        "V301",
        "shared-secret",
        "info",
        "destination.sharedSecret",
        "a shared secret is set; Frigade does not check X-Signature",
        "nothing to do; remove it if nothing else needs it",
    ),
    Rule(
        "V302",
        "key-masked",
        "info",
        "settings.headers.Authorization",
        "the key is masked (Public API) and could not be checked",
        "check it with --mapping FILE, or test it with frigade segment test-webhook",
    ),
    Rule(
        "V303",
        "live-accepted",
        "info",
        "settings.url",
        "the live test message was accepted (--live)",
        "nothing to do",
    ),
    Rule(
        "V304",
        "live-skipped",
        "info",
        "settings.url",
        "the live test message was not sent (--live)",
        "see the message",
    ),
)
RULES_BY_CODE = {r.code: r for r in RULES}
RULES_BY_NAME = {r.name: r for r in RULES}


def find_rule(code_or_name: str) -> Rule | None:
    """A rule by its code (`V106`) or its name (`batching-off`), case-insensitively."""
    key = code_or_name.strip()
    return RULES_BY_CODE.get(key.upper()) or RULES_BY_NAME.get(key.lower())


@dataclass(frozen=True)
class Finding:
    """One problem (or note) about one mapping."""

    code: str
    severity: str
    mapping: str
    field: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "mapping": self.mapping,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


class MappingShapeError(ValueError):
    """The document is not a subscription in any shape Segment's Public API uses."""


@dataclass(frozen=True)
class WebhookMapping:
    """One subscription of the Webhooks (Actions) `send` action, as far as it is known."""

    id: str | None = None
    name: str | None = None
    destination_id: str | None = None
    enabled: bool | None = None
    trigger: str | None = None
    url: str | None = None
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None
    data_set: bool = False
    enable_batching: bool | None = None
    batch_size: Any = None
    label_index: int = 1

    @property
    def label(self) -> str:
        """How the report names it: `id (name)`, or `mapping N`."""
        if self.id and self.name:
            return f"{self.id} ({self.name})"
        return self.id or self.name or f"mapping {self.label_index}"

    @classmethod
    def from_subscription(cls, sub: Mapping[str, Any], index: int = 1) -> WebhookMapping:
        """From a Public API subscription object. Raises MappingShapeError on a wrong shape."""
        settings = sub.get("settings", {})
        if settings is None:
            settings = {}
        if not isinstance(settings, Mapping):
            raise MappingShapeError("'settings' must be an object")
        headers = settings.get("headers", {}) or {}
        if not isinstance(headers, Mapping):
            raise MappingShapeError("'settings.headers' must be an object of name: value")
        enabled = sub.get("enabled")
        return cls(
            id=_text(sub.get("id")),
            name=_text(sub.get("name")),
            destination_id=_text(sub.get("destinationId")),
            enabled=enabled if isinstance(enabled, bool) else None,
            trigger=_text(sub.get("trigger")),
            url=_text(settings.get("url")),
            method=_text(settings.get("method")),
            headers={str(k): "" if v is None else str(v) for k, v in headers.items()},
            data=settings.get("data"),
            data_set="data" in settings,
            enable_batching=_bool(settings.get("enable_batching")),
            batch_size=settings.get("batch_size"),
            label_index=index,
        )

    def with_overrides(self, overrides: MappingOverrides) -> WebhookMapping:
        """This mapping with the values given as flags put in place of its own."""
        headers = dict(self.headers)
        for name, value in overrides.headers:
            for existing in [k for k in headers if k.lower() == name.lower()]:
                del headers[existing]
            headers[name] = value
        return replace(
            self,
            url=overrides.url if overrides.url is not None else self.url,
            method=overrides.method if overrides.method is not None else self.method,
            batch_size=overrides.batch_size
            if overrides.batch_size is not None
            else self.batch_size,
            enable_batching=overrides.enable_batching
            if overrides.enable_batching is not None
            else self.enable_batching,
            trigger=overrides.trigger if overrides.trigger is not None else self.trigger,
            enabled=overrides.enabled if overrides.enabled is not None else self.enabled,
            headers=headers,
        )

    def trigger_reach(self) -> dict[str, str] | None:
        """`{"identify": "all"|"some"|"none", ...}` for a trigger that parses, else None."""
        if self.trigger is None:
            return None
        try:
            parsed = parse_trigger(self.trigger)
        except TriggerError:
            return None
        return {t: r.value for t, r in parsed.reach.items()}

    def as_dict(self) -> dict[str, Any]:
        """The mapping as the report shows it (the renderer redacts keys)."""
        return {
            "id": self.id,
            "name": self.name,
            "destinationId": self.destination_id,
            "enabled": self.enabled,
            "trigger": self.trigger,
            "trigger_reach": self.trigger_reach(),
            "settings": {
                "url": self.url,
                "method": self.method,
                "headers": self.headers,
                "data": self.data,
                "enable_batching": self.enable_batching,
                "batch_size": self.batch_size,
            },
        }


@dataclass(frozen=True)
class MappingOverrides:
    """Values given as flags; None means "keep the mapping's own"."""

    url: str | None = None
    method: str | None = None
    batch_size: int | None = None
    enable_batching: bool | None = None
    headers: tuple[tuple[str, str], ...] = ()
    trigger: str | None = None
    enabled: bool | None = None

    @property
    def any(self) -> bool:
        return self != MappingOverrides()


@dataclass(frozen=True)
class DestinationInfo:
    """What the Public API says about the destination the mappings belong to."""

    id: str
    name: str | None = None
    enabled: bool | None = None
    shared_secret: str | None = None


@dataclass(frozen=True)
class Expectations:
    """What a correct mapping looks like here, and the traffic for batch-wait advice."""

    webhook_url: str = FRIGADE_WEBHOOK_URL
    events_per_day: float | None = None
    max_batch_wait_s: float = wait_model.DEFAULT_MAX_WAIT_S
    target_wait_s: float = wait_model.DEFAULT_TARGET_WAIT_S


def parse_header(text: str) -> tuple[str, str]:
    """`'Name: value'` into `(name, value)`. Raises ValueError without a colon or a name."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise ValueError(f"header {text!r} is not 'Name: value'")
    return name.strip(), value.strip()


def subscriptions_in(document: Any) -> list[Mapping[str, Any]]:
    """The subscription objects in any shape the Public API uses.

    Accepted: a bare subscription, `{"subscription": ...}`, `{"data": {"subscription": ...}}`,
    `{"data": {"subscriptions": [...]}}`, `{"subscriptions": [...]}` or a bare array.
    Raises MappingShapeError otherwise.
    """
    found: Any = document
    if isinstance(found, Mapping) and isinstance(found.get("data"), Mapping):
        found = found["data"]
    if isinstance(found, Mapping):
        for key in ("subscription", "destinationSubscription"):
            if key in found:
                found = found[key]
                break
        else:
            if "subscriptions" in found:
                found = found["subscriptions"]
    items = found if isinstance(found, list) else [found]
    if not items:
        raise MappingShapeError("the document holds no subscription")
    for n, item in enumerate(items, start=1):
        if not isinstance(item, Mapping) or not (
            {"settings", "trigger", "actionSlug", "actionId"} & set(item)
        ):
            where = f"item {n}" if isinstance(found, list) else "the document"
            raise MappingShapeError(
                f"{where} is not a subscription (expected an object with settings and trigger, "
                "as Segment's Public API returns it)"
            )
    return list(items)


def is_masked(value: str) -> bool:
    """True for a secret the Public API masked (`••••••••••abcd`)."""
    return bool(_MASK.search(value))


# The rules ---------------------------------------------------------------------------------------
def check_mappings(
    mappings: Sequence[WebhookMapping],
    expect: Expectations = Expectations(),
    destination: DestinationInfo | None = None,
) -> list[Finding]:
    """Every finding about `mappings` (and their destination), in rule order per mapping."""
    findings: list[Finding] = []
    if destination is not None:
        findings.extend(_check_destination(destination))
    triggers: dict[int, Trigger | None] = {}
    for n, mapping in enumerate(mappings):
        mapping_findings, trigger = _check_one(mapping, expect)
        triggers[n] = trigger
        findings.extend(mapping_findings)
    findings.extend(_duplicates(mappings, triggers, expect))
    return findings


def _finding(
    code: str, mapping: str, message: str, fix: str | None = None, field: str | None = None
) -> Finding:
    rule = RULES_BY_CODE[code]
    return Finding(code, rule.severity, mapping, field or rule.field, message, fix or rule.fix)


def _check_destination(destination: DestinationInfo) -> list[Finding]:
    label = f"destination {destination.id}"
    out = []
    if destination.enabled is False:
        out.append(
            _finding(
                "V112",
                label,
                "the destination is disabled: Segment sends nothing to any of its mappings",
            )
        )
    if destination.shared_secret:
        out.append(
            _finding(
                "V301",
                label,
                "a shared secret is set: Segment signs each request "
                "with X-Signature, which Frigade does not check",
            )
        )
    return out


def _check_one(
    mapping: WebhookMapping, expect: Expectations
) -> tuple[list[Finding], Trigger | None]:
    label = mapping.label
    out: list[Finding] = []
    out.extend(_check_url(mapping, expect))
    method = (mapping.method or "POST").strip().upper()
    if method != "POST":
        out.append(
            _finding(
                "V105", label, f"the method is {mapping.method!r}: Frigade's webhook accepts POST"
            )
        )
    out.extend(_check_batching(mapping, expect))
    out.extend(_check_headers(mapping))
    if mapping.enabled is False:
        out.append(
            _finding("V111", label, "the mapping is disabled: Segment sends nothing through it")
        )
    if mapping.data_set and mapping.data is not None and mapping.data != WHOLE_EVENT:
        out.append(
            _finding(
                "V113",
                label,
                f"Data is {_short(mapping.data)}: Frigade needs the whole Segment event",
            )
        )
    trigger_findings, trigger = _check_trigger(mapping)
    out.extend(trigger_findings)
    return out, trigger


def _check_url(mapping: WebhookMapping, expect: Expectations) -> list[Finding]:
    label = mapping.label
    want = urlsplit(expect.webhook_url)
    url = (mapping.url or "").strip()
    parts = urlsplit(url)
    if not url or parts.scheme not in ("http", "https") or not parts.hostname:
        shown = "missing" if not url else f"{url!r}, not an absolute http(s) URL"
        return [
            _finding("V101", label, f"the URL is {shown}", f"set the URL to {expect.webhook_url}")
        ]
    out = []
    if parts.scheme != want.scheme:
        out.append(
            _finding(
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
            _finding(
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
            _finding(
                "V104",
                label,
                f"the path is {parts.path or '/'!r}{hint}: Frigade answers 404 there",
                f"use the path {want_path}",
            )
        )
    return out


def _check_batching(mapping: WebhookMapping, expect: Expectations) -> list[Finding]:
    label = mapping.label
    if mapping.enable_batching is not True:
        state = "off" if mapping.enable_batching is False else "not set (Segment's default: off)"
        return [
            _finding(
                "V106",
                label,
                f"batching is {state}: Segment sends one request per "
                "event, and Frigade's guide asks for batches",
            )
        ]
    size = mapping.batch_size
    if size is None:
        size = SEGMENT_DEFAULT_BATCH_SIZE
        note = f" (not set: Segment's default is {SEGMENT_DEFAULT_BATCH_SIZE})"
    else:
        note = ""
    if isinstance(size, bool) or not isinstance(size, int):
        return [_finding("V107", label, f"the batch size {size!r} is not a whole number")]
    if not 1 <= size <= MAX_BATCH_SIZE:
        return [
            _finding(
                "V107", label, f"the batch size is {size}: Segment allows 1 to {MAX_BATCH_SIZE}"
            )
        ]
    out = []
    if size > RECOMMENDED_BATCH_SIZE:
        out.append(
            _finding(
                "V202",
                label,
                f"the batch size is {size}{note}: Frigade's guide "
                f"recommends {RECOMMENDED_BATCH_SIZE}, and larger batches wait "
                "longer to fill",
            )
        )
    if expect.events_per_day is not None:
        wait = wait_model.batch_wait(expect.events_per_day, size, expect.max_batch_wait_s)
        if wait.expected_s > expect.target_wait_s:
            best = recommended_batch_size(expect)
            best_wait = wait_model.expected_wait(
                expect.events_per_day, best, expect.max_batch_wait_s
            )
            message = (
                f"at {expect.events_per_day:g} events/day a batch of {size} holds "
                f"{wait.expected_fill:.1f} events on average when sent: an event waits "
                f"{wait.expected_s:.1f} s on average (p95 {wait.p95_s:.1f} s) before it is sent, "
                f"over the {expect.target_wait_s:g} s target"
            )
            fix = f"set the batch size to {best} (expected wait {best_wait:.1f} s)"
            out.append(_finding("V203", label, message, fix))
    return out


def recommended_batch_size(expect: Expectations) -> int:
    """The largest batch size whose expected wait meets the target, capped at Frigade's 100."""
    assert expect.events_per_day is not None
    return wait_model.largest_batch_size(
        expect.events_per_day,
        expect.target_wait_s,
        expect.max_batch_wait_s,
        limit=RECOMMENDED_BATCH_SIZE,
    )


def _check_headers(mapping: WebhookMapping) -> list[Finding]:
    label = mapping.label
    out = []
    for name, value in mapping.headers.items():
        bad = [part for part in (name, value) if not part.isascii() and not is_masked(part)]
        if bad:
            where = "name" if not name.isascii() else "value"
            out.append(
                _finding(
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
            _finding("V108", label, "no Authorization header: Frigade rejects the requests (401)")
        )
        return out
    name, value = auth[0]
    field_name = f"settings.headers.{name}"
    if is_masked(value):
        out.append(
            _finding(
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
        out.append(_finding("V109", label, problem[0], problem[1], field=field_name))
    return out


def auth_problem(value: str) -> tuple[str, str] | None:
    """What is wrong with an Authorization value for Frigade's webhook, and the fix; or None."""
    text = value.strip()
    fix = "set the value to 'Bearer ' followed by the private key (api_private_...)"
    if not text:
        return "the Authorization value is empty", fix
    if _PLACEHOLDER.search(text):
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


def _check_trigger(mapping: WebhookMapping) -> tuple[list[Finding], Trigger | None]:
    label = mapping.label
    if mapping.trigger is None or not mapping.trigger.strip():
        return [
            _finding("V115", label, "there is no trigger: the mapping receives no events")
        ], None
    try:
        trigger = parse_trigger(mapping.trigger)
    except TriggerError as exc:
        return [
            _finding(
                "V115", label, f"the trigger does not parse at column {exc.column}: {exc.message}"
            )
        ], None
    out = []
    missing = [t for t in CHECKED_TYPES if not trigger.lets_through(t)]
    notes = "".join(f"; column {col}: {text}" for col, text in trigger.notes)
    if len(missing) == len(CHECKED_TYPES):
        out.append(
            _finding(
                "V114", label, f"the trigger lets no identify, group or track event through{notes}"
            )
        )
    else:
        for message_type in missing:
            out.append(
                _finding(
                    "V201",
                    label,
                    f"the trigger leaves out {message_type}: {TYPE_PURPOSE[message_type]}{notes}",
                    f'add or type = "{message_type}"',
                )
            )
    if trigger.mixed_at is not None:
        out.append(
            _finding(
                "V205",
                label,
                f"the trigger mixes and/or without parentheses; "
                f"Segment combines every condition at that level with the '"
                f"{_operator_at(mapping.trigger, trigger.mixed_at)}' at column "
                f"{trigger.mixed_at}",
            )
        )
    return out, trigger


def _operator_at(source: str, column: int) -> str:
    return "and" if source[column - 1 :].startswith("and") else "or"


def _duplicates(
    mappings: Sequence[WebhookMapping],
    triggers: Mapping[int, Trigger | None],
    expect: Expectations,
) -> list[Finding]:
    out = []
    live = [
        (n, m)
        for n, m in enumerate(mappings)
        if m.enabled is not False and triggers.get(n) is not None and _to_frigade(m, expect)
    ]
    for i, (n, first) in enumerate(live):
        for k, second in live[i + 1 :]:
            if first.destination_id != second.destination_id:
                continue
            a, b = triggers[n], triggers[k]
            assert a is not None and b is not None
            both = [t for t in CHECKED_TYPES if a.lets_through(t) and b.lets_through(t)]
            if both:
                kinds = ", ".join(f"{t} ({_share(a, b, t)})" for t in both)
                out.append(
                    _finding(
                        "V204",
                        second.label,
                        f"{second.label} and {first.label} "
                        f"both send {kinds} to Frigade: each event arrives twice",
                    )
                )
    return out


def _share(a: Trigger, b: Trigger, message_type: str) -> str:
    every = a.reach[message_type] is Reach.ALL and b.reach[message_type] is Reach.ALL
    return "every event" if every else "some events"


def _to_frigade(mapping: WebhookMapping, expect: Expectations) -> bool:
    url = (mapping.url or "").strip().rstrip("/").lower()
    return bool(url) and url == expect.webhook_url.rstrip("/").lower()


def advice(mappings: Iterable[WebhookMapping], expect: Expectations) -> dict[str, Any]:
    """The batch-wait figures per batched mapping, for the report's `advice` (empty without
    --events-per-day)."""
    if expect.events_per_day is None:
        return {}
    rows = []
    for mapping in mappings:
        size = mapping.batch_size if mapping.batch_size is not None else SEGMENT_DEFAULT_BATCH_SIZE
        if (
            mapping.enable_batching is not True
            or not isinstance(size, int)
            or isinstance(size, bool)
            or not 1 <= size <= MAX_BATCH_SIZE
        ):
            continue
        wait = wait_model.batch_wait(expect.events_per_day, size, expect.max_batch_wait_s)
        rows.append(
            {
                "mapping": mapping.label,
                "batch_size": size,
                "expected_wait_s": round(wait.expected_s, 3),
                "p95_wait_s": round(wait.p95_s, 3),
                "expected_fill": round(wait.expected_fill, 3),
            }
        )
    best = recommended_batch_size(expect)
    return {
        "events_per_day": expect.events_per_day,
        "max_batch_wait_s": expect.max_batch_wait_s,
        "max_batch_wait_confirmed": False,
        "target_wait_s": expect.target_wait_s,
        "recommended_batch_size": best,
        "recommended_expected_wait_s": round(
            wait_model.expected_wait(expect.events_per_day, best, expect.max_batch_wait_s), 3
        ),
        "mappings": rows,
    }


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


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
