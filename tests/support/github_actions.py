"""A composite action's steps run as a GitHub runner runs them, on this machine.

What is reproduced (docs.github.com: "Metadata syntax for GitHub Actions", "Workflow commands",
"Evaluate expressions in workflows and actions"): inputs with their defaults; `${{ }}`
expressions over `inputs`, `steps.<id>.outputs`, `github`, `runner` and `env`, with `==`, `!=`,
`&&`, `||`, `!` and `success()`/`always()`/`failure()`; a step's `if:`, skipped after a failure
unless its condition says otherwise; `run:` steps written to a file and run with
`bash --noprofile --norc -eo pipefail FILE` in the workspace with GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, GITHUB_PATH and GITHUB_ENV files of their own, GITHUB_ACTION_PATH and
RUNNER_TEMP; outputs in both the `name=value` and the `name<<DELIMITER` forms; PATH and env
carried to later steps; annotations read from stdout, `::stop-commands::` honoured. A `uses:`
step is run by a stand-in the test gives, keyed by the action's name without its ref.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

StandIn = Callable[[dict[str, str], dict[str, str]], dict[str, str]]
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


@dataclass
class Annotation:
    """An `::error file=...,line=...,title=...::message` workflow command, unescaped."""

    level: str
    message: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class StepResult:
    id: str | None
    outcome: str  # success, failure or skipped
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionResult:
    steps: list[StepResult]
    outputs: dict[str, str]
    summary: str
    path_added: list[str]
    annotations: list[Annotation]

    @property
    def failed(self) -> bool:
        return any(s.outcome == "failure" for s in self.steps)

    def step(self, step_id: str) -> StepResult:
        return next(s for s in self.steps if s.id == step_id)


def run_action(
    action_dir: Path,
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    runner_temp: Path,
    stand_ins: Mapping[str, StandIn],
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> ActionResult:
    """Run the composite action in `action_dir` with `inputs`, as a job step would."""
    action = yaml.safe_load((action_dir / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    given = dict(inputs)
    values = {}
    for name, spec in action.get("inputs", {}).items():
        if name in given:
            values[name] = given.pop(name)
        elif "default" in spec:
            values[name] = _scalar(spec["default"])
        elif spec.get("required"):
            raise AssertionError(f"input {name} is required")
        else:
            values[name] = ""
    assert not given, f"inputs the action does not declare: {sorted(given)}"
    job_env = dict(os.environ if env is None else env)
    job_env.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": str(action_dir),
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(runner_temp),
            "RUNNER_OS": "Linux",
        }
    )
    context: dict[str, Any] = {
        "inputs": values,
        "github": {"action_path": str(action_dir), "workspace": str(workspace)},
        "runner": {"temp": str(runner_temp), "os": "Linux"},
        "steps": {},
        "env": job_env,
    }
    runner_temp.mkdir(parents=True, exist_ok=True)
    files = Path(tempfile.mkdtemp(prefix="_runner_files_", dir=runner_temp))
    results: list[StepResult] = []
    summary = ""
    path_added: list[str] = []
    annotations: list[Annotation] = []
    for n, step in enumerate(action["runs"]["steps"]):
        failed = any(r.outcome == "failure" for r in results)
        condition = str(step.get("if", "success()"))
        if not _truthy(evaluate(_strip(condition), context, failed=failed)):
            results.append(StepResult(step.get("id"), "skipped"))
            continue
        step_env = {k: interpolate(_scalar(v), context) for k, v in (step.get("env") or {}).items()}
        if "uses" in step:
            name = step["uses"].split("@")[0]
            with_inputs = {
                k: interpolate(_scalar(v), context) for k, v in step.get("with", {}).items()
            }
            if name not in stand_ins:
                raise AssertionError(f"no stand-in for {step['uses']}")
            outputs = stand_ins[name](with_inputs, {**job_env, **step_env})
            result = StepResult(step.get("id"), "success", 0, outputs=outputs)
        else:
            assert step.get("shell") == "bash", "a composite run step must name its shell"
            result, step_summary, step_path, step_vars = _run_step(
                n, step, context, job_env, step_env, files, workspace, timeout
            )
            summary += step_summary
            for directory in step_path:
                path_added.append(directory)
                job_env["PATH"] = directory + os.pathsep + job_env.get("PATH", "")
            job_env.update(step_vars)
            annotations += read_annotations(result.stdout)
        results.append(result)
        if step.get("id"):
            context["steps"][step["id"]] = {"outputs": result.outputs, "outcome": result.outcome}
    outputs = {
        name: interpolate(str(spec["value"]), context)
        for name, spec in action.get("outputs", {}).items()
    }
    return ActionResult(results, outputs, summary, path_added, annotations)


def _run_step(
    n: int,
    step: dict[str, Any],
    context: dict[str, Any],
    job_env: dict[str, str],
    step_env: dict[str, str],
    files: Path,
    workspace: Path,
    timeout: float,
) -> tuple[StepResult, str, list[str], dict[str, str]]:
    names = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV")
    paths = {name: files / f"{n}_{name.lower()}" for name in names}
    for path in paths.values():
        path.write_text("")
    script = files / f"{n}_script.sh"
    script.write_text(interpolate(str(step["run"]), context))
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workspace,
        env={**job_env, **step_env, **{k: str(v) for k, v in paths.items()}},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    outcome = "success" if proc.returncode == 0 else "failure"
    result = StepResult(
        step.get("id"),
        outcome,
        proc.returncode,
        proc.stdout,
        proc.stderr,
        parse_name_values(paths["GITHUB_OUTPUT"].read_text()),
    )
    step_path = [line for line in paths["GITHUB_PATH"].read_text().splitlines() if line]
    step_vars = parse_name_values(paths["GITHUB_ENV"].read_text())
    return result, paths["GITHUB_STEP_SUMMARY"].read_text(), step_path, step_vars


def _scalar(value: Any) -> str:
    """A YAML value as the runner hands it on: a string (`false`, not Python's `False`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def parse_name_values(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for body_line in lines:
                if body_line == delimiter:
                    break
                body.append(body_line)
            else:
                raise AssertionError(f"{name}: no closing delimiter {delimiter}")
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def read_annotations(stdout: str) -> list[Annotation]:
    """The annotation commands in a step's output, as the runner reads them."""
    found = []
    stopped: str | None = None
    for line in stdout.splitlines():
        if stopped is not None:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if line.startswith("::stop-commands::"):
            stopped = line.removeprefix("::stop-commands::")
            continue
        match = _COMMAND.match(line)
        if match is None:
            continue
        properties = {}
        for part in (match.group(2) or "").split(","):
            if "=" in part:
                key, value = part.split("=", 1)
                properties[key] = _unescape(value)
        found.append(Annotation(match.group(1), _unescape(match.group(3)), properties))
    return found


def _unescape(text: str) -> str:
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


# Expressions ------------------------------------------------------------------------------------
def interpolate(text: str, context: dict[str, Any]) -> str:
    """`text` with each `${{ expression }}` replaced by its value as a string."""
    return _EXPRESSION.sub(lambda m: _string(evaluate(m.group(1), context)), text)


def _strip(condition: str) -> str:
    match = re.fullmatch(r"\s*\$\{\{(.*)\}\}\s*", condition, re.DOTALL)
    return match.group(1) if match else condition


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: Any) -> bool:
    return value not in (None, False, "", 0)


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*(?:\(\))?)|(?P<num>\d+))"
)


