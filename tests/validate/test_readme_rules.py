"""The README's rules table is the output of `--list-rules`, so the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Cli

README = Path(__file__).parent.parent.parent / "README.md"


def test_the_readme_rules_table_is_the_list_rules_output(cli: Cli) -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- rules:start -->\n") + len("<!-- rules:start -->\n")
    end = text.index("<!-- rules:end -->")
    result = cli("segment", "validate", "--list-rules")
    assert result.exit_code == 0
    assert text[start:end] == result.stdout
