"""GitHub annotations escape what GitHub's workflow commands treat as syntax."""

from __future__ import annotations

from frigade_cli.clients.frigade_webhook import with_mapping_headers
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


def test_a_mappings_headers_replace_the_authorization_header_whatever_its_case() -> None:
    base = {
        "User-Agent": "Segment (Actions)",
        "Content-Type": "application/json",
        "Authorization": "Bearer api_private_default0000",
    }
    assert with_mapping_headers(base, {"authorization": "api_private_bare0000"}) == {
        "User-Agent": "Segment (Actions)",
        "Content-Type": "application/json",
        "authorization": "api_private_bare0000",
    }
    assert "Authorization" not in with_mapping_headers(base, {"X-Team": "a"})
