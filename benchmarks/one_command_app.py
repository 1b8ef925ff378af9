"""The start-up baseline: a one-command Typer app, run with the same Typer as frigade.

python benchmarks/one_command_app.py --help
"""

from __future__ import annotations

import typer

app = typer.Typer()


@app.command()
def main(name: str = "world", count: int = 1) -> None:
    """Greet NAME, COUNT times."""
    for _ in range(count):
        typer.echo(f"hello {name}")


if __name__ == "__main__":
    app()
