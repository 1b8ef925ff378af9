"""`frigade config`: where the config file is, what it holds, and changing it."""

from __future__ import annotations

from typing import Annotated

import typer

from frigade_cli.kernel.app import get_app
from frigade_cli.kernel.config import SETTINGS
from frigade_cli.kernel.redact import redact_key

app = typer.Typer(
    help="Show and change profiles (keys, URLs) stored in the config file (mode 0600).",
    no_args_is_help=True,
)

_KEYS = ", ".join(SETTINGS)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


@app.command("path")
def path_command() -> None:
    """Print the config file's path."""
    get_app().terminal.line(str(get_app().config.path))


@app.command("show")
def show_command(json_output: JsonFlag = False) -> None:
    """Show every setting of the active profile, where it comes from, secrets redacted."""
    app_ = get_app()
    missing = app_.config.missing_profile()
    if missing:
        app_.terminal.warn(f"{missing}; showing the environment and the defaults")
    rows = []
    for key, setting in SETTINGS.items():
        value, source = app_.config.lookup(key)
        shown = redact_key(value) if (value and setting.secret) else (value or "")
        rows.append({"key": key, "value": shown or None, "source": source, "env": setting.env})
    if json_output:
        app_.terminal.json(
            {"profile": app_.config.profile, "path": str(app_.config.path), "settings": rows}
        )
        return
    app_.terminal.info(f"profile {app_.config.profile} ({app_.config.path})")
    app_.terminal.table(
        ["setting", "value", "source", "env var"],
        [(r["key"], r["value"] or "-", r["source"], r["env"] or "-") for r in rows],
    )


@app.command("set")
def set_command(
    key: Annotated[str, typer.Argument(help=f"One of: {_KEYS}.")],
    value: Annotated[str, typer.Argument(help="The value to store in the active profile.")],
) -> None:
    """Store a setting in the active profile (the file is written with mode 0600).

    Values are checked first: URLs must be absolute http(s) URLs, api_key a private key
    (api_private_...). Comments and layout of the file are kept.
    """
    app_ = get_app()
    value = app_.config.set(key, value)
    shown = redact_key(value) if SETTINGS[key].secret else value
    app_.terminal.success(f"{key} = {shown} in profile {app_.config.profile}")


@app.command("unset")
def unset_command(key: Annotated[str, typer.Argument(help=f"One of: {_KEYS}.")]) -> None:
    """Remove a setting from the active profile."""
    app_ = get_app()
    missing = app_.config.missing_profile()
    if missing:
        app_.terminal.warn(missing)
    if app_.config.unset(key):
        app_.terminal.success(f"{key} removed from profile {app_.config.profile}")
    else:
        app_.terminal.info(f"{key} was not set in profile {app_.config.profile}")
