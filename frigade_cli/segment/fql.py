"""Segment's trigger language (FQL) exactly as the Actions runtime reads and applies it.

A subscription's `trigger` decides which events reach an action. Segment's runtime reads it with
the @segment/fql-ts lexer and the parser and evaluator of @segment/destination-subscriptions
(segmentio/action-destinations, packages/destination-subscriptions/src/parse-fql.ts and
validate.ts). Their behaviour, which this module reproduces with its own code, is far looser
than the grammar the documentation suggests, and it decides what a trigger means:

- Words: `and`, `or` and `null` are operators only in lower case and only when a space, `,`,
  `)` or the end follows (`or(` and `OR` are plain words). A comparison is a field word (`type`,
  `event`, `name`, `userId`, or one starting with `properties`, `traits`, `context`) followed by
  *whatever two tokens come next*, taken as operator and value; `contains`/`match` take the next
  five tokens by position. Every other token is skipped without a word: unknown fields, stray
  strings, `OR`, a `!` before anything but contains()/match().
- A level's conditions are combined with the *last* `and`/`or` written at that level (`and` when
  there is none); a trailing `and` counts.
- `(` collects the tokens up to the first `)`, so parentheses cannot nest (a nested group fails,
  and the `)` of a contains() inside a group also ends the group).
- `!=` needs a space after it; a field word must be followed by a space, `.`, `(`, `=` or `!`
  (`traits.x< 5` fails); a closing quote by a space, `,`, `)` or the end. What the lexer
  refuses, Segment refuses.
- Values: double quotes are stripped, single quotes kept; a bare word is a string (`type =
  identify` works); numbers compare as numbers only with properties, traits and context.
- Evaluation: `=`/`!=` compare strings strictly (a missing field is `!=` everything), `<` and
  the like need a number, contains()/match() a string, `= null` means missing or null.

`parse_trigger` returns a `Trigger` (Segment's reading; what it lets through for identify,
group and track; notes where the reading is probably not what was meant, with a corrected
trigger when one can be written) or raises `TriggerError` when Segment rejects the text.
`Trigger.matches(event)` applies it to one event as the runtime does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any

from frigade_cli.segment import jsvalue
from frigade_cli.segment.jsvalue import UNDEFINED

CHECKED_TYPES = ("identify", "group", "track")  # the types Frigade's mapping needs
EXAMPLE_TRIGGER = 'type = "identify" or type = "group" or type = "track"'
# What each leading word of a comparison filters on (parse-fql's tokenToConditionType).
CONDITION_KINDS = {
    "type": "event-type",
    "event": "event",
    "name": "name",
    "userId": "userId",
    "context": "event-context",
    "properties": "event-property",
    "traits": "event-trait",
}
PATH_KINDS = {"event-property": "properties", "event-trait": "traits", "event-context": "context"}
FUNCTIONS = ("contains", "match")
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
KNOWN_FIELDS = "type, event, name, userId, properties.*, traits.*, context.*"
# A word the parser looks up in a plain JavaScript object finds these on its prototype: it then
# takes the next two tokens as if the word were a field, and keeps nothing.
_PROTOTYPE_WORDS = jsvalue.words(
    "__defineGetter__ __defineSetter__ __lookupGetter__ __lookupSetter__ __proto__ "
    "constructor hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString toString "
    "valueOf"
)
_MAX_LENGTH = 100_000  # fql-ts refuses strings, numbers and words this long
_EOS = "-1"  # what fql-ts's reader answers at the end of the source
_SPACE = " \t\n"
_TERMINATORS = " \t\n,])"
_KNOWN_OPERATORS = jsvalue.words(
    "= != < <= > >= number_equals number_not_equals contains not_contains starts_with "
    "not_starts_with ends_with not_ends_with exists not_exists is_true is_false"
)
_NUMERIC_OPERATORS = jsvalue.words("< <= > >= number_equals")
_NEGATED = {"=": "!=", "!=": "=", "exists": "not_exists", "not_exists": "exists"}


class TriggerError(ValueError):
    """A trigger Segment rejects. `column` is 1-based; `fix` a corrected text for a known slip."""

    def __init__(self, message: str, column: int, fix: str | None = None) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column
        self.fix = fix


class TriggerFailure(Exception):
    """Segment's evaluator throws on this event (it reached `()` or an unusable field path)."""


