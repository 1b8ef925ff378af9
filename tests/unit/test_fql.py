"""The trigger parser on a table of expressions, the values worked out by hand from the runtime's
rules (last and/or at a level wins; double quotes stripped, single kept; missing fields are
`undefined`)."""

from __future__ import annotations

import pytest

from frigade_cli.segment.fql import TriggerError, parse_trigger, tokenize

ALL3 = {"identify": "all", "group": "all", "track": "all"}


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
        ('type < "x"', {"identify": "none", "group": "none", "track": "none"}),
        ("type = 'track'", {"identify": "none", "group": "none", "track": "none"}),
        ('type = "page"', {"identify": "none", "group": "none", "track": "none"}),
        # The last-operator quirk: `and` written last turns the whole level into an `and`.
        (
            'type = "identify" or type = "group" and type = "track"',
            {"identify": "none", "group": "none", "track": "none"},
        ),
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
        ("type = -1.5", {"identify": "none", "group": "none", "track": "none"}),
    ],
)
def test_which_types_a_trigger_lets_through(trigger: str, reach: dict[str, str]) -> None:
    parsed = parse_trigger(trigger)
    assert {t: r.value for t, r in parsed.reach.items()} == reach


@pytest.mark.parametrize(
    ("trigger", "column", "words"),
    [
        ("", 1, "empty"),
        ("   ", 1, "empty"),
        ("typo", 1, "does not filter on 'typo'"),
        ("type", 5, "expected a comparison"),
        ("type = ", 8, "expected a value"),
        ('type * "x"', 6, "unexpected character '*'"),
        ('type == "track"', 6, "'=='"),
        ('type = "track', 8, "unterminated string"),
        ('type = "track" or', 18, "expected a condition"),
        ('type = "track" type = "group"', 16, "expected 'and', 'or' or the end"),
        ('type = "track")', 15, "unbalanced ')'"),
        ('(type = "track"', 16, "expected ')'"),
        ('((type = "track"))', 2, "nested parentheses"),
        ('type = "a" and (event = "x" or (event = "y"))', 32, "nested parentheses"),
        ('!(type = "page")', 1, "'!' only negates"),
        ('anonymousId = "x"', 1, "does not filter on 'anonymousId'"),
        ('properties = "x"', 1, "does not filter on 'properties'"),
        ('contains(type, "t")', 10, "contains() on type"),
        ('contains(event "x")', 16, "expected ','"),
        ("contains(event, x)", 17, "expected a quoted string"),
        ('match(event, "x"', 17, "expected ')'"),
        ("properties.a = 1.2.3", 16, "malformed number"),
        ('properties..a = "x"', 1, "malformed field path"),
        ('type = "track" and', 19, "expected a condition"),
        ('type = "track" # comment', 16, "unexpected character '#'"),
    ],
)
def test_malformed_triggers_name_the_column(trigger: str, column: int, words: str) -> None:
    with pytest.raises(TriggerError) as caught:
        parse_trigger(trigger)
    assert caught.value.column == column
    assert words in caught.value.message


def test_mixed_operators_are_reported_at_the_overriding_one() -> None:
    parsed = parse_trigger('type = "track" and event = "A" or type = "identify"')
    assert parsed.mixed_at == 32
    assert parse_trigger('type = "track" or type = "identify"').mixed_at is None
    assert parse_trigger('(type = "track" and event = "A") or type = "identify"').mixed_at is None


def test_single_quotes_are_noted_with_the_fix() -> None:
    parsed = parse_trigger("type = 'identify'")
    assert parsed.notes == (
        (
            1,
            "'identify' keeps its single quotes in Segment's Actions runtime and never "
            'matches; write "identify"',
        ),
    )


def test_tokens_carry_their_columns() -> None:
    tokens = tokenize('!contains(properties.a, "x") or type != "y"')
    assert [(t.kind, t.text, t.column) for t in tokens] == [
        ("not", "!", 1),
        ("ident", "contains", 2),
        ("lparen", "(", 10),
        ("ident", "properties.a", 11),
        ("comma", ",", 23),
        ("string", '"x"', 25),
        ("rparen", ")", 28),
        ("conj", "or", 30),
        ("ident", "type", 33),
        ("op", "!=", 38),
        ("string", '"y"', 41),
        ("eos", "", 44),
    ]
