"""The steps of this repository's GitHub Action (action.yml): prepare, install, run.

Standard library only: `prepare` and `install` run on the Python that actions/setup-python
provides, before frigade-cli is installed. The workflow-command formats (GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, GITHUB_PATH, `::error::`, `::stop-commands::`) are GitHub's, from
docs.github.com "Workflow commands for GitHub Actions".

    python action/frigade_action.py prepare   # outputs: pip-cache, cache-key, cache-restore-key
    python action/frigade_action.py install   # outputs: python, frigade; the venv's bin on PATH
    python action/frigade_action.py run       # outputs: passed, exit-code, p50/p95/p99-ms, report
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

COMMANDS = ("latency-check", "validate", "test-webhook", "doctor")
# What each documented exit code means, for the step summary (frigade --help lists them).
EXIT_MEANING = {
    0: "ok",
    1: "unexpected error",
    2: "usage error",
    3: "invalid input or findings",
    4: "authentication rejected",
    5: "upstream or network failure",
    6: "threshold breached",
    7: "undelivered events not saved",
    130: "interrupted",
    143: "terminated",
}
FIGURES = ("p50", "p95", "p99")
MARKER = "frigade-action.json"


class ActionError(Exception):
    """A problem with the action's own inputs or environment: one `::error::` line, exit 2."""


def main(argv: list[str]) -> int:
    """Run one step; returns the exit code the step ends with."""
    steps = {"prepare": prepare, "install": install, "run": run}
    if len(argv) != 1 or argv[0] not in steps:
        print(f"usage: frigade_action.py {{{','.join(steps)}}}", file=sys.stderr)
        return 2
    try:
        return steps[argv[0]]()
    except ActionError as exc:
        print(f"::error title=frigade-cli action::{_escape_data(str(exc))}")
        if argv[0] == "run" and os.environ.get("GITHUB_OUTPUT"):
            set_outputs({"passed": "false", "exit-code": "2"})
        return 2


# prepare ------------------------------------------------------------------------------------------
def prepare() -> int:
    """Name pip's cache directory and the cache key for it (actions/cache restores it)."""
    spec = package_spec()
    version = ".".join(str(part) for part in sys.version_info[:3])
    prefix = f"frigade-cli-pip-{platform.system()}-{platform.machine()}-py{version}-"
    digest = hashlib.sha256(spec.encode())
    pyproject = Path(spec) / "pyproject.toml"
    if pyproject.is_file():  # a checkout: its dependencies decide what pip fetches
        digest.update(pyproject.read_bytes())
    set_outputs(
        {
            "pip-cache": str(pip_cache_dir()),
            "cache-key": prefix + digest.hexdigest()[:16],
            "cache-restore-key": prefix,
        }
    )
    return 0


