"""Isolation for every test: temp config and state dirs, no colour, fixed width, no proxies."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from tests.support.recorder import Recorder

if TYPE_CHECKING:
    from tests.oracles.harness import Oracles

_CLEARED = (
    "FRIGADE_API_KEY",
    "FRIGADE_API_URL",
    "FRIGADE_PROFILE",
    "SEGMENT_WRITE_KEY",
    "SEGMENT_API_URL",
    "SEGMENT_PUBLIC_API_TOKEN",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "FORCE_COLOR",
    "GITHUB_STEP_SUMMARY",  # tests run in Actions must not write to the job's summary
)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home for config and state; the machine's keys and proxies never leak in."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRIGADE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FRIGADE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return tmp_path


@dataclass
class Run:
    """What a `frigade` invocation did."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    """Runs the real `frigade` command in-process (Typer's runner) or as a subprocess."""

    def __call__(self, *args: str, input: str | None = None) -> Run:
        from frigade_cli.cli import app

        result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    def process(self, args: Sequence[str], timeout: float = 60, **kwargs: object) -> Run:
        """Run `python -m frigade_cli ARGS` in a child process with this test's environment."""
        proc = subprocess.run(
            [sys.executable, "-m", "frigade_cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ),
            **kwargs,  # type: ignore[arg-type]
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A recording webhook receiver on 127.0.0.1 that answers 200 unless scripted."""
    with Recorder() as server:
        yield server


@pytest.fixture(scope="session")
def oracles() -> Oracles:
    """The vendors' JavaScript (tests/oracles/), installed once per run (npm ci under a file
    lock, reused while package-lock.json is unchanged), run in Node on demand. Skips without
    Node, except with `CI` set: then it fails."""
    from tests.oracles.harness import prepared

    return prepared()
