"""Every mapping rule in both directions: a mapping that trips it, and a close one that does not."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from frigade_cli.segment.mapping import (
    DestinationInfo,
    Expectations,
    MappingShapeError,
    WebhookMapping,
    subscriptions_in,
)
from frigade_cli.segment.rules import RULES, Finding, check_mappings, edit_distance

FIXTURE = (
    Path(__file__).parent.parent / "validate" / "fixtures" / "webhook-mapping-recommended.json"
)
RECOMMENDED: dict[str, Any] = json.loads(FIXTURE.read_text())["data"]["subscription"]


def subscription(**changes: Any) -> dict[str, Any]:
    """The recommended subscription with top-level or `settings.X` changes (None deletes)."""
    sub = copy.deepcopy(RECOMMENDED)
    for key, value in changes.items():
        target, name = (sub["settings"], key[9:]) if key.startswith("settings_") else (sub, key)
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return sub


def findings(*subs: dict[str, Any], **expect: Any) -> list[Finding]:
    mappings = [WebhookMapping.from_subscription(s, n) for n, s in enumerate(subs, 1)]
    destination = expect.pop("destination", None)
    return check_mappings(mappings, Expectations(**expect), destination)


def codes(found: list[Finding]) -> list[str]:
    return [f.code for f in found]


def test_the_recommended_mapping_has_no_finding() -> None:
    assert findings(subscription()) == []


def auth(value: str) -> dict[str, Any]:
    return {"settings_headers": {"Authorization": value}}


# (code, a change that trips it, a close change that does not)
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("V101", {"settings_url": "api.frigade.com/v1/thirdParty/cdp/segment"}, {}),
    ("V101", {"settings_url": None}, {}),
    ("V102", {"settings_url": "http://api.frigade.com/v1/thirdParty/cdp/segment"}, {}),
    ("V103", {"settings_url": "https://api.frigade.co/v1/thirdParty/cdp/segment"}, {}),
    (
        "V103",
        {"settings_url": "https://hooks.example.com/v1/thirdParty/cdp/segment"},
        {"settings_url": "https://API.frigade.com:443/v1/thirdParty/cdp/segment"},
    ),
    (
        "V104",
        {"settings_url": "https://api.frigade.com/v1/thirdParty/cdp/segmnet"},
        {"settings_url": "https://api.frigade.com/v1/thirdParty/cdp/segment/"},
    ),
    ("V105", {"settings_method": "PUT"}, {"settings_method": "post"}),
    ("V105", {"settings_method": "PATCH"}, {"settings_method": None}),
    ("V106", {"settings_enable_batching": False}, {"settings_enable_batching": True}),
    ("V106", {"settings_enable_batching": None}, {}),
    ("V107", {"settings_batch_size": 0}, {"settings_batch_size": 1}),
    ("V107", {"settings_batch_size": 4001}, {"settings_batch_size": 100}),
    ("V107", {"settings_batch_size": "100"}, {"settings_batch_size": 100}),
    (
        "V108",
        {"settings_headers": {}},
        {"settings_headers": {"authorization": "Bearer api_private_test0000abcd"}},
    ),
    ("V108", {"settings_headers": {"X-Api-Key": "Bearer api_private_test0000abcd"}}, {}),
    ("V109", auth("api_private_test0000abcd"), auth("Bearer api_private_test0000abcd")),
    ("V109", auth("Bearer api_public_test0000abcd"), auth("bearer api_private_test0000abcd")),
    ("V109", auth("api_public_test0000abcd"), {}),
    ("V109", auth("Basic dXNlcjpwYXNz"), {}),
    ("V109", auth(""), {}),
    ("V109", auth("Bearer <your private key>"), {}),
    ("V109", auth("Bearer {{FRIGADE_KEY}}"), {}),
    ("V109", auth("Bearer api_private_..."), {}),
    ("V109", auth("Bearer api_private_"), {}),
    ("V109", auth("Bearer sk_live_abcdef"), {}),
    (
        "V110",
        {"settings_headers": {"Authorization": "Bearer api_private_test0000abcd", "X-Tëam": "a"}},
        {"settings_headers": {"Authorization": "Bearer api_private_test0000abcd", "X-Team": "a"}},
    ),
    (
        "V110",
        {
            "settings_headers": {
                "Authorization": "Bearer api_private_test0000abcd",
                "X-Team": "café",
            }
        },
        {"settings_headers": {"Authorization": "••••••••••abcd"}},
    ),
    ("V111", {"enabled": False}, {"enabled": None}),
    ("V113", {"settings_data": {"userId": {"@path": "$.userId"}}}, {"settings_data": None}),
    ("V113", {"settings_data": {"@path": "$.properties"}}, {"settings_data": {"@path": "$."}}),
    ("V114", {"trigger": 'type = "page"'}, {"trigger": 'type = "page" or type = "track"'}),
    ("V114", {"trigger": "type = 'identify' or type = 'group' or type = 'track'"}, {}),
    ("V115", {"trigger": 'type = "track" or'}, {"trigger": 'type = "track" or type = "group"'}),
    ("V115", {"trigger": None}, {}),
    ("V201", {"trigger": 'type = "identify" or type = "track"'}, {"trigger": 'type != "page"'}),
    ("V202", {"settings_batch_size": 101}, {"settings_batch_size": 100}),
    ("V202", {"settings_batch_size": None}, {}),
    (
        "V205",
        {"trigger": 'type = "identify" and event = "x" or type = "group" or type = "track"'},
        {"trigger": '(type = "identify" and event = "x") or type = "group" or type = "track"'},
    ),
    ("V302", auth("••••••••••abcd"), {}),
]


@pytest.mark.parametrize(("code", "trips", "passes"), CASES)
def test_each_rule_trips_and_passes(
    code: str, trips: dict[str, Any], passes: dict[str, Any]
) -> None:
    tripped = [f for f in findings(subscription(**trips)) if f.code == code]
    assert len(tripped) == 1, findings(subscription(**trips))
    rule = next(r for r in RULES if r.code == code)
    assert tripped[0].severity == rule.severity
    assert tripped[0].field.startswith(rule.field.split(".")[0])
    assert tripped[0].fix and tripped[0].message
    assert code not in codes(findings(subscription(**passes)))


def test_the_host_typo_is_named_by_edit_distance() -> None:
    (found,) = findings(
        subscription(settings_url="https://api.frigdae.com/v1/thirdParty/cdp/segment")
    )
    assert "likely a typo of 'api.frigade.com': 2 edits away" in found.message
    (far,) = findings(
        subscription(settings_url="https://hooks.example.com/v1/thirdParty/cdp/segment")
    )
    assert "typo" not in far.message


def test_edit_distance_matches_hand_counts() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("api.frigade.com", "api.frigade.com") == 0
    assert edit_distance("segmnet", "segment") == 2


def test_a_leaving_out_warning_says_what_frigade_then_cannot_do() -> None:
    (found,) = findings(subscription(trigger='type = "identify" or type = "track"'))
    assert found.code == "V201"
    assert "leaves out group" in found.message and "organizations" in found.message
    assert found.fix == 'add or type = "group"'


def test_the_parse_error_names_the_column() -> None:
    (found,) = findings(subscription(trigger='type = "identify" or or type = "track"'))
    assert found.code == "V115"
    assert "column 22" in found.message


def test_the_batch_wait_warning_recommends_a_smaller_size_at_120_events_a_day() -> None:
    (found,) = findings(subscription(), events_per_day=120.0)
    assert found.code == "V203" and found.severity == "warning"
    assert "57.7 s on average" in found.message  # T (1 + mu/2) / (1 + mu) with mu = 1/12
    assert found.fix.startswith("set the batch size to 1 ")
    # 10 million a day: batches of 100 fill in (B-1)/(2 lam) = 0.43 s on average.
    assert findings(subscription(), events_per_day=10_000_000.0) == []


def test_destination_rules() -> None:
    off = DestinationInfo(id="dst_test", enabled=False)
    assert codes(findings(subscription(), destination=off)) == ["V112"]
    on = DestinationInfo(id="dst_test", enabled=True)
    assert findings(subscription(), destination=on) == []
    secret = DestinationInfo(id="dst_test", enabled=True, shared_secret="••••••••••wxyz")
    assert codes(findings(subscription(), destination=secret)) == ["V301"]


def test_two_subscriptions_sending_the_same_events_are_duplicates() -> None:
    second = subscription(id="sub_second", trigger='type = "track"')
    (found,) = [f for f in findings(subscription(), second) if f.code == "V204"]
    assert found.code == "V204" and "sub_second" in found.message
    assert "track (every event)" in found.message
    disabled = subscription(id="sub_second", enabled=False)
    assert "V204" not in codes(findings(subscription(), disabled))
    elsewhere = subscription(id="sub_second", settings_url="https://hooks.example.com/x")
    assert "V204" not in codes(findings(subscription(), elsewhere))
    disjoint = subscription(id="sub_a", trigger='type = "identify"')
    other = subscription(id="sub_b", trigger='type = "group" or type = "track"')
    assert "V204" not in codes(findings(disjoint, other))


@pytest.mark.parametrize(
    "document",
    [
        RECOMMENDED,
        {"subscription": RECOMMENDED},
        {"data": {"subscription": RECOMMENDED}},
        {"data": {"subscriptions": [RECOMMENDED, RECOMMENDED]}},
        [RECOMMENDED],
    ],
)
def test_every_wrapper_form_is_read(document: Any) -> None:
    found = subscriptions_in(document)
    assert found and all(s["id"] == "sub_recommended" for s in found)


@pytest.mark.parametrize("document", [{}, [], [1], {"data": {"foo": 1}}, "text", None])
def test_other_shapes_are_refused(document: Any) -> None:
    with pytest.raises(MappingShapeError):
        subscriptions_in(document)


def test_rule_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
    assert {r.severity for r in RULES} == {"error", "warning", "info"}
