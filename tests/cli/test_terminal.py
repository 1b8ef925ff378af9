"""How `frigade` behaves as an installed program: console script, wheel install, closed pipes,
colour and progress on a real terminal, and exit 1's message."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from frigade_cli import __version__
from tests.conftest import Cli
from tests.support.installed import frigade_script, start
from tests.support.recorder import Recorder

KEY = "api_private_test0000abcd"
ROOT = Path(__file__).resolve().parents[2]


# The installed console script ------------------------------------------------------------------


def test_the_installed_console_script_runs(isolated: Path) -> None:
    proc = subprocess.run(
        [str(frigade_script()), "--version"], capture_output=True, text=True, timeout=60
    )

    assert (proc.returncode, proc.stdout) == (0, f"frigade-cli {__version__}\n")


def test_a_wheel_install_finds_the_shipped_fixtures(tmp_path: Path) -> None:
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(ROOT), "--no-deps", "-w", str(dist)], check=True)
    (wheel,) = dist.glob("frigade_cli-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True)
    # The dependencies come from this environment; the project itself only from the wheel
    # (a path in a .pth file is added as is: this environment's editable install is not).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    Path(site, "test-deps.pth").write_text(deps + "\n")

    where = subprocess.run(
        [str(python), "-c", "import frigade_cli; print(frigade_cli.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    run = subprocess.run(
        [str(venv / "bin" / "frigade"), "segment", "test-webhook", "--fixture", "identify",
         "--dry-run", "--json", "--api-key", KEY],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, env=dict(os.environ),
    )  # fmt: skip

    assert where.startswith(str(venv))
    assert run.returncode == 0, run.stderr
    (request,) = json.loads(run.stdout)["requests"]
    (message,) = request["body"]
    shipped = json.loads((ROOT / "fixtures" / "identify.json").read_text())
    assert {k: v for k, v in message.items() if k != "messageId"} == {
        k: v for k, v in shipped.items() if k != "messageId"
    }


# Closed pipes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["config", "show"],
        ["segment", "test-webhook", "--dry-run", "--count", "3000", "--api-key", KEY],
        ["segment", "test-webhook", "--dry-run", "--json", "--count", "3000", "--api-key", KEY],
    ],
)
def test_a_reader_that_stops_reading_stdout_ends_the_run_with_0_quietly(
    isolated: Path, args: list[str]
) -> None:
    proc = start(*args)
    assert proc.stdout is not None
    proc.stdout.read(1)  # `| head -c 1`
    proc.stdout.close()
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=60)

    assert proc.returncode == 0, stderr
    assert "Exception ignored" not in stderr
    assert "Traceback" not in stderr
    assert "error" not in stderr


@pytest.mark.parametrize(
    ("stream", "args"),
    [
        ("stdout", ["--help"]),
        ("stdout", ["segment", "test-webhook", "--help"]),
        ("stdout", ["config", "path"]),
        ("stdout", ["config", "show", "--json"]),
        ("stderr", ["config", "show"]),
    ],
)
def test_a_pipe_closed_before_anything_is_written_ends_the_run_with_0(
    isolated: Path, stream: str, args: list[str]
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read it
    other = {"stdout": "stderr", "stderr": "stdout"}[stream]
    proc = subprocess.run(
        [str(frigade_script()), *args],
        **{stream: write_end, other: subprocess.PIPE},  # type: ignore[arg-type]
        text=True, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    os.close(write_end)

    assert proc.returncode == 0
    if stream == "stdout":
        assert proc.stderr == ""  # no "Exception ignored", no traceback
    else:
        assert "api_key" in proc.stdout  # the data still went out


def test_a_closed_stderr_keeps_an_errors_exit_code(isolated: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.run(
        [str(frigade_script()), "segment", "test-webhook", "--url", "http://127.0.0.1:99999/x"],
        stdout=subprocess.PIPE, stderr=write_end, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    os.close(write_end)

    assert proc.returncode == 3


# A real terminal ---------------------------------------------------------------------------------


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the installed script with stdout and stderr on a pty; its exit code and screen."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(frigade_script()), *args], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=10), screen.decode("utf-8", "replace")


def terminal_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    return {**env, "TERM": "xterm-256color", **extra}


def test_a_terminal_gets_colour_and_a_progress_bar(recorder: Recorder) -> None:
    recorder.delay = 0.01
    args = ["segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY]

    code, screen = run_on_a_terminal(
        [*args, "--count", "400", "--batch-size", "10", "--concurrency", "1"], terminal_env()
    )

    assert code == 0, screen
    assert "\x1b[32m✓" in screen  # the green check of the success line
    assert "sending" in screen
    assert "━" in screen  # the bar itself
    assert "/400" in screen  # events done out of the total


def test_no_color_on_a_terminal_means_no_colour(recorder: Recorder) -> None:
    args = ["segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY]

    code, screen = run_on_a_terminal(args, terminal_env(NO_COLOR="1"))

    assert code == 0, screen
    assert "✓ 3 events accepted" in screen
    assert "\x1b[32m" not in screen


def test_output_that_is_not_a_terminal_has_no_escape_codes_or_progress(
    cli: Cli, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR")
    proc = start(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--count", "400", "--batch-size", "10",
    )  # fmt: skip
    stdout, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 0, stderr
    assert "\x1b[" not in stdout + stderr
    assert "━" not in stderr


# Exit 1 --------------------------------------------------------------------------------------


def test_an_unexpected_error_exits_1_with_one_line_asking_for_a_report(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frigade_cli.services import test_webhook

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom with {KEY}")

    monkeypatch.setattr(test_webhook, "run_test_webhook", broken)

    run = cli("segment", "test-webhook")

    assert run.exit_code == 1
    assert run.stderr == (
        "error: unexpected RuntimeError: boom with api_private_****abcd; this is a bug in "
        "frigade-cli; run again with --traceback and report it\n"
    )
