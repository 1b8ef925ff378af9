"""The package's layout is its design: layers as folders, checked by import-linter's contracts
(pyproject.toml, [tool.importlinter]) and by what a contract cannot say (circles, the root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

import frigade_cli

PACKAGE = Path(frigade_cli.__file__).parent
ROOT = PACKAGE.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_contract_is_kept() -> None:
    run = lint_imports(ROOT)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def with_import(tmp_path: Path, module: str, statement: str) -> Path:
    """A scratch copy of the package and its contracts, with `statement` added to `module`."""
    shutil.copytree(PACKAGE, tmp_path / "frigade_cli", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{statement}  # noqa\n")
    return tmp_path


def test_an_upward_import_breaks_the_layers_contract(tmp_path: Path) -> None:
    scratch = with_import(
        tmp_path, "frigade_cli.kernel.stats", "from frigade_cli.services import tail"
    )

    run = lint_imports(scratch)

    assert run.returncode == 1
    assert "frigade_cli.kernel.stats -> frigade_cli.services.tail" in run.stdout
    assert "Layers: cli > render > services" in run.stdout


def test_one_service_importing_another_breaks_their_independence(tmp_path: Path) -> None:
    scratch = with_import(
        tmp_path, "frigade_cli.services.connect", "from frigade_cli.services import validate"
    )

    run = lint_imports(scratch)

    assert run.returncode == 1
    assert "Each command's service stands alone (shared work goes a layer down) BROKEN" in (
        run.stdout
    )


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("frigade_cli", cache_dir=None)

    assert import_circles(graph) == []


def test_the_circle_finder_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for module in ("p.a", "p.b", "p.c"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.b", imported="p.c")

    assert import_circles(graph) == [["p.a", "p.b"]]


def test_the_package_root_holds_only_its_face_and_folders() -> None:
    loose = sorted(
        p.name
        for p in PACKAGE.iterdir()
        if p.is_file() and p.suffix == ".py" and p.name not in ("__init__.py", "__main__.py")
    )

    assert loose == []
