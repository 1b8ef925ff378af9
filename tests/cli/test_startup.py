"""`frigade --help` stays instant: importing the CLI must not pull in the heavy libraries."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("httpx", "starlette", "uvicorn", "tenacity", "pydantic", "rich.progress", "uvloop")


def modules_imported_by(*args: str) -> set[str]:
    """Every module `python -X importtime ARGS` loads, in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=True,
    )
    rows = [line.split("|") for line in proc.stderr.splitlines() if line.startswith("import time:")]
    return {row[-1].strip() for row in rows[1:]}


@pytest.fixture(scope="module")
def on_import() -> set[str]:
    return modules_imported_by("-c", "import frigade_cli.cli")


@pytest.fixture(scope="module")
def on_help() -> set[str]:
    return modules_imported_by("-m", "frigade_cli", "--help")


def loaded(imported: set[str], module: str) -> list[str]:
    return sorted(m for m in imported if m == module or m.startswith(f"{module}."))


def test_importtime_lists_the_cli_itself(on_import: set[str], on_help: set[str]) -> None:
    assert "frigade_cli.cli" in on_import
    assert "frigade_cli.cli" in on_help


@pytest.mark.parametrize("module", HEAVY)
def test_importing_the_cli_does_not_import(on_import: set[str], module: str) -> None:
    assert loaded(on_import, module) == []


@pytest.mark.parametrize("module", HEAVY)
def test_help_does_not_import(on_help: set[str], module: str) -> None:
    assert loaded(on_help, module) == []
