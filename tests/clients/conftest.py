"""A sandbox per test for the clients (fast flushes and retries)."""

from frigade_cli.sandbox.testing import sandbox_fixture

sandbox = sandbox_fixture()
