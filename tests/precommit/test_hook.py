"""The pre-commit hook (.pre-commit-hooks.yaml) run by the real pre-commit, as `pre-commit
try-repo` runs a hook repository's hooks on another repository: it clones this one, builds the
hook's virtualenv from it (language: python) and hands the hook the matching files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "validate" / "fixtures"
GOOD_MAPPING = FIXTURES / "webhook-mapping-recommended.json"
BAD_MAPPING = FIXTURES / "webhook-mapping-batching-off.yaml"  # enable_batching: false, line 13
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding a good and a bad mapping, and a JSON file that is no mapping."""
    repo = tmp_path / "repo"
    (repo / "mappings").mkdir(parents=True)
    (repo / "mappings" / "good.json").write_text(GOOD_MAPPING.read_text())
    (repo / "mappings" / "bad.yaml").write_text(BAD_MAPPING.read_text())
    (repo / "package.json").write_text('{"name": "not-a-mapping"}\n')
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    return repo


def try_repo(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), "frigade-validate", "--color", "never", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_good_mapping_passes(repo: Path, tmp_path: Path) -> None:
    run = try_repo(repo, tmp_path, "--files", "mappings/good.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "frigade segment validate" in run.stdout and "Passed" in run.stdout


def test_the_bad_mapping_fails_with_the_rule_code_and_line(repo: Path, tmp_path: Path) -> None:
    run = try_repo(repo, tmp_path, "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Failed" in run.stdout and "exit code: 3" in run.stdout
    assert "V106 batching-off  sub_bad  settings.enable_batching  mappings/bad.yaml:13" in (
        run.stdout
    )
    # Both mappings were handed over, in one run; package.json matches no mapping pattern.
    assert "checked 2 mappings from files mappings/bad.yaml, mappings/good.json" in run.stdout
    assert "package.json" not in run.stdout
