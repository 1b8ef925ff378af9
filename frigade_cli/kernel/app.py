"""The application object carried in the Click context: terminal, config, global flags."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from frigade_cli.kernel.config import Config
from frigade_cli.kernel.output import Terminal

if TYPE_CHECKING:
    import typer


@dataclass
class App:
    """Everything a command needs besides its own flags."""

    terminal: Terminal = field(default_factory=Terminal)
    config: Config = field(default_factory=Config)
    traceback: bool = False

    def setting(self, key: str, flag_value: str | None = None) -> str | None:
        """A setting with precedence flag > env > profile > default; secrets are registered.

        ConfigError (exit 3) when the value would come from a profile the user named
        (`--profile`, `FRIGADE_PROFILE`) that the file does not have: never the defaults instead;
        InputError (exit 3) for a flag given empty (`--write-key "$UNSET"` in a script), which
        must not fall back to the environment or a profile's value in silence.
        """
        from frigade_cli.kernel.config import SETTINGS

        if flag_value is not None and not flag_value.strip():
            from frigade_cli.kernel.errors import InputError

            raise InputError(
                f"the {SETTINGS[key].help.split(' (')[0]} given on the command line is empty",
                hint="pass a value, or leave the flag out to use the environment or the profile",
            )
        if not flag_value:
            self.config.require_profile()
        value = self.config.get(key, flag_value)
        if value and SETTINGS[key].secret:
            self.terminal.add_secret(value)
        return value


current_app: ContextVar[App | None] = ContextVar("current_app", default=None)


def get_app(ctx: typer.Context | None = None) -> App:
    """The App of this invocation (made on first use when a command runs without the root)."""
    app = current_app.get()
    if app is None:
        app = App()
        current_app.set(app)
    return app
