"""Reading a mapping file (JSON or YAML, `-` for stdin): the only I/O beside the mapping rules,
and where in the file each subscription's fields are (for annotations and SARIF locations)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frigade_cli.kernel.errors import FrigadeCliError
from frigade_cli.kernel.exit_codes import ExitCode


class UnusableInput(FrigadeCliError):
    """Input that cannot be checked at all (unreadable, not JSON/YAML, not a mapping): exit 2."""

    exit_code = ExitCode.USAGE


@dataclass
class MappingFile:
    """A mapping file as read: the name it is shown by, the parsed document, and its text (kept
    to tell where each field is)."""

    name: str  # the path as given, or "stdin"
    document: Any
    text: str
    _subscriptions: list[Any] | None = field(default=None, init=False, repr=False)
    _located: bool = field(default=False, init=False, repr=False)

    def line_of(self, index: int, field_path: str) -> int | None:
        """The 1-based line of `field_path` (`settings.headers.Authorization`) in the `index`-th
        subscription (0-based, in `subscriptions_in` order): the deepest key of the path that
        the file has, else the line the subscription starts on. None when the text cannot be
        located (see `locate`)."""
        subscriptions = self._located_subscriptions()
        if subscriptions is None or not 0 <= index < len(subscriptions):
            return None
        node = subscriptions[index]
        line: int | None = getattr(node, "line", None)
        for part in field_path.split("."):
            if not isinstance(node, _LocatedDict):
                break
            key = _key(node, part)
            if key is None:
                break
            line, node = node.key_lines[key], node[key]
        return line

    def _located_subscriptions(self) -> list[Any] | None:
        if not self._located:
            self._located = True
            from frigade_cli.segment.mapping import MappingShapeError, subscriptions_in

            located = locate(self.text)
            try:
                self._subscriptions = None if located is None else subscriptions_in(located)
            except MappingShapeError:
                self._subscriptions = None
        return self._subscriptions


def read_mapping_file(path: str) -> MappingFile:
    """The mapping file at `path` (`-` reads stdin), parsed as `read_mapping_document` does."""
    name, text = _read_text(path)
    return MappingFile(name, _parse(path, name, text), text)


def read_mapping_document(path: str) -> Any:
    """The parsed document in `path` (`-` reads stdin).

    JSON for `.json` files and for text starting with `{` or `[`, YAML (safe loading) otherwise.
    Raises UnusableInput naming the file, line and column.
    """
    name, text = _read_text(path)
    return _parse(path, name, text)


def _read_text(path: str) -> tuple[str, str]:
    name = "stdin" if path == "-" else path
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UnusableInput(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnusableInput(f"{name}: not UTF-8 text (byte {exc.start + 1})") from None
    if not text.strip():
        raise UnusableInput(f"{name}: the file is empty")
    return name, text


def _parse(path: str, name: str, text: str) -> Any:
    suffix = Path(path).suffix.lower() if path != "-" else ""
    as_json = suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip()[:1] in "{[")
    return _json(text, name) if as_json else _yaml(text, name)


def _json(text: str, name: str) -> Any:
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnusableInput(
            f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def _yaml(text: str, name: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        raise UnusableInput(f"{name}: invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise UnusableInput(f"{name}: invalid YAML: {exc}") from None


# Where things are ---------------------------------------------------------------------------------
class _LocatedDict(dict[Any, Any]):
    """A mapping that remembers the line it starts on and the line of each of its keys."""

    line: int
    key_lines: dict[Any, int]


def locate(text: str) -> Any:
    """The document in `text` with every mapping a `_LocatedDict` (1-based lines), or None when
    it cannot be read that way. JSON is read as YAML here (YAML's flow style is a superset of
    the JSON that mappings are written in); the values checked always come from the real
    parser, this is only for line numbers."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LocatedDict:
        loader.flatten_mapping(node)
        result = _LocatedDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(text, Loader=Loader)  # a SafeLoader: no arbitrary objects
    except (yaml.YAMLError, TypeError):  # TypeError: a key YAML allows but a dict cannot hold
        return None


def _key(node: _LocatedDict, name: str) -> Any:
    """The key `name`, else one equal to it but for case (header names are case-insensitive)."""
    if name in node:
        return name
    return next((k for k in node if isinstance(k, str) and k.lower() == name.lower()), None)
