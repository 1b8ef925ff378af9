"""GitHub annotations escape what GitHub's workflow commands treat as syntax."""

from __future__ import annotations

from frigade_cli.render.validate import github_annotations
from frigade_cli.segment.mapping import WebhookMapping
from frigade_cli.segment.rules import Finding
from frigade_cli.services.validate import ValidationReport


def test_annotation_data_and_properties_are_escaped() -> None:
    finding = Finding(
        "V202",
        "warning",
        "sub_1 (a, b)",
        "settings.batch_size",
        "50%\nmore",
        "fix: x",
        file="dir,x/m.json",
        line=7,
    )
    report = ValidationReport("file m.json", [WebhookMapping(id="sub_1")], [finding], {})
    first, last = github_annotations(report)
    # GitHub's rules: data escapes % CR LF; properties also escape ':' and ','.
    assert first == (
        "::warning file=dir%2Cx/m.json,line=7,title=V202 sub_1 (a%2C b)%3A settings.batch_size"
        "::50%25%0Amore. Fix: fix: x"
    )
    assert last == "frigade segment validate: valid: 0 errors, 1 warning, 0 info"
