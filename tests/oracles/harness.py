"""The vendors' own JavaScript, run in Node as test oracles.

`install()` puts the packages pinned in this directory's package.json and package-lock.json (plus
the Webhooks destination, see install-webhook.mjs) into `node_modules/` and `vendor/`, once per
change of those files, safely when several pytest-xdist workers ask at once. `Oracle` runs one of
this directory's `*.mjs` scripts as one long-lived Node process and exchanges JSON lines with it:
a whole batch of cases costs one process start, not one per case.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
STAMP = HERE / "node_modules" / ".oracles-stamp"
LOCK = HERE / ".install.lock"
# Files whose content decides whether the installed tree is current (install-webhook.mjs hashes
# the same ones, in this order, when it finishes).
STAMPED = ("package-lock.json", "install-webhook.mjs")


class OracleUnavailable(Exception):
    """Node or npm is not on PATH: the oracles cannot run on this machine."""


class OracleError(Exception):
    """An oracle could not be installed, crashed, or answered an error for a request."""


def expected_stamp() -> str:
    """The sha256 (hex) an up-to-date install leaves in node_modules/.oracles-stamp."""
    digest = hashlib.sha256()
    for name in STAMPED:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def _installed() -> bool:
    try:
        return STAMP.read_text().strip() == expected_stamp()
    except FileNotFoundError:
        return False


def install() -> None:
    """Install the pinned oracle packages unless the installed tree is already current.

    Runs `npm ci` in this directory under an exclusive file lock (one install however many
    workers call it). Raises OracleUnavailable when node or npm is missing, OracleError when the
    install fails (its output is in the message).
    """
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise OracleUnavailable(
                f"`{tool}` is not on PATH; the oracle tests need Node.js and npm"
            )
    if _installed():
        return
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _installed():  # another worker installed while this one waited
                return
            proc = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0 or not _installed():
                raise OracleError(
                    f"npm ci in {HERE.name}/ failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Oracle:
    """One running `node <script>` that answers JSON requests, one line each, in order.

    Use as a context manager, or call close(). `call()` sends one request; `map()` pipelines many
    (written from a thread, so neither side's pipe buffer can block the other).
    """

    def __init__(self, script: str, env: dict[str, str] | None = None) -> None:
        path = HERE / script
        if not path.is_file():
            raise OracleError(f"no oracle script {script} in {HERE.name}/")
        self.script = script
        self._proc = subprocess.Popen(
            ["node", str(path)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env={**os.environ, **(env or {})},
        )
        self._stderr: list[str] = []
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()

    def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        return self._proc.stdin, self._proc.stdout

    def _answer(self, stdout: IO[str]) -> Any:
        line = stdout.readline()
        if not line:
            self._proc.wait(timeout=10)
            raise OracleError(
                f"{self.script} exited ({self._proc.returncode}) without answering:\n"
                + "".join(self._stderr[-40:])
            )
        answer = json.loads(line)
        if "error" in answer:
            raise OracleError(f"{self.script}: {answer['error']}")
        return answer["ok"]

    def call(self, request: Any) -> Any:
        """Send one JSON-serialisable request; return the script's answer (raises OracleError)."""
        stdin, stdout = self._pipes()
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        return self._answer(stdout)

    def map(self, requests: Iterable[Any]) -> list[Any]:
        """Answers for every request, in order, through the one process."""
        lines = [json.dumps(request) + "\n" for request in requests]
        stdin, stdout = self._pipes()

        def write() -> None:
            with contextlib.suppress(BrokenPipeError):
                for line in lines:
                    stdin.write(line)
                stdin.flush()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        answers = [self._answer(stdout) for _ in lines]
        writer.join()
        return answers

    def close(self) -> None:
        """End the process (closing its stdin ends the script's read loop)."""
        if self._proc.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self._pipes()[0].close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._stderr_reader.join(timeout=5)
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> Oracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def running(script: str, env: dict[str, str] | None = None) -> Iterator[Oracle]:
    """`with running("fql.mjs") as oracle: ...`, the process ended on the way out."""
    oracle = Oracle(script, env)
    try:
        yield oracle
    finally:
        oracle.close()


class Oracles:
    """What a test gets from the `oracles` fixture (tests/conftest.py).

    `oracles.run("fql.mjs")` starts one Node process (an Oracle, a context manager);
    `oracles.map("fql.mjs", requests)` runs a batch of requests through one process.
    """

    def run(self, script: str, env: dict[str, str] | None = None) -> Oracle:
        return Oracle(script, env)

    def map(self, script: str, requests: Iterable[Any]) -> list[Any]:
        with Oracle(script) as oracle:
            return oracle.map(requests)


def prepared() -> Oracles:
    """The oracles, installed if need be; for the session fixture.

    Without Node or npm this skips the calling tests, except when `CI` is set: there it fails
    them, so a CI machine cannot quietly stop running the oracles. A failed install fails them.
    """
    import pytest

    try:
        install()
    except OracleUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the oracles cannot run: {missing}", pytrace=False)
        pytest.skip(str(missing))
    except OracleError as failed:
        pytest.fail(str(failed), pytrace=False)
    return Oracles()
