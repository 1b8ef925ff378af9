"""The HTTP layer: Segment's retry rules, Retry-After, URL safety, redacted request logs."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.http import (
    USER_AGENT,
    RetryPolicy,
    check_url,
    is_retryable,
    make_client,
    retry_after_seconds,
    send_with_retry,
)
from tests.support.recorder import Answer, Recorder

FAST = RetryPolicy(attempts=4, base=0.001, cap=0.01, max_retry_after=5.0)
PRIVATE = "api_private_8f3k2Lq9ZxW7abcd"


def post(
    url: str, policy: RetryPolicy = FAST, retries: list[tuple[int, str, float]] | None = None
) -> httpx.Response:
    """POST through send_with_retry; each retry's (attempt, reason, wait) goes to `retries`."""

    async def run() -> httpx.Response:
        async with make_client(timeout=5) as client:
            return await send_with_retry(
                lambda: client.post(url, json=[{"type": "track"}]),
                policy,
                on_retry=(lambda *args: retries.append(args)) if retries is not None else None,
            )

    return asyncio.run(run())


# Which statuses are retried --------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 423, 429, 500, 502, 503, 504, 599])
def test_statuses_segment_retries(status: int) -> None:
    assert is_retryable(status)


@pytest.mark.parametrize("status", [200, 201, 204, 301, 400, 401, 403, 404, 409, 413, 422, 501])
def test_statuses_segment_does_not_retry(status: int) -> None:
    assert not is_retryable(status)


# Retry-After ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), (" 7 ", 7.0), ("0", 0.0)])
def test_retry_after_in_seconds(value: str, seconds: float) -> None:
    assert retry_after_seconds(value) == seconds


def test_negative_retry_after_means_now() -> None:
    assert retry_after_seconds("-5") == 0.0


def test_retry_after_as_an_http_date_is_the_time_until_then() -> None:
    now = datetime(2026, 11, 28, 10, 40, 0, tzinfo=timezone.utc)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert retry_after_seconds(header, now=now.timestamp()) == pytest.approx(90.0)


def test_retry_after_date_in_the_past_means_now() -> None:
    now = datetime(2026, 11, 28, 10, 40, 0, tzinfo=timezone.utc)
    header = format_datetime(now - timedelta(hours=1), usegmt=True)

    assert retry_after_seconds(header, now=now.timestamp()) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "Wed, 99 Foo 2026", "1,5"])
def test_retry_after_garbage_is_ignored(value: str | None) -> None:
    assert retry_after_seconds(value) is None


# URL safety ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v1/thirdParty/cdp/segment",
        "http://localhost:3000/x",
        "http://[::1]:9000/x",
        "http://127.8.9.10/x",
        "https://api.frigade.com/v1/thirdParty/cdp/segment",
    ],
)
def test_secret_may_go_to_loopback_over_http_or_anywhere_over_https(url: str) -> None:
    assert check_url(url, carries_secret=True) == url


@pytest.mark.parametrize(
    "url", ["http://api.frigade.com/x", "http://10.0.0.5/x", "http://localhost.evil.test/x"]
)
def test_secret_over_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(InputError) as info:
        check_url(url, carries_secret=True)

    assert "plain http" in str(info.value)
    assert info.value.hint is not None and "https" in info.value.hint


def test_plain_http_without_a_secret_is_allowed() -> None:
    assert check_url("http://example.test/x", carries_secret=False) == "http://example.test/x"


@pytest.mark.parametrize(
    "url", ["/v1/thirdParty/cdp/segment", "api.frigade.com", "ftp://x.test/", "http://", "garbage"]
)
def test_relative_or_garbage_url_is_refused_naming_it(url: str) -> None:
    with pytest.raises(InputError) as info:
        check_url(url, carries_secret=False, what="webhook URL")

    assert str(info.value).startswith(f"webhook URL {url!r}")


# Retrying against a real server ---------------------------------------------------------------


def test_503_503_then_200_makes_three_requests_and_returns_200(recorder: Recorder) -> None:
    recorder.answer(503, 503, 200)
    retries: list[tuple[int, str, float]] = []

    response = post(recorder.url, retries=retries)

    assert response.status_code == 200
    assert len(recorder.requests) == 3
    assert [(attempt, reason) for attempt, reason, _ in retries] == [
        (1, "HTTP 503"),
        (2, "HTTP 503"),
    ]


def test_every_attempt_sends_the_same_body(recorder: Recorder) -> None:
    recorder.answer(500, 200)

    post(recorder.url)

    assert recorder.requests[0].body == recorder.requests[1].body


def test_501_is_not_retried(recorder: Recorder) -> None:
    recorder.answer(501)

    response = post(recorder.url)

    assert response.status_code == 501
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_final_4xx_is_returned_at_once(recorder: Recorder, status: int) -> None:
    recorder.answer(status)

    assert post(recorder.url).status_code == status
    assert len(recorder.requests) == 1


def test_429_waits_as_retry_after_says(recorder: Recorder) -> None:
    recorder.answer(Answer(429, b'{"message":"slow down"}', {"Retry-After": "1"}), 200)
    retries: list[tuple[int, str, float]] = []
    started = time.monotonic()

    response = post(recorder.url, retries=retries)

    assert response.status_code == 200
    assert len(recorder.requests) == 2
    assert retries[0][2] == 1.0
    assert time.monotonic() - started >= 0.95


