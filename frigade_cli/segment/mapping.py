"""A Segment Webhooks (Actions) mapping bound for Frigade: the model `segment.rules` checks.

No I/O: documents come in as parsed JSON/YAML, findings go out as data. Facts encoded here and
their sources:
- Frigade's webhook is `POST https://api.frigade.com/v1/thirdParty/cdp/segment` with
  `Authorization: Bearer api_private_...`; identify, group and track; batching on, batch size 100
  (Frigade's Segment guide, docs.frigade.com).
- The `send` action's fields `url`, `method` (POST, PUT, PATCH), `headers` (ASCII only), `data`
  (default the whole event, `{"@path": "$."}`), `enable_batching`, `batch_size` (1 to 4000, default
  1000) and the destination's `sharedSecret` (segmentio/action-destinations, destinations/webhook).
- A subscription as Segment's Public API returns it: `{id, name, actionId, actionSlug,
  destinationId, enabled, settings, trigger}`, and a destination as `{id, name, enabled,
  metadata, settings: {sharedSecret, ...}}` (`GET /destinations/{id}`, under `data.destination`);
  secrets come back masked as `••••••••••abcd` (docs.segmentapis.com, Destinations).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from frigade_cli.segment import batch_wait as wait_model
from frigade_cli.segment.fql import TriggerError, parse_trigger

FRIGADE_WEBHOOK_URL = "https://api.frigade.com/v1/thirdParty/cdp/segment"
FRIGADE_WEBHOOK_BASIS = "Frigade's documented webhook, docs.frigade.com"
WHOLE_EVENT = {"@path": "$."}
MAX_BATCH_SIZE = 4000
RECOMMENDED_BATCH_SIZE = 100  # Frigade's Segment guide
SEGMENT_DEFAULT_BATCH_SIZE = 1000  # the send action's default when batch_size is not set
PLACEHOLDER = re.compile(
    r"(<[^>]*>|\{\{|\}\}|\$\{|\byour[_\- ]|xxxx|placeholder|changeme|replace[_\- ]?me|"
    r"\.\.\.|api_private_$)",
    re.IGNORECASE,
)
_MASK = re.compile(r"(•|\*{4,})")


DocumentPath = tuple[str | int, ...]  # keys and indexes from a document's root to a value


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
    line: int | None = None  # where the subscription starts in its file
    # (field, value) of each true/false field that holds something else, e.g. ("enabled", "yes")
    non_booleans: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """How the report names it: `id (name)`, or `mapping N`."""
        if self.id and self.name:
            return f"{self.id} ({self.name})"
        return self.id or self.name or f"mapping {self.label_index}"

    @classmethod
    def from_subscription(
        cls, sub: Mapping[str, Any], index: int = 1, line: int | None = None
    ) -> WebhookMapping:
        """From a Public API subscription object (`line`: where it starts in its file).

        A boolean field holding anything but true or false (`"enabled": "yes"`) is kept in
        `non_booleans` and read as unknown, never as true. Raises MappingShapeError on a wrong
        shape.
        """
        settings = sub.get("settings", {})
        if settings is None:
            settings = {}
        if not isinstance(settings, Mapping):
            raise MappingShapeError("'settings' must be an object")
        headers = settings.get("headers", {}) or {}
        if not isinstance(headers, Mapping):
            raise MappingShapeError("'settings.headers' must be an object of name: value")
        non_booleans = _non_booleans(
            ("enabled", sub.get("enabled")),
            ("settings.enable_batching", settings.get("enable_batching")),
        )
        return cls(
            id=_text(sub.get("id")),
            name=_text(sub.get("name")),
            destination_id=_text(sub.get("destinationId")),
            enabled=_bool(sub.get("enabled")),
            trigger=_text(sub.get("trigger")),
            url=_text(settings.get("url")),
            method=_text(settings.get("method")),
            headers={str(k): "" if v is None else str(v) for k, v in headers.items()},
            data=settings.get("data"),
            data_set="data" in settings,
            enable_batching=_bool(settings.get("enable_batching")),
            batch_size=settings.get("batch_size"),
            label_index=index,
            line=line,
            non_booleans=non_booleans,
        )

    def non_boolean(self, field_name: str) -> tuple[str, Any] | None:
        """`(field, value)` when `field_name` holds something other than true or false."""
        return next((item for item in self.non_booleans if item[0] == field_name), None)

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
            non_booleans=tuple(
                (name, value)
                for name, value in self.non_booleans
                if not (name == "enabled" and overrides.enabled is not None)
                and not (
                    name == "settings.enable_batching" and overrides.enable_batching is not None
                )
            ),
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
            "line": self.line,
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
    """What the Public API (or a file of its answers) says about the mappings' destination."""

    id: str
    name: str | None = None
    enabled: bool | None = None
    shared_secret: str | None = None
    line: int | None = None  # where `data.destination` starts in its file
    non_booleans: tuple[tuple[str, Any], ...] = ()  # ("destination.enabled", value) if not bool

    @property
    def label(self) -> str:
        """How the report names it: `destination dst_...`."""
        return f"destination {self.id}"

    @classmethod
    def from_public_api(
        cls, destination: Mapping[str, Any], fallback_id: str = "?", line: int | None = None
    ) -> DestinationInfo:
        """From `data.destination` of `GET /destinations/{id}`; `fallback_id` when it has no
        id. Raises MappingShapeError when its settings are not an object."""
        settings = destination.get("settings") or {}
        if not isinstance(settings, Mapping):
            raise MappingShapeError("'destination.settings' must be an object")
        secret = settings.get("sharedSecret")
        return cls(
            id=str(destination.get("id") or fallback_id),
            name=_text(destination.get("name")),
            enabled=_bool(destination.get("enabled")),
            shared_secret=str(secret) if secret else None,
            line=line,
            non_booleans=_non_booleans(("destination.enabled", destination.get("enabled"))),
        )


