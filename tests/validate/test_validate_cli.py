"""`frigade segment validate` end to end: files, flags, the sandbox's Public API, --live."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from frigade_cli.sandbox.public_api import DESTINATION_ID
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import sandbox_fixture
from tests.conftest import Cli
from tests.support.recorder import Answer, Recorder

sandbox = sandbox_fixture()
FIXTURE = Path(__file__).parent / "fixtures" / "webhook-mapping-recommended.json"
DOCUMENT: dict[str, Any] = json.loads(FIXTURE.read_text())
SUB: dict[str, Any] = DOCUMENT["data"]["subscription"]
KEY = "api_private_test0000abcd"


def write(tmp_path: Path, document: Any, name: str = "mapping.json") -> str:
    path = tmp_path / name
    path.write_text(
        yaml.safe_dump(document) if name.endswith((".yaml", ".yml")) else json.dumps(document)
    )
    return str(path)


def changed(**changes: Any) -> dict[str, Any]:
    sub = copy.deepcopy(SUB)
    for key, value in changes.items():
        target, name = (sub["settings"], key[9:]) if key.startswith("settings_") else (sub, key)
        target[name] = value
    return sub


def validate(cli: Cli, *args: str, input: str | None = None) -> Any:
    return cli("segment", "validate", *args, input=input)


def test_the_recommended_mapping_passes(cli: Cli) -> None:
    result = validate(cli, "--mapping", str(FIXTURE))
    assert result.exit_code == 0, result.output
    assert "checked 1 mapping from file" in result.stdout
    assert result.stdout.rstrip().endswith("valid: 0 errors, 0 warnings, 0 info")


DEVIATIONS = [
    ("V102", "settings.url", {"settings_url": "http://api.frigade.com/v1/thirdParty/cdp/segment"}),
    ("V103", "settings.url", {"settings_url": "https://api.frigade.co/v1/thirdParty/cdp/segment"}),
    ("V104", "settings.url", {"settings_url": "https://api.frigade.com/v1/thirdParty/cdp/segmnt"}),
    ("V101", "settings.url", {"settings_url": "not a url"}),
    ("V105", "settings.method", {"settings_method": "PUT"}),
    ("V106", "settings.enable_batching", {"settings_enable_batching": False}),
    ("V107", "settings.batch_size", {"settings_batch_size": 5000}),
    ("V108", "settings.headers", {"settings_headers": {}}),
    ("V109", "settings.headers.Authorization", {"settings_headers": {"Authorization": KEY}}),
    (
        "V109",
        "settings.headers.Authorization",
        {"settings_headers": {"Authorization": "Bearer api_public_test0000abcd"}},
    ),
    (
        "V109",
        "settings.headers.Authorization",
        {"settings_headers": {"Authorization": "Basic dXNlcjpwYXNz"}},
    ),
    ("V109", "settings.headers.Authorization", {"settings_headers": {"Authorization": ""}}),
    (
        "V109",
        "settings.headers.Authorization",
        {"settings_headers": {"Authorization": "Bearer YOUR_PRIVATE_KEY"}},
    ),
    (
        "V110",
        "settings.headers.X-Équipe",
        {"settings_headers": {"Authorization": f"Bearer {KEY}", "X-Équipe": "a"}},
    ),
    ("V111", "enabled", {"enabled": False}),
    ("V113", "settings.data", {"settings_data": {"event": {"@path": "$.event"}}}),
    ("V114", "trigger", {"trigger": 'type = "page" or type = "screen"'}),
    ("V115", "trigger", {"trigger": 'type = "identify" or (type = "group"'}),
]


@pytest.mark.parametrize(("code", "field", "changes"), DEVIATIONS)
def test_each_deviation_exits_3_naming_the_field_and_the_fix(
    cli: Cli, tmp_path: Path, code: str, field: str, changes: dict[str, Any]
) -> None:
    result = validate(cli, "--mapping", write(tmp_path, {"subscription": changed(**changes)}))
    assert result.exit_code == 3, result.output
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith(code))
    assert field in line
    position = result.stdout.index(line)
    assert "    fix: " in result.stdout[position:].split("\n", 3)[2] + "\n"
    assert result.stdout.rstrip().splitlines()[-1].startswith("invalid: ")


def test_a_broken_file_exits_2_with_one_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "subscription": {\n    "trigger": "x",,\n  }\n}\n')
    result = validate(cli, "--mapping", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"{path}: invalid JSON at line 3, column 20" in result.stderr


def test_broken_yaml_names_line_and_column(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("subscription:\n  trigger: [a\n  settings: {}\n")
    result = validate(cli, "--mapping", str(path))
    assert result.exit_code == 2
    assert f"{path}: invalid YAML at line 3, column 11" in result.stderr


def test_unreadable_and_unshaped_inputs_exit_2(cli: Cli, tmp_path: Path) -> None:
    missing = validate(cli, "--mapping", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    shapeless = validate(cli, "--mapping", write(tmp_path, {"hello": "world"}))
    assert shapeless.exit_code == 2 and "not a subscription" in shapeless.stderr
    nothing = validate(cli)
    assert nothing.exit_code == 2 and "nothing to check" in nothing.stderr


@pytest.mark.parametrize(
    "document",
    [
        SUB,
        {"subscription": SUB},
        {"data": {"subscription": SUB}},
        {"data": {"subscriptions": [SUB]}},
        [SUB],
    ],
    ids=["bare", "subscription", "data.subscription", "data.subscriptions", "array"],
)
@pytest.mark.parametrize("name", ["mapping.json", "mapping.yaml"])
def test_every_input_form_in_json_and_yaml(
    cli: Cli, tmp_path: Path, document: Any, name: str
) -> None:
    result = validate(cli, "--mapping", write(tmp_path, document, name))
    assert result.exit_code == 0, result.output
    assert "sub_recommended (Send identify, group and track to Frigade)" in result.stdout


def test_stdin_is_read_with_a_dash(cli: Cli) -> None:
    result = validate(cli, "--mapping", "-", input=yaml.safe_dump(DOCUMENT))
    assert result.exit_code == 0, result.output
    assert "from file stdin" in result.stdout


def test_a_list_reports_each_subscription_by_id_and_name(cli: Cli, tmp_path: Path) -> None:
    second = changed(id="sub_two", name="Only track", trigger='type = "track"')
    result = validate(cli, "--mapping", write(tmp_path, {"data": {"subscriptions": [SUB, second]}}))
    assert result.exit_code == 0, result.output
    assert "checked 2 mappings" in result.stdout
    assert "V201 trigger-leaves-out  sub_two (Only track)" in result.stdout
    assert "V204 duplicate-subscription  sub_two (Only track)" in result.stdout


def test_flags_override_the_file(cli: Cli, tmp_path: Path) -> None:
    off = validate(cli, "--mapping", str(FIXTURE), "--no-batching")
    assert off.exit_code == 3 and "V106" in off.stdout
    broken = write(tmp_path, changed(settings_enable_batching=False, settings_headers={}))
    fixed = validate(cli, "-m", broken, "--batching", "-H", f"Authorization: Bearer {KEY}")
    assert fixed.exit_code == 0, fixed.output


def test_a_mapping_from_flags_alone(cli: Cli) -> None:
    args = [
        "--url",
        "https://api.frigade.com/v1/thirdParty/cdp/segment",
        "--header",
        f"Authorization: Bearer {KEY}",
        "--batching",
        "--batch-size",
        "100",
        "--trigger",
        'type = "identify" or type = "group" or type = "track"',
    ]
    assert validate(cli, *args).exit_code == 0
    no_trigger = validate(cli, *args[:-2])
    assert no_trigger.exit_code == 3 and "V115" in no_trigger.stdout
    bad_header = validate(cli, *args, "--header", "no colon")
    assert bad_header.exit_code == 2 and "'Name: value'" in bad_header.stderr


def test_low_volume_warns_and_recommends_a_batch_size(cli: Cli) -> None:
    result = validate(cli, "--mapping", str(FIXTURE), "--events-per-day", "120")
    assert result.exit_code == 0, result.output
    assert "V203 batch-wait" in result.stdout
    assert "fix: set the batch size to 1 (expected wait 0.0 s)" in result.stdout
    assert "maximum batch wait 60 s, unconfirmed" in result.stdout
    as_json = json.loads(
        validate(cli, "-m", str(FIXTURE), "--events-per-day", "120", "--json").stdout
    )
    assert as_json["advice"]["recommended_batch_size"] == 1
    assert as_json["advice"]["mappings"][0]["batch_size"] == 100
    assert as_json["advice"]["max_batch_wait_confirmed"] is False


def test_ignore_silences_a_rule_by_code_or_name(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, changed(settings_enable_batching=False))
    assert validate(cli, "-m", path, "--ignore", "V106").exit_code == 0
    assert validate(cli, "-m", path, "--ignore", "batching-off").exit_code == 0
    unknown = validate(cli, "-m", path, "--ignore", "V999")
    assert unknown.exit_code == 2 and "V999: no such rule" in unknown.stderr


def test_json_document_schema_with_the_key_redacted(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    # id, name, actionId, actionSlug, destinationId, enabled, trigger, then settings: url on
    # line 10, method on line 11.
    path.write_text(json.dumps(changed(settings_method="PUT"), indent=2))
    result = validate(cli, "--mapping", str(path), "--json")
    assert result.exit_code == 3
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert set(document) >= {"valid", "mappings", "findings", "advice"}
    (finding,) = document["findings"]
    assert finding == {
        "code": "V105",
        "severity": "error",
        "mapping": "sub_recommended (Send identify, group and track to Frigade)",
        "field": "settings.method",
        "message": "the method is 'PUT': Frigade's webhook accepts POST",
        "fix": "set the method to POST",
        "basis": "Frigade's Segment guide (docs.frigade.com): method POST",
        "file": str(path),
        "line": 11,
    }
    assert KEY not in result.stdout
    assert document["mappings"][0]["settings"]["headers"]["Authorization"] == (
        "Bearer api_private_****abcd"
    )


def test_github_annotations(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, changed(settings_enable_batching=False, trigger='type = "track"'))
    result = validate(cli, "--mapping", path, "--format", "github")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    label = "sub_recommended (Send identify%2C group and track to Frigade)"
    assert lines[0] == (
        f"::error file={path},line=1,title=V106 {label}%3A settings.enable_batching::"
        "batching is off: "
        "Segment sends one request per event, and Frigade's guide asks for batches. "
        "Fix: turn Enable Batching on"
    )
    assert sum(line.startswith("::warning ") for line in lines) == 2  # group and identify left out
    assert lines[-1] == "frigade segment validate: invalid: 1 error, 2 warnings, 0 info"


def test_list_rules_prints_every_rule(cli: Cli) -> None:
    from frigade_cli.segment.rules import RULES

    result = validate(cli, "--list-rules")
    assert result.exit_code == 0
    for rule in RULES:
        assert f"| `{rule.code}` | `{rule.name}` | {rule.severity} |" in result.stdout
    as_json = json.loads(validate(cli, "--list-rules", "--json").stdout)
    assert [r["code"] for r in as_json["rules"]] == [r.code for r in RULES]


def test_help_says_the_maximum_wait_is_unconfirmed(cli: Cli) -> None:
    result = validate(cli, "--help")
    assert result.exit_code == 0
    assert "unconfirmed" in result.stdout and "Exit codes" in result.stdout


def test_a_bad_duration_is_a_usage_error(cli: Cli) -> None:
    result = validate(cli, "-m", str(FIXTURE), "--max-batch-wait", "soon")
    assert result.exit_code == 2


# The sandbox's Public API ------------------------------------------------------------------------
def test_the_sandbox_passes(cli: Cli) -> None:
    result = validate(cli, "--sandbox")
    assert result.exit_code == 0, result.output
    assert "sub_sandbox_frigade" in result.stdout
    assert "V302 key-masked" in result.stdout  # the Public API masks the key


def test_the_sandbox_fails_once_batching_is_turned_off(cli: Cli, sandbox: RunningSandbox) -> None:
    assert validate(cli, "--sandbox", "--sandbox-url", sandbox.url).exit_code == 0
    response = sandbox.client.patch(
        "/_sandbox/config", json={"destination": {"enable_batching": False}}
    )
    assert response.status_code == 200
    result = validate(cli, "--sandbox", "--sandbox-url", sandbox.url)
    assert result.exit_code == 3, result.output
    assert "V106 batching-off  sub_sandbox_frigade" in result.stdout
    disabled = sandbox.client.patch("/_sandbox/config", json={"destination": {"enabled": False}})
    assert disabled.status_code == 200
    result = validate(cli, "--sandbox", "--sandbox-url", sandbox.url, "--json")
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert {"V106", "V111", "V112"} <= codes


def test_a_destination_through_the_public_api(cli: Cli, sandbox: RunningSandbox) -> None:
    args = [
        "--destination-id",
        DESTINATION_ID,
        "--segment-public-api-url",
        sandbox.url + "/segmentapis",
    ]
    result = cli("segment", "validate", *args, "--token", sandbox.api_key)
    # The expected URL is Frigade's; the sandbox's mapping points at the sandbox itself.
    assert result.exit_code == 3 and "V103 url-host" in result.stdout
    ok = validate(
        cli,
        *args,
        "--token",
        sandbox.api_key,
        "--url",
        "https://api.frigade.com/v1/thirdParty/cdp/segment",
    )
    assert ok.exit_code == 0, ok.output
    assert sandbox.api_key not in ok.output


def test_public_api_failures_set_the_exit_code(cli: Cli, sandbox: RunningSandbox) -> None:
    base = sandbox.url + "/segmentapis"
    wrong = validate(
        cli,
        "--destination-id",
        DESTINATION_ID,
        "--segment-public-api-url",
        base,
        "--token",
        "sat_wrong_token_0000",
    )
    assert wrong.exit_code == 4 and "rejected the token (HTTP 401" in wrong.stderr
    missing = validate(
        cli,
        "--destination-id",
        "dst_nope",
        "--segment-public-api-url",
        base,
        "--token",
        sandbox.api_key,
    )
    assert missing.exit_code == 2 and "not found" in missing.stderr
    no_token = validate(cli, "--destination-id", DESTINATION_ID, "--segment-public-api-url", base)
    assert no_token.exit_code == 3 and "no Segment Public API token" in no_token.stderr


def test_an_unreachable_public_api_exits_5(cli: Cli) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = validate(
        cli,
        "--destination-id",
        "d1",
        "--token",
        "sat_0000",
        "--segment-public-api-url",
        f"http://127.0.0.1:{port}",
    )
    assert result.exit_code == 5 and "cannot reach" in result.stderr


def test_the_token_comes_from_the_environment(
    cli: Cli, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_PUBLIC_API_TOKEN", sandbox.api_key)
    result = validate(
        cli,
        "--destination-id",
        DESTINATION_ID,
        "--segment-public-api-url",
        sandbox.url + "/segmentapis",
        "--url",
        "https://api.frigade.com/v1/thirdParty/cdp/segment",
    )
    assert result.exit_code == 0, result.output


# --live ----------------------------------------------------------------------------------------
def test_live_sends_one_message_with_the_mappings_own_header(
    cli: Cli, tmp_path: Path, recorder: Recorder
) -> None:
    path = write(tmp_path, changed(settings_url=recorder.webhook_url))
    result = validate(cli, "--mapping", path, "--live", "--expect-url", recorder.webhook_url)
    assert result.exit_code == 0, result.output
    assert "V303 live-accepted" in result.stdout
    (request,) = recorder.requests
    assert request.method == "POST"
    # Exactly the set Segment's runtime sends (checked against it in Node, tests/oracles).
    assert sorted((name.lower(), value) for name, value in request.header_lines) == sorted(
        {
            "accept": "*/*",
            "accept-encoding": "gzip,deflate",
            "connection": "keep-alive",
            "content-type": "application/json",
            "user-agent": "Segment (Actions)",
            "authorization": f"Bearer {KEY}",
            "host": recorder.url.removeprefix("http://"),
            "content-length": str(len(request.body)),
        }.items()
    )
    (message,) = request.json()
    assert message["type"] == "identify"


def test_live_reports_a_rejected_key_as_an_error(
    cli: Cli, tmp_path: Path, recorder: Recorder
) -> None:
    recorder.answer(Answer(403, b'{"statusCode":403,"message":"Forbidden","error":"Forbidden"}'))
    path = write(tmp_path, changed(settings_url=recorder.webhook_url))
    result = validate(cli, "--mapping", path, "--live", "--expect-url", recorder.webhook_url)
    assert result.exit_code == 3
    assert "V116 live-rejected" in result.stdout and "HTTP 403: Forbidden" in result.stdout


def test_live_never_sends_the_key_to_a_wrong_host(cli: Cli, tmp_path: Path) -> None:
    typo = changed(settings_url="https://api.frigade.co/v1/thirdParty/cdp/segment")
    result = validate(cli, "--mapping", write(tmp_path, typo), "--live", "--json")
    findings = {f["code"]: f for f in json.loads(result.stdout)["findings"]}
    # Skipped before any connection: an attempt would have ended in V116 (unreachable host).
    assert "V116" not in findings
    assert "fix the URL first" in findings["V304"]["message"]


def test_live_against_the_sandbox(cli: Cli, sandbox: RunningSandbox) -> None:
    result = validate(cli, "--sandbox", "--sandbox-url", sandbox.url, "--live")
    assert result.exit_code == 0, result.output
    assert "V303 live-accepted" in result.stdout
    sandbox.wait_idle()
    assert sandbox.stats()["frigade"]["ingested_by_type"].get("identify") == 1


def test_the_report_says_which_types_the_trigger_lets_through(cli: Cli) -> None:
    trigger = '(type = "track" and event = "X") or type = "identify"'
    result = validate(cli, "--mapping", str(FIXTURE), "--trigger", trigger)
    assert result.exit_code == 0, result.output
    assert "the trigger lets through identify all, group none, track some" in result.stdout
    document = json.loads(
        validate(cli, "-m", str(FIXTURE), "--trigger", 'type != "page"', "--json").stdout
    )
    assert document["mappings"][0]["trigger_reach"] == {
        "identify": "all",
        "group": "all",
        "track": "all",
    }


def test_a_public_api_list_whose_last_page_repeats_its_cursor_is_judged_with_a_warning(
    cli: Cli, recorder: Recorder
) -> None:
    subscription = {
        "id": "sub_1", "name": "Frigade", "actionSlug": "send", "enabled": True,
        "trigger": 'type = "identify" or type = "group" or type = "track"',
        "settings": {"url": "https://api.frigade.com/v1/thirdParty/cdp/segment",
                     "method": "POST", "enable_batching": True, "batch_size": 100,
                     "headers": {"Authorization": "Bearer api_private_****abcd"}},
    }  # fmt: skip
    page = {"subscriptions": [subscription], "pagination": {"current": "MA==", "next": "MA=="}}
    recorder.answer(
        Answer(200, json.dumps({"data": {"destination": {"id": "d1", "enabled": True}}}).encode()),
        Answer(200, json.dumps({"data": page}).encode()),
    )

    result = cli("segment", "validate", "--destination-id", "d1", "--token", "sat_token_0000",
                 "--segment-public-api-url", recorder.url, "--json")  # fmt: skip

    assert result.exit_code in (0, 3), result.output  # judged, not an upstream failure (5)
    report = json.loads(result.stdout)
    assert len(report["mappings"]) == 1
    assert "gave the page cursor 'MA==' again after 1 page" in result.stderr
    assert "the findings cover those only" in result.stderr
