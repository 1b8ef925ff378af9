"""The installed `frigade` console script, as a user runs it (not `python -m`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def frigade_script() -> Path:
    """The console script pip put beside this interpreter."""
    script = Path(sys.executable).parent / "frigade"
    if not script.exists():  # pragma: no cover - a broken install
        raise RuntimeError(f"no console script at {script}: install the project with pip")
    return script


def start(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """`frigade ARGS` in a child process with this test's environment, output captured."""
    return subprocess.Popen(
        [str(frigade_script()), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        **kwargs,
    )
