"""Programs from the system the tests drive (Prometheus, Chromium), and a `frigade` process
whose output lines are collected while it runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

from frigade_cli.sandbox.testing import wait_until


def system_tool(name: str) -> str:
    """The path of `name`; `.ci/run` installs it (Debian package of the same name) when absent.

    In CI (`CI` set) a missing tool fails the test; elsewhere it skips it, saying how to get it.
    """
    import pytest

    found = shutil.which(name)
    if found:
        return found
    message = f"needs `{name}` (apt-get install {name}; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Background:
    """`python -m frigade_cli ARGS` running in a child process; stdout and stderr lines kept."""

    def __init__(self, args: Sequence[str], **kwargs: Any) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "frigade_cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
            **kwargs,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_for_line(self, which: str, contains: str, timeout: float = 30.0) -> str:
        """The first line of `which` ("stdout"/"stderr") containing `contains`."""
        lines = self.stdout if which == "stdout" else self.stderr

        def found() -> str | None:
            if self.proc.poll() is not None and not any(contains in line for line in lines):
                raise AssertionError(
                    f"exited {self.proc.returncode} first: " + "\n".join(self.stderr)
                )
            return next((line for line in lines if contains in line), None)

        return wait_until(found, timeout=timeout, interval=0.02, what=repr(contains))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send `sig`, wait for the exit and for the output to be read; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
