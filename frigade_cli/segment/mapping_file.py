"""Reading a mapping file (JSON or YAML, `-` for stdin): the only I/O beside the mapping rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from frigade_cli.kernel.errors import FrigadeCliError
from frigade_cli.kernel.exit_codes import ExitCode


class UnusableInput(FrigadeCliError):
    """Input that cannot be checked at all (unreadable, not JSON/YAML, not a mapping): exit 2."""

    exit_code = ExitCode.USAGE


def read_mapping_document(path: str) -> Any:
    """The parsed document in `path` (`-` reads stdin).

    JSON for `.json` files and for text starting with `{` or `[`, YAML (safe loading) otherwise.
    Raises UnusableInput naming the file, line and column.
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
