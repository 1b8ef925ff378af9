"""The trigger reader on tables worked out by hand from the runtime's rules (fql-ts's lexer,
parse-fql, validate.ts; see frigade_cli/segment/fql.py). tests/oracles/test_fql_differential.py
checks the same code against Segment's own, on a generated corpus."""

from __future__ import annotations

import math
from typing import Any

import pytest

from frigade_cli.segment import jsvalue
from frigade_cli.segment.fql import TriggerError, TriggerFailure, parse_trigger, repair

ALL3 = {"identify": "all", "group": "all", "track": "all"}
NONE3 = {"identify": "none", "group": "none", "track": "none"}


@pytest.mark.parametrize(
    ("trigger", "reach"),
    [
        ('type = "identify" or type = "group" or type = "track"', ALL3),
        ('type = "track"', {"identify": "none", "group": "none", "track": "all"}),
        ('type != "page"', ALL3),
        ('type != "page" and type != "screen"', ALL3),
        (
            'type = "identify" or type = "track"',
            {"identify": "all", "group": "none", "track": "all"},
        ),
        (
            '(type = "track" and event = "X") or type = "identify"',
            {"identify": "all", "group": "none", "track": "some"},
        ),
        ('event = "Signed Up"', {"identify": "none", "group": "none", "track": "some"}),
        # identify and group carry no `event`: undefined !== "Signed Up".
        ('event != "Signed Up"', {"identify": "all", "group": "all", "track": "some"}),
        ('contains(event, "Nike")', {"identify": "none", "group": "none", "track": "some"}),
        ('!contains(event, "Nike")', {"identify": "none", "group": "none", "track": "some"}),
        ('match(event, "Order*")', {"identify": "none", "group": "none", "track": "some"}),
        ("properties.price >= 100", {"identify": "some", "group": "some", "track": "some"}),
        (
            'type = "group" and traits.plan = "pro"',
            {"identify": "none", "group": "some", "track": "none"},
        ),
        ("userId != null", {"identify": "some", "group": "some", "track": "some"}),
        ('type < "x"', NONE3),  # `<` needs a number, and a type is a string
        ('properties.price < "abc"', NONE3),  # Number("abc") is NaN: never true
        ("type = 'track'", NONE3),  # the value keeps its single quotes
        ('type = "page"', NONE3),
        # The last-operator quirk: `and` written last turns the whole level into an `and`...
        ('type = "identify" or type = "group" and type = "track"', NONE3),
        # ...and `or` written last turns it into an `or`.
        ('type = "track" and type = "identify" or type = "group"', ALL3),
        (
            '(type = "identify" or type = "group") and type != "track"',
            {"identify": "all", "group": "all", "track": "none"},
        ),
        (
            'context.library.name = "analytics.js" or type = "identify"',
            {"identify": "all", "group": "some", "track": "some"},
        ),
        ('name = "Home"', {"identify": "some", "group": "some", "track": "some"}),
        ("type = -1.5", NONE3),
        # Accepted by Segment, read otherwise than written:
        ("type = identify", {"identify": "all", "group": "none", "track": "none"}),
        ('type = "track" or(type = "identify")', NONE3),  # `or(` is a word: `and`
        ('type = "identify" OR type = "track"', NONE3),  # `OR` is a word: `and`
        ('type = "identify" or type = "track" and', NONE3),  # the trailing `and` decides
        ('!(type = "track")', {"identify": "none", "group": "none", "track": "all"}),
        ('type = "track" and ()', NONE3),
        # the runtime throws when it reaches `()`, and some() stops before it for a track
        ('type = "track" or ()', {"identify": "none", "group": "none", "track": "all"}),
        ('() or type = "track"', NONE3),
    ],
)
def test_which_types_a_trigger_lets_through(trigger: str, reach: dict[str, str]) -> None:
    parsed = parse_trigger(trigger)
    assert {t: r.value for t, r in parsed.reach.items()} == reach