def evaluate(expression: str, context: dict[str, Any], *, failed: bool = False) -> Any:
    """The value of a GitHub expression (the subset described in the module docstring)."""
    tokens = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise AssertionError(f"cannot read the expression {expression!r} at {position}")
        tokens.append(match)
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    parser = _Parser(tokens, context, failed)
    value = parser.disjunction()
    if parser.position != len(tokens):
        raise AssertionError(f"cannot read the expression {expression!r}")
    return value


class _Parser:
    def __init__(self, tokens: list[re.Match[str]], context: dict[str, Any], failed: bool):
        self.tokens, self.context, self.failed, self.position = tokens, context, failed, 0

    def _peek(self) -> str | None:
        if self.position < len(self.tokens):
            return self.tokens[self.position].group("op")
        return None

    def disjunction(self) -> Any:
        value = self.conjunction()
        while self._peek() == "||":
            self.position += 1
            right = self.conjunction()
            value = value if _truthy(value) else right
        return value

    def conjunction(self) -> Any:
        value = self.comparison()
        while self._peek() == "&&":
            self.position += 1
            right = self.comparison()
            value = right if _truthy(value) else value
        return value

    def comparison(self) -> Any:
        value = self.unary()
        while self._peek() in ("==", "!="):
            op = self._peek()
            self.position += 1
            right = self.unary()
            same = _string(value).lower() == _string(right).lower()
            value = same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self._peek() == "!":
            self.position += 1
            return not _truthy(self.unary())
        if self._peek() == "(":
            self.position += 1
            inner = self.disjunction()
            assert self._peek() == ")", "unbalanced parentheses"
            self.position += 1
            return inner
        token = self.tokens[self.position]
        self.position += 1
        if token.group("str") is not None:
            return token.group("str")[1:-1].replace("''", "'")
        if token.group("num") is not None:
            return int(token.group("num"))
        name = token.group("name")
        functions = {"success()": not self.failed, "failure()": self.failed, "always()": True}
        if name in functions:
            return functions[name]
        if name in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[name]
        root, *path = name.split(".")
        if root not in self.context:
            raise AssertionError(f"the context {root!r} is not reproduced here")
        value: Any = self.context[root]
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return value
