"""Realistic synthetic Segment messages, shaped as Segment delivers them to a webhook."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from frigade_cli import __version__
from frigade_cli.clock import iso_from_ms, now_ms

_FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Radia",
]
_LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov"]
_COMPANIES = [
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Ent.",
]
_INDUSTRIES = ["Logistics", "Fintech", "Healthcare", "Retail", "Education", "Media"]
_PLANS = ["free", "starter", "pro", "enterprise"]
_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("Invoice Downloaded", {"invoiceId": "in_{n}", "amount": 129.5, "currency": "USD"}),
    ("Report Exported", {"format": "csv", "rows": 1200}),
    ("Teammate Invited", {"role": "editor"}),
    ("Onboarding Checklist Viewed", {"source": "dashboard"}),
    ("Integration Connected", {"integration": "slack"}),
]
_PAGES = [("Billing", "/settings/billing"), ("Dashboard", "/"), ("Reports", "/reports")]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_millis(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a `Z`, as Segment writes timestamps (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return iso_from_ms((moment - _EPOCH) // timedelta(milliseconds=1))


class MessageFactory:
    """Makes unique, Spec-valid messages; a seed makes the values (not the ids) repeatable."""

    def __init__(self, seed: int | None = None, run_id: str | None = None) -> None:
        self._rng = random.Random(seed)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._n = 0
        self._anonymous_ids: dict[int, str] = {}

    def _common(self, type_: str, user_n: int) -> dict[str, Any]:
        now = now_ms()
        original = now - self._rng.randint(5, 400)
        anonymous_id = self._anonymous_ids.get(user_n)
        if anonymous_id is None:  # one device per user, as a browser keeps its anonymousId
            anonymous_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            self._anonymous_ids[user_n] = anonymous_id
        stamp = iso_from_ms(now)
        return {
            "type": type_,
            # The run id is random per run; the counter makes every id of a run unique.
            "messageId": f"frigade-cli-{self.run_id}-{self._n:07d}",
            "userId": f"cli_user_{self.run_id}_{user_n}",
            "anonymousId": anonymous_id,
            "timestamp": stamp,
            "originalTimestamp": iso_from_ms(original),
            "sentAt": iso_from_ms(original + 4),
            "receivedAt": stamp,
            "context": {
                "library": {"name": "frigade-cli", "version": __version__},
                "locale": "en-US",
                "ip": f"203.0.113.{self._rng.randint(1, 254)}",
            },
            "integrations": {},
            "version": 2,
        }

    def make(self, type_: str) -> dict[str, Any]:
        """One message of `type_` (identify, group, track, page, screen or alias)."""
        self._n += 1
        rng = self._rng
        user_n = rng.randint(1, 50)
        msg = self._common(type_, user_n)
        org = f"cli_org_{self.run_id}_{user_n % 7}"
        if type_ == "identify":
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            msg["traits"] = {
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{user_n}@example.com",
                "plan": rng.choice(_PLANS),
                "createdAt": "2026-03-02T09:00:00.000Z",
            }
        elif type_ == "group":
            msg["groupId"] = org
            msg["traits"] = {
                "name": rng.choice(_COMPANIES),
                "industry": rng.choice(_INDUSTRIES),
                "employees": rng.randint(5, 5000),
                "plan": rng.choice(_PLANS),
            }
        elif type_ == "track":
            name, props = rng.choice(_EVENTS)
            msg["event"] = name
            msg["properties"] = {
                k: (v.format(n=self._n) if isinstance(v, str) else v) for k, v in props.items()
            }
            msg["context"]["groupId"] = org
        elif type_ in ("page", "screen"):
            title, path = rng.choice(_PAGES)
            msg["name"] = title
            msg["properties"] = {"path": path, "title": title}
            if type_ == "page":
                msg["context"]["page"] = {"path": path, "title": title}
        elif type_ == "alias":
            msg["previousId"] = msg["anonymousId"]
        else:
            raise ValueError(f"unknown message type {type_!r}")
        return msg

    def mix(self, count: int, types: Sequence[str]) -> Iterator[dict[str, Any]]:
        """`count` messages cycling through `types` in order, so every type is represented."""
        for i in range(count):
            yield self.make(types[i % len(types)])
