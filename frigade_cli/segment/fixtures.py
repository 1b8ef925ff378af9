"""Event fixtures: named templates shipped with the tool and user files, with `--override`.

User files are read as JavaScript reads JSON (see `jsjson.loads`), strictly as UTF-8 (a
byte-order mark is allowed); NDJSON files, plain or gzip, are streamed.
"""

from __future__ import annotations

import gzip
import io
import uuid
import zlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frigade_cli.kernel.errors import InputError
from frigade_cli.segment import jsjson
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
            value: Any = jsjson.loads(raw)
        except jsjson.JSONDecodeError:
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


@dataclass
class ReadProgress:
    """How far fixture reading has got; updated while messages are yielded, read it any time.

    `bytes_read` counts bytes taken from disk (compressed bytes for a gzip file) and runs a
    little ahead of the messages yielded (read-ahead); `bytes_read / bytes_total` is the share
    of the input read. `lines_read` counts lines over every file, `messages` the messages
    yielded, `current` is the file being read.
    """

    bytes_total: int = 0
    bytes_read: int = 0
    lines_read: int = 0
    messages: int = 0
    current: str = ""


class _CountingReader(io.RawIOBase):
    """A file that adds every byte it reads from disk to a `ReadProgress`."""

    def __init__(self, raw: io.RawIOBase, progress: ReadProgress) -> None:
        super().__init__()
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer) or 0
        self._progress.bytes_read += count
        return count


_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"


def _encoding_problem(path: Path, raw: bytes, line_number: int | None) -> InputError | None:
    """The error for bytes that are not UTF-8 (a Latin-1 file, say), or None when they are."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_number or raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return InputError(
            f"{path} line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column {column}); "
            "save the file as UTF-8"
        )
    return None


def _parse(path: Path, raw: bytes, line_number: int | None = None) -> Any:
    """One JSON value as JavaScript reads it; errors name the file and the line."""
    try:
        return jsjson.loads(raw)
    except jsjson.JSONDecodeError as exc:
        problem = _encoding_problem(path, raw, line_number)
        if problem is not None:
            raise problem from None
        line = line_number or exc.lineno
        raise InputError(
            f"{path} line {line}: invalid JSON ({exc.msg} at column {exc.colno})"
        ) from None


def _next_filled(
    numbered: Iterator[tuple[int, bytes]], progress: ReadProgress
) -> tuple[int, bytes] | None:
    for number, line in numbered:
        progress.lines_read += 1
        if line.strip():
            return number, line
    return None


def _items(path: Path, lines: Iterator[bytes], progress: ReadProgress) -> Iterator[tuple[str, Any]]:
    """(where, item) pairs from a JSON object, a JSON array or NDJSON, read line by line.

    NDJSON (a first line that is a whole JSON object, then more lines) is read one line at a
    time; any other file is one JSON document, read whole.
    """
    numbered = enumerate(lines, start=1)
    head = b""
    number = 0
    for number, line in numbered:
        progress.lines_read += 1
        if number == 1 and line.startswith(_BOM):  # a UTF-8 byte-order mark is not content
            line = line[len(_BOM) :]
        head += line
        if line.strip():
            break
    if not head.strip():
        raise InputError(f"{path}: the fixture file is empty")
    try:
        first = jsjson.loads(head)
    except jsjson.JSONDecodeError:
        first = None
    if isinstance(first, dict):
        following = _next_filled(numbered, progress)
        if following is None:
            yield str(path), first
            return
        yield f"{path} line {number}", first
        while following is not None:
            number, line = following
            yield f"{path} line {number}", _parse(path, line, number)
            following = _next_filled(numbered, progress)
        return
    rest = [head]
    for _, line in numbered:
        progress.lines_read += 1
        rest.append(line)
    document = _parse(path, b"".join(rest))
    if isinstance(document, dict):
        yield str(path), document
    elif isinstance(document, list):
        if not document:
            raise InputError(f"{path}: the array holds no messages")
        for n, item in enumerate(document, start=1):
            yield f"{path} item {n}", item
    else:
        raise InputError(f"{path}: expected a JSON object, an array of objects, or NDJSON")


def _file_items(path: Path, progress: ReadProgress) -> Iterator[tuple[str, Any]]:
    """The items of one file, plain or gzip (told by its first bytes), read lazily."""
    try:
        raw = path.open("rb", buffering=0)
    except OSError as exc:
        raise InputError(f"{path}: cannot read fixture file ({exc.strerror})") from None
    progress.current = str(path)
    with raw:
        try:
            gzipped = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            counted = _CountingReader(raw, progress)
            stream: io.BufferedIOBase = (
                gzip.GzipFile(fileobj=counted, mode="rb")
                if gzipped
                else io.BufferedReader(counted, 1 << 16)
            )
            with stream:
                yield from _items(path, iter(stream), progress)
        except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt gzip stream
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InputError(
                f"{path}: cannot read fixture file after line {progress.lines_read} "
                f"({reason or type(exc).__name__})"
            ) from None


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


def iter_fixture_messages(
    refs: Sequence[str],
    overrides: Sequence[Override] = (),
    *,
    only_types: Collection[str] | None = None,
    progress: ReadProgress | None = None,
) -> Iterator[dict[str, Any]]:
    """Messages from fixture files, one at a time: overrides applied, each validated.

    `refs` are file paths or shipped fixture names, read in order; a file is a JSON object, a
    JSON array of objects, or NDJSON, plain or gzip-compressed. NDJSON is streamed line by
    line, so memory stays flat however large the file. `only_types` keeps just the messages of
    those types (the others are still validated). Every reference is resolved before the
    first message; InputError names the file and line (or array item) of an unreadable file,
    invalid JSON, a byte that is not UTF-8 or an invalid message when the iteration reaches
    it. Call again to read the files again.
    """
    progress = progress if progress is not None else ReadProgress()
    paths = [resolve_fixture(ref) for ref in refs]
    progress.bytes_total += sum(_size(path) for path in paths)
    return _messages(paths, overrides, only_types, progress)


def _messages(
    paths: list[Path],
    overrides: Sequence[Override],
    only_types: Collection[str] | None,
    progress: ReadProgress,
) -> Iterator[dict[str, Any]]:
    for path in paths:
        for where, item in _file_items(path, progress):
            if isinstance(item, dict):
                for override in overrides:
                    override.apply(item)
            problem = message_problem(item)
            if problem:
                raise InputError(f"{where}: {problem}")
            if only_types is None or item.get("type") in only_types:
                progress.messages += 1
                yield item


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reported when the file is opened


def load_fixtures(refs: Sequence[str], overrides: Sequence[Override] = ()) -> list[dict[str, Any]]:
    """Every message of the fixture files, as `iter_fixture_messages` reads them, in a list."""
    return list(iter_fixture_messages(refs, overrides))


def fresh_copy(template: dict[str, Any], run_id: str, n: int) -> dict[str, Any]:
    """A deep copy of a fixture message with a unique messageId (Segment dedups on it)."""
    copy: dict[str, Any] = _copy(template)
    copy["messageId"] = f"frigade-cli-{run_id}-{n:07d}-{uuid.uuid4().hex[:12]}"
    return copy


def _copy(value: Any) -> Any:
    # Only containers are copied: every other JSON value is immutable.
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
