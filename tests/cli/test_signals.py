"""SIGTERM at any moment of a run: the command's documented exit code and one error line, never
a traceback (README "Exit codes": 143 for a command cut short; `tail` and `sandbox`, whose normal
end is a signal, exit 0).

Each trial starts the installed `frigade` script on a command that runs for well over a second
(a server that answers slowly, a large send, a long measurement), sends SIGTERM at a random
moment of its first second, and checks how it ended. Trials run a few at a time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.installed import start
from tests.support.recorder import Recorder

KEY = "api_private_test0000abcd"
TRIALS = 100
AT_ONCE = 4


@dataclass(frozen=True)
class Trial:
    name: str
    args: tuple[str, ...]
    exit_code: int


@pytest.fixture
def hanging() -> Iterator[Recorder]:
    """A server that takes longer to answer than any trial lasts."""
    with Recorder() as server:
        server.delay = 4.0
        yield server


def trials(slow: Recorder, hanging: Recorder, mapping: Path) -> list[Trial]:
    h = hanging
    return [
        Trial("test-webhook", ("segment", "test-webhook", "--url", slow.webhook_url,
              "--api-key", KEY, "--count", "400", "--batch-size", "10", "--concurrency", "1"),
              143),
        Trial("test-webhook --sandbox", ("segment", "test-webhook", "--sandbox", "--count",
              "5000000"), 143),
        Trial("latency-check --sandbox", ("segment", "latency-check", "--sandbox", "--path",
              "api", "--samples", "10000"), 143),
        Trial("latency-check --path direct", ("segment", "latency-check", "--path", "direct",
              "--api-key", KEY, "--api-url", h.url, "--webhook-url", h.webhook_url), 143),
        Trial("connect", ("segment", "connect", "--write-key", "wk_abcdefgh1234", "--api-key",
              KEY, "--api-url", h.url), 143),
        Trial("status", ("segment", "status", "--api-key", KEY, "--api-url", h.url), 143),
        Trial("disconnect", ("segment", "disconnect", "--yes", "--api-key", KEY, "--api-url",
              h.url), 143),
        Trial("validate --destination-id", ("segment", "validate", "--destination-id", "d1",
              "--token", "sgp_abcdefgh1234", "--segment-public-api-url", h.url), 143),
        Trial("validate --live", ("segment", "validate", "--mapping", str(mapping), "--live",
              "--url", h.webhook_url), 143),
        Trial("deliveries", ("segment", "deliveries", "--source-id", "s1", "--destination-id",
              "d1", "--token", "sgp_abcdefgh1234", "--segment-public-api-url", h.url), 143),
        Trial("doctor", ("doctor", "--api-key", KEY, "--api-url", h.url, "--no-send"), 143),
        Trial("tail --listen", ("segment", "tail", "--listen", "0"), 0),
        Trial("tail --sandbox", ("segment", "tail", "--sandbox", h.url), 0),
        Trial("sandbox", ("sandbox", "--port", "0"), 0),
    ]  # fmt: skip


def handles_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (Linux: SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True  # gone, or no /proc: nothing to wait for
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def run_trial(trial: Trial, delay: float) -> tuple[Trial, float, int, str]:
    proc = start(*trial.args)
    time.sleep(delay)
    # No program can handle a signal before its interpreter has started: on a loaded machine
    # that can take longer than the shortest delay, so wait for the handler, never past it.
    while not handles_sigterm(proc.pid) and proc.poll() is None:
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        return trial, delay, -999, stderr
    return trial, delay, proc.returncode, stderr


def test_sigterm_at_random_moments_of_the_first_second_gives_the_documented_exit(
    recorder: Recorder, hanging: Recorder, isolated: Path
) -> None:
    recorder.delay = 0.3
    mapping = isolated / "mapping.json"
    mapping.write_text(json.dumps({"settings": {"url": recorder.webhook_url}}))
    kinds = trials(recorder, hanging, mapping)
    rng = random.Random()
    plan = [(kinds[i % len(kinds)], rng.uniform(0.05, 1.0)) for i in range(TRIALS)]

    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        outcomes = list(pool.map(lambda p: run_trial(*p), plan))

    wrong = []
    for trial, delay, code, stderr in outcomes:
        lines = [line for line in stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        ok = (
            code == trial.exit_code
            and "Traceback" not in stderr
            and "Exception ignored" not in stderr
            # One error line that says so ("terminated", maybe with what was kept), or none.
            and (
                len(errors) == 1 and errors[0].startswith("error: terminated")
                if code == 143
                else errors == []
            )
        )
        if not ok:
            wrong.append((trial.name, round(delay, 3), code, stderr[-400:]))
    assert wrong == [], f"{len(wrong)} of {TRIALS} trials ended wrongly"


# A library that catches the signal's exception and raises its own (pydantic-core turns it into
# a SchemaError when it lands while a schema is built): the run still ends as the signal says.
_WRAPPED = """
import os, signal, sys, time
from frigade_cli.kernel.interrupts import defer_signals
defer_signals()
from frigade_cli import cli
SIGNAL = getattr(signal, sys.argv[1])
sys.argv[0] = sys.argv[2]

