"""What validate holds a mapping to: Frigade's documented webhook, never this tool's environment;
and every finding says where its expectation comes from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import sandbox_fixture
from tests.conftest import Cli
from tests.support.recorder import Recorder
from tests.validate.test_validate_cli import FIXTURE, changed, validate, write

sandbox = sandbox_fixture()
FRIGADE = "https://api.frigade.com/v1/thirdParty/cdp/segment"  # docs.frigade.com, Segment guide
SANDBOX_LIKE = "http://127.0.0.1:8787/v1/thirdParty/cdp/segment"


def codes(result: Any) -> list[str]:
    return [f["code"] for f in json.loads(result.stdout)["findings"]]


def test_the_recommended_mapping_passes_with_frigade_api_url_exported(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRIGADE_API_URL", "http://127.0.0.1:8787")  # as for the sandbox
    result = validate(cli, "--mapping", str(FIXTURE))
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("valid: 0 errors, 0 warnings, 0 info")
    assert result.stderr == ""


def test_the_recommended_mapping_passes_with_a_profile_webhook_url(cli: Cli) -> None:
    saved = cli("config", "set", "webhook_url", SANDBOX_LIKE)
    assert saved.exit_code == 0, saved.output
    result = validate(cli, "--mapping", str(FIXTURE))
    assert result.exit_code == 0, result.output
    assert "127.0.0.1" not in result.stdout


def test_a_mapping_at_the_environments_url_is_held_to_frigades_and_told_why(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRIGADE_API_URL", "http://127.0.0.1:8787")
    path = write(tmp_path, changed(settings_url=SANDBOX_LIKE))
    result = validate(cli, "--mapping", path)
    assert result.exit_code == 3
    assert "V103 url-host" in result.stdout and "V102 url-scheme" in result.stdout
    assert f"    basis: expected {FRIGADE} (Frigade's documented webhook, docs.frigade.com)" in (
        result.stdout.splitlines()
    )
    # stderr says the environment is not the expectation, and how to name another.
    assert "FRIGADE_API_URL" in result.stderr and "--expect-url" in result.stderr
    assert result.stderr.count("\n") == 1


def test_expect_url_names_another_webhook_and_every_url_finding_says_so(
    cli: Cli, tmp_path: Path
) -> None:
    path = write(tmp_path, changed(settings_url=SANDBOX_LIKE))
    assert validate(cli, "--mapping", path, "--expect-url", SANDBOX_LIKE).exit_code == 0
    # The recommended production mapping, held to the sandbox's URL, fails: and says by what.
    result = validate(cli, "--mapping", str(FIXTURE), "--expect-url", SANDBOX_LIKE, "--json")
    assert result.exit_code == 3
    findings = json.loads(result.stdout)["findings"]
    assert {f["code"] for f in findings} == {"V102", "V103"}
    assert {f["basis"] for f in findings} == {f"expected {SANDBOX_LIKE} (--expect-url)"}
    host = next(f for f in findings if f["code"] == "V103")
    assert host["fix"] == "use the host 127.0.0.1:8787"


@pytest.mark.parametrize("url", ["api.frigade.com/v1/thirdParty/cdp/segment", "not a url", ""])
def test_an_unusable_expect_url_is_a_usage_error(cli: Cli, url: str) -> None:
    result = validate(cli, "--mapping", str(FIXTURE), "--expect-url", url)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--expect-url" in result.stderr


def test_every_finding_in_the_text_report_names_its_basis(cli: Cli, tmp_path: Path) -> None:
    messy = changed(
        settings_method="PUT",
        settings_enable_batching=False,
        trigger='type = "track"',
        settings_url=FRIGADE + "/",
    )
    result = validate(cli, "--mapping", write(tmp_path, messy))
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    headings = [n for n, line in enumerate(lines) if line.startswith("  V")]
    assert len(headings) == 5  # V105, V106, V201 x2, V207
    for n in headings:
        assert lines[n + 2].startswith("    fix: ")
        assert lines[n + 3].startswith("    basis: ") and len(lines[n + 3]) > len("    basis: ")


def test_sandbox_keeps_expecting_the_sandboxs_url(cli: Cli, sandbox: RunningSandbox) -> None:
    result = validate(cli, "--sandbox", "--sandbox-url", sandbox.url, "--json")
    assert result.exit_code == 0, result.output
    # Held to Frigade's URL instead, the sandbox's mapping (pointing at itself) is wrong.
    held = validate(cli, "--sandbox", "--sandbox-url", sandbox.url, "--expect-url", FRIGADE)
    assert held.exit_code == 3 and "V103 url-host" in held.stdout
    assert f"basis: expected {FRIGADE} (--expect-url)" in held.stdout


def test_a_trailing_slash_is_named_and_live_tells_the_real_answer(
    cli: Cli, tmp_path: Path, recorder: Recorder
) -> None:
    slashed = write(tmp_path, changed(settings_url=FRIGADE + "/"))
    result = validate(cli, "--mapping", slashed)
    assert result.exit_code == 0, result.output  # a warning: Frigade's answer is unconfirmed
    assert "V207 url-trailing-slash" in result.stdout
    assert (
        "the path '/v1/thirdParty/cdp/segment/' ends with a slash that "
        "'/v1/thirdParty/cdp/segment' does not have" in result.stdout
    )
    # --live still sends there (the host is right), so the answer settles it.
    url = recorder.webhook_url
    live = validate(
        cli,
        "--mapping",
        write(tmp_path, changed(settings_url=url + "/")),
        "--expect-url",
        url,
        "--live",
        "--json",
    )
    assert codes(live) == ["V207", "V303"]
    (request,) = recorder.requests
    assert request.path.endswith("/segment/")
