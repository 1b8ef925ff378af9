"""The formats `segment validate --format` writes, by name: light, for the command's flags and
`--help` (the writers themselves are in `render.validate`)."""

from __future__ import annotations

FORMATS = ("text", "json", "github", "sarif", "junit", "gitlab", "json-lines")
FORMATS_HELP = (
    "text (a report grouped by severity), json (as --json), github (GitHub Actions "
    "annotations), sarif (SARIF 2.1.0, for code scanning), junit (JUnit XML: a testcase per "
    "rule and subscription), gitlab (a GitLab Code Quality report) or json-lines (a finding "
    "a line)."
)

__all__ = ["FORMATS", "FORMATS_HELP"]
