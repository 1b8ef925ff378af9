"""The oracle harness itself: the pinned packages load, and the harness fails loudly in CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.oracles import harness
from tests.oracles.harness import Oracles

HERE = Path(__file__).resolve().parent


def test_every_pinned_package_loads_at_its_pinned_version(oracles: Oracles) -> None:
    manifest = json.loads((HERE / "package.json").read_text())
    pinned = dict(manifest["dependencies"])
    script = (HERE / "install-webhook.mjs").read_text()
    pinned["@segment/action-destinations"] = script.split("const VERSION = '")[1].split("'")[0]
    [versions] = oracles.map("versions.mjs", [{}])
    assert versions == pinned


def test_one_process_answers_a_batch_in_order(oracles: Oracles) -> None:
    triggers = [f'event = "e{i}"' for i in range(50)]
    requests = [
        {"trigger": t, "events": [{"type": "track", "event": f"e{i}"}]}
        for i, t in enumerate(triggers)
    ]
    with oracles.run("fql.mjs") as oracle:
        answers = oracle.map(requests)
        one = oracle.call({"trigger": 'event = "e7"', "events": [{"event": "e7"}, {"event": "e8"}]})
    assert [a["matches"] for a in answers] == [[True]] * 50
    assert [a["ast"]["children"][0]["value"] for a in answers] == [f"e{i}" for i in range(50)]
    assert one["matches"] == [True, False]


def test_an_oracle_error_names_the_script(oracles: Oracles) -> None:
    with oracles.run("fql.mjs") as oracle, pytest.raises(harness.OracleError, match=r"fql\.mjs"):
        oracle.call(None)  # not an object: the script throws


@pytest.mark.parametrize("ci", ["1", ""])
def test_without_node_the_fixture_fails_in_ci_and_skips_elsewhere(tmp_path: Path, ci: str) -> None:
    # A child pytest with an empty PATH (no node, no npm) and CI set or not.
    test = tmp_path / "test_needs_node.py"
    test.write_text("def test_it(oracles):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env.update(PATH=str(tmp_path / "empty"), CI=ci)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-q",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            "-o",
            "addopts=",
            str(test),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=HERE.parents[1],
    )
    if ci:
        assert proc.returncode == 1, proc.stdout
        assert "CI is set and the oracles cannot run" in proc.stdout
        assert "1 error" in proc.stdout
    else:
        assert proc.returncode == 0, proc.stdout
        assert "1 skipped" in proc.stdout
