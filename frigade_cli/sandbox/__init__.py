"""A local stand-in for Frigade and Segment: an ASGI app on a real server, in-process or foreground.

    from frigade_cli.sandbox import SandboxConfig, DestinationConfig, run_sandbox

    with run_sandbox(SandboxConfig()) as sb:
        ...  # sb.url, sb.segment_url, sb.webhook_url, sb.api_key, sb.write_key, sb.wait_idle()

Importing this package is cheap; uvicorn and Starlette load when a sandbox starts.
"""

from frigade_cli.kernel.durations import parse_duration
from frigade_cli.sandbox.config import DestinationConfig, SandboxConfig
from frigade_cli.sandbox.server import RunningSandbox, run_sandbox, serve_forever

__all__ = [
    "DestinationConfig",
    "RunningSandbox",
    "SandboxConfig",
    "parse_duration",
    "run_sandbox",
    "serve_forever",
]
