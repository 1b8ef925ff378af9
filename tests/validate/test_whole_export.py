"""validate reads the whole export: its destination, thousands of subscriptions, hostile nesting,
values of the wrong type, and the line each subscription starts on."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.validate.test_validate_cli import SUB, changed, validate, write

DESTINATION: dict[str, Any] = {
    "id": "dst_test",
    "name": "Webhooks (Actions)",
    "enabled": True,
    "metadata": {"name": "Webhooks (Actions)", "slug": "actions-webhook"},
    "settings": {},
}


def destination(**changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(DESTINATION)
    for key, value in changes.items():
        (found["settings"] if key == "sharedSecret" else found)[key] = value
    return found


def as_json(result: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    return document


# data.destination ------------------------------------------------------------------------------
def test_the_files_destination_is_checked_beside_its_subscriptions(
    cli: Cli, tmp_path: Path
) -> None:
    ok = write(tmp_path, {"data": {"destination": destination(), "subscriptions": [SUB]}})
    assert validate(cli, "--mapping", ok).exit_code == 0
    disabled = write(
        tmp_path, {"data": {"destination": destination(enabled=False), "subscriptions": [SUB]}}
    )
    result = validate(cli, "--mapping", disabled)
    assert result.exit_code == 3, result.output
    assert "V112 destination-disabled  destination dst_test  destination.enabled" in result.stdout


def test_a_shared_secret_in_the_file_is_noted(cli: Cli, tmp_path: Path) -> None:
    secret = destination(sharedSecret="••••••••••wxyz")
    document = {"data": {"destination": secret, "subscription": SUB}}
    result = validate(cli, "--mapping", write(tmp_path, document), "--json")
    assert result.exit_code == 0, result.output
    (found,) = as_json(result)["findings"]
    assert (found["code"], found["mapping"]) == ("V301", "destination dst_test")
    assert as_json(result)["destination"]["id"] == "dst_test"


@pytest.mark.parametrize(
    ("name", "line"),
    [("destination.json", 1), ("destination.yaml", 3)],  # YAML: the line of its first key
)
def test_a_file_holding_only_a_destination_is_accepted(
    cli: Cli, tmp_path: Path, name: str, line: int
) -> None:
    # What GET /destinations/{id} answers, saved as is.
    path = write(tmp_path, {"data": {"destination": destination()}}, name)
    result = validate(cli, "--mapping", path)
    assert result.exit_code == 3, result.output
    assert "checked 0 mappings" in result.stdout
    assert f"V117 no-subscription  destination dst_test  subscriptions  line {line}" in (
        result.stdout
    )


def test_a_destination_that_is_not_an_object_is_unusable(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, {"data": {"destination": "dst_test", "subscriptions": [SUB]}})
    result = validate(cli, "--mapping", path)
    assert result.exit_code == 2 and "'destination' must be an object" in result.stderr


# Booleans that are not --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": "true"}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"settings_enable_batching": "yes"}, "settings.enable_batching"),
    ],
)
def test_a_boolean_that_is_not_true_or_false_is_an_error(
    cli: Cli, tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    result = validate(cli, "--mapping", write(tmp_path, changed(**changes)), "--json")
    assert result.exit_code == 3, result.output
    (found,) = as_json(result)["findings"]
    assert (found["code"], found["field"]) == ("V119", field)
    assert "not true or false" in found["message"]
    if field == "enabled":
        assert as_json(result)["mappings"][0]["enabled"] is None  # unknown, never "enabled"


def test_a_destination_enabled_as_a_string_is_an_error(cli: Cli, tmp_path: Path) -> None:
    document = {"data": {"destination": destination(enabled="yes"), "subscriptions": [SUB]}}
    result = validate(cli, "--mapping", write(tmp_path, document), "--json")
    assert result.exit_code == 3
    assert [(f["code"], f["field"]) for f in as_json(result)["findings"]] == [
        ("V119", "destination.enabled")
    ]


def test_a_flag_replaces_the_wrong_value(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, changed(enabled="yes", settings_enable_batching="on"))
    assert validate(cli, "--mapping", path, "--enabled", "--batching").exit_code == 0


# Thousands of subscriptions ---------------------------------------------------------------------
def one_per_line(tmp_path: Path, subscriptions: list[dict[str, Any]]) -> Path:
    """A Public API page with subscription N (from 0) on line N + 2, written by hand."""
    path = tmp_path / "export.json"
    body = ",\n".join(json.dumps(sub) for sub in subscriptions)
    path.write_text('{"data": {"subscriptions": [\n' + body + "\n]}}\n")
    return path


def test_20000_subscriptions_give_one_duplicate_finding(cli: Cli, tmp_path: Path) -> None:
    subscriptions = [{**SUB, "id": f"sub_{n}", "name": None} for n in range(20_000)]
    path = one_per_line(tmp_path, subscriptions)
    result = validate(cli, "--mapping", str(path), "--json")
    assert result.exit_code == 0, result.output
    document = as_json(result)
    assert len(document["mappings"]) == 20_000
    (found,) = document["findings"]
    assert (found["code"], found["mapping"], found["line"]) == ("V204", "sub_1", 3)
    assert found["message"] == (
        "20000 subscriptions all send identify (every event), group (every event), track "
        "(every event) to Frigade: sub_0, sub_1, sub_2, sub_3, sub_4 and 19995 more; "
        "each event arrives 20000 times"
    )


def test_the_text_report_names_ten_mappings_and_counts_the_rest(cli: Cli, tmp_path: Path) -> None:
    path = one_per_line(tmp_path, [{**SUB, "id": f"sub_{n}", "name": None} for n in range(300)])
    result = validate(cli, "--mapping", str(path))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    names = ", ".join(f"sub_{n}" for n in range(10))
    assert lines[0] == f"checked 300 mappings from file {path}: {names} and 290 more"
    reach = [line for line in lines if "the trigger lets through" in line]
    assert [line.split(":")[0].strip() for line in reach] == [f"sub_{n}" for n in range(10)]


def test_overlapping_groups_are_one_finding_each_whatever_their_size(
    cli: Cli, tmp_path: Path
) -> None:
    full = [changed(id=f"sub_{n}", name=None) for n in range(300)]
    tracks = [changed(id=f"trk_{n}", name=None, trigger='type = "track"') for n in range(300)]
    path = one_per_line(tmp_path, full + tracks)
    findings = as_json(validate(cli, "--mapping", str(path), "--json"))["findings"]
    v204 = [f for f in findings if f["code"] == "V204"]
    assert sorted(f["message"].split(" to Frigade")[0] for f in v204) == [
        "300 subscriptions all send identify (every event), group (every event)",
        "600 subscriptions all send track (every event)",
    ]


# Hostile nesting -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000, "line 1, column 101"),
        ("deep.json", '{"data":\n' + '{"a": ' * 150 + "1" + "}" * 151, "line 2, column 595"),
        ("deep.yaml", "- " * 150 + "x\n", "line 1, column 201"),
        ("deep.yaml", "[" * 100_000 + "]" * 100_000, "line 1, column 1001"),
        ("deep.yaml", "- " * 100_000 + "x\n", "line 1, column "),
    ],
    ids=["json-100000", "json-151", "yaml-block-150", "yaml-flow-100000", "yaml-block-100000"],
)
def test_a_deeply_nested_file_exits_2_with_its_position(
    cli: Cli, tmp_path: Path, name: str, text: str, where: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    result = validate(cli, "--mapping", str(path))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{path}: " in result.stderr and where in result.stderr


@pytest.mark.parametrize(
    ("text", "where"),
    [("[" * 100_000 + "]" * 100_000, "column 101"), ("- " * 100_000 + "x\n", "column 201")],
    ids=["flow", "block"],
)
def test_deep_yaml_is_refused_with_its_position_without_libyaml_too(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, where: str
) -> None:
    import yaml

    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)  # PyYAML built without libyaml
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    result = validate(cli, "--mapping", str(path))
    assert result.exit_code == 2, result.output
    assert f"nested deeper than 100 levels at line 1, {where}" in result.stderr


@pytest.mark.parametrize("name", ["mapping.json", "mapping.yaml"])
def test_nesting_of_100_levels_is_read_and_101_refused(cli: Cli, tmp_path: Path, name: str) -> None:
    # {data} {subscription} {settings} then 96 levels of Data: 100 in all.
    data: Any = {"@path": "$."}
    for _ in range(95):
        data = {"x": data}
    path = write(tmp_path, {"data": {"subscription": changed(settings_data=data)}}, name)
    result = validate(cli, "--mapping", path)
    assert result.exit_code == 3, result.output  # V113, not a refusal
    assert "V113 data-not-whole-event" in result.stdout
    deeper = write(tmp_path, {"data": {"subscription": changed(settings_data={"x": data})}}, name)
    refused = validate(cli, "--mapping", deeper)
    assert refused.exit_code == 2 and "nested deeper than 100 levels" in refused.stderr


# Lines, for annotations -------------------------------------------------------------------------
def test_github_annotations_carry_the_line_of_each_json_subscription(
    cli: Cli, tmp_path: Path
) -> None:
    subscriptions = [
        changed(id="sub_a", name=None),
        changed(id="sub_b", name=None, settings_method="PUT"),
        changed(id="sub_c", name=None, settings_enable_batching=False),
    ]
    path = one_per_line(tmp_path, subscriptions)
    result = validate(cli, "--mapping", str(path), "--format", "github", "--ignore", "V204")
    assert result.exit_code == 3
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert [a.split("::")[1] for a in annotations] == [
        f"error file={path},line=3,title=V105 sub_b%3A settings.method",
        f"error file={path},line=4,title=V106 sub_c%3A settings.enable_batching",
    ]


def test_github_annotations_carry_the_line_of_each_yaml_subscription(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "export.yaml"
    # Written by hand: the destination starts on line 3, the subscriptions on lines 9 and 18.
    path.write_text(
        "data:\n"
        "  destination:\n"
        "    id: dst_test\n"
        "    enabled: false\n"
        "    settings: {}\n"
        "  subscriptions:\n"
        "    # the first one is right\n"
        "    -\n"
        "      id: sub_a\n"
        "      destinationId: dst_test\n"
        "      enabled: true\n"
        '      trigger: type = "identify" or type = "group" or type = "track"\n'
        "      settings: &settings\n"
        "        url: https://api.frigade.com/v1/thirdParty/cdp/segment\n"
        "        headers: {Authorization: Bearer api_private_test0000abcd}\n"
        "        enable_batching: true\n"
        "        batch_size: 100\n"
        "    - id: sub_b\n"
        "      destinationId: dst_test\n"
        "      enabled: 'yes'\n"
        '      trigger: type = "track"\n'
        "      settings: *settings\n"
    )
    result = validate(cli, "--mapping", str(path), "--format", "github")
    assert result.exit_code == 3, result.output
    properties = sorted(line.split("::")[1] for line in result.stdout.splitlines() if "::" in line)
    assert properties == [
        # Each at the line of its field: sub_b's enabled (20), the destination's (4), and
        # sub_b's trigger (21) for the two types it leaves out.
        f"error file={path},line=20,title=V119 sub_b%3A enabled",
        f"error file={path},line=4,title=V112 destination dst_test%3A destination.enabled",
        f"warning file={path},line=21,title=V201 sub_b%3A trigger",
        f"warning file={path},line=21,title=V201 sub_b%3A trigger",
    ]


def test_stdin_annotations_have_no_file_or_line(cli: Cli) -> None:
    result = validate(
        cli,
        "--mapping",
        "-",
        "--format",
        "github",
        input=json.dumps(changed(settings_method="PUT")),
    )
    assert result.exit_code == 3
    assert result.stdout.startswith("::error title=V105 ")


# --timeout, a duration --------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "code"), [("abc", 2), ("-1s", 2), ("0", 3), ("0ms", 3)])
def test_a_bad_timeout_follows_the_exit_rule(cli: Cli, value: str, code: int) -> None:
    # Not a duration: the command line is wrong (2); a duration of zero is not acceptable (3).
    result = validate(cli, "--url", "https://api.frigade.com/x", "--timeout", value)
    assert result.exit_code == code, result.output
    assert "--timeout" in result.stderr and "a bug" not in result.stderr


def test_live_gives_up_after_the_timeout(cli: Cli, tmp_path: Path, recorder: Any) -> None:
    recorder.delay = 1.0  # answers after a second; the timeout is a tenth of that
    url = recorder.webhook_url
    path = write(tmp_path, changed(settings_url=url))
    result = validate(
        cli, "--mapping", path, "--expect-url", url, "--live", "--timeout", "100ms", "--json"
    )
    assert result.exit_code == 3, result.output
    (found,) = as_json(result)["findings"]
    assert found["code"] == "V116" and "did not reach" in found["message"]
    assert recorder.requests  # it was sent, and not answered in time
