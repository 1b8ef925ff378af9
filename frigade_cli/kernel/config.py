"""Profiles in a TOML file under the user config dir; precedence flag > env > profile > default."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frigade_cli.kernel.errors import ConfigError, UnknownProfile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    # mypy checks as 3.10 (pyproject), where tomli may be absent from the checking venv.
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

if TYPE_CHECKING:
    import tomlkit

APP_NAME = "frigade"
DEFAULT_PROFILE = "default"
DEFAULT_API_URL = "https://api.frigade.com"
DEFAULT_SEGMENT_API_URL = "https://api.segment.io"
WEBHOOK_PATH = "/v1/thirdParty/cdp/segment"


@dataclass(frozen=True)
class Setting:
    """A configurable value: its profile key, environment variable, default and secrecy."""

    key: str
    env: str | None
    help: str
    secret: bool = False
    default: str | None = None


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("api_key", "FRIGADE_API_KEY", "Frigade API key (api_private_...)", secret=True),
        Setting("api_url", "FRIGADE_API_URL", "Frigade API base URL", default=DEFAULT_API_URL),
        Setting("webhook_url", None, "Frigade's Segment webhook URL (default: API URL + path)"),
        Setting(
            "segment_write_key", "SEGMENT_WRITE_KEY", "Segment HTTP API source write key", True
        ),
        Setting(
            "segment_api_url",
            "SEGMENT_API_URL",
            "Segment tracking API base URL",
            default=DEFAULT_SEGMENT_API_URL,
        ),
        Setting(
            "segment_public_api_token",
            "SEGMENT_PUBLIC_API_TOKEN",
            "Segment Public API token",
            secret=True,
        ),
    )
}


def config_dir() -> Path:
    """The directory holding config.toml (FRIGADE_CONFIG_DIR overrides the platform default)."""
    override = os.environ.get("FRIGADE_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def state_dir() -> Path:
    """The directory for spooled batches and other state (FRIGADE_STATE_DIR overrides)."""
    override = os.environ.get("FRIGADE_STATE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_state_path

    return user_state_path(APP_NAME, appauthor=False)


def config_path() -> Path:
    return config_dir() / "config.toml"


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (0600), in a directory only its owner can enter."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


class Config:
    """The config file's profiles, read once; changes written back with mode 0600."""

    def __init__(self, path: Path | None = None, profile: str | None = None) -> None:
        self._path = path
        chosen = profile or os.environ.get("FRIGADE_PROFILE")
        self.profile = chosen or DEFAULT_PROFILE
        self.explicit = bool(chosen)  # named by --profile or FRIGADE_PROFILE, not the default
        self._data: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        """The config file: found on first use (platformdirs is not needed for `--help`)."""
        if self._path is None:
            self._path = config_path()
        return self._path

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self._load()
        return self._data

    def _load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read config file {self.path}: {exc.strerror}") from None
        try:
            data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"config file {self.path} is not valid TOML ({exc})",
                hint="fix or delete it; 'frigade config path' shows where it is",
            ) from None
        profiles = data.get("profiles", {})
        if not isinstance(profiles, dict) or not all(
            isinstance(v, dict) for v in profiles.values()
        ):
            raise ConfigError(f"config file {self.path}: [profiles.NAME] tables expected")
        return data

    def profiles(self) -> list[str]:
        """The names of the profiles the file holds."""
        return sorted(self.data.get("profiles", {}))

    def missing_profile(self) -> str | None:
        """Why the chosen profile cannot be used (named but not in the file), or None."""
        if not self.explicit or self.profile in self.data.get("profiles", {}):
            return None
        known = ", ".join(self.profiles()) or "none yet"
        return f"profile {self.profile!r} is not in {self.path} (profiles: {known})"

    def require_profile(self) -> None:
        """UnknownProfile (exit 2, a usage error) when the chosen profile does not exist: never
        fall back silently to the defaults (production URLs) when the user named another."""
        problem = self.missing_profile()
        if problem:
            raise UnknownProfile(
                problem,
                hint=f"create it with 'frigade --profile {self.profile} config set KEY VALUE', "
                "or pick an existing one",
            )

    def profile_values(self, profile: str | None = None) -> dict[str, str]:
        values = self.data.get("profiles", {}).get(profile or self.profile, {})
        return {k: str(v) for k, v in values.items()}

    def get(self, key: str, flag_value: str | None = None) -> str | None:
        """A setting's value: flag (Typer folds the env var into it), env, profile, default."""
        value, _ = self.lookup(key, flag_value)
        return value

    def lookup(self, key: str, flag_value: str | None = None) -> tuple[str | None, str]:
        """A setting's value and where it came from: flag, env, profile or default."""
        setting = SETTINGS[key]
        if flag_value:
            return flag_value, "flag"
        if setting.env and os.environ.get(setting.env):
            return os.environ[setting.env], f"env {setting.env}"
        stored = self.profile_values().get(key)
        if stored:
            return stored, f"profile {self.profile}"
        return setting.default, "default"

    def set(self, key: str, value: str) -> str:
        """Store a checked value in the chosen profile, keeping the file's comments and layout.

        Returns the value as stored (a key without its `Bearer ` prefix). ConfigError (exit 3)
        for an unknown setting, a value that is not acceptable, or a file that cannot be written.
        Safe against other `frigade` processes writing at the same time (see `update`).
        """
        import tomlkit

        self._check_key(key)
        value = check_value(key, value)

        def store(document: tomlkit.TOMLDocument) -> bool:
            profiles = document.get("profiles")
            if profiles is None:
                profiles = tomlkit.table(is_super_table=True)
                document["profiles"] = profiles
            if self.profile not in profiles:
                profiles[self.profile] = tomlkit.table()
            profiles[self.profile][key] = value
            return True

        self.update(store)
        return value

    def unset(self, key: str) -> bool:
        """Remove a setting from the chosen profile; False when it was not set there."""
        self._check_key(key)

        def remove(document: tomlkit.TOMLDocument) -> bool:
            values = document.get("profiles", {}).get(self.profile)
            if values is None or key not in values:
                return False
            del values[key]
            return True

        return self.update(remove)

    def update(self, change: Callable[[tomlkit.TOMLDocument], bool]) -> bool:
        """Read, change and write the file back as one step no other writer can interleave.

        `change` edits the document (comments and layout kept) and returns whether it changed
        anything. The file is re-read under an exclusive lock (`config.toml.lock` beside it), so
        two processes setting different profiles both keep their change; the new text goes to a
        temporary file in the same directory, is flushed to disk and renamed over the old one,
        so a reader sees the old file or the new one, never a partial or empty one. Mode 0600.
        Returns what `change` returned; ConfigError (exit 3) when the file cannot be read, is not
        valid, or cannot be written.
        """
        from filelock import FileLock, Timeout

        self.data  # noqa: B018  # a corrupt or unreadable file fails as a read does, before locking
        target = self.path.resolve() if self.path.is_symlink() else self.path
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with FileLock(f"{target}.lock", timeout=LOCK_TIMEOUT, mode=0o600):
                self._data = None  # another process may have written since
                document = self._document()
                changed = change(document)
                if changed:
                    write_atomic(target, document.as_string().encode())
        except Timeout:
            raise ConfigError(
                f"config file {self.path} is locked by another frigade process "
                f"(waited {LOCK_TIMEOUT:g} s)",
                hint=f"try again; if no frigade process runs, delete {target}.lock",
            ) from None
        except OSError as exc:
            raise ConfigError(f"cannot write config file {self.path}: {exc.strerror}") from None
        finally:
            self._data = None
        return changed

    @staticmethod
    def _check_key(key: str) -> None:
        if key not in SETTINGS:
            raise ConfigError(f"unknown setting {key!r}: use one of {', '.join(SETTINGS)}")

    def _document(self) -> tomlkit.TOMLDocument:
        """The file as an editable document (comments kept); checked as reads check it."""
        import tomlkit

        self.data  # noqa: B018  # the same errors as a read, for a corrupt file
        try:
            return tomlkit.parse(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return tomlkit.document()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {self.path}: {exc.strerror}") from None


LOCK_TIMEOUT = 10.0  # seconds a writer waits for another; a write itself takes milliseconds


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` whole: a temporary file beside it (mode 0600), fsync, rename.

    A reader, or a crash at any moment, sees the old content or the new, never a truncated file.
    OSError when the directory is not writable.
    """
    import tempfile

    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), 0o600)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


URL_SETTINGS = frozenset({"api_url", "webhook_url", "segment_api_url"})


def check_value(key: str, value: str) -> str:
    """A setting's value as it may be stored; ConfigError (exit 3) naming the setting if not.

    URLs must be absolute http(s) URLs (the one URL check); `api_key` a Frigade private key;
    other secrets plain ASCII with no spaces (they go in HTTP headers).
    """
    from frigade_cli.kernel.errors import InputError
    from frigade_cli.kernel.http import check_url
    from frigade_cli.kernel.keys import check_key_text, check_private_key

    try:
        if key in URL_SETTINGS:
            return check_url(value, carries_secret=False, what=key)
        if key == "api_key":
            return check_private_key(value, "api_key", strict=True)
        if SETTINGS[key].secret:
            return check_key_text(value, key)
    except InputError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None
    return value