# --- Lexer ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """One token: `kind` as fql-ts names it, `text` its value as the runtime holds it (a string
    keeps its quotes, the end is `eos`), `start`/`end` its 0-based span in the source."""

    kind: str  # ident dot operator conditional string number null brackleft brackright
    #            parenleft parenright comma eos
    text: str
    start: int
    end: int

    @property
    def column(self) -> int:
        return self.start + 1

    def shown(self) -> str:
        return "the end" if self.kind == "eos" else f"`{self.text}`"


class _LexError(Exception):
    def __init__(self, message: str, offset: int, cause: str) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.cause = cause


def _alpha(c: str) -> bool:
    return len(c) == 1 and ("a" <= c <= "z" or "A" <= c <= "Z")


def _digit(c: str) -> bool:
    return len(c) == 1 and "0" <= c <= "9"


def _word_char(c: str) -> bool:
    return _alpha(c) or _digit(c) or c in ("_", "-", "\\")


def _terminator(c: str) -> bool:
    return c == _EOS or (len(c) == 1 and c in _TERMINATORS)


_PUNCTUATION = {
    ".": "dot",
    "[": "brackleft",
    "]": "brackright",
    ",": "comma",
    "(": "parenleft",
    ")": "parenright",
}


class _Lexer:
    """fql-ts's lexer, character for character (its look-ahead and back-up included)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0

    def next(self) -> str:
        if self.pos >= len(self.source):
            return _EOS
        self.pos += 1
        return self.source[self.pos - 1]

    def peek(self) -> str:
        c = self.next()
        if c != _EOS:
            self.pos -= 1
        return c

    def accept(self, word: str) -> bool:
        # As fql-ts does: reaching the end gives up *without* stepping back.
        taken = ""
        for _ in word:
            c = self.next()
            if c == _EOS:
                return False
            taken += c
            if _terminator(c):
                break
        if taken == word and _terminator(self.peek()):
            return True
        self.pos = max(0, self.pos - len(taken))
        return False

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            c = self.next()
            start = self.pos - 1
            if c == _EOS:
                out.append(Token("eos", "eos", len(self.source), len(self.source)))
                return out
            if c in _SPACE:
                continue
            if c == "!" and (_alpha(self.peek()) or self.peek() == "("):
                out.append(Token("operator", "!", start, self.pos))
                continue
            if _alpha(c) or c in "!=<>\\_":
                kind, text = self.operator_or_word(c, start)
            elif _digit(c) or c in "-+":
                kind, text = "number", self.number(c)
            elif c in "\"'":
                kind, text = "string", self.string(c, start)
            elif c in _PUNCTUATION:
                kind, text = _PUNCTUATION[c], c
            else:
                raise _LexError(f"Segment cannot read the character {c!r}", start, "character")
            out.append(Token(kind, text, start, self.pos))

    def operator_or_word(self, c: str, start: int) -> tuple[str, str]:
        if c == "=":
            return "operator", "="
        if c == "!":
            if self.accept("="):
                return "operator", "!="
            raise _LexError(
                "Segment needs a space after '!=', and '!' directly before contains( or match(",
                start,
                "bang",
            )
        if c == "a" and self.accept("nd"):
            return "conditional", "and"
        if c == "o" and self.accept("r"):
            return "conditional", "or"
        if c == "n" and self.accept("ull"):
            return "null", "null"
        if c in "<>":
            return "operator", c + "=" if self.accept("=") else c
        return "ident", self.word(c, start)

    def word(self, c: str, start: int) -> str:
        text = ""
        while True:
            if c == "\\":
                if self.peek() == _EOS:
                    raise _LexError("a '\\' at the end escapes nothing", self.pos - 1, "escape")
                c = self.next()
            text += c
            if len(text) >= _MAX_LENGTH:
                raise _LexError("the word is too long for Segment", start, "length")
            if not _word_char(self.peek()):
                break
            c = self.next()
        after = self.peek()
        if not (_terminator(after) or after in (".", "(", "=", "!")):
            raise _LexError(
                f"Segment needs a space between {self.source[start : self.pos]!r} and {after!r}",
                self.pos,
                "word-end",
            )
        return text

    def number(self, first: str) -> str:
        text = ""
        decimal = False
        while _digit(self.peek()) or self.peek() == ".":
            c = self.next()
            text += c
            if c == ".":
                if _terminator(self.peek()):
                    raise _LexError("a number cannot end with '.'", self.pos - 1, "number")
                if decimal:
                    raise _LexError("a number has two decimal points", self.pos - 1, "number")
                decimal = True
            if len(text) >= _MAX_LENGTH:
                raise _LexError("the number is too long for Segment", self.pos, "length")
        return first + text

    def string(self, quote: str, start: int) -> str:
        text = ""
        units = 0
        while self.peek() != quote:
            c = self.next()
            if c == _EOS:
                raise _LexError(
                    f"the string opened at column {start + 1} is not closed (a closing {quote} "
                    "counts only when a space, ',', ')' or the end follows it)",
                    start,
                    "string",
                )
            text += c
            units += 2 if ord(c) > 0xFFFF else 1
            if units >= _MAX_LENGTH:
                raise _LexError("the string is too long for Segment", start, "length")
        # fql-ts eats the closing quote only when a terminator follows it; otherwise the quote
        # is read again, as the start of the next string.
        self.accept(quote)
        return quote + text + quote


def lex(source: str) -> list[Token]:
    """The tokens Segment reads in `source`, words joined across dots, ending with `eos`.

    Raises TriggerError where Segment's lexer fails (Segment then rejects the trigger).
    """
    try:
        tokens = _Lexer(source).tokens()
    except _LexError as exc:
        raise TriggerError(exc.message, exc.offset + 1, _repair(source, exc)) from None
    return _join_paths(tokens)


def _join_paths(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        current = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            out
            and out[-1].kind == "ident"
            and current.kind == "dot"
            and after is not None
            and after.kind == "ident"
        ):
            last = out.pop()
            out.append(Token("ident", f"{last.text}.{after.text}", last.start, after.end))
            i += 2
            continue
        out.append(current)
        i += 1
    return out


def _repair(source: str, error: _LexError) -> str | None:
    """The source with the one change that gets past `error`, when it is a known slip."""
    at = error.offset
    if error.cause == "bang":
        if source.startswith("!=", at):
            return source[: at + 2] + " " + source[at + 2 :]
        rest = source[at + 1 :].lstrip(_SPACE)
        if rest[:1].isalpha() or rest[:1] == "(":
            return source[: at + 1] + rest
    if error.cause == "word-end":
        return source[:at] + " " + source[at:]
    return None


# --- Segment's reading ---------------------------------------------------------------------------

NO_VALUE: Any = UNDEFINED  # a condition such as `exists` carries no value


