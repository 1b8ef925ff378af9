"""The uvicorn server for a sandbox, built from uvicorn's public API only.

`uvicorn.Config` and `uvicorn.Server(config)`, `Server.serve(sockets=...)`, `Server.started` and
`Server.should_exit`: nothing is subclassed or overridden, so a new uvicorn cannot break a hook
the sandbox relies on. Stopping (deliver what waits first, end the event streams, exit 0 on a
signal) is done around the server by `server.RunningSandbox`, which runs it on its own thread:
uvicorn installs no signal handlers off the main thread.

Imported only when a sandbox starts (uvicorn is not needed for `frigade --help`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from frigade_cli.sandbox.app import Sandbox

# Seconds uvicorn waits for open connections when stopping, before closing them.
GRACEFUL_SHUTDOWN = 3


def make_server(sandbox: Sandbox) -> uvicorn.Server:
    """A server for the sandbox's app: httptools when installed, quiet logs, bounded shutdown."""
    from frigade_cli.sandbox.app import create_app

    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    config = uvicorn.Config(
        create_app(sandbox),
        http=http,
        lifespan="on",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
    )
    return uvicorn.Server(config)
