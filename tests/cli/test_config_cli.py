"""`frigade config path|show|set|unset`, the root flags, and one-line errors with exit codes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from frigade_cli import __version__
from tests.conftest import Cli

KEY = "api_private_8f3k2Lq9ZxW7abcd"
WRITE_KEY = "wK9sEgMeNtWrItEkEy42"


def show(cli: Cli, *args: str) -> dict[str, dict[str, str | None]]:
    """`config show --json` as {key: row}."""
    run = cli(*args, "config", "show", "--json")
    assert run.exit_code == 0, run.output
    return {row["key"]: row for row in json.loads(run.stdout)["settings"]}


def test_path_prints_the_config_file_path(cli: Cli, isolated: Path) -> None:
    run = cli("config", "path")

    assert run.exit_code == 0
    assert run.stdout == f"{isolated / 'config' / 'config.toml'}\n"


def test_set_creates_the_file_0600_in_a_0700_directory(cli: Cli, isolated: Path) -> None:
    run = cli("config", "set", "api_key", KEY)

    path = isolated / "config" / "config.toml"
    assert run.exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_set_confirms_on_stderr_with_the_secret_redacted(cli: Cli) -> None:
    run = cli("config", "set", "api_key", KEY)

    assert run.stdout == ""
    assert "api_key = api_private_****abcd in profile default" in run.stderr
    assert KEY not in run.output


def test_set_shows_a_non_secret_value_as_is(cli: Cli) -> None:
    run = cli("config", "set", "api_url", "http://127.0.0.1:9000")

    assert "api_url = http://127.0.0.1:9000" in run.stderr


def test_show_json_is_one_json_document_on_stdout(cli: Cli, isolated: Path) -> None:
    run = cli("config", "show", "--json")

    document = json.loads(run.stdout)
    assert run.exit_code == 0
    assert document["profile"] == "default"
    assert document["path"] == str(isolated / "config" / "config.toml")
    assert [row["key"] for row in document["settings"]] == [
        "api_key",
        "api_url",
        "webhook_url",
        "segment_write_key",
        "segment_api_url",
        "segment_public_api_token",
    ]


def test_show_redacts_every_secret_in_json(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("config", "set", "api_key", KEY)
    monkeypatch.setenv("SEGMENT_WRITE_KEY", WRITE_KEY)

    run = cli("config", "show", "--json")

    rows = {row["key"]: row for row in json.loads(run.stdout)["settings"]}
    assert rows["api_key"]["value"] == "api_private_****abcd"
    assert rows["segment_write_key"]["value"] == "****Ey42"
    assert KEY not in run.output
    assert WRITE_KEY not in run.output


def test_show_table_redacts_secrets_and_names_sources(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("config", "set", "api_key", KEY)
    monkeypatch.setenv("SEGMENT_WRITE_KEY", WRITE_KEY)

    run = cli("config", "show")

    assert run.exit_code == 0
    assert "api_private_****abcd" in run.stdout
    assert "profile default" in run.stdout
    assert "env SEGMENT_WRITE_KEY" in run.stdout
    assert KEY not in run.output
    assert WRITE_KEY not in run.output
    assert "profile default" in run.stderr


def test_show_reports_flag_env_profile_default_precedence(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("config", "set", "api_url", "http://127.0.0.1:1")
    cli("config", "set", "segment_api_url", "http://127.0.0.1:2")
    monkeypatch.setenv("FRIGADE_API_URL", "http://127.0.0.1:3")

    rows = show(cli)

    assert (rows["api_url"]["value"], rows["api_url"]["source"]) == (
        "http://127.0.0.1:3",
        "env FRIGADE_API_URL",
    )
    assert rows["segment_api_url"]["source"] == "profile default"
    assert rows["webhook_url"] == {
        "key": "webhook_url",
        "value": None,
        "source": "default",
        "env": None,
    }


def test_profile_flag_selects_the_profile(cli: Cli) -> None:
    cli("--profile", "staging", "config", "set", "api_url", "http://127.0.0.1:4")

    assert show(cli, "--profile", "staging")["api_url"]["value"] == "http://127.0.0.1:4"
    assert show(cli)["api_url"]["source"] == "default"


def test_frigade_profile_env_selects_the_profile(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("-p", "ci", "config", "set", "api_url", "http://127.0.0.1:5")
    monkeypatch.setenv("FRIGADE_PROFILE", "ci")

    run = cli("config", "show", "--json")

    assert json.loads(run.stdout)["profile"] == "ci"
    assert show(cli)["api_url"]["value"] == "http://127.0.0.1:5"


def test_profile_flag_wins_over_frigade_profile(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRIGADE_PROFILE", "ci")

    run = cli("--profile", "prod", "config", "show", "--json")

    assert json.loads(run.stdout)["profile"] == "prod"


def test_unset_removes_the_setting(cli: Cli) -> None:
    cli("config", "set", "api_key", KEY)

    run = cli("config", "unset", "api_key")

    assert run.exit_code == 0
    assert "api_key removed from profile default" in run.stderr
    assert show(cli)["api_key"]["value"] is None


def test_unset_of_a_missing_setting_says_so_and_succeeds(cli: Cli) -> None:
    run = cli("config", "unset", "api_key")

    assert run.exit_code == 0
    assert "api_key was not set in profile default" in run.stderr


@pytest.mark.parametrize("args", [["set", "apikey", "x"], ["unset", "apikey"]])
def test_unknown_key_exits_3_with_one_line(cli: Cli, args: list[str]) -> None:
    run = cli("config", *args)

    assert run.exit_code == 3
    assert run.stdout == ""
    assert run.stderr.startswith("error: unknown setting 'apikey'")
    assert run.stderr.count("\n") == 1


def test_corrupt_config_file_exits_3_with_one_line_naming_the_file(
    cli: Cli, isolated: Path
) -> None:
    path = isolated / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text("[profiles.default\n")

    run = cli("config", "show")

    assert run.exit_code == 3
    assert run.stdout == ""
    assert run.stderr.startswith(f"error: config file {path} is not valid TOML")
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.output


def test_corrupt_config_file_in_a_real_process_has_no_traceback(cli: Cli, isolated: Path) -> None:
    path = isolated / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text("api_key = \n")

    run = cli.process(["config", "show", "--json"])

    assert run.exit_code == 3
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert str(path) in run.stderr


def test_config_path_works_even_when_the_file_is_corrupt(cli: Cli, isolated: Path) -> None:
    path = isolated / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text("[[[")

    run = cli("config", "path")

    assert run.exit_code == 0
    assert run.stdout.strip() == str(path)


def test_traceback_flag_shows_the_story_with_the_key_redacted(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The error quotes the URL, and the URL holds the key: only the redaction keeps it out.
    monkeypatch.setenv("FRIGADE_API_URL", f"http://127.0.0.1:abc/?api_key={KEY}")

    run = cli("--traceback", "segment", "test-webhook", "--api-key", KEY)

    assert run.exit_code == 3
    assert "Traceback (most recent call last)" in run.stderr
    assert "api_key=api_private_****abcd" in run.stderr
    assert "8f3k2Lq9ZxW7" not in run.output


def test_version_prints_the_version(cli: Cli) -> None:
    run = cli("--version")

    assert run.exit_code == 0
    assert run.stdout == f"frigade-cli {__version__}\n"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_command_groups_and_exit_codes(cli: Cli, flag: str) -> None:
    run = cli(flag)

    assert run.exit_code == 0
    for word in ("config", "segment", "sandbox", "FRIGADE_PROFILE"):
        assert word in run.stdout


def test_no_arguments_shows_help(cli: Cli) -> None:
    run = cli()

    assert "Usage" in run.output
    assert "config" in run.output


def test_config_help_lists_its_commands(cli: Cli) -> None:
    run = cli("config", "--help")

    assert run.exit_code == 0
    for command in ("path", "show", "set", "unset"):
        assert command in run.stdout


def test_unknown_command_is_a_usage_error(cli: Cli) -> None:
    assert cli("frobnicate").exit_code == 2


def test_python_dash_m_runs_the_cli(cli: Cli) -> None:
    run = cli.process(["--help"])

    assert run.exit_code == 0
    assert "Usage" in run.stdout
    assert "config" in run.stdout


def test_python_dash_m_version(cli: Cli) -> None:
    run = cli.process(["--version"])

    assert (run.exit_code, run.stdout) == (0, f"frigade-cli {__version__}\n")


def test_set_keeps_the_files_comments_and_layout(cli: Cli, isolated: Path) -> None:
    path = isolated / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text(
        "# my Frigade settings\n\n[profiles.default]\n"
        'api_url = "http://127.0.0.1:9000"  # the local sandbox\n'
    )

    run = cli("config", "set", "api_key", KEY)

    assert run.exit_code == 0, run.output
    assert path.read_text() == (
        "# my Frigade settings\n\n[profiles.default]\n"
        'api_url = "http://127.0.0.1:9000"  # the local sandbox\n'
        f'api_key = "{KEY}"\n'
    )


def test_unset_keeps_the_comments(cli: Cli, isolated: Path) -> None:
    path = isolated / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text(f'# keep me\n[profiles.default]\napi_key = "{KEY}"\n')

    assert cli("config", "unset", "api_key").exit_code == 0
    assert path.read_text().startswith("# keep me\n")
    assert KEY not in path.read_text()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("api_url", "api.frigade.com", "not an absolute http(s) URL"),
        ("webhook_url", "ftp://x.example/hook", "not an absolute http(s) URL"),
        ("segment_api_url", "http://127.0.0.1:99999", "bad port"),
        ("api_url", " https://api.frigade.com", "a space at its start"),
        ("api_key", "api_public_Q2w3E4r5T6y7wxyz", "is a public key"),
        ("api_key", "sk_live_0123456789abcdef", "is not a Frigade private key"),
        ("api_key", "api_private_tëst0000abcd", "U+00EB"),
        ("segment_write_key", "wK9s EgMeNtWrItEkEy42", "U+0020 (SPACE)"),
    ],
)
def test_set_refuses_an_unacceptable_value_with_exit_3(
    cli: Cli, isolated: Path, key: str, value: str, message: str
) -> None:
    run = cli("config", "set", key, value)

    assert run.exit_code == 3, run.output
    assert message in run.stderr
    assert run.stderr.count("\n") == 1
    assert not (isolated / "config" / "config.toml").exists()


def test_set_stores_a_key_given_with_bearer_without_it(cli: Cli) -> None:
    assert cli("config", "set", "api_key", f"Bearer {KEY}").exit_code == 0

    assert show(cli)["api_key"]["value"] == "api_private_****abcd"
    assert cli("segment", "test-webhook", "--dry-run", "--json").exit_code == 0


def test_an_unknown_profile_is_an_error_listing_the_profiles_where_it_would_send(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("-p", "staging", "config", "set", "api_url", "http://127.0.0.1:4")
    cli("-p", "ci", "config", "set", "api_url", "http://127.0.0.1:5")

    flag = cli("--profile", "stagign", "segment", "test-webhook", "--api-key", KEY, "--dry-run")
    monkeypatch.setenv("FRIGADE_PROFILE", "prod")
    env = cli("segment", "test-webhook", "--api-key", KEY, "--dry-run")

    assert flag.exit_code == 2
    assert "profile 'stagign' is not in" in flag.stderr
    assert "(profiles: ci, staging)" in flag.stderr
    assert flag.stdout == ""
    assert env.exit_code == 2
    assert "profile 'prod'" in env.stderr


def test_an_unknown_profile_where_it_is_only_read_is_a_warning(cli: Cli) -> None:
    cli("-p", "staging", "config", "set", "api_url", "http://127.0.0.1:4")

    run = cli("-p", "stagign", "config", "show", "--json")

    assert run.exit_code == 0
    assert "warning: profile 'stagign' is not in" in run.stderr
    assert "(profiles: staging)" in run.stderr
    assert json.loads(run.stdout)["profile"] == "stagign"


def test_the_default_profile_need_not_exist(cli: Cli) -> None:
    run = cli("config", "show")

    assert run.exit_code == 0
    assert "warning" not in run.stderr


def test_an_unknown_profile_matters_only_when_a_setting_is_read_from_it(cli: Cli) -> None:
    url = "http://127.0.0.1:9/v1/thirdParty/cdp/segment"

    flags_only = cli("-p", "nope", "segment", "test-webhook", "--url", url, "--api-key", KEY,
                     "--dry-run")  # fmt: skip
    reads_it = cli("-p", "nope", "segment", "test-webhook", "--api-key", KEY, "--dry-run")

    assert flags_only.exit_code == 0, flags_only.output
    assert reads_it.exit_code == 2
    assert "profile 'nope' is not in" in reads_it.stderr
