"""Realistic synthetic Segment messages, shaped as Segment delivers them to a webhook.

Cheap per message: everything that belongs to a user or an organisation (names, emails, device
ids, IPs, company traits) is built once per factory, so a message costs one draw of random bits
(sliced into its choices), a few string formats and one dict literal. A test-webhook run makes
millions of them; `mix` yields them one at a time and never holds a run's messages.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from frigade_cli import __version__
from frigade_cli.kernel.clock import iso_from_ms, now_ms

_FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken"]
_LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov"]
_COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne"]
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
USERS = 50  # distinct users per run
ORGS = 7  # distinct organisations per run; user n belongs to org n % ORGS
_CREATED_AT = "2026-03-02T09:00:00.000Z"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_millis(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a `Z`, as Segment writes timestamps (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return iso_from_ms((moment - _EPOCH) // timedelta(milliseconds=1))


class _User:
    """One synthetic user: the values every message about them repeats, built once."""

    __slots__ = ("anonymous_id", "email", "ip", "name", "org", "org_id", "plan", "user_id")

    def __init__(self, rng: random.Random, run_id: str, n: int) -> None:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        self.user_id = f"cli_user_{run_id}_{n}"
        # One device per user, as a browser keeps its anonymousId. An id holding "e-6" reads
        # like a number in exponent form to the JSON encoder's fast check: draw another.
        self.anonymous_id = "e-6"
        while "e-6" in self.anonymous_id:
            self.anonymous_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.name = f"{first} {last}"
        self.email = f"{first.lower()}.{last.lower()}{n}@example.com"
        self.plan = rng.choice(_PLANS)
        self.ip = f"203.0.113.{rng.randint(1, 254)}"  # TEST-NET-3: documentation addresses
        self.org = n % ORGS
        self.org_id = f"cli_org_{run_id}_{self.org}"


class _Org:
    """One synthetic organisation's group traits, built once."""

    __slots__ = ("employees", "industry", "name", "plan")

    def __init__(self, rng: random.Random) -> None:
        self.name = rng.choice(_COMPANIES)
        self.industry = rng.choice(_INDUSTRIES)
        self.employees = rng.randint(5, 5000)
        self.plan = rng.choice(_PLANS)


