"""`frigade segment ...`: the Segment <-> Frigade commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Test and observe the Segment <-> Frigade integration.", no_args_is_help=True)