def pip_cache_dir() -> Path:
    """Where pip keeps its wheels for this Python (`pip cache dir`), else a directory in
    RUNNER_TEMP that `install` then hands to pip."""
    found = subprocess.run(
        [sys.executable, "-m", "pip", "cache", "dir"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0 and found.stdout.strip():
        return Path(found.stdout.strip())
    return runner_temp() / "frigade-cli-pip"


# install ------------------------------------------------------------------------------------------
def install() -> int:
    """A venv of frigade-cli's own; reused when this job already made it for the same package."""
    spec = package_spec()
    key = hashlib.sha256(f"{sys.executable}\n{sys.version}\n{spec}".encode()).hexdigest()[:12]
    venv = runner_temp() / f"frigade-cli-venv-{key}"
    python = venv_python(venv)
    marker = venv / MARKER
    if marker.is_file() and python.exists():
        print(f"frigade-cli is already installed in this job ({spec}): {venv}")
    else:
        print(f"installing {spec} into {venv}")
        _check([sys.executable, "-m", "venv", "--clear", str(venv)], "cannot create a venv")
        env = dict(os.environ)
        cache = pip_cache_dir()
        if cache == runner_temp() / "frigade-cli-pip":
            env["PIP_CACHE_DIR"] = str(cache)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
        _check([*pip, "--progress-bar", "off", spec], f"pip could not install {spec}", env=env)
        marker.write_text(json.dumps({"package": spec, "python": sys.executable}) + "\n")
    frigade = python.parent / ("frigade.exe" if os.name == "nt" else "frigade")
    if not frigade.exists():
        raise ActionError(f"{spec} installed no 'frigade' command: is it frigade-cli?")
    append_file("GITHUB_PATH", str(python.parent) + "\n")
    set_outputs({"python": str(python), "frigade": str(frigade)})
    return 0


def package_spec() -> str:
    """The `package` input (a path made absolute), or the action's own checkout."""
    given = os.environ.get("INPUT_PACKAGE", "").strip()
    if not given:
        action_path = os.environ.get("GITHUB_ACTION_PATH")
        if not action_path:
            raise ActionError("GITHUB_ACTION_PATH is not set: run this as a GitHub Action step")
        return str(Path(action_path).resolve())
    if Path(given).exists():
        return str(Path(given).resolve())
    return given


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _check(argv: list[str], problem: str, env: dict[str, str] | None = None) -> None:
    sys.stdout.flush()
    if subprocess.run(argv, env=env, check=False).returncode != 0:
        raise ActionError(problem)


# run ----------------------------------------------------------------------------------------------
def run() -> int:
    """Run the command, set the outputs from its JSON report, keep its exit code."""
    command = os.environ.get("INPUT_COMMAND", "").strip()
    if command not in COMMANDS:
        raise ActionError(f"command '{command}': choose one of {', '.join(COMMANDS)}")
    try:
        args = shlex.split(os.environ.get("INPUT_ARGS", ""))
    except ValueError as exc:
        raise ActionError(f"args: {exc}") from None
    frigade = frigade_executable()
    report = report_path(command)
    report.parent.mkdir(parents=True, exist_ok=True)
    if report.exists():
        report.unlink()  # a report left by an earlier use must not pass for this one's
    argv = [*command_words(frigade, command), *args]
    if command == "validate":
        # Annotations on stdout for GitHub to pick up; the JSON document into the report file.
        if not {"--format", "--json", "--list-rules"} & {a.split("=")[0] for a in args}:
            argv += ["--format", "github"]
        argv += ["--report", str(report)]
    elif "--json" not in args:
        argv.append("--json")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    summary_size = _size(summary)
    print(f"$ {shlex.join(['frigade', *argv[1:]])}")
    exit_code, stdout = _run(argv)
    if command == "validate":
        sys.stdout.write(stdout)  # workflow commands: GitHub turns them into annotations
    else:
        report.write_text(stdout, encoding="utf-8")
        _echo_inert(stdout)
    document = _read_json(report)
    outputs = outputs_for(document, exit_code, report)
    set_outputs(outputs)
    if summary and _size(summary) == summary_size:  # the command wrote no summary of its own
        append_file("GITHUB_STEP_SUMMARY", step_summary(command, exit_code, document, report))
    return exit_code


def frigade_executable() -> str:
    python = os.environ.get("FRIGADE_ACTION_VENV_PYTHON", "").strip()
    if not python:
        raise ActionError("FRIGADE_ACTION_VENV_PYTHON is not set: the install step did not run")
    frigade = Path(python).parent / ("frigade.exe" if os.name == "nt" else "frigade")
    if not frigade.exists():
        raise ActionError(f"no frigade command beside {python}")
    return str(frigade)


def command_words(frigade: str, command: str) -> list[str]:
    """`frigade segment validate`, or `frigade doctor`: wherever this version has the command."""
    for group in (["segment"], []):
        argv = [frigade, *group, command]
        probe = subprocess.run([*argv, "--help"], capture_output=True, check=False)
        if probe.returncode == 0:
            return argv
    raise ActionError(f"this frigade-cli has no '{command}' command (frigade --help lists them)")


def report_path(command: str) -> Path:
    given = os.environ.get("INPUT_REPORT", "").strip()
    return Path(given).resolve() if given else runner_temp() / f"frigade-{command}.json"


def _run(argv: list[str]) -> tuple[int, str]:
    """Run with stderr passed through; a cancelled job's SIGTERM or SIGINT reaches the command,
    which then prints what it measured and exits 143 or 130."""
    sys.stdout.flush()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        stdout, _ = child.communicate()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return child.returncode, stdout


def outputs_for(document: Any, exit_code: int, report: Path) -> dict[str, str]:
    """`passed`, `exit-code`, `p50-ms`, `p95-ms`, `p99-ms`, `report` from the JSON report."""
    verdict = None
    if isinstance(document, dict):
        for name in ("passed", "valid"):
            if isinstance(document.get(name), bool):
                verdict = document[name]
                break
    outputs = {
        "passed": "true" if exit_code == 0 and verdict is not False else "false",
        "exit-code": str(exit_code),
        "report": str(report) if report.is_file() and report.stat().st_size else "",
    }
    for figure in FIGURES:
        value = worst_figure(document, f"{figure}_ms")
        outputs[f"{figure}-ms"] = "" if value is None else f"{value:g}"
    return outputs


def worst_figure(document: Any, name: str) -> float | None:
    """A latency-check figure: the path's, or the highest of the paths with --compare."""
    if not isinstance(document, dict):
        return None
    paths = document.get("paths")
    results = paths if isinstance(paths, list) else [document]
    values = [
        float(r[name])
        for r in results
        if isinstance(r, dict) and isinstance(r.get(name), (int, float))
    ]
    return max(values) if values else None


def step_summary(command: str, exit_code: int, document: Any, report: Path) -> str:
    """A Markdown section for a command that writes none itself."""
    passed = outputs_for(document, exit_code, report)["passed"] == "true"
    meaning = EXIT_MEANING.get(exit_code, "unknown exit code")
    lines = [
        f"### frigade {command}: {'passed' if passed else 'FAILED'}",
        "",
        f"Exit {exit_code} ({meaning}).",
    ]
    if isinstance(document, dict):
        accepted, failed = document.get("accepted"), document.get("failed")
        if isinstance(accepted, dict) and isinstance(failed, dict):
            lines.append(
                f"{accepted.get('events', 0)} events accepted in {accepted.get('batches', 0)} "
                f"batches, {failed.get('events', 0)} failed."
            )
        steps = document.get("steps")  # doctor: a row per step, with the fix when it failed
        if isinstance(steps, list) and steps:
            lines += ["", "| step | status | detail | fix |", "| --- | --- | --- | --- |"]
            for step in steps:
                if isinstance(step, dict):
                    cells = [step.get(k) or "" for k in ("name", "status", "detail", "fix")]
                    lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines.append("")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _echo_inert(text: str) -> None:
    """Print the report to the log with workflow commands off, so no line of it acts as one."""
    if not text:
        return
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    print(f"::{token}::")


# The runner's files ------------------------------------------------------------------------------
def set_outputs(values: dict[str, str]) -> None:
    """Step outputs, in GITHUB_OUTPUT's `name<<DELIMITER` form (safe for any value)."""
    text = ""
    for name, value in values.items():
        delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
        text += f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
    append_file("GITHUB_OUTPUT", text)


def append_file(variable: str, text: str) -> None:
    path = os.environ.get(variable)
    if not path:
        raise ActionError(f"{variable} is not set: run this as a GitHub Action step")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def runner_temp() -> Path:
    temp = os.environ.get("RUNNER_TEMP")
    if not temp:
        raise ActionError("RUNNER_TEMP is not set: run this as a GitHub Action step")
    return Path(temp)


def _size(path: str | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
