"""The sandbox's Delivery Overview routes, read by Segment's own typescript SDK and by hand."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest

from frigade_cli.kernel.clock import iso_from_ms
from frigade_cli.sandbox.server import RunningSandbox
from tests.deliveries.conftest import send, track
from tests.oracles.harness import HERE as ORACLES_DIR
from tests.oracles.harness import Oracles

# Calls each of the six routes as the SDK's DeliveryOverviewApi does and prints what it parsed.
_CALL_ALL = """
const sdk = require('@segment/public-api-sdk-typescript');
const [base, token, start, end] = process.argv.slice(1);
const api = new sdk.DeliveryOverviewApi(base);
api.accessToken = token;
const page = {count: 200};
(async () => {
  const egress = (name, groupBy, filter) =>
    api[name]('src_sandbox', 'dst_sandbox_webhooks', start, end, 'minute', page, groupBy, filter);
  const ingress = (name, source, groupBy) => api[name](source, start, end, 'minute', page, groupBy);
  const out = {
    delivered: await egress('getEgressSuccessMetricsFromDeliveryOverview', ['eventName']),
    failed: await egress('getEgressFailedMetricsFromDeliveryOverview', ['discardReason']),
    failedFiltered: await egress('getEgressFailedMetricsFromDeliveryOverview', ['eventName'],
                                 {eventName: ['Checkout']}),
    filtered: await egress('getFilteredAtDestinationMetricsFromDeliveryOverview',
                           ['eventType', 'discardReason']),
    received: await ingress('getIngressSuccessMetricsFromDeliveryOverview', 'src_sandbox', []),
    refused: await ingress('getIngressFailedMetricsFromDeliveryOverview', 'src_sandbox',
                           ['discardReason']),
    dropped: await ingress('getFilteredAtSourceMetricsFromDeliveryOverview', 'src_sandbox', []),
    frigade: await ingress('getIngressSuccessMetricsFromDeliveryOverview', 'src_sandbox_frigade'),
  };
  const parsed = {};
  for (const [k, v] of Object.entries(out)) parsed[k] = v.body;
  process.stdout.write(JSON.stringify(parsed));
})().catch((e) => { console.error(e.body || e); process.exit(1); });
"""


def _traffic(sb: RunningSandbox) -> None:
    sb.configure(destination={"batch_size": 4})
    send(sb, [track(f"u{n}", "Signed Up") for n in range(5)])
    send(sb, [{"type": "page", "userId": "u1", "name": "Home"}])
    send(
        sb,
        [
            {"type": "identify", "userId": "u1"},
            {"type": "identify", "userId": "u1", "messageId": "m-1"},
            {"type": "identify", "userId": "u1", "messageId": "m-1"},
        ],
    )
    sb.client.post("/segment/v1/batch", json={"batch": [track("x")]}, auth=("wrong", ""))
    sb.configure(fail_rate=1)
    send(sb, [track("v1", "Checkout"), track("v2", "Checkout")])


def _by(body: dict[str, Any], *dims: str) -> dict[tuple[Any, ...], int]:
    return {tuple(row.get(d) for d in dims): row["total"] for row in body["data"]["dataset"]}


def test_the_official_sdk_reads_every_route(sb: RunningSandbox, oracles: Oracles) -> None:
    # `oracles` has installed tests/oracles (SDK pinned in its package-lock.json).
    _traffic(sb)
    now = int(time.time() * 1000)
    done = subprocess.run(
        [
            "node",
            "-e",
            _CALL_ALL,
            sb.url + "/segmentapis",
            sb.api_key,
            iso_from_ms(now - 600_000),
            iso_from_ms(now + 60_000),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ORACLES_DIR,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)

    # Hand-counted from _traffic: 5 tracks and 2 identifies (one repeat dropped) were delivered
    # in batches of 4, the page was not subscribed, 2 Checkouts failed on injected 503s.
    assert _by(got["delivered"], "eventName") == {("Signed Up",): 5, ("identify",): 2}
    assert got["delivered"]["data"]["total"] == 7
    assert _by(got["failed"], "discardReason") == {("HTTP 503 Service Unavailable",): 2}
    [failed] = got["failed"]["data"]["dataset"]
    assert failed["totalRetryCount"] == 2 * 2  # 3 attempts a batch (the fast retry policy)
    assert sum(p["count"] for p in failed["series"]) == 2
    assert _by(got["failedFiltered"], "eventName") == {("Checkout",): 2}
    assert _by(got["filtered"], "eventType", "discardReason") == {
        ("page", "no subscription matched"): 1
    }
    assert got["received"]["data"]["total"] == 5 + 1 + 2 + 2
    assert _by(got["refused"], "discardReason") == {("HTTP 401 Unauthorized",): 1}
    assert got["dropped"]["data"]["total"] == 1
    assert got["frigade"]["data"]["total"] == 0
    assert got["received"]["data"]["pagination"]["totalEntries"] == 1


def _get(sb: RunningSandbox, metric: str, **params: str) -> Any:
    now = int(time.time() * 1000)
    query = {
        "sourceId": "src_sandbox",
        "destinationConfigId": "dst_sandbox_webhooks",
        "startTime": iso_from_ms(now - 3_600_000),
        "endTime": iso_from_ms(now),
        "granularity": "hour",
        **params,
    }
    return sb.client.get(
        f"/segmentapis/delivery-overview/{metric}", params=query, headers=sb.auth_headers
    )


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"sourceId": ""}, "sourceId is required"),
        ({"granularity": "week"}, "'week' is not one of"),
        ({"granularity": "minute", "startTime": "2026-01-01T00:00:00Z"}, "at most 4 h"),
        ({"groupBy[0]": "colour"}, "groupBy 'colour'"),
        ({"startTime": "yesterday"}, "ISO 8601"),
        ({"pagination[count]": "0"}, "between 1 and 200"),
    ],
)
def test_the_routes_refuse_what_segment_refuses(
    sb: RunningSandbox, params: dict[str, str], words: str
) -> None:
    response = _get(sb, "successful-delivery", **params)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["type"] == "validation" and words in error["message"]


def test_an_unknown_source_or_destination_is_not_found(sb: RunningSandbox) -> None:
    assert _get(sb, "failed-delivery", sourceId="src_other").status_code == 404
    assert _get(sb, "failed-delivery", destinationConfigId="dst_other").status_code == 404
    assert _get(sb, "failed-on-ingest", sourceId="src_sandbox_frigade").status_code == 200


def test_hour_buckets_hold_the_minutes_counts(sb: RunningSandbox) -> None:
    send(sb, [track("u1"), track("u2")])

    body = _get(sb, "successful-delivery", **{"groupBy.0": "eventType"}).json()

    [row] = body["data"]["dataset"]
    assert row["eventType"] == "track" and row["total"] == 2
    assert [p["count"] for p in row["series"]][-1] == 2
    assert all(p["time"].endswith(":00:00.000Z") for p in row["series"])
