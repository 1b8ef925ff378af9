"""Reading a mapping file (JSON or YAML, `-` for stdin): the only I/O beside the mapping rules.

Besides the parsed document, the reader keeps the line each object and array starts on, down to
the depth where subscriptions sit (`data.subscriptions[i]`), so findings can point at them; and
the text, to find the line of a field inside one (`field_line`) when a finding asks for it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from frigade_cli.kernel.errors import FrigadeCliError
from frigade_cli.kernel.exit_codes import ExitCode
from frigade_cli.segment.mapping import DocumentPath

MAX_DEPTH = 100  # far beyond any export (about 8 levels); keeps every later walk off the C stack
LINE_DEPTH = 3  # data.subscriptions[i]: the deepest container whose line is kept


class UnusableInput(FrigadeCliError):
    """Input that cannot be checked at all (unreadable, not JSON/YAML, not a mapping): exit 2."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class MappingFile:
    """A parsed mapping file and the 1-based line of each object or array in its top levels.

    `lines` is keyed by path from the root: `()` the document, `("data", "subscriptions", 0)` the
    first subscription of a Public API page; containers deeper than LINE_DEPTH are not kept.
    """

    name: str
    document: Any
    lines: Mapping[DocumentPath, int] = field(default_factory=dict)
    text: str = field(default="", repr=False)

    def line_of(self, path: DocumentPath) -> int | None:
        """The line the value at `path` starts on, or None when it is not a kept container."""
        return self.lines.get(path)

    def field_line(self, path: DocumentPath, field_path: str) -> int | None:
        """The line of `field_path` (`settings.headers.Authorization`, dotted keys, header names
        matched case-insensitively) inside the object at `path`: the deepest key of it that the
        file has, else the line the object starts on (`line_of`)."""
        node: Any = self._located
        for step in path:
            found = isinstance(node, _LocatedDict) and step in node
            found = found or (isinstance(node, list) and isinstance(step, int) and step < len(node))
            if not found:
                return self.line_of(path)
            node = node[step]
        line = self.line_of(path)
        for part in field_path.split("."):
            if not isinstance(node, _LocatedDict):
                break
            key = _key(node, part)
            if key is None:
                break
            line, node = node.key_lines[key], node[key]
        return line

    @cached_property
    def _located(self) -> Any:
        return locate(self.text) if self.text else None


def read_mapping_file(path: str) -> MappingFile:
    """The parsed document in `path` (`-` reads stdin), with its containers' lines.

    JSON for `.json` files and for text starting with `{` or `[`, YAML (safe loading) otherwise.
    Raises UnusableInput naming the file, line and column: for text that does not parse, and for
    a document nested deeper than MAX_DEPTH levels.
    """
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
    suffix = Path(path).suffix.lower() if path != "-" else ""
    as_json = suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip()[:1] in "{[")
    return _json(text, name) if as_json else _yaml(text, name)


def _too_deep(name: str, line: int, column: int) -> UnusableInput:
    return UnusableInput(
        f"{name}: nested deeper than {MAX_DEPTH} levels at line {line}, column {column}: "
        "not a Segment export"
    )


