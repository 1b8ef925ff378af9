"""What the sandbox's Frigade side knows: users, groups, flow states, integrations, failed batches.

In memory by default. With a data file (`--data FILE`) every change is also written through to
SQLite (stdlib `sqlite3`), one transaction per request (`Store.commit`), and read back at start,
so the state survives a restart. Everything runs on the server's event loop, one request at a time
between awaits, so no locks are needed.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from frigade_cli.kernel.errors import InputError

SCHEMA_VERSION = "2"  # 2: integration ids are numbers, as Frigade's are
# The key name inside connectionData is unconfirmed for the real API: any of these is taken.
WRITE_KEY_NAMES = ("writeKey", "segmentWriteKey", "apiKey")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL
);
"""


@dataclass(slots=True)
class User:
    """A Frigade user as `GET /v1/users` returns it."""

    user_id: str
    created_at: str
    modified_at: str
    properties: dict[str, Any] = field(default_factory=dict)
    tracking_events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "properties": self.properties,
            "trackingEvents": self.tracking_events,
        }

    def record(self) -> dict[str, Any]:
        """What is persisted as the record (tracking events are stored as events)."""
        body = self.to_json()
        del body["trackingEvents"]
        return body


@dataclass(slots=True)
class Group:
    """A Frigade group as `GET /v1/groups` returns it, with its members' user ids."""

    group_id: str
    created_at: str
    modified_at: str
    properties: dict[str, Any] = field(default_factory=dict)
    user_ids: dict[str, None] = field(default_factory=dict)  # an ordered set
    tracking_events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        # `name` and `membersCount` are fields of Frigade's ExternalizedUserGroup; the name is
        # the group's `name` trait (Segment's reserved trait for a group's name).
        name = self.properties.get("name")
        return {
            "groupId": self.group_id,
            "name": name if isinstance(name, str) else None,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "properties": self.properties,
            "membersCount": len(self.user_ids),
            "userIds": list(self.user_ids),
            "trackingEvents": self.tracking_events,
        }

    def record(self) -> dict[str, Any]:
        body = self.to_json()
        del body["trackingEvents"]
        return body


@dataclass(slots=True)
class Integration:
    """A Frigade -> CDP integration as the sandbox's GraphQL models it (ids are numbers)."""

    id: int
    type: str
    status: str
    connection_data: str  # a JSON-encoded string, as the mutation takes it
    created_at: str
    modified_at: str

    @property
    def write_key(self) -> str | None:
        """The Segment write key inside `connectionData`, under any of WRITE_KEY_NAMES."""
        return write_key_of(self.connection_data)

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "connectionData": self.connection_data,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
        }