@cli.app.command("wrapped-signal", hidden=True)
def wrapped_signal() -> None:
    if sys.argv[0] == "in-callback":
        import weakref

        class Thing:
            pass

        def callback(ref):
            os.kill(os.getpid(), SIGNAL)
            for _ in range(10_000_000):  # the handler runs here, inside the callback
                pass

        thing = Thing()
        keep = weakref.ref(thing, callback)
        del thing  # Python prints what the callback raises as "Exception ignored", and goes on
        return  # the run would end 0 if the signal stayed lost
    if sys.argv[0] == "in-callback-then-waits":
        import weakref

        class Other:
            pass

        def lose(ref):
            os.kill(os.getpid(), SIGNAL)
            for _ in range(10_000_000):
                pass

        other = Other()
        keep = weakref.ref(other, lose)
        del other
        try:  # as tail and sandbox do: the signal, sent again, is this command's normal end
            for _ in range(600):
                time.sleep(0.05)
        except KeyboardInterrupt:
            print("stopped by the signal sent again")
        return
    try:
        os.kill(os.getpid(), SIGNAL)
        signal.pause()
    except KeyboardInterrupt as exc:
        if sys.argv[0] == "as-outcome":
            from frigade_cli.kernel.errors import InputError
            raise InputError("the test message was not sent") from exc
        raise RuntimeError("a library's own error") from exc

sys.argv[1:] = ["wrapped-signal"]
cli.main()
"""


@pytest.mark.parametrize("wrapped_as", ["as-error", "as-outcome", "in-callback"])
@pytest.mark.parametrize(
    ("signame", "code", "line"), [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")]
)
def test_a_signal_a_library_wrapped_in_its_own_error_still_ends_the_run_as_a_signal(
    signame: str, code: int, line: str, wrapped_as: str
) -> None:
    # as-error: an unexpected error (was "this is a bug", exit 1); as-outcome: an error of the
    # tool's own, e.g. a request reported "not sent" (was its exit code, 3); in-callback: raised
    # where Python only prints "Exception ignored" and goes on (was a traceback, then exit 0).
    run = subprocess.run(
        [sys.executable, "-c", _WRAPPED, signame, wrapped_as],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )

    assert run.returncode == code, run.stderr
    assert line in run.stderr
    assert "this is a bug" not in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_a_lost_signal_sent_again_and_handled_by_the_command_ends_the_run_as_the_command_says(
    signame: str,
) -> None:
    # The signal the callback lost is sent again; a command that then ends on it normally (tail,
    # sandbox) keeps its own exit code: the signal is no longer lost, so it is not reported twice.
    run = subprocess.run(
        [sys.executable, "-c", _WRAPPED, signame, "in-callback-then-waits"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )

    assert run.returncode == 0, run.stderr
    assert "stopped by the signal sent again" in run.stdout
    assert run.stderr == ""
