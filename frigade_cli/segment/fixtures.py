"""Event fixtures: named templates shipped with the tool and user files, with `--override`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from frigade_cli.errors import InputError
from frigade_cli.segment.messages import MESSAGE_TYPES, message_problem


def fixtures_dir() -> Path:
    """Where the named fixtures live: in the installed package, or the source tree's `fixtures/`."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "fixtures", here.parent / "fixtures"):
        if candidate.is_dir():
            return candidate
    return here / "fixtures"


def named_fixtures() -> list[str]:
    """Names accepted by `--fixture NAME`."""
    return sorted(p.stem for p in fixtures_dir().glob("*.json"))


@dataclass(frozen=True)
class Override:
    """`[TYPE:]path.to.field=value`; value is JSON when it parses as JSON, else a string."""

    path: tuple[str, ...]
    value: Any
    only_type: str | None = None

    @classmethod
    def parse(cls, text: str) -> Override:
        target, sep, raw = text.partition("=")
        if not sep or not target.strip():
            raise InputError(f"--override {text!r}: expected PATH=VALUE, e.g. traits.plan=pro")
        only_type = None
        prefix, colon, rest = target.partition(":")
        if colon:
            if prefix not in MESSAGE_TYPES:
                raise InputError(
                    f"--override {text!r}: {prefix!r} is not a message type "
                    f"({', '.join(MESSAGE_TYPES)})"
                )
            only_type, target = prefix, rest
        path = tuple(p for p in target.strip().split("."))
        if any(not p for p in path):
            raise InputError(f"--override {text!r}: empty segment in path {target!r}")
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = raw
        return cls(path=path, value=value, only_type=only_type)

    def apply(self, message: dict[str, Any]) -> None:
        """Set the value in `message`, creating objects along the path."""
        if self.only_type and message.get("type") != self.only_type:
            return
        node: Any = message
        for key in self.path[:-1]:
            if isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
                continue
            if not isinstance(node, dict):
                raise InputError(f"--override {'.'.join(self.path)}: {key!r} is not an object")
            if not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]
        last = self.path[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = self.value
        elif isinstance(node, dict):
            node[last] = self.value
        else:
            raise InputError(f"--override {'.'.join(self.path)}: cannot set inside a non-object")


def _is_ndjson(lines: list[str]) -> bool:
    """Several non-blank lines, the first a whole JSON object (not the start of a pretty one)."""
    filled = [line for line in lines if line.strip()]
    if len(filled) < 2:
        return False
    try:
        return isinstance(orjson.loads(filled[0]), dict)
    except orjson.JSONDecodeError:
        return False


def _parse_file(path: Path) -> list[tuple[str, Any]]:
    """(where, item) pairs from a JSON object, a JSON array or NDJSON file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read fixture file ({exc.strerror})") from None
    if not raw.strip():
        raise InputError(f"{path}: the fixture file is empty")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as whole_error:
        lines = raw.decode("utf-8", "replace").splitlines()
        items: list[tuple[str, Any]] = []
        if _is_ndjson(lines):
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    items.append((f"{path} line {number}", orjson.loads(line)))
                except orjson.JSONDecodeError as exc:
                    raise InputError(
                        f"{path} line {number}: invalid JSON ({exc.msg} at column {exc.colno})"
                    ) from None
            return items
        raise InputError(
            f"{path} line {whole_error.lineno}: invalid JSON "
            f"({whole_error.msg} at column {whole_error.colno})"
        ) from None
    if isinstance(doc, dict):
        return [(str(path), doc)]
    if isinstance(doc, list):
        if not doc:
            raise InputError(f"{path}: the array holds no messages")
        return [(f"{path} item {i}", item) for i, item in enumerate(doc, start=1)]
    raise InputError(f"{path}: expected a JSON object, an array of objects, or NDJSON")


def resolve_fixture(ref: str) -> Path:
    """A fixture reference: an existing file, or the name of a shipped fixture."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    named = fixtures_dir() / f"{ref}.json"
    if named.is_file():
        return named
    if path.exists():
        raise InputError(f"{ref}: not a regular file")
    raise InputError(
        f"fixture {ref!r} not found: give a file path or one of {', '.join(named_fixtures())}"
    )


def load_fixtures(refs: Sequence[str], overrides: Sequence[Override] = ()) -> list[dict[str, Any]]:
    """Messages from the fixture files, overrides applied, each validated against the Spec."""
    messages: list[dict[str, Any]] = []
    for ref in refs:
        for where, item in _parse_file(resolve_fixture(ref)):
            if isinstance(item, dict):
                for override in overrides:
                    override.apply(item)
            problem = message_problem(item)
            if problem:
                raise InputError(f"{where}: {problem}")
            messages.append(item)
    return messages


def fresh_copy(template: dict[str, Any], run_id: str, n: int) -> dict[str, Any]:
    """A deep copy of a fixture message with a unique messageId (Segment dedups on it)."""
    copy: dict[str, Any] = orjson.loads(orjson.dumps(template))
    copy["messageId"] = f"frigade-cli-{run_id}-{n:07d}-{uuid.uuid4().hex[:12]}"
    return copy
