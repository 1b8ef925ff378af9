"""The one HTTP layer: client setup, retry policy, URL safety and redacted request logging."""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from frigade_cli import __version__
from frigade_cli.kernel.errors import InputError

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"frigade-cli/{__version__}"
# Segment's delivery rules: these are retried, every other 4xx is final.
RETRYABLE_STATUSES = frozenset({408, 423, 429})


def describe_error(exc: BaseException) -> str:
    """`ConnectError: [Errno 111] Connection refused`, or just the class name when the
    exception has no message (httpx's timeouts often have none)."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


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
    # tenacity computes a wait even after the last attempt: the capped Retry-After is only
    # told when a wait really follows (in before_sleep).
    capped: list[float] = []

    def wait(state: RetryCallState) -> float:
        capped.clear()
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            after = retry_after_seconds(outcome.result().headers.get("retry-after"))
            if after is not None:
                if after > policy.max_retry_after:
                    capped.append(after)
                return min(after, policy.max_retry_after)
        return float(jitter(state))

    def before_sleep(state: RetryCallState) -> None:
        if capped and on_capped_wait is not None:
            on_capped_wait(capped.pop(), policy.max_retry_after)
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
    from frigade_cli.kernel.redact import redact_headers, redact_text

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


def environment_proxy(url: str) -> str | None:
    """The proxy URL the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY,
    NO_PROXY, as urllib reads them), or None: loopback targets always go direct."""
    import urllib.request

    parts = urlsplit(url)
    if is_loopback(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(parts.netloc):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


# httpcore's exceptions and the httpx ones with the same meaning, which callers catch and retry.
_HTTPX_ERROR_NAMES = (
    "ConnectTimeout",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "ConnectError",
    "ReadError",
    "WriteError",
    "RemoteProtocolError",
    "LocalProtocolError",
    "ProxyError",
    "UnsupportedProtocol",
    "NetworkError",
    "TimeoutException",
    "ProtocolError",
)


class PooledSender:
    """Keep-alive HTTP/1.1 connections driven by a few threads, awaited from asyncio.

    The webhook's bulk path: per request it costs about a third of the CPU of
    `httpx.AsyncClient.request` (httpx's own transport, httpcore, used directly from a thread
    pool: no per-request client middleware, no asyncio stream layer), so a long run spends its
    time on the wire. Same rules as `make_client`: proxies from the environment (loopback
    direct), certificates as httpx finds them (SSL_CERT_FILE, SSL_CERT_DIR), errors raised as
    the httpx exceptions `send_with_retry` retries, answers returned as `httpx.Response`, and
    the same redacted request log.
    """

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 4,
        timeout: float = 30.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        import httpcore
        import httpx

        self.url = url
        self.log = log
        ssl_context = httpx.create_ssl_context() if url.startswith("https:") else None
        proxy = environment_proxy(url)
        self._pool: httpcore.ConnectionPool | httpcore.HTTPProxy
        if proxy:
            self._pool = httpcore.HTTPProxy(
                proxy_url=proxy, ssl_context=ssl_context, max_connections=max_connections
            )
        else:
            self._pool = httpcore.ConnectionPool(
                ssl_context=ssl_context, max_connections=max_connections
            )
        self._timeouts = {
            "connect": min(timeout, 10.0),
            "read": timeout,
            "write": timeout,
            "pool": timeout,
        }
        self._threads = _DaemonThreads(max_connections)
        self._requests: dict[str, httpx.Request] = {}  # one per method: only read back, never sent
        self._errors: dict[type[BaseException], type[httpx.TransportError]] = {
            getattr(httpcore, name): getattr(httpx, name) for name in _HTTPX_ERROR_NAMES
        }
        self._default_headers = [("User-Agent", USER_AGENT)]

    async def request(self, method: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST (or `method`) `content` to the sender's URL; the response, read whole.

        Raises the httpx transport error that matches what went wrong (ConnectError, ReadTimeout,
        ...). Cancelling the await abandons the request: its thread finishes it unobserved.
        """
        response: httpx.Response = await self._threads.run(self._send, method, content, headers)
        return response

    def _send(self, method: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        import httpx

        request = self._requests.get(method)
        if request is None:
            request = self._requests[method] = httpx.Request(method, self.url)
        started = time.perf_counter()
        if self.log is not None:
            self._log_request(method, content, headers)
        pairs = list(headers.items())
        if not any(name.lower() == "user-agent" for name, _ in pairs):
            pairs += self._default_headers
        try:
            answer = self._pool.request(
                method,
                self.url,
                headers=pairs,
                content=content,
                extensions={"timeout": self._timeouts},
            )
        except Exception as exc:
            mapped = self._errors.get(type(exc))
            if mapped is None:
                raise
            # A timeout is named alone, as httpx's own client reports one ("ReadTimeout").
            timed_out = issubclass(mapped, httpx.TimeoutException)
            raise mapped("" if timed_out else str(exc)) from exc
        response = httpx.Response(
            answer.status, headers=answer.headers, content=answer.content, request=request
        )
        if self.log is not None:
            elapsed = (time.perf_counter() - started) * 1000
            self._log_line(f"< {response.status_code} {self.url} in {elapsed:.1f} ms")
        return response

    def _log_request(self, method: str, content: bytes, headers: dict[str, str]) -> None:
        from frigade_cli.kernel.redact import redact_headers

        shown = ", ".join(f"{k}: {v}" for k, v in redact_headers(headers.items()))
        self._log_line(f"> {method} {self.url} ({len(content)} bytes) [{shown}]")

    def _log_line(self, text: str) -> None:
        from frigade_cli.kernel.redact import redact_text

        assert self.log is not None
        # The URL and other headers may hold a key too (a query parameter, a custom header).
        self.log(redact_text(text))

    def close(self) -> None:
        """Close every connection (a request still running in a thread fails) and the threads."""
        self._threads.stop()
        self._pool.close()


class _DaemonThreads:
    """A fixed set of daemon threads running blocking calls for asyncio callers.

    Unlike ThreadPoolExecutor's threads, these never hold the process open at exit: a request
    abandoned at a second Ctrl-C may still be waiting on the network, and must not delay it.
    """

    def __init__(self, count: int) -> None:
        import queue
        import threading

        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"frigade-http-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """`call(*args)` on one of the threads; its result or its exception, awaited."""
        import asyncio

        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, call, args))
        return await future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, future, call, args = job
            result, error = None, None
            try:
                result = call(*args)
            except BaseException as exc:
                error = exc
            # RuntimeError: the event loop is gone, so nobody waits for this answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, result, error)

    def stop(self) -> None:
        """Let each thread end once its current call returns."""
        for _ in self._threads:
            self._jobs.put(None)


def _settle(future: Any, result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the caller stopped waiting: the answer is dropped
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
