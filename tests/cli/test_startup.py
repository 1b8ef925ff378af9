"""`frigade --help` stays instant: importing the CLI must not pull in the heavy libraries.

The checks walk the whole `frigade_cli.cli` package and every command of the command tree, so a
command added later is held to the same rule without touching this file.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from frigade_cli.cli import app

# Libraries that cost tens of milliseconds each, and the sandbox (which loads the server stack).
HEAVY = (
    "httpx",
    "httpcore",
    "aiohttp",
    "starlette",
    "uvicorn",
    "tenacity",
    "pydantic",
    "rich.progress",
    "rich.markdown",
    "uvloop",
    "graphql",
    "yaml",
    "httpx_sse",
    "tomlkit",
    "prometheus_client",
    "frigade_cli.sandbox",
    "frigade_cli.segment.messages",
)
# Typer 0.2x coerces every option it parses through pydantic, so a subcommand's --help (which
# parses the global options first) may load pydantic through Typer; nothing of ours may.
HEAVY_BESIDES_TYPERS_OWN = tuple(m for m in HEAVY if m != "pydantic")

IMPORT_WHOLE_CLI_TREE = (
    "import importlib, pkgutil, frigade_cli.cli as cli\n"
    "for info in pkgutil.walk_packages(cli.__path__, 'frigade_cli.cli.'):\n"
    "    importlib.import_module(info.name)\n"
)


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


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the CLI, as the words typed after `frigade`."""
    paths: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if getattr(sub, "hidden", False):
                continue
            paths.append((*path, name))
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


@pytest.fixture(scope="module")
def on_import() -> set[str]:
    return modules_imported_by("-c", "import frigade_cli.cli")


@pytest.fixture(scope="module")
def on_import_of_every_cli_module() -> set[str]:
    return modules_imported_by("-c", IMPORT_WHOLE_CLI_TREE)


@pytest.fixture(scope="module")
def on_help() -> set[str]:
    return modules_imported_by("-m", "frigade_cli", "--help")


def loaded(imported: set[str], module: str) -> list[str]:
    return sorted(m for m in imported if m == module or m.startswith(f"{module}."))


def test_importtime_lists_the_cli_itself(on_import: set[str], on_help: set[str]) -> None:
    assert "frigade_cli.cli" in on_import
    assert "frigade_cli.cli" in on_help


def test_the_command_tree_is_walked() -> None:
    paths = command_paths()

    assert ("segment", "test-webhook") in paths
    assert ("sandbox",) in paths
    assert ("config",) in paths


def test_every_module_of_the_cli_package_is_imported_by_the_tree_walk(
    on_import_of_every_cli_module: set[str],
) -> None:
    assert {"frigade_cli.cli.segment", "frigade_cli.cli.sandbox", "frigade_cli.cli.config"} <= (
        on_import_of_every_cli_module
    )


@pytest.mark.parametrize("module", HEAVY)
def test_importing_the_cli_does_not_import(on_import: set[str], module: str) -> None:
    assert loaded(on_import, module) == []


@pytest.mark.parametrize("module", HEAVY)
def test_importing_every_cli_module_does_not_import(
    on_import_of_every_cli_module: set[str], module: str
) -> None:
    assert loaded(on_import_of_every_cli_module, module) == []


@pytest.mark.parametrize("module", HEAVY)
def test_help_does_not_import(on_help: set[str], module: str) -> None:
    assert loaded(on_help, module) == []


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_each_commands_help_imports_nothing_heavy_of_its_own(path: tuple[str, ...]) -> None:
    imported = modules_imported_by("-m", "frigade_cli", *path, "--help")

    assert "frigade_cli.cli" in imported
    assert [m for heavy in HEAVY_BESIDES_TYPERS_OWN for m in loaded(imported, heavy)] == []
