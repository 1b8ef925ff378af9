"""validate's formats for CI systems: SARIF checked against the OASIS schema, JUnit XML, GitLab
Code Quality and JSON Lines parsed, every finding at the line of its field in the file."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import sandbox_fixture
from tests.conftest import Cli

sandbox = sandbox_fixture()
FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA_FILE = FIXTURES / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"  # SOURCES.md

# Two subscriptions; the line numbers in the comments are what each finding must point at.
BAD_YAML = """\
subscriptions:
  - id: sub_put
    name: PUT and no batching
    actionSlug: send
    enabled: true
    trigger: type = "identify" or type = "group" or type = "track"
    settings:
      url: https://api.frigade.com/v1/thirdParty/cdp/segment
      method: PUT
      headers:
        Authorization: Bearer api_private_test0000abcd
      data:
        "@path": "$."
      enable_batching: false
      batch_size: 100
  - id: sub_track
    name: Only track
    actionSlug: send
    enabled: true
    trigger: type = "track"
    settings:
      url: https://api.frigade.com/v1/thirdParty/cdp/segment
      method: POST
      headers:
        authorization: Bearer api_private_test0000abcd
      data:
        "@path": "$."
      enable_batching: true
      batch_size: 100
"""
# (code, subscription id, line): method on 9, enable_batching on 14; sub_track's trigger on 20.
EXPECTED = {("V105", "sub_put", 9), ("V106", "sub_put", 14), ("V201", "sub_track", 20)}

BAD_JSON = """\
{
  "subscription": {
    "id": "sub_http",
    "actionSlug": "send",
    "enabled": false,
    "trigger": "type = \\"identify\\" or type = \\"group\\" or type = \\"track\\"",
    "settings": {
      "url": "http://api.frigade.com/v1/thirdParty/cdp/segment",
      "method": "POST",
      "headers": {"Authorization": "Bearer api_private_test0000abcd"},
      "data": {"@path": "$."},
      "enable_batching": true,
      "batch_size": 100
    }
  }
}
"""
# enabled on line 5, the http URL on line 8.
EXPECTED_JSON = {("V111", 5), ("V102", 8)}


def files(tmp_path: Path) -> tuple[str, str]:
    bad_yaml, bad_json = tmp_path / "mappings.yaml", tmp_path / "http.json"
    bad_yaml.write_text(BAD_YAML)
    bad_json.write_text(BAD_JSON)
    return str(bad_yaml), str(bad_json)


def validate(cli: Cli, *args: str) -> Any:
    return cli("segment", "validate", *args)


def rule_codes() -> list[str]:
    from frigade_cli.segment.rules import RULES

    return [rule.code for rule in RULES]


def test_the_vendored_schema_is_the_oasis_file() -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_validates_against_the_schema_with_rules_and_lines(cli: Cli, tmp_path: Path) -> None:
    yaml_file, json_file = files(tmp_path)
    result = validate(cli, yaml_file, json_file, "--format", "sarif")
    assert result.exit_code == 3, result.output
    log = json.loads(result.stdout)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert not errors, errors[0]
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == rule_codes()
    listed = json.loads(validate(cli, "--list-rules", "--json").stdout)["rules"]
    for rule, row in zip(rules, listed, strict=True):
        assert rule["name"] == row["name"]
        assert rule["shortDescription"]["text"] == row["summary"]
        assert row["fix"] in rule["help"]["text"]
    located = set()
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        (location,) = res["locations"]
        physical = location["physicalLocation"]
        uri, line = physical["artifactLocation"]["uri"], physical["region"]["startLine"]
        located.add((res["ruleId"], Path(uri.removeprefix("file://")).name, line))
    assert {(c, "mappings.yaml", n) for c, _, n in EXPECTED} <= located
    assert {(c, "http.json", n) for c, n in EXPECTED_JSON} <= located
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["V105"] == "error" and levels["V201"] == "warning"


def test_sarif_of_a_destination_without_a_file_still_validates(
    cli: Cli, sandbox: RunningSandbox
) -> None:
    result = validate(cli, "--sandbox", "--sandbox-url", sandbox.url, "--format", "sarif")
    assert result.exit_code == 0, result.output
    log = json.loads(result.stdout)
    assert not list(sarif_validator().iter_errors(log))
    # The sandbox's Public API masks the key, as Segment's does: a note, at the mapping only.
    (note,) = log["runs"][0]["results"]
    assert (note["ruleId"], note["level"]) == ("V302", "note")
    (location,) = note["locations"]
    assert "physicalLocation" not in location
    assert location["logicalLocations"][0]["fullyQualifiedName"].endswith(
        "/settings.headers.Authorization"
    )


def test_junit_has_a_testcase_per_rule_and_subscription(cli: Cli, tmp_path: Path) -> None:
    yaml_file, _ = files(tmp_path)
    result = validate(cli, yaml_file, "--format", "junit", "--ignore", "V202")
    assert result.exit_code == 3, result.output
    root = ET.fromstring(result.stdout)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "sub_put (PUT and no batching)",
        "sub_track (Only track)",
    ]
    codes = rule_codes()
    for suite in suites:
        cases = suite.findall("testcase")
        assert [c.get("name", "").split()[0] for c in cases] == codes
        assert suite.get("tests") == str(len(codes))
    failed = {
        (s.get("name", "").split()[0], c.get("name", "").split()[0], c.get("line"))
        for s in suites
        for c in s.findall("testcase")
        if c.find("failure") is not None
    }
    assert failed == {("sub_put", "V105", "9"), ("sub_put", "V106", "14")}
    assert root.get("failures") == "2"
    # A warning passes, with its message; an ignored rule and the live ones are skipped.
    track = {c.get("name", "").split()[0]: c for c in suites[1].findall("testcase")}
    assert track["V201"].find("failure") is None
    assert "group" in (track["V201"].findtext("system-out") or "")
    assert track["V202"].find("skipped") is not None
    assert track["V116"].find("skipped").get("message") == "needs --live"  # type: ignore[union-attr]
    assert track["V101"].find("skipped") is None and track["V101"].find("failure") is None


def test_gitlab_code_quality_report(cli: Cli, tmp_path: Path) -> None:
    yaml_file, json_file = files(tmp_path)
    result = validate(cli, yaml_file, json_file, "--format", "gitlab")
    assert result.exit_code == 3, result.output
    issues = json.loads(result.stdout)
    # The fields GitLab's "Code Quality report format" requires, with its severities.
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    placed = {
        (
            i["check_name"].split()[0],
            Path(i["location"]["path"]).name,
            i["location"]["lines"]["begin"],
        )
        for i in issues
    }
    assert {(c, "mappings.yaml", n) for c, _, n in EXPECTED} <= placed
    assert {(c, "http.json", n) for c, n in EXPECTED_JSON} <= placed


def test_json_lines_is_one_finding_a_line(cli: Cli, tmp_path: Path) -> None:
    yaml_file, json_file = files(tmp_path)
    lines = validate(cli, yaml_file, json_file, "--format", "json-lines").stdout.splitlines()
    found = [json.loads(line) for line in lines]
    document = json.loads(validate(cli, yaml_file, json_file, "--json").stdout)
    assert len(found) == len(document["findings"]) > 0
    assert {(f["code"], f["mapping"].split()[0], f["line"]) for f in found} >= EXPECTED
    assert all(f["name"] and f["file"] for f in found)
    assert "api_private_test0000abcd" not in "\n".join(lines)


def test_each_file_is_checked_on_its_own(cli: Cli, tmp_path: Path) -> None:
    good = FIXTURES / "webhook-mapping-recommended.json"
    _, json_file = files(tmp_path)
    both = validate(cli, "--mapping", str(good), json_file, "--json")
    assert both.exit_code == 3
    document = json.loads(both.stdout)
    assert [m["file"] for m in document["mappings"]] == [str(good), json_file]
    assert {f["file"] for f in document["findings"]} == {json_file}
    assert validate(cli, str(good), str(good)).exit_code == 0


def test_report_file_and_step_summary_beside_annotations(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, json_file = files(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report = tmp_path / "report.json"
    result = validate(cli, json_file, "--format", "github", "--report", str(report))
    assert result.exit_code == 3
    assert result.stdout.startswith(f"::error file={json_file},line=")
    document = json.loads(report.read_text())
    assert document["valid"] is False
    assert {(f["code"], f["line"]) for f in document["findings"]} >= EXPECTED_JSON
    assert "api_private_test0000abcd" not in report.read_text()
    text = summary.read_text()
    assert text.startswith("earlier step\n### frigade segment validate: INVALID")
    assert "| error | `V102` url-scheme |" in text


def test_an_unwritable_report_file_is_refused_before_checking(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "report.json"
    result = validate(
        cli, str(FIXTURES / "webhook-mapping-recommended.json"), "--report", str(missing)
    )
    assert result.exit_code == 3
    assert result.stdout == ""
    assert f"--report {missing}: the directory {missing.parent} does not exist" in result.stderr


def test_an_unknown_format_is_a_usage_error(cli: Cli) -> None:
    result = validate(cli, "--list-rules", "--format", "xml")
    assert result.exit_code == 2
    assert "sarif" in result.stderr