@pytest.mark.parametrize(
    ("trigger", "column", "words", "fix"),
    [
        ("", 1, "empty", None),
        ("   ", 1, "empty", None),
        ("typo", 1, "does not filter on `typo`", None),
        ("OR", 1, "`OR` is not an operator", None),
        ("type", 5, "no value", None),
        ('type * "x"', 6, "character '*'", None),
        ('type = "track', 8, "not closed", None),
        ('(type = "track"', 1, "never closed", None),
        ('((type = "track"))', 2, "cannot nest parentheses", None),
        ('type = "a" and (event = "x" or (event = "y"))', 32, "cannot nest parentheses", None),
        ('contains(type, "t")', 1, "contains() only to event", None),
        ("properties.a = 1.2.3", 19, "two decimal points", None),
        ('type = "track" # comment', 16, "character '#'", None),
        ("()", 1, "only '()'", None),
        ('event !="a"', 7, "space after '!='", 'event != "a"'),
        ("userId !=null", 8, "space after '!='", "userId != null"),
        ('traits.x< "a"', 9, "space between 'x' and '<'", 'traits.x < "a"'),
        ('! contains(event, "a")', 1, "'!' directly before contains(", '!contains(event, "a")'),
    ],
)
def test_what_segment_rejects_is_named_with_the_column_and_a_fix(
    trigger: str, column: int, words: str, fix: str | None
) -> None:
    with pytest.raises(TriggerError) as caught:
        parse_trigger(trigger)
    assert caught.value.column == column
    assert words in caught.value.message
    assert repair(trigger) == fix


@pytest.mark.parametrize(
    ("trigger", "reading", "fix", "noted"),
    [
        (
            'type = "track" or(type = "identify")',
            'type = "track" and type = "identify"',
            'type = "track" or type = "identify"',
            "`or` directly followed by '('",
        ),
        (
            'type = "identify" OR type = "track"',
            'type = "identify" and type = "track"',
            'type = "identify" or type = "track"',
            "`OR` is not an operator",
        ),
        (
            'type = "a" or type = "b" and',
            'type = "a" and type = "b"',
            'type = "a" or type = "b"',
            "nothing follows this `and`",
        ),
        ('!(type = "track")', 'type = "track"', 'type != "track"', "drops this '!'"),
        ("type = 'track'", "type = \"'track'\"", 'type = "track"', "keeps its single quotes"),
        ('type == "track"', 'type = "="', 'type = "track"', "`==`"),
        ("properties.n <=5", 'properties.n < "="', "properties.n <= 5", "`<=`"),
        ('match(event, "abc")', 'match(event, "*bc")', None, "tests a prefix"),
        (
            'type = "track" type = "group"',
            'type = "track" and type = "group"',
            None,
            "no and/or before",
        ),
        ('groupId = "g" or type = "group"', 'type = "group"', None, "does not filter on `groupId`"),
        # the closing quote before `and` is read again, as the start of a string
        ('type="a"and type = "b"', 'type = "a"', None, 'skips `"and type = "`'),
        (
            'type = "track" and (contains(event, "A") or contains(event, "B"))',
            'type = "track" or contains(event, "A") or contains(event, "B")',
            None,
            "also ends the group",
        ),
    ],
)
def test_what_segment_reads_otherwise_is_shown_with_its_reading(
    trigger: str, reading: str, fix: str | None, noted: str
) -> None:
    parsed = parse_trigger(trigger)
    assert parsed.misread
    assert parsed.reading == reading
    assert parsed.fix == fix
    assert any(noted in text for _, text in parsed.notes), parsed.notes


@pytest.mark.parametrize(
    "trigger",
    [
        'type = "identify" or type = "group" or type = "track"',
        "type = identify or type = group",  # bare words are strings
        'type = "track" or',  # a trailing `or` that changes nothing
        'type = "identify" or or type = "track"',
        '(type = "track" and event = "A") or type = "identify"',
        '(type = "a" or contains(event, "x"))',  # contains() last in a group: read as meant
        'type = "identify" AND type = "track"',  # skipped, and `and` anyway
    ],
)
def test_what_segment_reads_as_written_is_not_flagged(trigger: str) -> None:
    assert not parse_trigger(trigger).misread


def test_mixed_operators_are_reported_at_the_deciding_one() -> None:
    assert parse_trigger('type = "track" and event = "A" or type = "identify"').mixed_at == 32
    assert parse_trigger('type = "track" AND event = "A" or type = "identify"').mixed_at == 32
    assert parse_trigger('type = "track" or type = "identify"').mixed_at is None
    assert parse_trigger('(type = "track" and event = "A") or type = "identify"').mixed_at is None


