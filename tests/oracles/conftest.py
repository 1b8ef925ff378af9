"""The `oracles` fixture: the vendors' JavaScript installed once per run, run in Node on demand."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pytest

from tests.oracles import harness


class Oracles:
    """What a test gets from the `oracles` fixture.

    `oracles.run("fql.mjs")` starts one Node process (a context manager, see harness.Oracle);
    `oracles.map("fql.mjs", requests)` runs a batch of requests through one process.
    """

    def run(self, script: str, env: dict[str, str] | None = None) -> harness.Oracle:
        return harness.Oracle(script, env)

    def map(self, script: str, requests: Iterable[Any]) -> list[Any]:
        with harness.Oracle(script) as oracle:
            return oracle.map(requests)


@pytest.fixture(scope="session")
def oracles() -> Oracles:
    """The pinned oracle packages, installed (npm ci, under a file lock) if not already current.

    Without Node or npm the tests that use this fixture are skipped, except when `CI` is set:
    there they fail, so a CI machine cannot quietly stop running the oracles.
    """
    try:
        harness.install()
    except harness.OracleUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the oracles cannot run: {missing}", pytrace=False)
        pytest.skip(str(missing))
    except harness.OracleError as failed:
        pytest.fail(str(failed), pytrace=False)
    return Oracles()