@dataclass(frozen=True)
class Condition:
    """One condition as Segment's parser builds it: `kind` (event-type, event, name, userId,
    event-property, event-trait, event-context), `operator`, `value` and, for properties,
    traits and context, `name` (the path inside them)."""

    kind: str
    operator: str
    value: Any = NO_VALUE
    name: str | None = None
    start: int = 0

    def as_segment(self) -> dict[str, Any]:
        """The node as parse-fql returns it, in JSON (NaN and the infinities become null)."""
        out: dict[str, Any] = {"type": self.kind}
        if self.name is not None:
            out["name"] = self.name
        out["operator"] = self.operator
        if self.value is not NO_VALUE:
            value = self.value
            if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
                value = None
            out["value"] = value
        return out


@dataclass(frozen=True)
class Group:
    """Conditions combined with one operator: the last `and`/`or` written at the level."""

    operator: str
    children: tuple[Node, ...]
    start: int = 0

    def as_segment(self) -> dict[str, Any]:
        return {
            "type": "group",
            "operator": self.operator,
            "children": [child.as_segment() for child in self.children],
        }


@dataclass(frozen=True)
class Hole:
    """`()`: the parser keeps an undefined child, and the evaluator throws when it reaches it."""

    start: int = 0

    def as_segment(self) -> None:
        return None


@dataclass(frozen=True)
class Not:
    """A negation FQL cannot write (only ever in the reading of what was meant)."""

    child: Node
    start: int = 0

    def as_segment(self) -> dict[str, Any]:
        return {"not": self.child.as_segment()}


Node = Condition | Group | Hole | Not


@dataclass(frozen=True)
class Note:
    """Where Segment's reading bends or skips a token (`column` 1-based)."""

    column: int
    text: str


