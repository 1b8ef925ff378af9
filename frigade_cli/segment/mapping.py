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
  destinationId, enabled, settings, trigger}`; secrets come back masked as `••••••••••abcd`
  (docs.segmentapis.com, Destinations).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from frigade_cli.segment import batch_wait as wait_model
from frigade_cli.segment.fql import TriggerError, parse_trigger

FRIGADE_WEBHOOK_URL = "https://api.frigade.com/v1/thirdParty/cdp/segment"
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
def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def short_text(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