class MessageFactory:
    """Makes unique, Spec-valid messages; a seed makes the values (not the ids) repeatable.

    Every message is a new dict (nested objects included), so `--override` may change it in
    place. `messageId` is `frigade-cli-<run id>-<counter>`: unique within a run by the counter,
    across runs by the random run id.
    """

    def __init__(self, seed: int | None = None, run_id: str | None = None) -> None:
        self._rng = random.Random(seed)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._n = 0
        self._users = [_User(self._rng, self.run_id, n) for n in range(1, USERS + 1)]
        self._orgs = [_Org(self._rng) for _ in range(ORGS)]
        self._library = {"name": "frigade-cli", "version": __version__}
        self._stamps: dict[int, str] = {}
        self._makers = {
            "identify": self._identify,
            "group": self._group,
            "track": self._track,
            "page": self._page,
            "screen": self._screen,
            "alias": self._alias,
        }

    def _stamp(self, epoch_ms: int) -> str:
        # Thousands of messages share each millisecond: format it once.
        text = self._stamps.get(epoch_ms)
        if text is None:
            if len(self._stamps) > 4096:
                self._stamps.clear()
            text = self._stamps[epoch_ms] = iso_from_ms(epoch_ms)
        return text

    def _common(self, type_: str, user: _User, bits: int) -> dict[str, Any]:
        now = now_ms()
        original = now - 5 - (bits >> 16) % 396  # the client sent it 5-400 ms before it arrived
        cached = self._stamps.get
        stamp = cached(now) or self._stamp(now)
        return {
            "type": type_,
            "messageId": f"frigade-cli-{self.run_id}-{self._n:07d}",
            "userId": user.user_id,
            "anonymousId": user.anonymous_id,
            "timestamp": stamp,
            "originalTimestamp": cached(original) or self._stamp(original),
            "sentAt": cached(original + 4) or self._stamp(original + 4),
            "receivedAt": stamp,
            "context": {"library": dict(self._library), "locale": "en-US", "ip": user.ip},
            "integrations": {},
            "version": 2,
        }

    def _identify(self, msg: dict[str, Any], user: _User, bits: int) -> None:
        msg["traits"] = {
            "name": user.name,
            "email": user.email,
            "plan": user.plan,
            "createdAt": _CREATED_AT,
        }

    def _group(self, msg: dict[str, Any], user: _User, bits: int) -> None:
        org = self._orgs[user.org]
        msg["groupId"] = user.org_id
        msg["traits"] = {
            "name": org.name,
            "industry": org.industry,
            "employees": org.employees,
            "plan": org.plan,
        }

    def _track(self, msg: dict[str, Any], user: _User, bits: int) -> None:
        name, props = _EVENTS[(bits >> 8) % len(_EVENTS)]
        msg["event"] = name
        msg["properties"] = {
            k: (v.format(n=self._n) if isinstance(v, str) and "{" in v else v)
            for k, v in props.items()
        }
        msg["context"]["groupId"] = user.org_id

    def _page(self, msg: dict[str, Any], user: _User, bits: int) -> None:
        self._screen(msg, user, bits)
        msg["context"]["page"] = dict(msg["properties"])

    def _screen(self, msg: dict[str, Any], user: _User, bits: int) -> None:
        title, path = _PAGES[(bits >> 8) % len(_PAGES)]
        msg["name"] = title
        msg["properties"] = {"path": path, "title": title}

    def _alias(self, msg: dict[str, Any], user: _User, bits: int) -> None:
        msg["previousId"] = user.anonymous_id

    def make(self, type_: str) -> dict[str, Any]:
        """One message of `type_` (identify, group, track, page, screen or alias).

        Raises ValueError for any other type.
        """
        maker = self._makers.get(type_)
        if maker is None:
            raise ValueError(f"unknown message type {type_!r}")
        self._n += 1
        bits = self._rng.getrandbits(32)  # one draw, sliced: user, choice, time offset
        user = self._users[bits % USERS]
        msg = self._common(type_, user, bits)
        maker(msg, user, bits)
        return msg

    def mix(self, count: int, types: Sequence[str]) -> Iterator[dict[str, Any]]:
        """`count` messages cycling through `types` in order, so every type is represented.

        A generator: each message is made when it is asked for.
        """
        for type_ in types:
            if type_ not in self._makers:
                raise ValueError(f"unknown message type {type_!r}")
        make = self.make
        cycle = len(types)
        for i in range(count):
            yield make(types[i % cycle])

    def encoded(self, count: int, types: Sequence[str]) -> Iterator[bytes]:
        """`mix(count, types)` already encoded: each item is the bytes `jsjson.dumps` writes for
        the message `mix` would make with the same draws, without making the dict.

        The fast path of a synthetic run: a message is one bytes format of a template built
        once per user, type and choice. A generator, like `mix`.
        """
        for type_ in types:
            if type_ not in self._makers:
                raise ValueError(f"unknown message type {type_!r}")
        choices = {"track": len(_EVENTS), "page": len(_PAGES), "screen": len(_PAGES)}
        templates: dict[tuple[str, int, int], tuple[bytes, bool]] = {}
        stamps: dict[int, bytes] = {}
        getrandbits = self._rng.getrandbits
        cycle = len(types)

        def stamp(epoch_ms: int) -> bytes:
            text = stamps.get(epoch_ms)
            if text is None:
                if len(stamps) > 4096:
                    stamps.clear()
                text = stamps[epoch_ms] = iso_from_ms(epoch_ms).encode()
            return text

        for i in range(count):
            type_ = types[i % cycle]
            self._n += 1
            bits = getrandbits(32)  # the same draw `make` takes, sliced the same way
            key = (type_, bits % USERS, (bits >> 8) % choices.get(type_, 1))
            entry = templates.get(key)
            if entry is None:
                entry = templates[key] = self._template(type_, self._users[key[1]], bits)
            now = now_ms()
            original = now - 5 - (bits >> 16) % 396
            at = stamp(now)
            n = self._n
            template, numbered = entry
            if numbered:
                yield template % (n, at, stamp(original), stamp(original + 4), at, n)
            else:
                yield template % (n, at, stamp(original), stamp(original + 4), at)

    def _template(self, type_: str, user: _User, bits: int) -> tuple[bytes, bool]:
        """The JSON of a message of `type_` about `user` (choice from `bits`) with %-slots for
        what changes per message: the counter, the timestamps and the counter in a property."""
        msg = self._common(type_, user, bits)
        self._makers[type_](msg, user, bits)
        msg["messageId"] = f"frigade-cli-{self.run_id}-@@ID@@"
        msg["timestamp"] = msg["receivedAt"] = "@@NOW@@"
        msg["originalTimestamp"], msg["sentAt"] = "@@ORIGINAL@@", "@@SENT@@"
        numbered = False
        if type_ == "track":
            props = _EVENTS[(bits >> 8) % len(_EVENTS)][1]
            numbered = any(isinstance(v, str) and "{" in v for v in props.values())
            msg["properties"] = {
                k: (v.format(n="@@N@@") if isinstance(v, str) and "{" in v else v)
                for k, v in props.items()
            }
        raw = orjson.dumps(msg).replace(b"%", b"%%")
        slots = [b"@@ID@@", b"@@NOW@@", b"@@ORIGINAL@@", b"@@SENT@@", b"@@NOW@@"]
        if numbered:
            slots.append(b"@@N@@")
        # The slots must appear in this order for the positional format in `encoded`.
        start = 0
        for slot in slots:
            start = raw.index(slot, start) + len(slot)  # ValueError if one is out of order
        raw = raw.replace(b"@@ID@@", b"%07d").replace(b"@@N@@", b"%d")
        for slot in (b"@@NOW@@", b"@@ORIGINAL@@", b"@@SENT@@"):
            raw = raw.replace(slot, b"%s")
        return raw, numbered
