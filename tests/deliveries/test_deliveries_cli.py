"""`frigade segment deliveries` against a sandbox with real traffic and injected faults."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx

from frigade_cli.sandbox.server import RunningSandbox
from tests.conftest import Cli
from tests.deliveries.conftest import connect, destination_outcomes, send, track
from tests.support.recorder import Answer, Recorder


def deliveries(cli: Cli, sb: RunningSandbox | str, *args: str) -> Any:
    url = sb if isinstance(sb, str) else sb.url
    return cli("segment", "deliveries", "--sandbox", "--sandbox-url", url, *args)


def faulty_window(sb: RunningSandbox) -> None:
    """Batches of 5: 12 tracks and 3 identifies delivered, 2 pages filtered by the trigger,
    then every webhook request failing (injected 503s) for 4 more tracks."""
    sb.configure(destination={"batch_size": 5})
    send(sb, [track(f"u{n}") for n in range(12)])
    send(sb, [{"type": "identify", "userId": f"u{n}"} for n in range(3)])
    send(sb, [{"type": "page", "userId": "u1", "name": "Home"}] * 2)
    sb.configure(fail_rate=1)
    send(sb, [track(f"v{n}", "Checkout") for n in range(4)])


def test_json_counts_match_what_the_destination_did(cli: Cli, sb: RunningSandbox) -> None:
    faulty_window(sb)
    did = destination_outcomes(sb)
    assert (did["delivered"], did["failed"]) == (15, 4)

    result = deliveries(cli, sb, "--since", "15m", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    egress = report["segment_to_frigade"]
    assert egress["delivered"] == did["delivered"]
    assert egress["failed"] == did["failed"]
    assert egress["filtered_at_destination"] == sb.stats()["destination"]["filtered_events"] == 2
    assert egress["retries"] == did["retries"] > 0
    assert egress["failure_rate"] == 4 / 19
    [reason] = egress["discard_reasons"]
    assert (reason["reason"], reason["count"]) == ("HTTP 503 Service Unavailable", 4)
    assert "unavailable" in reason["meaning"]
    assert egress["filtered_reasons"][0]["count"] == 2
    assert sum(b["delivered"] for b in egress["series"]) == 15
    assert report["segment_source"]["received"] == 21
    assert report["frigade_to_segment"] == {
        **report["frigade_to_segment"],
        "received": 0,
        "failed_on_ingest": 0,
    }
    assert report["window"]["granularity"] == "minute"
    assert report["gates"] == [] and report["passed"] is True


def test_a_zero_failure_rate_gate_exits_6_after_the_report(cli: Cli, sb: RunningSandbox) -> None:
    faulty_window(sb)

    result = deliveries(cli, sb, "--since", "15m", "--json", "--max-failure-rate", "0%")

    assert result.exit_code == 6
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert report["gates"] == [
        {"gate": "max_failure_rate", "limit": 0.0, "value": 4 / 19, "passed": False}
    ]
    assert "failure rate 21.05% (limit 0.00%)" in result.stderr


def test_gates_that_hold_exit_0(cli: Cli, sb: RunningSandbox) -> None:
    faulty_window(sb)

    result = deliveries(
        cli, sb, "--since", "15m", "--max-failure-rate", "25%", "--min-delivered", "15"
    )

    assert result.exit_code == 0, result.stderr
    assert "✓ --max-failure-rate: failure rate 21.05% (limit 25.00%)" in result.stdout
    assert "✓ --min-delivered: delivered 15 (at least 15)" in result.stdout


def test_too_few_delivered_exits_6(cli: Cli, sb: RunningSandbox) -> None:
    send(sb, [track("u1")])

    result = deliveries(cli, sb, "--min-delivered", "2")

    assert result.exit_code == 6
    assert "delivered 1 (at least 2)" in result.stderr


def test_the_report_names_what_a_rejected_key_means(cli: Cli, sb: RunningSandbox) -> None:
    sb.configure(destination={"headers": {"Authorization": "Bearer api_private_wrong0000wxyz"}})
    send(sb, [track("u1"), track("u2")])

    result = deliveries(cli, sb, "--since", "10m")

    assert result.exit_code == 0, result.stderr
    line = next(li for li in result.stdout.splitlines() if "HTTP 403 Forbidden" in li)
    assert line.split()[3] == "2"
    assert "the key" in line
    assert "failed                          2   failure rate 100.00%" in result.stdout


def test_a_terminal_report_draws_each_series(cli: Cli, sb: RunningSandbox) -> None:
    send(sb, [track("u1"), track("u2"), track("u3")])

    result = deliveries(cli, sb, "--since", "5m", "--granularity", "minute")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    delivered = next(li for li in lines if li.split()[:1] == ["delivered"] and "(peak" in li)
    marks = delivered.split()[1]
    # 5 minutes back from now: 6 minute buckets (the first one partly), the last one holds all.
    assert len(marks) == 6 and marks[-1] == "█" and set(marks[:-1]) == {"·"}
    assert "(peak 3, per minute)" in delivered


def test_group_by_breaks_the_deliveries_down(cli: Cli, sb: RunningSandbox) -> None:
    send(sb, [track("u1", "A"), track("u2", "A"), track("u3", "B")])

    result = deliveries(cli, sb, "--group-by", "eventName", "--json")

    assert result.exit_code == 0, result.stderr
    groups = json.loads(result.stdout)["segment_to_frigade"]["groups"]
    assert {(g["outcome"], g["eventName"], g["total"]) for g in groups} == {
        ("delivered", "A", 2),
        ("delivered", "B", 1),
    }


def test_frigade_streaming_into_segment_is_received_on_its_source(
    cli: Cli, sb: RunningSandbox
) -> None:
    connect(cli, sb)
    for step in ("STARTED_FLOW", "COMPLETED_FLOW"):
        response = sb.client.post(
            "/v1/public/flowStates",
            json={"userId": "u1", "flowSlug": "onboarding", "actionType": step},
            headers=sb.auth_headers,
        )
        assert response.status_code == 201
    assert sb.wait_idle()

    result = deliveries(cli, sb, "--json", "--min-received", "2")

    assert result.exit_code == 0, result.stderr
    frigade = json.loads(result.stdout)["frigade_to_segment"]
    assert frigade["source_id"] == "src_sandbox_frigade"
    assert (
        (frigade["received"], frigade["failed_on_ingest"])
        == (
            sb.stats()["forward"]["forwarded"],
            0,
        )
        == (2, 0)
    )


def test_a_wrong_write_key_in_frigade_shows_as_failed_on_ingest(
    cli: Cli, sb: RunningSandbox
) -> None:
    connect(cli, sb, write_key="wk_not_this_sources_key")
    sb.client.post(
        "/v1/public/flowStates",
        json={"userId": "u1", "flowSlug": "onboarding", "actionType": "STARTED_FLOW"},
        headers=sb.auth_headers,
    )
    assert sb.wait_idle()

    result = deliveries(cli, sb, "--json", "--min-received", "1")

    assert result.exit_code == 6
    frigade = json.loads(result.stdout)["frigade_to_segment"]
    assert frigade["received"] == 0
    assert frigade["failed_on_ingest"] == sb.stats()["forward"]["failed"] == 1
    assert frigade["discard_reasons"][0]["reason"] == "HTTP 401 Unauthorized"


def test_refused_tracking_requests_count_as_failed_on_ingest(cli: Cli, sb: RunningSandbox) -> None:
    bad = sb.client.post("/segment/v1/batch", json={"batch": [track("u1")]}, auth=("nope", ""))
    assert bad.status_code == 401

    result = deliveries(cli, sb, "--json")

    source = json.loads(result.stdout)["segment_source"]
    assert source["failed_on_ingest"] == sb.stats()["segment"]["rejected_requests"] == 1
    assert source["discard_reasons"][0]["reason"] == "HTTP 401 Unauthorized"


def test_a_fresh_sandbox_reads_as_nothing_yet(cli: Cli) -> None:
    result = cli("segment", "deliveries", "--sandbox", "--json")

    assert result.exit_code == 0, result.stderr
    egress = json.loads(result.stdout)["segment_to_frigade"]
    assert (egress["delivered"], egress["failed"], egress["failure_rate"]) == (0, 0, None)


# Settings checked before sending --------------------------------------------------------------
def test_a_minute_window_over_4_hours_is_refused_before_sending(
    cli: Cli, recorder: Recorder
) -> None:
    result = deliveries(
        cli, recorder.url, "--token", "t", "--granularity", "minute", "--since", "5h"
    )

    assert result.exit_code == 3
    assert "granularity minute allows a window of at most 4 h" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert recorder.requests == []


def test_a_minute_window_starting_over_48_hours_back_is_refused(
    cli: Cli, recorder: Recorder
) -> None:
    result = deliveries(
        cli,
        recorder.url,
        "--token",
        "t",
        "--granularity",
        "minute",
        "--start",
        "2020-01-01T00:00:00Z",
        "--end",
        "2020-01-01T01:00:00Z",
    )

    assert result.exit_code == 3
    assert "starting at most 48 h back" in result.stderr
    assert recorder.requests == []


def test_a_window_no_granularity_allows_is_refused(cli: Cli, recorder: Recorder) -> None:
    result = deliveries(cli, recorder.url, "--token", "t", "--since", "40d")

    assert result.exit_code == 3
    assert "granularity day allows a window of at most 30 d" in result.stderr
    assert recorder.requests == []


def test_the_granularity_is_the_finest_the_window_allows(cli: Cli, sb: RunningSandbox) -> None:
    hours = json.loads(deliveries(cli, sb, "--since", "6h", "--json").stdout)
    days = json.loads(deliveries(cli, sb, "--since", "20d", "--json").stdout)

    assert hours["window"]["granularity"] == "hour"
    assert days["window"]["granularity"] == "day"


def test_bad_values_exit_2_for_the_wrong_kind_and_3_out_of_range_with_one_line(
    cli: Cli, recorder: Recorder
) -> None:
    for args, words, code in (
        (("--max-failure-rate", "lots"), "--max-failure-rate 'lots'", 2),
        (("--max-failure-rate", "150%"), "between 0% and 100%", 3),
        (("--group-by", "colour"), "--group-by 'colour'", 2),
        (("--start", "yesterday"), "not an ISO 8601 time", 2),
        (("--since", "1h", "--start", "2026-01-01T00:00:00Z"), "not both", 2),
        (("--granularity", "week"), "'week' is not one of minute, hour, day", 2),
        (("--since", "3d", "--granularity", "minute"), "--granularity minute", 3),
    ):
        result = deliveries(cli, recorder.url, "--token", "t", *args)
        assert result.exit_code == code, args
        assert words in result.stderr, args
        assert len(result.stderr.strip().splitlines()) == 1, args
    assert recorder.requests == []


def test_nothing_to_read_without_a_source(cli: Cli) -> None:
    result = cli("segment", "deliveries", "--token", "t")

    assert result.exit_code == 2  # a missing option: the command line is wrong
    assert "give --source-id and --destination-id" in result.stderr


# Answers from Segment ----------------------------------------------------------------------------
def test_a_rejected_token_exits_4(cli: Cli, sb: RunningSandbox) -> None:
    result = deliveries(cli, sb, "--token", "api_private_wrong0000wxyz")

    assert result.exit_code == 4
    assert "rejected the token" in result.stderr
    assert "api_private_wrong0000wxyz" not in result.stderr


def test_an_unreachable_public_api_exits_5(cli: Cli) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = deliveries(cli, f"http://127.0.0.1:{port}", "--token", "t", "--timeout", "2")

    assert result.exit_code == 5
    assert "cannot reach Segment's Public API" in result.stderr


def test_a_5xx_that_lasts_exits_5(cli: Cli, recorder: Recorder) -> None:
    recorder.default = Answer(503, b'{"errors":[{"type":"unavailable","message":"down"}]}')

    result = deliveries(cli, recorder.url, "--token", "t")

    assert result.exit_code == 5
    assert "HTTP 503" in result.stderr
    assert len(recorder.requests) == 4  # the first try and three retries


def test_a_422_exits_3_naming_segments_rule(cli: Cli, recorder: Recorder) -> None:
    rule = "startTime must be aligned to the granularity"
    recorder.default = Answer(
        422, json.dumps({"errors": [{"type": "validation", "message": rule}]}).encode()
    )

    result = deliveries(cli, recorder.url, "--token", "t")

    assert result.exit_code == 3
    assert f"refused the query (HTTP 422): {rule}" in result.stderr
    assert len(recorder.requests) == 1  # a refused query is not retried


def test_a_429_waits_as_the_rate_limit_headers_say(cli: Cli, recorder: Recorder) -> None:
    empty = json.dumps({"data": {"total": 0, "dataset": [], "pagination": {"current": "MA=="}}})
    limited = json.dumps(
        {
            "errors": [
                {"type": "too-many-requests", "message": "slow down", "data": {"msBeforeNext": 50}}
            ]
        }
    )
    recorder.answer(Answer(429, limited.encode(), {"X-RateLimit-Remaining": "0"}))
    recorder.default = Answer(200, empty.encode())

    result = deliveries(cli, recorder.url, "--token", "t", "--json")

    assert result.exit_code == 0, result.stderr
    first, second = recorder.requests[:2]
    assert first.path == second.path and "successful-delivery" in first.path
    assert first.headers["accept"] == "application/json"  # as Segment's SDKs send it
    assert first.headers["authorization"] == "Bearer t"


def test_pages_are_followed(cli: Cli, sb: RunningSandbox) -> None:
    send(sb, [track(f"u{n}", f"Event {n}") for n in range(250)])

    result = deliveries(cli, sb, "--group-by", "eventName", "--json")

    groups = json.loads(result.stdout)["segment_to_frigade"]["groups"]
    assert len(groups) == 250  # two pages of at most 200 rows
    assert sum(g["total"] for g in groups) == 250


def test_the_routes_refuse_a_missing_token(sb: RunningSandbox) -> None:
    response = httpx.get(sb.url + "/segmentapis/delivery-overview/successful-delivery")
    assert response.status_code == 401