class _Rejected(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _token_value(token: Token) -> Any:
    """parse-fql's getTokenValue: a string without its double quotes, a number, a boolean for
    the words true/false, any other token's text."""
    if token.kind == "string":
        text = token.text
        if text.startswith('"'):
            text = text[1:]
        if text.endswith('"'):
            text = text[:-1]
        return text
    if token.kind == "number":
        try:
            return float(token.text)
        except ValueError:  # a lone sign: Number("-") is NaN
            return math.nan
    if token.kind == "ident" and token.text in ("true", "false"):
        return token.text == "true"
    return token.text


def _strip_prefix(text: str, head: str) -> str:
    return text[len(head) + 1 :] if text.startswith(head + ".") else text


def build_condition(field_token: Token, operator: Token, value: Token) -> Condition:
    """The condition parse-fql builds from a field word and the two tokens after it."""
    head = field_token.text.split(".")[0]
    kind = CONDITION_KINDS[head]
    op, v = operator.text, value.text
    equals, differs = op == "=", op == "!="
    start = field_token.start
    if kind in ("event", "event-type"):
        return Condition(kind, op, jsvalue.to_string(_token_value(value)), start=start)
    if kind in ("name", "userId"):
        if differs and v == "null":
            return Condition(kind, "exists", start=start)
        if equals and v == "null":
            return Condition(kind, "not_exists", start=start)
        if kind == "userId" and equals and v in ("true", "false"):
            return Condition(kind, "is_true" if v == "true" else "is_false", start=start)
        return Condition(kind, op, jsvalue.to_string(_token_value(value)), start=start)
    name = _strip_prefix(field_token.text, PATH_KINDS[kind])
    if differs and v == "null":
        return Condition(kind, "exists", name=name, start=start)
    if equals and v == "null":
        return Condition(kind, "not_exists", name=name, start=start)
    if equals and v in ("true", "false"):
        return Condition(kind, "is_true" if v == "true" else "is_false", name=name, start=start)
    if (equals or differs) and value.kind == "number":
        operator_name = "number_equals" if equals else "number_not_equals"
        return Condition(kind, operator_name, _token_value(value), name=name, start=start)
    return Condition(kind, op, _token_value(value), name=name, start=start)


def build_function(
    name: str, target: Token, pattern: Token, *, negate: bool, start: int
) -> Condition | None:
    """The condition parse-fql builds for contains()/match() (None: it builds none)."""
    value = jsvalue.to_string(_token_value(pattern))
    if name == "contains":
        operator = "not_contains" if negate else "contains"
    elif pattern.text.endswith('*"'):
        operator = "not_starts_with" if negate else "starts_with"
        value = jsvalue.js_slice(value, 0, -1)
    else:
        operator = "not_ends_with" if negate else "ends_with"
        value = jsvalue.js_slice(value, 1)
    text = target.text
    if text in ("event", "name", "userId"):
        return Condition(text, operator, value, start=start)
    for kind, head in PATH_KINDS.items():
        if text.startswith(head):
            return Condition(kind, operator, value, name=_strip_prefix(text, head), start=start)
    return None


class _Stream:
    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = list(tokens)
        self.i = 0

    def shift(self) -> Token | None:
        if self.i >= len(self.tokens):
            return None
        self.i += 1
        return self.tokens[self.i - 1]

    def first(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None


class _SegmentReader:
    """parse-fql's recursive parse, with a note wherever it skips or bends a token."""

    def __init__(self) -> None:
        self.notes: list[Note] = []

    def note(self, at: Token | int, text: str) -> None:
        offset = at if isinstance(at, int) else at.start
        self.notes.append(Note(offset + 1, text))

    def parse(self, stream: _Stream, group_start: int | None = None) -> Node | None:
        nodes: list[Node] = []
        operator = "and"
        conjunctions: list[tuple[Token, int]] = []  # each `and`/`or`, and the nodes before it
        unjoined: list[int] = []  # conditions with no and/or between them and the one before
        joined_at = -1  # node count when an and/or was last written (skipped ones count)
        token = stream.shift()
        while token is not None and token.kind != "eos":
            before = len(nodes)
            if token.kind == "conditional" or (
                token.kind == "ident" and token.text.lower() in ("and", "or")
            ):
                joined_at = before
            if token.kind == "ident":
                self.word(token, stream, nodes, group_start)
            elif token.kind == "operator" and token.text == "!":
                after = stream.first()
                if after is None:
                    raise _Rejected("'!' at the end", token.start)
                if after.kind == "ident" and after.text in FUNCTIONS:
                    stream.shift()
                    self.function(after, stream, nodes, True, token.start, group_start)
                else:
                    self.note(
                        token,
                        "Segment applies '!' only to contains() and match(): it drops this "
                        "'!', so what follows is not negated",
                    )
            elif token.kind == "parenleft":
                nodes.append(self.group(token, stream, group_start))
            elif token.kind == "conditional":
                operator = token.text
                conjunctions.append((token, len(nodes)))
            else:
                self.note(token, f"Segment skips {token.shown()}")
            if len(nodes) > before > 0 and joined_at < before:
                unjoined.append(nodes[-1].start)
            token = stream.shift()
        for start in unjoined:
            self.note(
                start,
                f"no and/or before this condition: Segment joins it to the one before with the "
                f"level's `{operator}`",
            )
        self.level_notes(conjunctions, len(nodes))
        if len(nodes) > 1:
            return Group(operator, tuple(nodes), nodes[0].start)
        return nodes[0] if nodes else None

    def group(self, opening: Token, stream: _Stream, group_start: int | None) -> Node:
        inner: list[Token] = []
        closing = stream.shift()
        while closing is None or closing.kind != "parenright":
            if closing is None:
                if group_start is not None:
                    raise _Rejected(
                        "Segment cannot nest parentheses (a group ends at the first ')'); "
                        "rewrite without the inner group",
                        opening.start,
                    )
                raise _Rejected(
                    f"the '(' at column {opening.column} is never closed", opening.start
                )
            inner.append(closing)
            closing = stream.shift()
        inner.append(Token("eos", "eos", closing.start, closing.start))
        child = self.parse(_Stream(inner), group_start=opening.start)
        if child is None:
            self.note(
                opening,
                "Segment keeps this group as an empty condition and fails on every event that "
                "reaches it",
            )
            return Hole(opening.start)
        return child

    def level_notes(self, conjunctions: list[tuple[Token, int]], count: int) -> None:
        if not conjunctions:
            return
        last, before = conjunctions[-1]
        previous = conjunctions[-2][0].text if len(conjunctions) > 1 else "and"
        if before == count and previous != last.text:
            self.note(
                last,
                f"nothing follows this `{last.text}`, yet as the last operator at its level it "
                f"makes Segment combine the level's conditions with `{last.text}`",
            )

    def word(
        self, token: Token, stream: _Stream, nodes: list[Node], group_start: int | None
    ) -> None:
        head = token.text.split(".")[0]
        if head in CONDITION_KINDS:
            operator, value = stream.shift(), stream.shift()
            if operator is None:
                raise _Rejected(f"{token.shown()} has no operator after it", token.end)
            if value is None:
                raise _Rejected(f"{token.shown()} has no value after {operator.shown()}", token.end)
            condition = build_condition(token, operator, value)
            nodes.append(condition)
            self.condition_notes(token, operator, value, group_start)
        elif head in _PROTOTYPE_WORDS:
            for _ in range(2):
                if stream.shift() is None:
                    raise _Rejected(f"{token.shown()} has no operator after it", token.end)
            self.note(
                token,
                f"{token.shown()} is not a field: Segment skips it and the two tokens after it",
            )
        elif token.text in FUNCTIONS:
            self.function(token, stream, nodes, False, token.start, group_start)
        elif token.text.lower() in ("and", "or"):
            after = stream.first()
            if token.text.islower():
                follows = (
                    "'('"
                    if after and after.kind == "parenleft"
                    else after.shown()
                    if after
                    else "nothing"
                )
                why = f"`{token.text}` directly followed by {follows} is not an operator to Segment"
            else:
                why = f"`{token.text}` is not an operator to Segment, only lower-case and/or are"
            self.note(token, f"{why}: it skips the word")
        else:
            self.note(
                token,
                f"Segment does not filter on {token.shown()} (it reads {KNOWN_FIELDS}); "
                "it skips the word",
            )

    def condition_notes(
        self, token: Token, operator: Token, value: Token, group_start: int | None
    ) -> None:
        if operator.kind != "operator" or operator.text not in COMPARISONS:
            self.note(
                operator,
                f"Segment takes {operator.shown()} as the operator of the condition at column "
                f"{token.column}",
            )
        elif value.kind == "operator" and value.text == "=":
            written = f"{operator.text}=" if operator.text != "=" else "=="
            self.note(
                operator,
                f"Segment reads `{written}` as {operator.shown()} followed by the value `=`"
                + (" (write `<=`/`>=` with a space after it)" if operator.text in "<>" else ""),
            )
        if value.kind == "eos":
            where = "the group" if group_start is not None else "the trigger"
            self.note(
                value,
                f'{where} ends after {operator.shown()}: Segment compares with the word "eos"',
            )
        elif value.kind not in ("string", "number", "ident", "null", "operator"):
            self.note(
                value,
                f"Segment takes {value.shown()} as the value of the condition at column "
                f"{token.column}",
            )
        if value.kind == "string" and value.text.startswith("'"):
            self.note(
                value,
                f"{value.text} keeps its single quotes in Segment and never equals a value "
                f'without them; write "{value.text[1:-1]}"',
            )
        if head_of(token) in PATH_KINDS.values() and "." not in token.text:
            self.note(
                token,
                f"`{token.text}` alone names no field: Segment reads a field named "
                f"`{token.text}` inside {token.text}",
            )

    def function(
        self,
        token: Token,
        stream: _Stream,
        nodes: list[Node],
        negate: bool,
        start: int,
        group_start: int | None,
    ) -> None:
        name = token.text
        opening = stream.shift()
        target = stream.shift()
        if target is None:
            raise _Rejected(f"{name}() is missing its first argument", token.end)
        comma = stream.shift()
        pattern = stream.shift()
        if pattern is None:
            raise _Rejected(f"{name}() is missing its second argument", token.end)
        closing = stream.shift()
        condition = build_function(name, target, pattern, negate=negate, start=start)
        if condition is None:
            self.note(
                target,
                f"Segment applies {name}() only to event, name, userId, properties.*, traits.* "
                "and context.*: it drops this condition",
            )
        else:
            nodes.append(condition)
        shape = (
            (opening, "parenleft"),
            (target, "ident"),
            (comma, "comma"),
            (pattern, "string"),
            (closing, "parenright"),
        )
        if closing is not None and closing.kind == "eos" and group_start is not None:
            self.note(
                group_start,
                f"the ')' of {name}( at column {token.column} also ends the group opened here: "
                "Segment reads what follows it at the outer level",
            )
        elif any(t is None or t.kind != kind for t, kind in shape):
            self.note(
                token,
                f"Segment takes the five tokens after `{name}` by position, as "
                "'(', field, ',', pattern, ')'",
            )
        if pattern.kind == "string" and pattern.text.startswith("'"):
            self.note(
                pattern,
                f'{pattern.text} keeps its single quotes in Segment; write "{pattern.text[1:-1]}"',
            )
        if name == "match" and condition is not None and not _one_star(_token_value(pattern)):
            self.note(
                pattern,
                f'match() tests a prefix ("x*") or a suffix ("*x"): Segment reads '
                f"{pattern.text} as {describe(condition)}",
            )


def head_of(token: Token) -> str:
    return token.text.split(".")[0]


def _one_star(pattern: Any) -> bool:
    """A match() pattern with one `*`, at its start or its end, and something beside it."""
    return (
        isinstance(pattern, str)
        and len(pattern) > 1
        and pattern.startswith("*") != pattern.endswith("*")
    )


def read_segment(source: str) -> tuple[Group, list[Note]]:
    """Segment's reading of `source` (its root group) and the notes on it. Raises TriggerError."""
    tokens = lex(source)
    reader = _SegmentReader()
    try:
        root = reader.parse(_Stream(tokens))
    except _Rejected as exc:
        raise TriggerError(exc.message, exc.offset + 1) from None
    if root is None:
        first = next((t for t in tokens if t.kind != "eos"), None)
        if first is None:
            raise TriggerError("the trigger is empty: it matches no event", 1)
        because = f": {reader.notes[0].text}" if reader.notes else ""
        raise TriggerError(
            f"Segment finds no condition it can read in the trigger{because}", first.column
        )
    if isinstance(root, Hole):
        raise TriggerError("the trigger is only '()': Segment finds no condition in it", 1)
    if not isinstance(root, Group):
        root = Group("and", (root,), root.start)
    return root, reader.notes


# --- What the trigger probably means -------------------------------------------------------------


class _NoIntent(Exception):
    pass


class _IntentReader:
    """A conventional reading of the same tokens: and/or in any case and before '(', nested
    parentheses, `!` negating what follows, `==`, single quotes stripped, leading and trailing
    `and`/`or` ignored. Within one level the last operator still wins (V205's business)."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = list(tokens)
        self.i = 0
        self.mixed_at: int | None = None

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def conjunction(self) -> str | None:
        t = self.token
        if t.kind == "conditional" or (t.kind == "ident" and t.text.lower() in ("and", "or")):
            return t.text.lower()
        return None

    def read(self) -> Node:
        while self.conjunction():
            self.i += 1
        node = self.expression()
        if self.token.kind != "eos":
            raise _NoIntent
        return node

    def expression(self) -> Node:
        start = self.token.start
        children = [self.term()]
        operators: list[tuple[str, Token]] = []
        while (word := self.conjunction()) is not None:
            at = self.token
            self.i += 1
            while (again := self.conjunction()) is not None:  # `or or`
                if again != word:
                    raise _NoIntent
                self.i += 1
            if self.token.kind in ("eos", "parenright"):
                break  # a trailing and/or
            operators.append((word, at))
            children.append(self.term())
        if len(children) == 1:
            return children[0]
        last = operators[-1][0]
        if any(w != last for w, _ in operators) and self.mixed_at is None:
            self.mixed_at = operators[-1][1].column
        return Group(last, tuple(children), start)

    def term(self) -> Node:
        t = self.token
        if t.kind == "operator" and t.text == "!":
            self.i += 1
            after = self.token
            if after.kind == "ident" and after.text in FUNCTIONS:
                return self.function(negate=True, start=t.start)
            return _negate(self.term())
        if t.kind == "parenleft":
            self.i += 1
            inner = self.expression()
            self.take("parenright")
            return inner
        if t.kind == "ident" and t.text in FUNCTIONS:
            return self.function(negate=False, start=t.start)
        if t.kind == "ident":
            return self.comparison()
        raise _NoIntent

    def take(self, kind: str) -> Token:
        t = self.token
        if t.kind != kind:
            raise _NoIntent
        self.i += 1
        return t

    def function(self, *, negate: bool, start: int) -> Node:
        name = self.take("ident").text
        self.take("parenleft")
        target = self.take("ident")
        self.take("comma")
        pattern = self.value()
        if pattern.kind != "string":
            raise _NoIntent
        self.take("parenright")
        if name == "match" and not _one_star(_token_value(pattern)):
            raise _NoIntent
        condition = build_function(name, target, pattern, negate=negate, start=start)
        if condition is None or (condition.name is not None and "." not in target.text):
            raise _NoIntent
        return condition

    def value(self) -> Token:
        t = self.token
        self.i += 1
        if t.kind == "string" and t.text.startswith("'"):
            if '"' in t.text:
                raise _NoIntent
            return Token("string", '"' + t.text[1:-1] + '"', t.start, t.end)
        if t.kind in ("string", "number", "null") or (
            t.kind == "ident" and t.text.lower() not in ("and", "or")
        ):
            return t
        raise _NoIntent

    def comparison(self) -> Node:
        target = self.take("ident")
        head = head_of(target)
        if head not in CONDITION_KINDS or (head in PATH_KINDS.values() and "." not in target.text):
            raise _NoIntent
        operator = self.take("operator")
        text = operator.text
        if self.token.kind == "operator" and self.token.text == "=" and text in ("=", "<", ">"):
            self.i += 1  # `==`, or `<=5` read by Segment as `<` then `=`
            text = "=" if text == "=" else text + "="
        if text not in COMPARISONS:
            raise _NoIntent
        value = self.value()
        return build_condition(target, Token("operator", text, operator.start, operator.end), value)


def _negate(node: Node) -> Node:
    if isinstance(node, Group):
        flipped = "or" if node.operator == "and" else "and"
        return Group(flipped, tuple(_negate(c) for c in node.children), node.start)
    if isinstance(node, Not):
        return node.child
    if isinstance(node, Condition) and node.operator in _NEGATED:
        return Condition(node.kind, _NEGATED[node.operator], node.value, node.name, node.start)
    return Not(node, node.start)


def read_intent(source: str) -> tuple[Node | None, int | None]:
    """A conventional reading of `source` (None when it has none), and the column of the last
    operator of the first level that mixes `and` and `or` (V205), if any."""
    try:
        tokens = lex(source)
    except TriggerError:
        return None, None
    reader = _IntentReader(tokens)
    try:
        return reader.read(), reader.mixed_at
    except (_NoIntent, IndexError):
        return None, reader.mixed_at


def normal(node: Node) -> Any:
    """A comparable form: single-child groups removed, same-operator groups merged, no columns."""
    if isinstance(node, Group):
        parts: list[Any] = []
        for child in node.children:
            shape = normal(child)
            if isinstance(shape, tuple) and shape[0] == node.operator:
                parts.extend(shape[1])
            else:
                parts.append(shape)
        if len(parts) == 1:
            return parts[0]
        return (node.operator, tuple(parts))
    if isinstance(node, Condition):
        value = node.value
        if value is NO_VALUE:
            value = "<none>"
        elif isinstance(value, float):
            value = ("number", jsvalue.to_string(value))
        return ("condition", node.kind, node.operator, node.name, value)
    if isinstance(node, Not):
        return ("not", normal(node.child))
    return ("hole",)


# --- Writing a reading back as FQL ---------------------------------------------------------------

_WORD_START = re.compile(r"[A-Za-z_]")
_WORD_REST = re.compile(r"[A-Za-z0-9_-]")
_PLAIN_OPERATOR = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_FUNCTION_OPERATORS = {
    "contains": ("contains", ""),
    "not_contains": ("contains", "!"),
    "starts_with": ("match", ""),
    "not_starts_with": ("match", "!"),
    "ends_with": ("match", ""),
    "not_ends_with": ("match", "!"),
}


def _path_segment(segment: str) -> str | None:
    if not segment:
        return None
    out = []
    for i, c in enumerate(segment):
        plain = _WORD_START.fullmatch(c) if i == 0 else _WORD_REST.fullmatch(c)
        out.append(c if plain else "\\" + c)
    if segment in ("and", "or", "null"):
        out[0] = "\\" + out[0]
    return "".join(out)


def _field_text(condition: Condition) -> str | None:
    if condition.kind in PATH_KINDS:
        assert condition.name is not None
        parts = [_path_segment(s) for s in condition.name.split(".")]
        if any(p is None for p in parts):
            return None
        return PATH_KINDS[condition.kind] + "." + ".".join(p for p in parts if p is not None)
    return "type" if condition.kind == "event-type" else condition.kind


def _string_text(value: Any) -> str | None:
    if not isinstance(value, str) or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return None
    if '"' not in value:
        return f'"{value}"'
    if re.fullmatch(r"'[^']*'", value):
        return value
    return None


def _number_text(value: float) -> str | None:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return None
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    text = jsvalue.to_string(value)
    return format(Decimal(repr(value)), "f") if "e" in text else text


def _value_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    return _string_text(value)


def _condition_text(c: Condition) -> str | None:
    target = _field_text(c)
    if target is None:
        return None
    op = c.operator
    if op in ("exists", "not_exists"):
        return f"{target} {'!=' if op == 'exists' else '='} null"
    if op in ("is_true", "is_false"):
        return f"{target} = {'true' if op == 'is_true' else 'false'}"
    if op in ("number_equals", "number_not_equals"):
        number = _number_text(c.value) if isinstance(c.value, float) else None
        sign = "=" if op == "number_equals" else "!="
        return None if number is None else f"{target} {sign} {number}"
    if op in _FUNCTION_OPERATORS:
        name, bang = _FUNCTION_OPERATORS[op]
        value = c.value
        if not isinstance(value, str):
            return None
        if op.endswith("starts_with"):
            pattern = _string_text(value + "*")
        elif op.endswith("ends_with"):
            pattern = None if value.endswith("*") else _string_text("*" + value)
        else:
            pattern = _string_text(value)
        return None if pattern is None else f"{bang}{name}({target}, {pattern})"
    if op not in COMPARISONS and not _PLAIN_OPERATOR.fullmatch(op):
        return None
    if (
        c.kind in PATH_KINDS
        and op in ("=", "!=")
        and (isinstance(c.value, float) or c.value is True or c.value is False)
    ):
        return None  # written plainly this would read as number_equals or is_true
    if op in ("=", "!=") and c.value == "null" and c.kind != "event-type" and c.kind != "event":
        value_text: str | None = '"null"'
    else:
        value_text = _value_text(c.value) if c.kind in PATH_KINDS else _string_text(c.value)
    return None if value_text is None else f"{target} {op} {value_text}"


def render(node: Node, top: bool = True) -> str | None:
    """FQL for `node` as written by hand (None when FQL cannot say it); see exact_render."""
    if isinstance(node, Condition):
        return _condition_text(node)
    if isinstance(node, Hole):
        return None if top else "()"
    if isinstance(node, Not):
        return None
    parts = []
    for child in node.children:
        if isinstance(child, Group) and len(child.children) > 1:
            if not top:
                return None
            inner = render(child, top=False)
            if inner is None:
                return None
            parts.append(f"({inner})")
        else:
            only = child.children[0] if isinstance(child, Group) else child
            text = render(only, top=False)
            if text is None:
                return None
            parts.append(text)
    return f" {node.operator} ".join(parts)


def exact_render(node: Node) -> str | None:
    """FQL that Segment reads as exactly `node` (checked by reading it back), or None."""
    text = render(node)
    if text is None:
        return None
    try:
        again, _ = read_segment(text)
    except TriggerError:
        return None
    return text if normal(again) == normal(node) else None


def describe(node: Node) -> str:
    """A node for a person: FQL where FQL can say it, a listing of the node otherwise."""
    text = render(node)
    if text is not None:
        return text
    if isinstance(node, Condition):
        shown = node.as_segment()
        return (
            "{"
            + ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())
            + "}"
        )
    if isinstance(node, Group):
        return "(" + f" {node.operator} ".join(describe(c) for c in node.children) + ")"
    if isinstance(node, Not):
        return f"not {describe(node.child)}"
    return "()"


# --- Applying a trigger to an event --------------------------------------------------------------


def _get(holder: Any, path: str) -> Any:
    """destination-subscriptions' get(): `path` split on `.`, `[` and `]`, walked with `&&`."""
    if not path:
        return UNDEFINED
    keys = re.findall(r"[^\[.\]]+", path)
    if not keys:
        raise TriggerFailure(f"the field path {path!r} has no name in it")
    value = holder
    for key in keys:
        if jsvalue.truthy(value):
            value = jsvalue.member(value, key)
    return value


def _field_value(condition: Condition, event: Any) -> Any:
    if condition.kind in PATH_KINDS:
        assert condition.name is not None
        return _get(jsvalue.member(event, PATH_KINDS[condition.kind]), condition.name)
    return jsvalue.member(event, "type" if condition.kind == "event-type" else condition.kind)


def compare(actual: Any, operator: str, expected: Any) -> bool:
    """validate.ts's validateValue: a field's value (JSON, or UNDEFINED) against a condition."""
    if operator in ("=", "!="):
        same = isinstance(actual, str) and actual == jsvalue.to_string(expected)
        return same if operator == "=" else not same
    if operator in ("number_equals", "number_not_equals", "<", "<=", ">", ">="):
        if not jsvalue.is_number(actual):
            return False
        a, b = jsvalue.as_double(actual), jsvalue.to_number(expected)
        if operator == "number_equals":
            return a == b
        if operator == "number_not_equals":
            return a != b
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]
    if operator in _FUNCTION_OPERATORS:
        if not isinstance(actual, str):
            return False
        text = jsvalue.to_string(expected)
        base = operator.removeprefix("not_")
        if base == "contains":
            hit = text in actual
        elif base == "starts_with":
            hit = jsvalue.utf16(actual).startswith(jsvalue.utf16(text))
        else:
            hit = jsvalue.utf16(actual).endswith(jsvalue.utf16(text))
        return hit if base == operator else not hit
    if operator in ("exists", "not_exists"):
        present = actual is not UNDEFINED and actual is not None
        return present if operator == "exists" else not present
    if operator in ("is_true", "is_false"):
        return actual is (operator == "is_true")
    return False


def evaluate_event(node: Node, event: Any) -> bool:
    """Does `event` pass `node`, as the runtime decides (raises TriggerFailure where it throws).

    Groups stop at the first deciding child, as JavaScript's every()/some() do."""
    if isinstance(node, Group):
        results = (evaluate_event(child, event) for child in node.children)
        return all(results) if node.operator == "and" else any(results)
    if isinstance(node, Hole):
        raise TriggerFailure("the trigger's '()' is an empty condition")
    if isinstance(node, Not):
        return not evaluate_event(node.child, event)
    return compare(_field_value(node, event), node.operator, node.value)


# --- What a trigger lets through -----------------------------------------------------------------


class Reach(str, Enum):
    """How many events of one type a trigger lets through."""

    ALL = "all"
    SOME = "some"  # depends on other fields of the event
    NONE = "none"


PASS, FAIL, THROW = "pass", "fail", "throw"


def outcomes(node: Node, message_type: str) -> frozenset[str]:
    """What the runtime can decide for events of `message_type`: a subset of PASS, FAIL and
    THROW (its evaluator throws, so the event is not delivered).

    Groups are followed left to right and stop at the first deciding child, as every()/some()
    do. Known of every event: its `type`, and that identify and group carry no `event`
    (Segment's Spec); anything else may go either way.
    """
    if isinstance(node, Group):
        stop, go_on = (FAIL, PASS) if node.operator == "and" else (PASS, FAIL)
        out: set[str] = set()
        for child in node.children:
            found = outcomes(child, message_type)
            out |= found & {stop, THROW}
            if go_on not in found:
                return frozenset(out)
        return frozenset(out | {go_on})
    if isinstance(node, Hole):
        return frozenset({THROW})
    if isinstance(node, Not):
        swap = {PASS: FAIL, FAIL: PASS, THROW: THROW}
        return frozenset(swap[o] for o in outcomes(node.child, message_type))
    if node.name and not re.search(r"[^\[.\]]", node.name):
        return frozenset({THROW})  # get() finds no key in the path and throws
    value = _known(node, message_type)
    if value is None:
        return frozenset({PASS, FAIL})
    return frozenset({PASS if value else FAIL})


def _known(node: Condition, message_type: str) -> bool | None:
    if node.operator not in _KNOWN_OPERATORS:
        return False
    if node.operator in _NUMERIC_OPERATORS and math.isnan(jsvalue.to_number(node.value)):
        return False
    if node.kind == "event-type":
        return compare(message_type, node.operator, node.value)
    if node.kind == "event" and message_type != "track":
        return compare(UNDEFINED, node.operator, node.value)
    return None


def evaluate(node: Node, message_type: str) -> bool | None:
    """True: every event of `message_type` passes `node`; False: none does; None: it depends."""
    found = outcomes(node, message_type)
    if found == {PASS}:
        return True
    return None if PASS in found else False


def _may_fail(node: Node) -> bool:
    if isinstance(node, Group):
        return any(_may_fail(c) for c in node.children)
    if isinstance(node, Hole):
        return True
    if isinstance(node, Condition) and node.name:
        return not re.search(r"[^\[.\]]", node.name)
    return False


@dataclass(frozen=True)
class Trigger:
    """A trigger as Segment reads it, what it lets through, and where that departs from what it
    seems to say.

    `root`: Segment's reading. `reach`: identify, group and track -> all/some/none. `notes`:
    (column, text) where the reading skips or bends a token. `intent`: a conventional reading
    of the same text (None when it has none). `mixed_at`: column of the operator that decides a
    level mixing and/or. `fails`: the runtime throws on events that reach part of it.
    """

    source: str
    root: Group
    reach: dict[str, Reach] = field(default_factory=dict)
    notes: tuple[tuple[int, str], ...] = ()
    intent: Node | None = None
    mixed_at: int | None = None
    fails: bool = False

    def lets_through(self, message_type: str) -> bool:
        return self.reach[message_type] is not Reach.NONE

    def matches(self, event: Any) -> bool:
        """Does Segment's runtime let `event` (a parsed JSON message) through?

        Raises TriggerFailure where the runtime's evaluator throws."""
        return evaluate_event(self.root, event)

    @property
    def reading(self) -> str:
        """Segment's reading, as FQL where FQL can say it."""
        return describe(self.root)

    @property
    def misread(self) -> bool:
        """Segment's reading differs from the conventional one (or, without one, Segment skips
        or bends tokens)."""
        if self.intent is not None:
            return bool(normal(self.intent) != normal(self.root))
        return bool(self.notes)

    @property
    def fix(self) -> str | None:
        """FQL that Segment reads as the conventional reading (None: none, or FQL cannot say it)."""
        return None if self.intent is None else exact_render(self.intent)


@lru_cache(maxsize=4096)  # a destination's subscriptions often share a trigger
def parse_trigger(source: str) -> Trigger:
    """Read an FQL trigger as Segment does and work out what it lets through.

    Raises TriggerError (1-based column, the reason, and a corrected trigger for a known slip)
    when Segment rejects it.
    The result is cached and shared: treat it as read-only.
    """
    root, notes = read_segment(source)
    intent, mixed_at = read_intent(source)
    fails = _may_fail(root)
    reach = {}
    for message_type in CHECKED_TYPES:
        value = evaluate(root, message_type)
        reach[message_type] = (
            Reach.ALL if value is True else Reach.NONE if value is False else Reach.SOME
        )
    notes_shown = tuple((n.column, n.text) for n in notes)
    return Trigger(source, root, reach, notes_shown, intent, mixed_at, fails)


def repair(source: str, attempts: int = 8) -> str | None:
    """`source` with the slips Segment rejects corrected (`!="x"`, `traits.x< 5`,
    `! contains(...)`), when that is all that stops it; else None."""
    text = source
    for _ in range(attempts):
        try:
            read_segment(text)
        except TriggerError as exc:
            if exc.fix is None:
                return None
            text = exc.fix
            continue
        return text if text != source else None
    return None


def trigger_for(event_types: Sequence[str]) -> str:
    """The FQL trigger that lets exactly `event_types` through, as Segment's UI writes it."""
    return " or ".join(f'type = "{t}"' for t in event_types)


def iter_conditions(node: Node) -> Iterator[Condition]:
    """Every condition in `node`, left to right."""
    if isinstance(node, Group):
        for child in node.children:
            yield from iter_conditions(child)
    elif isinstance(node, Not):
        yield from iter_conditions(node.child)
    elif isinstance(node, Condition):
        yield node
