"""Which Segment messages a reader wants to see: `frigade segment tail`'s filters (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import translate
from typing import Any


def group_of(message: dict[str, Any]) -> Any:
    """A message's group: `groupId` (group calls), else `context.groupId`, else
    `properties.groupId` (where track events usually carry it)."""
    group = message.get("groupId")
    if group is None:
        for holder in ("context", "properties"):
            inner = message.get(holder)
            if type(inner) is dict and inner.get("groupId") is not None:
                return inner["groupId"]
    return group


@dataclass(frozen=True)
class EventFilter:
    """Conditions a message must all meet; an empty filter lets everything through.

    - `kinds`: message types (or, on the sandbox stream, event kinds such as `delivered`);
    - `event`: a shell-style glob (`flowResponse.*`) on a track's `event` or a page's `name`;
    - `user_id`, `anonymous_id`, `group_id`: exact values (the group as `group_of` finds it).
    """

    kinds: frozenset[str] | None = None
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    group_id: str | None = None

    @classmethod
    def build(
        cls,
        kinds: Iterable[str] = (),
        event: str | None = None,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        group_id: str | None = None,
    ) -> EventFilter:
        """From repeatable/comma-separated kinds and optional values (empty means any)."""
        wanted = frozenset(p.strip() for k in kinds for p in k.split(",") if p.strip())
        return cls(
            wanted or None, event or None, user_id or None, anonymous_id or None, group_id or None
        )

    @property
    def is_empty(self) -> bool:
        return self == EventFilter()

    @property
    def needs_message(self) -> bool:
        """Whether any condition looks inside the message (beyond its kind)."""
        return any(
            v is not None for v in (self.event, self.user_id, self.anonymous_id, self.group_id)
        )

    def matches(self, kind: str, message: Any) -> bool:
        """Whether a message of this kind passes every condition."""
        if self.kinds is not None and kind not in self.kinds:
            return False
        if not self.needs_message:
            return True
        if type(message) is not dict:
            return False
        if self.user_id is not None and _text(message.get("userId")) != self.user_id:
            return False
        if self.anonymous_id is not None and _text(message.get("anonymousId")) != self.anonymous_id:
            return False
        if self.group_id is not None and _text(group_of(message)) != self.group_id:
            return False
        if self.event is not None:
            name = message.get("event", message.get("name"))
            pattern = _patterns.get(self.event) or _patterns.setdefault(
                self.event, re.compile(translate(self.event))
            )
            if not isinstance(name, str) or not pattern.match(name):
                return False
        return True

    def select(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages (each of its own `type`) that pass."""
        if self.is_empty:
            return messages
        return [m for m in messages if self.matches(str(m.get("type")), m)]


_patterns: dict[str, re.Pattern[str]] = {}


def _text(value: Any) -> str | None:
    """An id as text: Segment ids may arrive as numbers."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
