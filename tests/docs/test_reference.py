"""The reference pages in docs/reference/ are what tools/docs.py generates from the code, and the
check that CI runs notices when they are not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import Cli
from tools import docs

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_generated_pages_match_the_code() -> None:
    assert docs.check(ROOT) == []


def test_the_check_names_a_page_that_drifted_and_one_that_is_missing(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    shutil.copytree(ROOT / "docs" / "reference", tmp_path / "docs" / "reference")
    cli_page = tmp_path / "docs" / "reference" / "cli.md"
    cli_page.write_text(cli_page.read_text().replace("--max-p95", "--max-p96"))
    (tmp_path / "docs" / "reference" / "rules.md").unlink()
    problems = docs.check(tmp_path)
    assert len(problems) == 2
    assert problems[0].startswith("docs/reference/cli.md: differs from the code")
    assert "--max-p96" in problems[0] and "--max-p95" in problems[0]
    assert problems[1] == "docs/reference/rules.md: missing (run: python tools/docs.py)"


def test_every_command_and_option_is_in_the_reference() -> None:
    text = (ROOT / "docs" / "reference" / "cli.md").read_text()
    help_text = subprocess.run(
        [sys.executable, "-m", "frigade_cli", "segment", "latency-check", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    options = {word.rstrip(",") for word in help_text.split() if word.startswith("--")}
    assert "--max-p95" in options
    start = text.index("#### `frigade segment latency-check`")
    end = text.find("\n#### ", start + 1)
    section = text[start : end if end != -1 else None]
    for option in options - {"--help"}:
        assert option in section, option
    assert "| `--timeout DURATION` | `30s` |" in section


def test_the_rules_page_is_the_list_rules_output(cli: Cli) -> None:
    text = (ROOT / "docs" / "reference" / "rules.md").read_text()
    listed = cli("segment", "validate", "--list-rules").stdout
    assert listed.startswith("| code | name |")
    assert listed in text