# JSON --------------------------------------------------------------------------------------------
# A string (escapes included) or one structural character: enough to follow the nesting of text
# that json.loads accepted, with the offset of every object and array.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def _json(text: str, name: str) -> MappingFile:
    import json

    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnusableInput(
            f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        _json_lines(text, name)  # raises at the first container past MAX_DEPTH
        raise  # not reached: json.loads nests deeper than MAX_DEPTH
    return MappingFile(name, document, _json_lines(text, name), text)


def _json_lines(text: str, name: str) -> dict[DocumentPath, int]:
    """The lines of the containers at most LINE_DEPTH deep; UnusableInput past MAX_DEPTH.

    One pass over the strings and structural characters (JSON strings hold no raw newline,
    so counting newlines between tokens counts lines)."""
    import json

    lines: dict[DocumentPath, int] = {}
    keys: list[str | int] = []  # per open container: its current key (object) or index (array)
    objects: list[bool] = []  # per open container: True for an object
    line, counted = 1, 0
    key_next = False  # the next string is an object's key
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            if key_next:
                key_next = False
                if len(keys) <= LINE_DEPTH:
                    keys[-1] = json.loads(token)
        elif token == ",":
            if objects[-1]:
                key_next = True
            else:
                keys[-1] = int(keys[-1]) + 1
        elif token in "{[":
            start = match.start()
            if len(keys) >= MAX_DEPTH or len(keys) <= LINE_DEPTH:
                line += text.count("\n", counted, start)
                counted = start
            if len(keys) >= MAX_DEPTH:
                raise _too_deep(name, line, start - text.rfind("\n", 0, start))
            if len(keys) <= LINE_DEPTH:
                lines[tuple(keys)] = line
            key_next = token == "{"
            objects.append(key_next)
            keys.append("" if key_next else 0)
        else:
            objects.pop()
            keys.pop()
            key_next = False
    return lines


# YAML --------------------------------------------------------------------------------------------
def _yaml(text: str, name: str) -> MappingFile:
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            _yaml_too_deep(text, name)
            raise  # unreachable: the composer recursed on a document nested past MAX_DEPTH
        if node is None:
            return MappingFile(name, None)
        lines = _yaml_lines(node, name)
        return MappingFile(name, loader.construct_document(node), lines, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        raise UnusableInput(f"{name}: invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise UnusableInput(f"{name}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _yaml_lines(root: Any, name: str) -> dict[DocumentPath, int]:
    """The lines of the collections at most LINE_DEPTH deep (below plain scalar keys);
    UnusableInput at the first collection past MAX_DEPTH. Iterative: depth costs no stack."""
    import yaml

    lines: dict[DocumentPath, int] = {}
    # (node, its path while it is shallow and reached through plain keys, else None, its depth)
    pending: list[tuple[Any, DocumentPath | None, int]] = [(root, (), 0)]
    while pending:
        node, path, depth = pending.pop()
        if isinstance(node, yaml.ScalarNode):
            continue
        if depth >= MAX_DEPTH:
            raise _too_deep(name, node.start_mark.line + 1, node.start_mark.column + 1)
        if path is not None:
            lines[path] = node.start_mark.line + 1
        prefix = path if depth < LINE_DEPTH else None
        if isinstance(node, yaml.SequenceNode):
            for n, child in enumerate(node.value):
                pending.append((child, None if prefix is None else (*prefix, n), depth + 1))
            continue
        for key, child in node.value:
            pending.append((key, None, depth + 1))  # a complex key nests too
            plain = prefix is not None and isinstance(key, yaml.ScalarNode)
            child_path = (*prefix, key.value) if prefix is not None and plain else None
            pending.append((child, child_path, depth + 1))
    return lines


def _yaml_too_deep(text: str, name: str) -> None:
    """Raise at the first collection past MAX_DEPTH, found from the parser's events (which,
    unlike the composer, do not recurse)."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            mark = event.start_mark
            if depth >= MAX_DEPTH and mark is not None:
                raise _too_deep(name, mark.line + 1, mark.column + 1)
            depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


# Where a field is --------------------------------------------------------------------------------
class _LocatedDict(dict[Any, Any]):
    """A mapping that remembers the line of each of its keys."""

    key_lines: dict[Any, int]


def locate(text: str) -> Any:
    """The document in `text` with every mapping a `_LocatedDict` (1-based lines), or None when
    it cannot be read that way. JSON is read as YAML here (YAML's flow style reads the JSON that
    mappings are written in); the values checked always come from the real parser, this is only
    for line numbers, asked for once a finding needs one."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LocatedDict:
        loader.flatten_mapping(node)
        result = _LocatedDict()
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(text, Loader=Loader)  # a SafeLoader: no arbitrary objects
    except (yaml.YAMLError, TypeError, RecursionError):  # TypeError: an unhashable key
        return None


def _key(node: _LocatedDict, name: str) -> Any:
    """The key `name`, else one equal to it but for case (header names are case-insensitive)."""
    if name in node:
        return name
    return next((k for k in node if isinstance(k, str) and k.lower() == name.lower()), None)