def write_key_of(connection_data: str) -> str | None:
    try:
        data = orjson.loads(connection_data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    for name in WRITE_KEY_NAMES:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return None


class Store:
    """The sandbox's Frigade-side state, optionally written through to a SQLite file."""

    def __init__(self, path: Path | None = None, log: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.flow_states: list[dict[str, Any]] = []
        self.integrations: dict[int, Integration] = {}
        self._last_integration_id = 0  # ids are never reused, as a database sequence
        self.undeliverable: list[dict[str, Any]] = []
        self._db: sqlite3.Connection | None = None
        # Changes since the last commit (kept only when persisting).
        self._dirty: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._new_events: list[tuple[str, str, bytes]] = []
        self._deleted_events: list[tuple[str, str]] = []  # (kind, key) of a deleted user
        if path is not None:
            self._db = _open(path, log)
            self._load()

    @property
    def persistent(self) -> bool:
        return self._db is not None

    # Users and groups ---------------------------------------------------------------------------
    def upsert_user(self, user_id: str, properties: dict[str, Any] | None, at: str) -> User:
        """The user, created when new; `properties` merged into its properties."""
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = User(user_id, at, at, dict(properties or {}))
        else:
            if properties:
                user.properties.update(properties)
            user.modified_at = at
        if self._db is not None:
            self._dirty["user", user_id] = user.record()
        return user

    def add_user_event(
        self, user: User, event: str, properties: dict[str, Any] | None, at: str
    ) -> None:
        # Frigade documents a tracking event as {event, properties, createdAt}: nothing more.
        entry = {
            "event": event,
            "properties": properties if properties is not None else {},
            "createdAt": at,
        }
        user.tracking_events.append(entry)
        if self._db is not None:
            self._new_events.append(("user_event", user.user_id, orjson.dumps(entry)))

    def delete_user(self, user_id: str) -> bool:
        """Forget the user, their tracking events, flow states and group memberships; False
        when there is no such user."""
        if self.users.pop(user_id, None) is None:
            return False
        for group in self.groups.values():
            if user_id in group.user_ids:
                del group.user_ids[user_id]
                if self._db is not None:
                    self._dirty["group", group.group_id] = group.record()
        self.flow_states = [f for f in self.flow_states if f.get("userId") != user_id]
        if self._db is not None:
            self._dirty["user", user_id] = None
            self._new_events = [
                e for e in self._new_events if not (e[1] == user_id and e[0] != "group_event")
            ]
            self._deleted_events.extend([("user_event", user_id), ("flow_state", user_id)])
        return True

    def upsert_group(
        self, group_id: str, properties: dict[str, Any] | None, at: str, member: str | None = None
    ) -> Group:
        """The group, created when new; properties merged and `member` added to its users."""
        group = self.groups.get(group_id)
        if group is None:
            group = self.groups[group_id] = Group(group_id, at, at, dict(properties or {}))
        else:
            if properties:
                group.properties.update(properties)
            group.modified_at = at
        if member is not None:
            group.user_ids[member] = None
        if self._db is not None:
            self._dirty["group", group_id] = group.record()
        return group

    def add_group_event(
        self, group: Group, event: str, properties: dict[str, Any] | None, at: str
    ) -> None:
        entry = {"event": event, "properties": properties or {}, "createdAt": at}
        group.tracking_events.append(entry)
        if self._db is not None:
            self._new_events.append(("group_event", group.group_id, orjson.dumps(entry)))

    # Flow states, integrations, failed batches --------------------------------------------------
    def add_flow_state(self, record: dict[str, Any]) -> None:
        self.flow_states.append(record)
        if self._db is not None:
            self._new_events.append(("flow_state", str(record["userId"]), orjson.dumps(record)))

    def upsert_integration(
        self, type_: str, status: str, connection_data: str, at: str
    ) -> Integration:
        """One integration per type, as an upsert by type."""
        found = next((i for i in self.integrations.values() if i.type == type_), None)
        if found is None:
            self._last_integration_id += 1
            found = Integration(self._last_integration_id, type_, status, connection_data, at, at)
            self.integrations[found.id] = found
            if self._db is not None:
                self._dirty["sequence", "integration"] = {"last": self._last_integration_id}
        else:
            found.status, found.connection_data, found.modified_at = status, connection_data, at
        if self._db is not None:
            self._dirty["integration", str(found.id)] = found.record()
        return found

    def delete_integration(self, integration_id: int) -> Integration | None:
        found = self.integrations.pop(integration_id, None)
        if found is not None and self._db is not None:
            self._dirty["integration", str(integration_id)] = None
        return found

    def active_integration(self, type_: str) -> Integration | None:
        return next(
            (i for i in self.integrations.values() if i.type == type_ and i.status == "ACTIVE"),
            None,
        )

    def add_undeliverable(self, record: dict[str, Any]) -> None:
        self.undeliverable.append(record)
        if self._db is not None:
            self._dirty["undeliverable", str(record["id"])] = record

    # Persistence ---------------------------------------------------------------------------------
    def commit(self) -> None:
        """Write this request's changes in one transaction (a no-op in memory)."""
        if self._db is None or not (self._dirty or self._new_events or self._deleted_events):
            return
        deleted_events, self._deleted_events = self._deleted_events, []
        dirty, self._dirty = self._dirty, {}
        new_events, self._new_events = self._new_events, []
        upserts = [
            (kind, key, orjson.dumps(body).decode())
            for (kind, key), body in dirty.items()
            if body is not None
        ]
        deletes = [(kind, key) for (kind, key), body in dirty.items() if body is None]
        with self._db:
            if upserts:
                self._db.executemany(
                    "INSERT OR REPLACE INTO records (kind, key, body) VALUES (?, ?, ?)", upserts
                )
            if deletes:
                self._db.executemany("DELETE FROM records WHERE kind = ? AND key = ?", deletes)
            if deleted_events:
                self._db.executemany(
                    "DELETE FROM events WHERE kind = ? AND key = ?", deleted_events
                )
            if new_events:
                self._db.executemany(
                    "INSERT INTO events (kind, key, body) VALUES (?, ?, ?)",
                    [(kind, key, body.decode()) for kind, key, body in new_events],
                )

    def reset(self) -> None:
        """Forget everything (the data file too)."""
        self.users.clear()
        self.groups.clear()
        self.flow_states.clear()
        self.integrations.clear()
        self._last_integration_id = 0
        self.undeliverable.clear()
        self._dirty.clear()
        self._new_events.clear()
        self._deleted_events.clear()
        if self._db is not None:
            with self._db:
                self._db.execute("DELETE FROM records")
                self._db.execute("DELETE FROM events")

    def close(self) -> None:
        if self._db is not None:
            self.commit()
            self._db.close()
            self._db = None

    def _load(self) -> None:
        assert self._db is not None
        rows: Iterable[tuple[str, str, str]] = self._db.execute(
            "SELECT kind, key, body FROM records ORDER BY rowid"
        )
        for kind, key, text in rows:
            body = orjson.loads(text)
            if kind == "user":
                self.users[key] = User(
                    key, body["createdAt"], body["modifiedAt"], body.get("properties") or {}
                )
            elif kind == "group":
                self.groups[key] = Group(
                    key,
                    body["createdAt"],
                    body["modifiedAt"],
                    body.get("properties") or {},
                    dict.fromkeys(body.get("userIds") or ()),
                )
            elif kind == "sequence" and key == "integration":
                self._last_integration_id = max(self._last_integration_id, int(body["last"]))
            elif kind == "integration":
                self._last_integration_id = max(self._last_integration_id, int(key))
                self.integrations[int(key)] = Integration(
                    int(key),
                    body["type"],
                    body["status"],
                    body["connectionData"],
                    body["createdAt"],
                    body["modifiedAt"],
                )
            elif kind == "undeliverable":
                self.undeliverable.append(body)
        events: Iterable[tuple[str, str, str]] = self._db.execute(
            "SELECT kind, key, body FROM events ORDER BY seq"
        )
        for kind, key, text in events:
            body = orjson.loads(text)
            if kind == "user_event":
                user = self.users.get(key) or self.users.setdefault(
                    key, User(key, body["createdAt"], body["createdAt"])
                )
                # Files written before tracking events lost `messageId` still hold it.
                body.pop("messageId", None)
                user.tracking_events.append(body)
            elif kind == "group_event":
                group = self.groups.get(key) or self.groups.setdefault(
                    key, Group(key, body["createdAt"], body["createdAt"])
                )
                group.tracking_events.append(body)
            elif kind == "flow_state":
                self.flow_states.append(body)


def _make_private(path: Path, log: Callable[[str], None] | None) -> None:
    """Make an existing file 0600 when others can read or write it; InputError when it cannot."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(path, 0o600)
    except OSError as exc:
        raise InputError(
            f"--data {path} can be read by others (mode {mode:04o}) and cannot be made 0600 "
            f"({exc.strerror or exc}); it would hold write keys: fix its mode or use another file"
        ) from None
    if log is not None:
        log(
            f"--data {path} could be read by others (mode {mode:04o}); made it 0600, as it "
            "holds write keys"
        )


def _open(path: Path, log: Callable[[str], None] | None = None) -> sqlite3.Connection:
    """Open and prepare the sandbox's data file: created 0600, an existing one made 0600 (it
    holds write keys), SQLite's -wal and -shm files too."""
    path = path.expanduser()
    try:
        if path.exists():
            for file in (
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ):
                if file.exists():
                    _make_private(file, log)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        db = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        with db:
            db.executescript(_SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except (OSError, sqlite3.Error) as exc:
        raise InputError(
            f"--data {path}: cannot use it as the sandbox's data file ({exc})"
        ) from None
    if version != SCHEMA_VERSION:
        db.close()
        raise InputError(
            f"--data {path}: written by another sandbox version (schema {version}); use a new file"
        )
    return db
