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
    export_in,
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
    (
        "V207",
        {"settings_url": "https://api.frigade.com/v1/thirdParty/cdp/segment/"},
        {"settings_url": "https://api.frigade.com/v1/thirdParty/cdp/segment"},
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
    ("V119", {"enabled": "yes"}, {"enabled": True}),
    ("V119", {"enabled": "true"}, {"enabled": None}),
    ("V119", {"settings_enable_batching": "yes"}, {"settings_enable_batching": True}),
    ("V119", {"settings_enable_batching": 1}, {}),
    ("V113", {"settings_data": {"userId": {"@path": "$.userId"}}}, {"settings_data": None}),
    ("V113", {"settings_data": {"@path": "$.properties"}}, {"settings_data": {"@path": "$."}}),
    ("V114", {"trigger": 'type = "page"'}, {"trigger": 'type = "page" or type = "track"'}),
    ("V114", {"trigger": "type = 'identify' or type = 'group' or type = 'track'"}, {}),
    (
        "V115",
        {"trigger": 'type = "identify" or type = "group" or type !="track"'},
        {"trigger": 'type = "identify" or type = "group" or type != "track"'},
    ),
    ("V115", {"trigger": None}, {}),
    (
        "V118",
        {"trigger": '() or type = "identify" or type = "group" or type = "track"'},
        {"trigger": 'type = "identify" or type = "group" or type = "track"'},
    ),
    ("V201", {"trigger": 'type = "identify" or type = "track"'}, {"trigger": 'type != "page"'}),
    ("V202", {"settings_batch_size": 101}, {"settings_batch_size": 100}),
    ("V202", {"settings_batch_size": None}, {}),
    (
        "V205",
        {"trigger": 'type = "identify" and event = "x" or type = "group" or type = "track"'},
        {"trigger": '(type = "identify" and event = "x") or type = "group" or type = "track"'},
    ),
    (
        "V206",
        {"trigger": 'type = "identify" OR type = "group" OR type = "track"'},
        {"trigger": 'type = "identify" or type = "group" or type = "track"'},
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
    # V119 names whichever true/false field is wrong (enabled, settings.enable_batching).
    assert tripped[0].field.startswith(rule.field.split(".")[0]) or code == "V119"
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


def test_a_trigger_segment_rejects_is_an_error_with_the_column_and_the_fix() -> None:
    (found,) = findings(
        subscription(trigger='type = "identify" or type = "group" or type !="track"')
    )
    assert found.code == "V115" and found.severity == "error"
    assert "Segment rejects this trigger (column 45:" in found.message
    assert found.fix == 'write: type = "identify" or type = "group" or type != "track"'


def test_a_trigger_segment_accepts_is_never_called_unparseable() -> None:
    # `or or` is fine to Segment; `OR` is a word it skips, so the level is `and`.
    assert (
        findings(subscription(trigger='type = "identify" or or type = "group" or type = "track"'))
        == []
    )
    found = findings(subscription(trigger='type = "identify" OR type = "group" OR type = "track"'))
    assert codes(found) == ["V114", "V206"]
    misread = found[1]
    assert misread.severity == "warning"
    assert (
        'Segment reads this trigger as: type = "identify" and type = "group" and type = "track"'
        in (misread.message)
    )
    assert "column 19: `OR` is not an operator to Segment" in misread.message
    assert "no and/or before" not in misread.message  # the skipped OR says it all
    assert misread.fix == 'write: type = "identify" or type = "group" or type = "track"'


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
    assert codes(findings(destination=on)) == ["V117"]


def test_a_destination_enabled_as_a_string_is_a_finding_not_enabled() -> None:
    info = DestinationInfo.from_public_api({"id": "dst_1", "enabled": "yes"})
    assert info.enabled is None
    (found,) = findings(subscription(), destination=info)
    assert (found.code, found.field, found.mapping) == (
        "V119",
        "destination.enabled",
        "destination dst_1",
    )
    assert "'yes'" in found.message or '"yes"' in found.message


def test_a_string_enabled_is_not_counted_as_a_live_duplicate() -> None:
    second = subscription(id="sub_second", enabled="yes")
    assert "V204" not in codes(findings(subscription(), second))
    assert "V119" in codes(findings(subscription(), second))


def test_a_string_enable_batching_is_named_not_called_unset() -> None:
    (found,) = findings(subscription(settings_enable_batching="yes"))
    assert found.code == "V119" and found.field == "settings.enable_batching"
    assert "not set" not in found.message


def test_duplicates_are_one_finding_per_group_not_per_pair() -> None:
    subs = [subscription(id=f"sub_{n}") for n in range(50)]
    subs.append(subscription(id="sub_track_a", trigger='type = "track" and event = "A"'))
    # All 51 send track, the 50 full ones also identify and group: two sets of members.
    found = [f for f in findings(*subs) if f.code == "V204"]
    assert sorted(f.message.split(" to Frigade")[0] for f in found) == [
        "50 subscriptions all send identify (every event), group (every event)",
        "51 subscriptions all send track (some events)",
    ]
    assert {f.mapping for f in found} == {"sub_1 (Send identify, group and track to Frigade)"}
    groups = [f for f in findings(*subs[:50]) if f.code == "V204"]
    assert len(groups) == 1
    assert groups[0].message.startswith("50 subscriptions all send identify (every event)")
    assert "sub_0 (" in groups[0].message and " and 45 more;" in groups[0].message
    assert groups[0].message.endswith("each event arrives 50 times")


def test_overlapping_groups_are_one_finding_each() -> None:
    both = subscription(id="sub_both", trigger='type = "identify" or type = "track"')
    identify = subscription(id="sub_identify", trigger='type = "identify"')
    track = subscription(id="sub_track", trigger='type = "track"')
    found = [f for f in findings(both, identify, track) if f.code == "V204"]
    assert sorted(f.message for f in found) == [
        "sub_identify (Send identify, group and track to Frigade) and sub_both (Send identify, "
        "group and track to Frigade) both send identify (every event) to Frigade: each event "
        "arrives twice",
        "sub_track (Send identify, group and track to Frigade) and sub_both (Send identify, "
        "group and track to Frigade) both send track (every event) to Frigade: each event "
        "arrives twice",
    ]


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
    found = export_in(document)
    assert found.subscriptions and all(s["id"] == "sub_recommended" for s in found.subscriptions)
    assert found.destination is None


@pytest.mark.parametrize(
    "document",
    [
        {},
        [],
        [1],
        {"data": {"foo": 1}},
        "text",
        None,
        {"data": {"subscriptions": []}},
        {"data": {"destination": "dst_1"}},
        {"data": {"subscriptions": {"id": "x"}}},
    ],
)
def test_other_shapes_are_refused(document: Any) -> None:
    with pytest.raises(MappingShapeError):
        export_in(document)


def test_a_destination_is_read_beside_its_subscriptions_or_alone() -> None:
    destination = {"id": "dst_1", "enabled": True, "settings": {}}
    both = export_in({"data": {"destination": destination, "subscriptions": [RECOMMENDED]}})
    assert both.destination == destination and both.destination_path == ("data", "destination")
    assert both.paths == [("data", "subscriptions", 0)]
    alone = export_in({"data": {"destination": destination}})
    assert alone.subscriptions == [] and alone.destination == destination
    beside_one = export_in({"destination": destination, "subscription": RECOMMENDED})
    assert beside_one.paths == [("subscription",)] and beside_one.destination_path == (
        "destination",
    )


def test_every_rule_says_where_its_expectation_comes_from() -> None:
    assert all(rule.basis for rule in RULES)
    (found,) = findings(subscription(settings_method="PUT"))
    assert found.basis.startswith("Frigade's Segment guide")


def test_url_findings_name_the_expected_url_and_its_source() -> None:
    wrong = subscription(settings_url="https://hooks.example.com/v1/thirdParty/cdp/segment")
    (default,) = findings(wrong)
    assert default.basis == (
        "expected https://api.frigade.com/v1/thirdParty/cdp/segment "
        "(Frigade's documented webhook, docs.frigade.com)"
    )
    (named,) = findings(
        wrong,
        webhook_url="https://hooks.example.org/v1/thirdParty/cdp/segment",
        webhook_url_basis="--expect-url",
    )
    assert (
        named.basis == "expected https://hooks.example.org/v1/thirdParty/cdp/segment (--expect-url)"
    )
    assert named.fix == "use the host hooks.example.org"


def test_a_trailing_slash_is_named() -> None:
    (found,) = findings(
        subscription(settings_url="https://api.frigade.com/v1/thirdParty/cdp/segment/")
    )
    assert found.code == "V207" and "ends with a slash" in found.message
    assert found.fix.startswith("use the path /v1/thirdParty/cdp/segment ")
    (missing,) = findings(
        subscription(), webhook_url="https://api.frigade.com/v1/thirdParty/cdp/segment/"
    )
    assert missing.code == "V207" and "lacks the final slash" in missing.message
    wrong_and_slash = subscription(settings_url="https://api.frigade.com/v1/segment/")
    (both,) = findings(wrong_and_slash)
    assert both.code == "V104" and "'/v1/segment/'" in both.message


def test_findings_carry_the_line_of_their_subscription() -> None:
    subs = [subscription(id="sub_a", settings_method="PUT"), subscription(id="sub_b")]
    mappings = [
        WebhookMapping.from_subscription(s, n, line)
        for n, (s, line) in enumerate(zip(subs, (4, 25), strict=True), 1)
    ]
    found = check_mappings(mappings)
    assert {(f.code, f.line) for f in found} == {("V105", 4), ("V204", 25)}


def test_rule_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
    assert {r.severity for r in RULES} == {"error", "warning", "info"}