@dataclass(frozen=True)
class Expectations:
    """What a correct mapping looks like here, and the traffic for batch-wait advice.

    `webhook_url_basis` says where the expected URL comes from (Frigade's docs, --expect-url,
    the sandbox); every URL finding names it.
    """

    webhook_url: str = FRIGADE_WEBHOOK_URL
    webhook_url_basis: str = FRIGADE_WEBHOOK_BASIS
    events_per_day: float | None = None
    max_batch_wait_s: float = wait_model.DEFAULT_MAX_WAIT_S
    target_wait_s: float = wait_model.DEFAULT_TARGET_WAIT_S


def parse_header(text: str) -> tuple[str, str]:
    """`'Name: value'` into `(name, value)`. Raises ValueError without a colon or a name."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise ValueError(f"header {text!r} is not 'Name: value'")
    return name.strip(), value.strip()


@dataclass(frozen=True)
class MappingExport:
    """What a document of the Public API's answers holds: subscriptions, maybe their destination,
    and the path of each inside the document (for its line in the file)."""

    subscriptions: list[Mapping[str, Any]]
    paths: list[DocumentPath]
    destination: Mapping[str, Any] | None = None
    destination_path: DocumentPath | None = None


def export_in(document: Any) -> MappingExport:
    """The subscriptions (and the destination) in any shape the Public API uses.

    Accepted: a bare subscription, `{"subscription": ...}`, `{"data": {"subscription": ...}}`,
    `{"data": {"subscriptions": [...]}}`, `{"subscriptions": [...]}` or a bare array; any of the
    wrapped forms may hold `"destination": {...}` beside them (`GET /destinations/{id}`), which may
    also stand alone. Raises MappingShapeError otherwise, and for a document with neither a
    subscription nor a destination.
    """
    found: Any = document
    base: DocumentPath = ()
    if isinstance(found, Mapping) and isinstance(found.get("data"), Mapping):
        found, base = found["data"], ("data",)
    destination = None
    if isinstance(found, Mapping) and "destination" in found:
        destination = found["destination"]
        if not isinstance(destination, Mapping):
            raise MappingShapeError(
                "'destination' must be an object, as GET /destinations/{id} returns it"
            )
    items: list[Any]
    paths: list[DocumentPath]
    listed = False
    if isinstance(found, Mapping):
        key = next((k for k in ("subscription", "destinationSubscription") if k in found), None)
        if key is not None:
            items, paths = [found[key]], [(*base, key)]
        elif "subscriptions" in found:
            listed, subscriptions = True, found["subscriptions"]
            if not isinstance(subscriptions, list):
                raise MappingShapeError("'subscriptions' must be an array")
            items = subscriptions
            paths = [(*base, "subscriptions", n) for n in range(len(items))]
        elif destination is not None:
            items, paths = [], []
        else:
            items, paths = [found], [base]
    elif isinstance(found, list):
        listed, items, paths = True, found, [(n,) for n in range(len(found))]
    else:
        items, paths = [found], [base]
    if not items and destination is None:
        raise MappingShapeError("the document holds no subscription")
    for n, item in enumerate(items, start=1):
        if not isinstance(item, Mapping) or not (
            {"settings", "trigger", "actionSlug", "actionId"} & set(item)
        ):
            where = f"item {n}" if listed else "the document"
            raise MappingShapeError(
                f"{where} is not a subscription (expected an object with settings and trigger, "
                "as Segment's Public API returns it)"
            )
    destination_path = (*base, "destination") if destination is not None else None
    return MappingExport(list(items), paths, destination, destination_path)


def is_masked(value: str) -> bool:
    """True for a secret the Public API masked (`••••••••••abcd`)."""
    return bool(_MASK.search(value))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _non_booleans(*fields: tuple[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The `(name, value)` pairs whose value is set (not null) but not true or false."""
    return tuple((name, v) for name, v in fields if v is not None and not isinstance(v, bool))


def short_text(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
