"""Profiles in a TOML file: private file modes, precedence flag > env > profile > default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from frigade_cli.kernel.config import (
    DEFAULT_API_URL,
    SETTINGS,
    Config,
    config_dir,
    config_path,
    state_dir,
    write_private,
)
from frigade_cli.kernel.errors import ConfigError

KEY = "api_private_8f3k2Lq9ZxW7abcd"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_config_dir_and_state_dir_follow_their_environment_variables(isolated: Path) -> None:
    assert config_dir() == isolated / "config"
    assert config_path() == isolated / "config" / "config.toml"
    assert state_dir() == isolated / "state"


def test_without_override_config_dir_is_the_platform_user_config_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FRIGADE_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    assert config_dir().name == "frigade"


def test_saved_file_is_0600_in_a_0700_directory(isolated: Path) -> None:
    config = Config()

    config.set("api_key", KEY)

    assert config.path == isolated / "config" / "config.toml"
    assert mode(config.path) == 0o600
    assert mode(config.path.parent) == 0o700


def test_write_private_tightens_an_existing_loose_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text("old")
    path.chmod(0o644)

    write_private(path, b"new")

    assert mode(path) == 0o600
    assert path.read_bytes() == b"new"


def test_setting_is_read_back_by_a_new_config() -> None:
    Config().set("api_url", "http://127.0.0.1:9000")

    assert Config().get("api_url") == "http://127.0.0.1:9000"


def test_profiles_are_separate() -> None:
    Config(profile="staging").set("api_key", KEY)

    assert Config(profile="staging").get("api_key") == KEY
    assert Config().get("api_key") is None


def test_frigade_profile_environment_variable_selects_the_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Config(profile="ci").set("api_url", "http://127.0.0.1:1")
    monkeypatch.setenv("FRIGADE_PROFILE", "ci")

    assert Config().profile == "ci"
    assert Config().get("api_url") == "http://127.0.0.1:1"


def test_explicit_profile_wins_over_frigade_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRIGADE_PROFILE", "ci")

    assert Config(profile="prod").profile == "prod"


def test_default_is_used_when_nothing_is_set() -> None:
    assert Config().lookup("api_url") == (DEFAULT_API_URL, "default")
    assert Config().lookup("api_key") == (None, "default")


def test_profile_wins_over_default() -> None:
    Config().set("api_url", "http://127.0.0.1:2")

    assert Config().lookup("api_url") == ("http://127.0.0.1:2", "profile default")


def test_env_wins_over_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    Config().set("api_url", "http://127.0.0.1:2")
    monkeypatch.setenv("FRIGADE_API_URL", "http://127.0.0.1:3")

    assert Config().lookup("api_url") == ("http://127.0.0.1:3", "env FRIGADE_API_URL")


def test_flag_wins_over_env_and_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    Config().set("api_url", "http://127.0.0.1:2")
    monkeypatch.setenv("FRIGADE_API_URL", "http://127.0.0.1:3")

    assert Config().lookup("api_url", "http://127.0.0.1:4") == ("http://127.0.0.1:4", "flag")


def test_empty_env_var_does_not_hide_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    Config().set("api_key", KEY)
    monkeypatch.setenv("FRIGADE_API_KEY", "")

    assert Config().get("api_key") == KEY


def test_every_setting_with_an_env_var_is_read_from_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS.values():
        if setting.env:
            monkeypatch.setenv(setting.env, f"from-{setting.env}")

    config = Config()

    for key, setting in SETTINGS.items():
        if setting.env:
            assert config.get(key) == f"from-{setting.env}"


def test_unset_removes_only_that_key() -> None:
    Config().set("api_key", KEY)
    Config().set("api_url", "http://127.0.0.1:5")

    assert Config().unset("api_key") is True

    assert Config().get("api_key") is None
    assert Config().get("api_url") == "http://127.0.0.1:5"


def test_unset_of_a_key_that_is_not_set_reports_it() -> None:
    assert Config().unset("api_key") is False


@pytest.mark.parametrize("action", ["set", "unset"])
def test_unknown_key_is_refused_listing_the_known_ones(action: str) -> None:
    config = Config()
    with pytest.raises(ConfigError) as info:
        if action == "set":
            config.set("apikey", "x")
        else:
            config.unset("apikey")

    assert "'apikey'" in str(info.value)
    assert all(key in str(info.value) for key in SETTINGS)
    assert not config.path.exists()


def test_corrupt_file_is_a_config_error_naming_it() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("[profiles.default\napi_key = 1\n")

    with pytest.raises(ConfigError) as info:
        Config().get("api_key")

    assert str(path) in str(info.value)
    assert "not valid TOML" in str(info.value)
    assert int(info.value.exit_code) == 3


def test_profiles_that_are_not_tables_are_refused() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('profiles = "default"\n')

    with pytest.raises(ConfigError, match=r"\[profiles.NAME\] tables expected"):
        Config().get("api_key")


def test_file_that_is_not_utf8_is_a_config_error() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"api_key = '\xff'\n")

    with pytest.raises(ConfigError, match="not valid TOML"):
        Config().get("api_key")


def test_unreadable_config_location_is_a_config_error_naming_it(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = isolated / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("FRIGADE_CONFIG_DIR", str(blocker / "frigade"))

    with pytest.raises(ConfigError) as info:
        Config().set("api_url", "http://127.0.0.1:6")

    assert str(info.value) == f"cannot read config file {config_path()}: Not a directory"


def test_other_tables_in_the_file_are_kept_on_save() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('[ui]\ncolor = false\n\n[profiles.default]\napi_url = "http://127.0.0.1:7"\n')

    Config().set("api_key", KEY)

    text = path.read_text()
    assert "[ui]" in text
    assert Config().get("api_url") == "http://127.0.0.1:7"
