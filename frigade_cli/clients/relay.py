"""A relay: requests handed in are sent on to an upstream from a bounded queue, with retries.

Used by `frigade segment tail --forward-to` (live) and `--replay` (from a file). The one who
hands a request in never waits on the upstream: `offer` queues it or says the queue is full, and
a few workers send what is queued, retrying as the HTTP layer does (`send_with_retry`: transport
errors, 408, 423, 429 and 5xx except 501, capped exponential backoff with jitter, Retry-After
first). Every request handed in ends in exactly one `RelayOutcome`: delivered (a 2xx), or failed
with the last status or error, or not sent because the relay was closed first: nothing is
dropped silently. Headers that describe one hop (RFC 9110, section 7.6.1) are not relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from frigade_cli.kernel.http import RetryPolicy, describe_error, make_client, send_with_retry

if TYPE_CHECKING:
    import httpx

# Not relayed: they describe this hop, not the request (RFC 9110, section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "proxy-authorization",
    }
)
DEFAULT_WORKERS = 4
DEFAULT_QUEUE_SIZE = 1000  # requests waiting to be relayed; past it `offer` refuses
# A relay sits between a sender and its upstream: a Retry-After longer than this is cut to it.
RELAY_POLICY = RetryPolicy(attempts=5, base=0.25, cap=8.0, max_retry_after=30.0)


def relay_url(base: str, path: str, query: str = "") -> str:
    """Where a request that came on `path` (with `query`) goes under the upstream `base`.

    The path is appended to the base's own (`https://api.segment.io` + `/v1/batch`); a request
    to `/` goes to the base itself, so a webhook relayed to Frigade's full webhook URL keeps it
    exactly. The base's query string comes first, then the request's.
    """
    parts = urlsplit(base)
    if path in ("", "/"):
        new_path = parts.path or "/"
    else:
        new_path = parts.path.rstrip("/") + (path if path.startswith("/") else f"/{path}")
    new_query = "&".join(q for q in (parts.query, query) if q)
    return urlunsplit((parts.scheme, parts.netloc, new_path, new_query, ""))


@dataclass
class RelayRequest:
    """One request to relay: method, full upstream URL, headers (hop-by-hop ones are dropped
    when sent), body bytes, and whatever the caller wants back with the outcome (`tag`)."""

    method: str
    url: str
    headers: Sequence[tuple[str | bytes, str | bytes]]
    body: bytes
    tag: Any = None


@dataclass
class RelayOutcome:
    """How one relayed request ended: `status` is the upstream's last status (None when no
    answer came), `error` None when delivered (a 2xx), `attempts` how many requests were made,
    `elapsed_ms` from the first attempt to the end."""

    request: RelayRequest
    status: int | None
    error: str | None
    attempts: int
    elapsed_ms: float

    @property
    def delivered(self) -> bool:
        return self.error is None


def _relayed_headers(
    headers: Sequence[tuple[str | bytes, str | bytes]],
) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        raw_name = name if isinstance(name, bytes) else name.encode("latin-1")
        if raw_name.decode("latin-1").lower() in HOP_BY_HOP:
            continue
        out.append((raw_name, value if isinstance(value, bytes) else value.encode("latin-1")))
    return out


class Relay:
    """Relays requests handed to `offer`/`put` with `workers` concurrent senders.

    `timeout`: seconds per attempt; `on_outcome(outcome)` is called on the event loop once per
    request, `on_retry(request, attempt, reason, wait)` before each retry. Start with `start()`
    on a running loop; end with `close(grace)`.
    """

    def __init__(
        self,
        *,
        timeout: float,
        on_outcome: Callable[[RelayOutcome], None],
        on_retry: Callable[[RelayRequest, int, str, float], None] | None = None,
        policy: RetryPolicy = RELAY_POLICY,
        workers: int = DEFAULT_WORKERS,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.timeout = timeout
        self.policy = policy
        self.on_outcome = on_outcome
        self.on_retry = on_retry
        self.worker_count = workers
        self.queue_size = queue_size
        self._log = log
        self._queue: asyncio.Queue[RelayRequest] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._sending: dict[asyncio.Task[None], RelayRequest | None] = {}
        self._client: httpx.AsyncClient | None = None
        self._closing = False
        self._aborted: asyncio.Event | None = None

    @property
    def waiting(self) -> int:
        """Requests queued or being sent."""
        queued = self._queue.qsize() if self._queue is not None else 0
        return queued + sum(1 for r in self._sending.values() if r is not None)

    async def start(self) -> None:
        self._queue = asyncio.Queue(self.queue_size)
        self._aborted = asyncio.Event()
        self._client = make_client(
            timeout=self.timeout, log=self._log, max_connections=self.worker_count
        )
        for n in range(self.worker_count):
            task = asyncio.create_task(self._work(), name=f"relay-{n}")
            self._sending[task] = None
            self._workers.append(task)

    def offer(self, request: RelayRequest) -> bool:
        """Queue `request` without waiting; False when the queue is full or the relay closing."""
        assert self._queue is not None, "the relay is not started"
        if self._closing:
            return False
        try:
            self._queue.put_nowait(request)
        except asyncio.QueueFull:
            return False
        return True

    async def put(self, request: RelayRequest) -> bool:
        """Queue `request`, waiting for room (for a caller that may wait: a replay); False,
        and not queued, when the relay is aborted meanwhile."""
        assert self._queue is not None, "the relay is not started"
        if self._closing:
            return False
        return await self._until_aborted(asyncio.ensure_future(self._queue.put(request)))

    async def join(self) -> None:
        """Wait until every queued request has its outcome, or the relay is aborted."""
        assert self._queue is not None, "the relay is not started"
        await self._until_aborted(asyncio.ensure_future(self._queue.join()))

    def abort(self) -> None:
        """Stop retrying and stop waiting (a second Ctrl-C): `close` returns at once."""
        self._closing = True
        if self._aborted is not None:
            self._aborted.set()

    async def _until_aborted(self, work: asyncio.Future[Any], timeout: float | None = None) -> bool:
        """Wait for `work` (cancelled if not done in time or on abort); True when it finished."""
        assert self._aborted is not None
        aborted = asyncio.ensure_future(self._aborted.wait())
        try:
            await asyncio.wait({work, aborted}, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            aborted.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            return False
        return not work.cancelled()

    async def close(self, grace: float) -> list[RelayRequest]:
        """Stop retrying, let what is queued go out for up to `grace` seconds, then stop.

        Returns the requests that got no outcome (not sent, or cut off mid-send: the upstream
        may or may not have them); `on_outcome` is not called for those.
        """
        self._closing = True
        left: list[RelayRequest] = []
        if self._queue is not None and self._workers:
            await self._until_aborted(asyncio.ensure_future(self._queue.join()), grace)
            for task in self._workers:
                task.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            left = [r for r in self._sending.values() if r is not None]
            while not self._queue.empty():
                left.append(self._queue.get_nowait())
        self._workers = []
        self._sending = {}
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        return left

    async def _work(self) -> None:
        assert self._queue is not None
        me = asyncio.current_task()
        assert me is not None
        while True:
            request = await self._queue.get()
            self._sending[me] = request
            try:
                outcome = await self._send(request)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not lose the request: it ends as failed
                outcome = RelayOutcome(request, None, describe_error(exc), 0, 0.0)
            self._sending[me] = None
            self._queue.task_done()
            self.on_outcome(outcome)

    async def _send(self, request: RelayRequest) -> RelayOutcome:
        import httpx

        assert self._client is not None
        client = self._client
        headers = _relayed_headers(request.headers)
        attempts = 0

        async def send() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            return await client.request(
                request.method, request.url, content=request.body, headers=headers
            )

        def on_retry(attempt: int, reason: str, wait: float) -> None:
            if self.on_retry is not None:
                self.on_retry(request, attempt, reason, wait)

        started = time.perf_counter()
        try:
            response = await send_with_retry(
                send, self.policy, on_retry, keep_going=lambda: not self._closing
            )
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return RelayOutcome(request, None, describe_error(exc), attempts, elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        status = response.status_code
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return RelayOutcome(request, status, error, attempts, elapsed)
