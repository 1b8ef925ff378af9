"""What the sandbox's route modules and services need from the sandbox that assembles them.

Protocols, so `destination`, `forward`, `frigade` and `control` depend on these few members and
never import `app` (which imports them): no import circle. `app.Sandbox` satisfies all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import httpx

    from frigade_cli.sandbox.config import SandboxConfig
    from frigade_cli.sandbox.delivery_overview import Telemetry
    from frigade_cli.sandbox.events import EventHub
    from frigade_cli.sandbox.state import Store
    from frigade_cli.sandbox.stats import Stats


class SandboxParts(Protocol):
    """Settings, state, counters, the event stream, Delivery Overview's counts, the keys and a
    warning log."""

    @property
    def config(self) -> SandboxConfig: ...

    @property
    def store(self) -> Store: ...

    @property
    def stats(self) -> Stats: ...

    @property
    def hub(self) -> EventHub: ...

    @property
    def telemetry(self) -> Telemetry: ...

    @property
    def api_key(self) -> str: ...

    @property
    def public_key(self) -> str: ...

    def log(self, message: str) -> None: ...


class OutboundParts(SandboxParts, Protocol):
    """SandboxParts plus what sending requests needs: the shared client and the targets."""

    @property
    def client(self) -> httpx.AsyncClient: ...

    @property
    def webhook_url(self) -> str: ...

    @property
    def segment_api_url(self) -> str: ...
