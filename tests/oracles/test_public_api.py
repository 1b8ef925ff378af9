"""Segment's Public API SDK (`@segment/public-api-sdk-typescript`) as the judge of the sandbox's
Public API routes and of the product's Public API client.

- Every answer the sandbox's routes give (destination, subscriptions page by page, a created
  subscription, Delivery Overview, errors) fits the SDK's own types: no required field missing, no
  field of the wrong type, none the SDK does not know.
- The client asks what the SDK asks: method, path, query, `Authorization` and `Accept`, both
  recorded by one server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from frigade_cli.clients.segment_public_api import SegmentPublicApi
from frigade_cli.kernel.clock import iso_from_ms
from frigade_cli.sandbox import run_sandbox
from frigade_cli.sandbox.public_api import DESTINATION_ID
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config, post_batch
from tests.oracles.harness import Oracles
from tests.support.recorder import Answer, Recorded, Recorder

TOKEN = "sgp_oracle0000token0abcd"
DESTINATIONS = "DestinationsApi"
OVERVIEW = "DeliveryOverviewApi"
# The Delivery Overview calls as the SDK names them: (method, egress: takes destinationConfigId).
OVERVIEW_CALLS = [
    ("getEgressSuccessMetricsFromDeliveryOverview", "successful-delivery", True),
    ("getEgressFailedMetricsFromDeliveryOverview", "failed-delivery", True),
    ("getFilteredAtDestinationMetricsFromDeliveryOverview", "filtered-at-destination", True),
    ("getIngressSuccessMetricsFromDeliveryOverview", "successfully-received", False),
    ("getIngressFailedMetricsFromDeliveryOverview", "failed-on-ingest", False),
    ("getFilteredAtSourceMetricsFromDeliveryOverview", "filtered-at-source", False),
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(fast_config()) as running:
        yield running


def call(api: str, method: str, *args: Any, base: str, token: str) -> dict[str, Any]:
    return {"basePath": base, "token": token, "api": api, "method": method, "args": list(args)}


def overview_args(egress: bool, start: str, end: str, group_by: list[str]) -> list[Any]:
    ids = ["src_sandbox", DESTINATION_ID] if egress else ["src_sandbox"]
    return [*ids, start, end, "minute", {"count": 200}, group_by]


# The sandbox's answers, read by the SDK ----------------------------------------------------------
def test_every_answer_of_the_sandboxs_public_api_fits_the_sdks_types(
    oracles: Oracles, sandbox: RunningSandbox
) -> None:
    base, key = sandbox.url + "/segmentapis", sandbox.api_key
    settings = [
        {},
        {"destination": {"headers": {"Authorization": "Bearer k", "X-Team": "a"}}},
        {"destination": {"shared_secret": "s3cret", "enabled": False}},
        {"destination": {"event_types": ["track"], "enable_batching": False, "batch_size": 1}},
    ]
    answers: list[dict[str, Any]] = []
    with oracles.run("public-api.mjs") as sdk:
        for changes in settings:
            sandbox.configure(**changes)
            answers.append(
                sdk.call(call(DESTINATIONS, "getDestination", DESTINATION_ID, base=base, token=key))
            )
        for n in range(4):
            created = {
                "name": f"extra {n}",
                "actionId": "sandbox_webhook_send",
                "trigger": 'type = "track"',
                "enabled": n % 2 == 0,
                "settings": {"url": "https://example.com/hook", "headers": {"X-N": str(n)}},
            }
            answers.append(
                sdk.call(
                    call(
                        DESTINATIONS,
                        "createDestinationSubscription",
                        DESTINATION_ID,
                        created,
                        base=base,
                        token=key,
                    )
                )
            )
        for count in (1, 2, 3, 200):
            cursor = None
            for _ in range(10):
                page: dict[str, Any] = {"count": count, **({"cursor": cursor} if cursor else {})}
                answer = sdk.call(
                    call(
                        DESTINATIONS,
                        "listSubscriptionsFromDestination",
                        DESTINATION_ID,
                        page,
                        base=base,
                        token=key,
                    )
                )
                answers.append(answer)
                cursor = answer["raw"]["data"]["pagination"].get("next")
                if not cursor:
                    break
            assert cursor is None, "the pages never ended"
        post_batch(sandbox, [{"type": "track", "userId": "u1", "event": "Signed Up"}])
        assert sandbox.wait_idle()
        now = int(time.time() * 1000)
        start, end = iso_from_ms(now - 600_000), iso_from_ms(now + 60_000)
        for method, _, egress in OVERVIEW_CALLS:
            for group_by in ([], ["eventName"], ["eventType", "discardReason"]):
                args = overview_args(egress, start, end, group_by)
                answers.append(sdk.call(call(OVERVIEW, method, *args, base=base, token=key)))
        errors = [
            call(DESTINATIONS, "getDestination", DESTINATION_ID, base=base, token="wrong"),
            call(DESTINATIONS, "getDestination", "dst_unknown", base=base, token=key),
            call(
                DESTINATIONS,
                "listSubscriptionsFromDestination",
                DESTINATION_ID,
                {"count": 500},
                base=base,
                token=key,
            ),
            call(
                DESTINATIONS,
                "listSubscriptionsFromDestination",
                DESTINATION_ID,
                {"count": 1, "cursor": "not-a-cursor"},
                base=base,
                token=key,
            ),
            call(
                OVERVIEW,
                *OVERVIEW_CALLS[0][:1],
                *overview_args(True, end, start, []),
                base=base,
                token=key,
            ),
        ]
        failed = [sdk.call(request) for request in errors]
    sandbox.configure(**fast_config().settings_json())

    problems = [f"{a['type']}: {p}" for a in answers + failed for p in a["problems"]]
    assert problems == []
    assert {a["status"] for a in answers} == {200}
    assert [a["status"] for a in failed] == [401, 404, 422, 422, 422]
    assert {a["type"] for a in failed} == {"RequestErrorEnvelope"}
    listed = [a for a in answers if a["type"] == "ListSubscriptionsFromDestination200Response"]
    assert {a["raw"]["data"]["pagination"]["totalEntries"] for a in listed} == {5}


# What the client sends, against what the SDK sends ------------------------------------------------
def request_line(request: Recorded) -> dict[str, Any]:
    """What a request asks: method, path as sent, decoded query, the headers that carry meaning."""
    parts = urlsplit(request.path)
    return {
        "method": request.method,
        "path": parts.path,
        "query": sorted(parse_qsl(parts.query, keep_blank_values=True)),
        "authorization": request.headers.get("authorization"),
        "accept": request.headers.get("accept"),
    }


PAGE_ONE = {"data": {"subscriptions": [], "pagination": {"current": "c1", "next": "c2"}}}
PAGE_TWO = {"data": {"subscriptions": [], "pagination": {"current": "c2", "next": None}}}
DESTINATION = {"data": {"destination": {"id": "x", "enabled": True, "settings": {}}}}
OVERVIEW_PAGE = {"data": {"total": 0, "dataset": [], "pagination": {"current": "c1"}}}


def answers(recorder: Recorder, *bodies: dict[str, Any]) -> None:
    recorder.answer(*(Answer(body=json.dumps(b).encode()) for b in bodies))


@pytest.mark.parametrize("destination_id", ["dst_123", "a b", "a/b", "é", "a(b)!*'~"])
def test_the_client_reads_a_destination_and_its_subscriptions_as_the_sdk_does(
    oracles: Oracles, recorder: Recorder, destination_id: str
) -> None:
    answers(recorder, DESTINATION, PAGE_ONE, PAGE_TWO)
    with oracles.run("public-api.mjs") as sdk:
        for request in [
            call(DESTINATIONS, "getDestination", destination_id, base=recorder.url, token=TOKEN),
            call(
                DESTINATIONS,
                "listSubscriptionsFromDestination",
                destination_id,
                {"count": 200},
                base=recorder.url,
                token=TOKEN,
            ),
            call(
                DESTINATIONS,
                "listSubscriptionsFromDestination",
                destination_id,
                {"count": 200, "cursor": "c2"},
                base=recorder.url,
                token=TOKEN,
            ),
        ]:
            sdk.call(request)
    by_sdk = [request_line(r) for r in recorder.requests]
    recorder.requests.clear()
    answers(recorder, DESTINATION, PAGE_ONE, PAGE_TWO)

    async def client_calls() -> None:
        async with SegmentPublicApi(TOKEN, recorder.url) as client:
            await client.get_destination(destination_id)
            await client.list_subscriptions(destination_id)

    asyncio.run(client_calls())

    assert [request_line(r) for r in recorder.requests] == by_sdk


@pytest.mark.parametrize(("method", "metric", "egress"), OVERVIEW_CALLS)
def test_the_client_asks_for_delivery_overview_metrics_as_the_sdk_does(
    oracles: Oracles, recorder: Recorder, method: str, metric: str, egress: bool
) -> None:
    start, end = "2026-12-01T10:00:00.000Z", "2026-12-01T11:00:00.000Z"
    group_by = ["eventName", "discardReason"]
    filters = {"eventName": ["Signed Up", "a&b"], "discardReason": ["x y"]}
    args = [*overview_args(egress, start, end, group_by), filters]
    answers(recorder, OVERVIEW_PAGE)
    [_] = oracles.map(
        "public-api.mjs", [call(OVERVIEW, method, *args, base=recorder.url, token=TOKEN)]
    )
    by_sdk = [request_line(r) for r in recorder.requests]
    recorder.requests.clear()
    answers(recorder, OVERVIEW_PAGE)

    async def client_call() -> None:
        async with SegmentPublicApi(TOKEN, recorder.url) as client:
            await client.delivery_overview(
                metric,
                source_id="src_sandbox",
                destination_id=DESTINATION_ID if egress else None,
                start=start,
                end=end,
                granularity="minute",
                group_by=group_by,
                filters=filters,
            )

    asyncio.run(client_call())

    assert [request_line(r) for r in recorder.requests] == by_sdk
