"""Writers of the config file at the same time: none loses another's change, no reader sees a
partial or empty file, comments and mode 0600 survive (README "frigade config")."""

from __future__ import annotations

import stat
import sys
import threading
from pathlib import Path

from frigade_cli.kernel.config import config_path
from tests.support.installed import start

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

WRITE_KEY = "wK9sEgMeNtWrItEkEy42"
ORIGINAL = f"""\
# my frigade settings: keep this comment
[profiles.default]
api_url = "https://api.frigade.com"  # production
segment_write_key = "{WRITE_KEY}"
"""
WRITERS = 12


def _seed() -> Path:
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True)
    path.write_text(ORIGINAL)
    path.chmod(0o600)
    return path


def _set_profiles_in_parallel() -> list[tuple[int, str]]:
    """`frigade --profile qN config set api_url ...` for N in 1..12, all started at once."""
    procs = [
        start("--profile", f"q{i}", "config", "set", "api_url", f"https://q{i}.example.com")
        for i in range(1, WRITERS + 1)
    ]
    results = []
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        results.append((proc.returncode, err))
    return results


def test_twelve_parallel_config_set_runs_keep_every_profile_and_the_comments() -> None:
    path = _seed()

    results = _set_profiles_in_parallel()

    assert [code for code, _ in results] == [0] * WRITERS, results
    text = path.read_text()
    profiles = tomllib.loads(text)["profiles"]
    assert {f"q{i}" for i in range(1, WRITERS + 1)} <= set(profiles)
    for i in range(1, WRITERS + 1):
        assert profiles[f"q{i}"] == {"api_url": f"https://q{i}.example.com"}
    assert profiles["default"] == {
        "api_url": "https://api.frigade.com",
        "segment_write_key": WRITE_KEY,
    }
    assert text.startswith("# my frigade settings: keep this comment\n")
    assert 'api_url = "https://api.frigade.com"  # production' in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Nothing left over from the writes but the lock: no temporary files in the directory.
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml", "config.toml.lock"]


def test_a_reader_during_parallel_writes_always_sees_a_whole_file() -> None:
    path = _seed()
    seen: list[dict[str, object]] = []
    broken: list[str] = []
    done = threading.Event()

    def read_until_done() -> None:
        while not done.is_set() or not seen:
            raw = path.read_bytes()
            try:
                seen.append(tomllib.loads(raw.decode()))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                broken.append(raw.decode(errors="replace"))

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:
        results = _set_profiles_in_parallel()
    finally:
        done.set()
        reader.join(timeout=30)

    assert [code for code, _ in results] == [0] * WRITERS, results
    assert broken == []
    assert seen
    # Every read saw the default profile with its write key: never an empty or partial file
    # that would make a command fall back to the production defaults.
    assert all(
        document["profiles"]["default"]["segment_write_key"] == WRITE_KEY  # type: ignore[index]
        for document in seen
    )
    # Profiles only ever appear: a later read never misses one an earlier read saw.
    counts = [len(document["profiles"]) for document in seen]  # type: ignore[arg-type]
    assert counts == sorted(counts)
    assert counts[-1] == WRITERS + 1
