"""The sandbox's route modules depend on what they need, not on the module that assembles them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import frigade_cli.sandbox

PACKAGE = Path(frigade_cli.sandbox.__file__).parent
ROUTE_MODULES = (
    "control",
    "destination",
    "forward",
    "frigade",
    "graphql",
    "parts",
    "events",
    "public_api",
    "segment",
)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("module", ROUTE_MODULES)
def test_a_route_module_never_imports_the_app_module(module: str) -> None:
    imports = imported_modules(PACKAGE / f"{module}.py")

    assert "frigade_cli.sandbox.app" not in imports
    assert "frigade_cli.sandbox.app.Sandbox" not in imports