def test_retry_after_longer_than_the_policy_allows_is_capped(recorder: Recorder) -> None:
    recorder.answer(Answer(503, headers={"Retry-After": "3600"}), 200)
    retries: list[tuple[int, str, float]] = []

    post(recorder.url, RetryPolicy(attempts=2, base=0.001, max_retry_after=0.05), retries)

    assert retries[0][2] == 0.05


def test_without_retry_after_the_wait_stays_under_the_cap(recorder: Recorder) -> None:
    recorder.answer(503, 503, 503)
    retries: list[tuple[int, str, float]] = []

    post(recorder.url, retries=retries)

    assert retries
    assert all(0 <= wait <= FAST.cap for _, _, wait in retries)


def test_every_429_is_retried_here_as_segment_retries_it(recorder: Recorder) -> None:
    # Frigade's monthly-active-user 429 is the webhook sender's rule, not the HTTP layer's.
    body = (
        b'{"statusCode":429,"message":"You have reached your monthly active user limit",'
        b'"error":"Too Many Requests"}'
    )
    recorder.answer(Answer(429, body))

    response = post(recorder.url)

    assert response.status_code == 200
    assert len(recorder.requests) == 2


def test_should_retry_decides_which_answers_are_retried(recorder: Recorder) -> None:
    recorder.answer(429)

    async def run() -> httpx.Response:
        async with make_client(timeout=5) as client:
            return await send_with_retry(
                lambda: client.post(recorder.url), FAST, should_retry=lambda r: False
            )

    assert asyncio.run(run()).status_code == 429
    assert len(recorder.requests) == 1


def test_keep_going_false_stops_retrying(recorder: Recorder) -> None:
    recorder.answer(503, 503)

    async def run() -> httpx.Response:
        async with make_client(timeout=5) as client:
            return await send_with_retry(
                lambda: client.post(recorder.url), FAST, keep_going=lambda: False
            )

    assert asyncio.run(run()).status_code == 503
    assert len(recorder.requests) == 1


def test_a_retry_after_over_the_cap_is_reported_then_cut_to_it(recorder: Recorder) -> None:
    recorder.answer(Answer(429, headers={"Retry-After": "120"}))
    capped: list[tuple[float, float]] = []
    policy = RetryPolicy(attempts=2, base=0.001, max_retry_after=0.05)

    async def run() -> httpx.Response:
        async with make_client(timeout=5) as client:
            return await send_with_retry(
                lambda: client.post(recorder.url),
                policy,
                on_capped_wait=lambda asked, waited: capped.append((asked, waited)),
            )

    assert asyncio.run(run()).status_code == 200
    assert capped == [(120.0, 0.05)]


def test_exhausted_attempts_return_the_last_response(recorder: Recorder) -> None:
    recorder.answer(503, 502, 504)

    response = post(recorder.url, RetryPolicy(attempts=3, base=0.001, cap=0.01))

    assert response.status_code == 504
    assert len(recorder.requests) == 3


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retried_then_raised() -> None:
    retries: list[tuple[int, str, float]] = []

    with pytest.raises(httpx.ConnectError):
        post(f"http://127.0.0.1:{closed_port()}/x", RetryPolicy(attempts=3, base=0.001), retries)

    assert [reason for _, reason, _ in retries] == ["ConnectError", "ConnectError"]


# The client ----------------------------------------------------------------------------------


def test_client_sends_our_user_agent(recorder: Recorder) -> None:
    post(recorder.url)

    assert recorder.requests[0].headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("frigade-cli/")


def test_verbose_log_shows_the_request_and_response_with_the_key_redacted(
    recorder: Recorder,
) -> None:
    lines: list[str] = []

    async def run() -> None:
        async with make_client(log=lines.append) as client:
            await client.post(
                f"{recorder.url}/v1/x?key={PRIVATE}",
                json={"a": 1},
                headers={"Authorization": f"Bearer {PRIVATE}"},
            )

    asyncio.run(run())

    log = "\n".join(lines)
    assert lines[0].startswith(f"> POST {recorder.url}/v1/x")
    assert "Bearer api_private_****abcd" in lines[0]
    assert lines[1].startswith(f"< 200 {recorder.url}/v1/x")
    assert PRIVATE not in log
    assert "8f3k2Lq9ZxW7" not in log
    assert recorder.requests[0].headers["authorization"] == f"Bearer {PRIVATE}"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:99999/x", "bad port"),
        ("http://127.0.0.1:abc/x", "bad port"),
        ("http://127.0.0.1:0/x", "bad port"),
        (" http://127.0.0.1/x", "spaces around it"),
        ("http://127.0.0.1/x\n", "spaces around it"),
        ("http://127.0.0.1/a b", "a space or a control character"),
        ("http://127.0.0.1/a\tb", "a space or a control character"),
        ("http://127.0.0.1/\x7f", "a space or a control character"),
        ("http://[::1/x", "not a valid URL"),
    ],
)
def test_unusable_url_is_refused_by_the_one_check(url: str, why: str) -> None:
    with pytest.raises(InputError) as info:
        check_url(url, carries_secret=False, what="webhook URL")

    assert str(info.value).startswith(f"webhook URL {url!r}")
    assert why in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:65535/x", "http://127.0.0.1:/x"])
def test_highest_port_and_empty_port_are_usable(url: str) -> None:
    assert check_url(url, carries_secret=True) == url
