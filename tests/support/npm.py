"""Vendors' npm packages as test oracles, installed once per machine into a cache directory.

The cache lives outside the repository (the system temp dir, or FRIGADE_TEST_NPM_CACHE), keyed by
package and version, and is filled under a file lock so parallel test workers install it once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def npm_package(name: str, version: str) -> Path | None:
    """The `node_modules` directory holding `name@version`, or None when node or npm is
    missing or the install fails (the caller skips: the oracle is absent, not the feature)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    root = Path(os.environ.get("FRIGADE_TEST_NPM_CACHE") or tempfile.gettempdir())
    home = root / "frigade-cli-npm" / f"{name.replace('/', '+')}@{version}"
    home.mkdir(parents=True, exist_ok=True)
    modules = home / "node_modules"
    marker = home / "installed"
    with open(home / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            done = subprocess.run(
                [
                    "npm",
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(home),
                    f"{name}@{version}",
                ],
                capture_output=True,
                timeout=300,
            )
            if done.returncode != 0:
                return None
            marker.touch()
    return modules