# (trigger, event, does it pass), each worked out from validate.ts and JavaScript's rules.
EVENTS: list[tuple[str, dict[str, Any], bool]] = [
    ('event != "x"', {"type": "identify"}, True),  # undefined !== "x"
    ('event = "undefined"', {"type": "identify"}, False),  # strict: undefined !== "undefined"
    ('properties.x = "5"', {"properties": {"x": 5}}, False),  # 5 !== "5"
    ("properties.x = 5", {"properties": {"x": 5}}, True),  # number_equals
    ("properties.x = 5", {"properties": {"x": "5"}}, False),  # needs a number
    ("properties.x != 5", {"properties": {}}, False),  # number_not_equals needs a number too
    ('properties.x != "5"', {"properties": {}}, True),
    ('properties.x < "10"', {"properties": {"x": 5}}, True),  # Number("10")
    ('properties.x < "0x10"', {"properties": {"x": 15}}, True),  # Number("0x10") is 16
    ('properties.x < " 7 "', {"properties": {"x": 6.5}}, True),
    ("properties.x < true", {"properties": {"x": 0}}, True),  # Number(true) is 1
    ('contains(properties.x, "5")', {"properties": {"x": 5}}, False),  # not a string
    ('!contains(properties.x, "5")', {"properties": {"x": 5}}, False),  # nor its negation
    ('!contains(event, "a")', {"event": "xyz"}, True),
    ('match(event, "Order*")', {"event": "Order Completed"}, True),
    ('match(event, "*Done")', {"event": "Task Done"}, True),
    ('match(event, "abc")', {"event": "xbc"}, True),  # ends_with "bc"
    ("properties.x = null", {"properties": {"x": None}}, True),
    ("properties.x = null", {"properties": {}}, True),
    ("properties.x != null", {"properties": {"x": 0}}, True),
    ("properties.x = true", {"properties": {"x": "true"}}, False),  # is_true: the boolean only
    ("userId = true", {"userId": True}, True),
    ("name = true", {"name": True}, False),  # name has no is_true: true !== "true"
    ("properties.a.b = 0", {"properties": {"a": 0}}, True),  # 0 && ... is 0
    ("properties.tags.length = 2", {"properties": {"tags": ["a", "b"]}}, True),
    ('properties.tags.\\0 = "a"', {"properties": {"tags": ["a", "b"]}}, True),  # \0: a word
    ('properties.s.\\1 = "b"', {"properties": {"s": "abc"}}, True),
    ("properties.constructor != null", {"properties": {}}, True),  # found on the prototype
    ("properties.x.y != null", {"properties": {"x": "str"}}, False),
    (
        'context.library.name = "analytics.js"',
        {"context": {"library": {"name": "analytics.js"}}},
        True,
    ),
    ('type = "track" or type = "identify" and', {"type": "track"}, False),
    ('type = "track" OR type = "identify"', {"type": "track"}, False),
    ("type = track", {"type": "track"}, True),
]


@pytest.mark.parametrize(("trigger", "event", "passes"), EVENTS)
def test_each_event_is_decided_as_the_runtime_decides(
    trigger: str, event: dict[str, Any], passes: bool
) -> None:
    assert parse_trigger(trigger).matches(event) is passes


def test_the_runtime_throws_where_it_reaches_empty_parentheses() -> None:
    parsed = parse_trigger('type = "track" or ()')
    assert parsed.matches({"type": "track"}) is True  # some() stops at the first true
    with pytest.raises(TriggerFailure):
        parsed.matches({"type": "page"})
    assert parsed.fails


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("", 0.0),
        ("  12  ", 12.0),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("0x1F", 31.0),
        ("0b101", 5.0),
        ("-0x1", math.nan),  # no sign before a radix prefix
        ("Infinity", math.inf),
        ("inf", math.nan),
        ("1_000", math.nan),
        ("\u0661", math.nan),  # only ASCII digits
        ("\u00a07\ufeff", 7.0),
    ],
)
def test_strings_become_numbers_as_in_javascript(text: str, number: float) -> None:
    got = jsvalue.to_number(text)
    assert (math.isnan(got) and math.isnan(number)) or got == number


@pytest.mark.parametrize(
    ("value", "text"),
    [(5.0, "5"), (-0.0, "0"), (1e21, "1e+21"), (1e-7, "1e-7"), (math.nan, "NaN"), (True, "true")],
)
def test_values_become_strings_as_in_javascript(value: Any, text: str) -> None:
    assert jsvalue.to_string(value) == text
