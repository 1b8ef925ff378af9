"""A sandbox per test for the segment commands (fast flushes and retries)."""

from frigade_cli.sandbox.testing import sandbox_fixture

sandbox = sandbox_fixture()
