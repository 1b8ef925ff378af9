"""The one HTTP layer: client setup, retry policy, URL safety and redacted request logging."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from frigade_cli import __version__
from frigade_cli.errors import InputError

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"frigade-cli/{__version__}"
# Segment's delivery rules: these are retried, every other 4xx is final.
RETRYABLE_STATUSES = frozenset({408, 423, 429})


def is_retryable(status: int) -> bool:
    """True for 408, 423, 429 and 5xx except 501, as Segment retries them."""
    return status in RETRYABLE_STATUSES or (500 <= status <= 599 and status != 501)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # the email package is slow to import

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: capped exponential backoff, jitter, Retry-After first."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 8.0
    max_retry_after: float = 60.0


async def send_with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    policy: RetryPolicy = RetryPolicy(),
    on_retry: Callable[[int, str, float], None] | None = None,
    *,
    should_retry: Callable[[httpx.Response], bool] | None = None,
    keep_going: Callable[[], bool] | None = None,
    on_capped_wait: Callable[[float, float], None] | None = None,
) -> httpx.Response:
    """Call `send` until it gives a final response; return the last response.

    Retried: transport errors and responses `should_retry` accepts (default: `is_retryable`, as
    Segment retries; a service's own exceptions, such as Frigade's quota 429, belong to its
    client). `keep_going()` false stops retrying at once (the caller is stopping). A Retry-After
    over `policy.max_retry_after` seconds is cut to it, and `on_capped_wait(asked, waited)` is
    told first. The last transport error is raised when every attempt failed before any response.
    """
    import httpx

    def retry_response(response: httpx.Response) -> bool:
        if keep_going is not None and not keep_going():
            return False
        if should_retry is not None:
            return should_retry(response)
        return is_retryable(response.status_code)

    def retry_error(error: BaseException) -> bool:
        going = keep_going is None or keep_going()
        return going and isinstance(error, httpx.TransportError)

    # Most requests succeed at once: only a first attempt that needs a retry pays for tenacity.
    first: httpx.Response | httpx.TransportError
    try:
        first = await send()
    except httpx.TransportError as exc:
        if policy.attempts <= 1 or not retry_error(exc):
            raise
        first = exc
    else:
        if policy.attempts <= 1 or not retry_response(first):
            return first

    from tenacity import (
        AsyncRetrying,
        RetryCallState,
        retry_if_exception,
        retry_if_result,
        stop_after_attempt,
        wait_random_exponential,
    )

    jitter = wait_random_exponential(multiplier=policy.base, max=policy.cap)

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            after = retry_after_seconds(outcome.result().headers.get("retry-after"))
            if after is not None:
                if after > policy.max_retry_after and on_capped_wait is not None:
                    on_capped_wait(after, policy.max_retry_after)
                return min(after, policy.max_retry_after)
        return float(jitter(state))

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is None or state.outcome is None or state.next_action is None:
            return
        if state.outcome.failed:
            reason = type(state.outcome.exception()).__name__
        else:
            reason = f"HTTP {state.outcome.result().status_code}"
        on_retry(state.attempt_number, reason, state.next_action.sleep)

    def give_up(state: RetryCallState) -> httpx.Response:
        assert state.outcome is not None
        return state.outcome.result()  # type: ignore[no-any-return]  # raises if it failed

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception(retry_error) | retry_if_result(retry_response),
        before_sleep=before_sleep,
        retry_error_callback=give_up,
        reraise=True,
    )

    replay: list[httpx.Response | httpx.TransportError] = [first]

    async def attempt() -> httpx.Response:
        if replay:  # tenacity's attempt 1 is the one already made
            outcome = replay.pop()
            if isinstance(outcome, httpx.TransportError):
                raise outcome
            return outcome
        return await send()

    response: httpx.Response = await retrying(attempt)
    return response


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, carries_secret: bool, what: str = "URL") -> str:
    """The one URL check, run before anything is sent; returns `url` unchanged.

    Refused with InputError (exit 3): spaces around or inside it, control characters, a scheme
    other than http(s), no host, a port that is not a number from 1 to 65535, anything httpx
    cannot send to; and a plain-HTTP URL to a non-loopback host when it carries a secret.
    """
    if url != url.strip():
        raise InputError(f"{what} {url!r} has spaces around it", hint="remove them")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InputError(f"{what} {url!r} contains a space or a control character")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise InputError(f"{what} {url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise InputError(f"{what} {url!r} is not an absolute http(s) URL")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise InputError(f"{what} {url!r} has a bad port: use a number from 1 to 65535")
    import httpx

    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InputError(f"{what} {url!r} is not a valid URL ({exc})") from None
    if carries_secret and parts.scheme == "http" and not is_loopback(hostname):
        raise InputError(
            f"refusing to send a secret key over plain http to {hostname}",
            hint="use https (plain http is allowed only for loopback hosts such as 127.0.0.1)",
        )
    return url


def make_client(
    *,
    timeout: float = 30.0,
    log: Callable[[str], None] | None = None,
    max_connections: int = 20,
) -> httpx.AsyncClient:
    """An AsyncClient with our User-Agent, proxies from the environment, and optional logging."""
    import httpx

    hooks: dict[str, list[Any]] = {"request": [], "response": []}
    if log is not None:
        hooks = _logging_hooks(log)
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    # A proxy cannot reach this machine's loopback: local targets (the sandbox) always go direct.
    direct = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=limits,
        trust_env=True,  # HTTPS_PROXY, HTTP_PROXY, NO_PROXY, SSL_CERT_FILE
        mounts={f"all://{host}": direct for host in LOOPBACK_HOSTS},
        event_hooks=hooks,
    )


def _logging_hooks(log: Callable[[str], None]) -> dict[str, list[Any]]:
    from frigade_cli.redact import redact_headers, redact_text

    async def on_request(request: httpx.Request) -> None:
        request.extensions["frigade_started"] = time.perf_counter()
        headers = ", ".join(f"{k}: {v}" for k, v in redact_headers(request.headers.items()))
        size = len(request.content) if request.content else 0
        # The URL and other headers may hold a key too (a query parameter, a custom header).
        log(redact_text(f"> {request.method} {request.url} ({size} bytes) [{headers}]"))

    async def on_response(response: httpx.Response) -> None:
        started = response.request.extensions.get("frigade_started", time.perf_counter())
        elapsed = (time.perf_counter() - started) * 1000
        log(redact_text(f"< {response.status_code} {response.request.url} in {elapsed:.1f} ms"))

    return {"request": [on_request], "response": [on_response]}
