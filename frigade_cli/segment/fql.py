"""Segment's trigger language (FQL) as the Actions runtime reads it: tokenizer, parser, evaluation.

A subscription's `trigger` decides which events reach an action. This module parses it with its
own tokenizer and a recursive-descent parser, then decides, for each of identify, group and
track, whether the trigger lets all, some or none of those events through.

Grammar (what Segment's Actions runtime accepts; segmentio/action-destinations,
packages/destination-subscriptions/src/parse-fql.ts, on the @segment/fql-ts lexer)::

    expression := operand (("and" | "or") operand)*
    operand    := comparison | function | "!" function | "(" expression ")"
    comparison := field ("=" | "!=" | "<" | "<=" | ">" | ">=") value
    function   := ("contains" | "match") "(" field "," string ")"
    field      := type | event | name | userId | (context | properties | traits) ("." segment)*
    value      := string | number | true | false | null

Behaviour of the runtime this module reproduces, because it changes what a trigger means:
- the last-operator quirk: within one level of parentheses every condition is combined with the
  *last* `and`/`or` written at that level (`a and b or c` means `a or b or c`);
- strings lose their double quotes only: a single-quoted value keeps its quotes, so
  `type = 'track'` compares the type with `'track'` (quotes included) and never matches;
- comparisons are on `String(actual)`, `<`/`>` on `Number(...)`; a missing field is the string
  `undefined`; `contains()`/`match()` are false on a field that is not a string.

What the runtime silently ignores or fails on is refused here with the column, so a linter can
say so: a nested parenthesis (the runtime reads a group up to the first `)` and fails), a `!`
before anything but `contains()`/`match()` (dropped), a field it does not filter on (dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

CHECKED_TYPES = ("identify", "group", "track")  # the types Frigade's mapping needs
ROOT_FIELDS = ("type", "event", "name", "userId")
PATH_FIELDS = ("context", "properties", "traits")
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
FUNCTIONS = ("contains", "match")


class TriggerError(ValueError):
    """A trigger the Actions runtime cannot use; `column` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Token:
    """One lexical unit; `column` is 1-based."""

    kind: str  # ident, string, number, op, not, conj, null, lparen, rparen, comma, eos
    text: str
    column: int


def tokenize(source: str) -> list[Token]:
    """The tokens of `source`, ending with an `eos` token. Raises TriggerError."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "(),":
            kind = {"(": "lparen", ")": "rparen", ",": "comma"}[ch]
            tokens.append(Token(kind, ch, col))
            i += 1
        elif ch == "!":
            if source.startswith("!=", i):
                tokens.append(Token("op", "!=", col))
                i += 2
            else:
                tokens.append(Token("not", "!", col))
                i += 1
        elif ch in "<>":
            op = source[i : i + 2] if source.startswith("=", i + 1) else ch
            tokens.append(Token("op", op, col))
            i += len(op)
        elif ch == "=":
            if source.startswith("==", i):
                raise TriggerError("'==' is not FQL: compare with a single '='", col)
            tokens.append(Token("op", "=", col))
            i += 1
        elif ch in "\"'":
            end = source.find(ch, i + 1)
            if end < 0:
                raise TriggerError(f"unterminated string: add the closing {ch}", col)
            tokens.append(Token("string", source[i : end + 1], col))
            i = end + 1
        elif ch.isdigit() or (ch in "+-" and i + 1 < n and source[i + 1].isdigit()):
            j = i + 1
            while j < n and (source[j].isdigit() or source[j] == "."):
                j += 1
            text = source[i:j]
            if text.count(".") > 1 or text.endswith("."):
                raise TriggerError(f"malformed number {text!r}", col)
            tokens.append(Token("number", text, col))
            i = j
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (source[j].isalnum() or source[j] in "_-$."):
                j += 1
            text = source[i:j]
            if text.endswith(".") or ".." in text:
                raise TriggerError(f"malformed field path {text!r}", col)
            kind = {"and": "conj", "or": "conj", "null": "null"}.get(text, "ident")
            tokens.append(Token(kind, text, col))
            i = j
        else:
            raise TriggerError(f"unexpected character {ch!r}", col)
    tokens.append(Token("eos", "", n + 1))
    return tokens


Value = str | float | bool | None


@dataclass(frozen=True)
class Comparison:
    """`field op value`; `value_text` is the token as written."""

    field: str
    op: str
    value: Value
    value_text: str
    column: int


@dataclass(frozen=True)
class FunctionCall:
    """`contains(field, "x")` or `match(field, "x*")`, possibly negated with `!`."""

    name: str
    field: str
    pattern: str
    negated: bool
    column: int


@dataclass(frozen=True)
class Group:
    """Conditions combined with one operator: the last `and`/`or` written at this level."""

    operator: str
    children: tuple[Node, ...]
    column: int
    mixed_at: int | None = None  # column of the operator that overrides an earlier, different one


Node = Comparison | FunctionCall | Group


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def take(self, kind: str, what: str) -> Token:
        token = self.token
        if token.kind != kind:
            found = "the end" if token.kind == "eos" else repr(token.text)
            raise TriggerError(f"expected {what}, found {found}", token.column)
        self.pos += 1
        return token

    def expression(self) -> Group:
        start = self.token.column
        children = [self.operand()]
        operators: list[Token] = []
        while self.token.kind == "conj":
            operators.append(self.token)
            self.pos += 1
            children.append(self.operand())
        operator = operators[-1].text if operators else "and"
        mixed = any(t.text != operator for t in operators)
        return Group(operator, tuple(children), start, operators[-1].column if mixed else None)

    def operand(self) -> Node:
        token = self.token
        if token.kind == "lparen":
            if self.depth >= 1:
                raise TriggerError(
                    "nested parentheses: Segment's Actions runtime reads a group up to the "
                    "first ')' and fails; rewrite without nesting",
                    token.column,
                )
            self.pos += 1
            self.depth += 1
            inner = self.expression()
            self.take("rparen", "')'")
            self.depth -= 1
            return inner
        if token.kind == "not":
            self.pos += 1
            if self.token.kind == "ident" and self.token.text in FUNCTIONS:
                return self.function(negated=True, column=token.column)
            raise TriggerError(
                "'!' only negates contains() or match() in Segment's Actions runtime; "
                "elsewhere it is silently dropped (use != instead)",
                token.column,
            )
        if token.kind == "ident" and token.text in FUNCTIONS and self.peek_kind() == "lparen":
            return self.function(negated=False, column=token.column)
        if token.kind == "ident":
            return self.comparison()
        if token.kind == "eos":
            raise TriggerError("expected a condition, found the end", token.column)
        raise TriggerError(f"expected a condition, found {token.text!r}", token.column)

    def peek_kind(self) -> str:
        return self.tokens[self.pos + 1].kind

    def field(self) -> Token:
        token = self.take("ident", "a field such as type or event")
        root = token.text.split(".", 1)[0]
        if token.text in ROOT_FIELDS or (root in PATH_FIELDS and "." in token.text):
            return token
        known = ", ".join([*ROOT_FIELDS, *(f"{p}.*" for p in PATH_FIELDS)])
        raise TriggerError(
            f"Segment's Actions runtime does not filter on {token.text!r} (it filters on "
            f"{known}); the condition would be ignored",
            token.column,
        )

    def comparison(self) -> Comparison:
        name = self.field()
        op = self.take("op", "a comparison (= != < <= > >=)")
        token = self.token
        if token.kind not in ("string", "number", "null") and not (
            token.kind == "ident" and token.text in ("true", "false")
        ):
            found = "the end" if token.kind == "eos" else repr(token.text)
            raise TriggerError(f"expected a value after {op.text!r}, found {found}", token.column)
        self.pos += 1
        return Comparison(name.text, op.text, _value(token), token.text, name.column)

    def function(self, *, negated: bool, column: int) -> FunctionCall:
        name = self.take("ident", "contains or match")
        self.take("lparen", f"'(' after {name.text}")
        argument = self.field()
        if argument.text == "type":
            raise TriggerError(
                f"{name.text}() on type is ignored by Segment's Actions runtime; compare with "
                "= or != instead",
                argument.column,
            )
        self.take("comma", "','")
        pattern = self.take("string", "a quoted string")
        self.take("rparen", "')'")
        return FunctionCall(name.text, argument.text, pattern.text, negated, column)


def _value(token: Token) -> Value:
    if token.kind == "string":
        # The runtime strips double quotes only; single quotes stay part of the value.
        return token.text[1:-1] if token.text.startswith('"') else token.text
    if token.kind == "number":
        return float(token.text)
    if token.kind == "null":
        return None
    return token.text == "true"


class Reach(str, Enum):
    """How many events of one type a trigger lets through."""

    ALL = "all"
    SOME = "some"  # depends on other fields of the event
    NONE = "none"


@dataclass(frozen=True)
class Trigger:
    """A parsed trigger and what it lets through."""

    source: str
    root: Group
    reach: dict[str, Reach] = field(default_factory=dict)
    notes: tuple[tuple[int, str], ...] = ()

    @property
    def mixed_at(self) -> int | None:
        """Column of the first `and`/`or` that silently overrides a different one, if any."""
        return _first_mixed(self.root)

    def lets_through(self, message_type: str) -> bool:
        return self.reach[message_type] is not Reach.NONE


@lru_cache(maxsize=4096)  # a destination's subscriptions often share a trigger
def parse_trigger(source: str) -> Trigger:
    """Parse an FQL trigger and evaluate it for identify, group and track.

    Raises TriggerError (with a 1-based column) when the Actions runtime could not use it.
    The result is cached and shared: treat it as read-only.
    """
    if not source.strip():
        raise TriggerError("the trigger is empty: it matches no event", 1)
    parser = _Parser(tokenize(source))
    root = parser.expression()
    if parser.token.kind == "rparen":
        raise TriggerError("unbalanced ')'", parser.token.column)
    if parser.token.kind != "eos":
        raise TriggerError(
            f"expected 'and', 'or' or the end, found {parser.token.text!r}", parser.token.column
        )
    reach = {t: _reach(evaluate(root, t)) for t in CHECKED_TYPES}
    return Trigger(source, root, reach, tuple(_notes(root)))


def _reach(value: bool | None) -> Reach:
    return Reach.ALL if value is True else Reach.NONE if value is False else Reach.SOME


def evaluate(node: Node, message_type: str) -> bool | None:
    """Kleene three-valued truth of `node` for every event of `message_type`.

    True: every such event passes; False: none does; None: it depends on the event's other
    fields. Sound: False here means no event of that type can pass.
    """
    if isinstance(node, Group):
        values = [evaluate(child, message_type) for child in node.children]
        if node.operator == "and":
            if any(v is False for v in values):
                return False
            return True if all(v is True for v in values) else None
        if any(v is True for v in values):
            return True
        return False if all(v is False for v in values) else None
    actual = _known_field(node.field, message_type)
    if actual is _UNKNOWN:
        return None
    if isinstance(node, FunctionCall):
        # A missing field is not a string: both the function and its negation are false.
        return False
    return _compare(actual, node.op, node.value)


_UNKNOWN = object()


def _known_field(name: str, message_type: str) -> object:
    """The field's value when it is the same for every event of the type, else _UNKNOWN."""
    if name == "type":
        return message_type
    if name == "event" and message_type != "track":
        return None  # identify and group carry no `event`
    return _UNKNOWN


def _js_string(value: object) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _compare(actual: object, op: str, expected: Value) -> bool:
    # parse-fql turns a `null` value into the string "null" for type and event.
    expected_text = "null" if expected is None else _js_string(expected)
    if op == "=":
        return _js_string(actual) == expected_text
    if op == "!=":
        return _js_string(actual) != expected_text
    # Number("identify") and Number(undefined) are NaN: every ordering comparison is false.
    return False


def _first_mixed(node: Node) -> int | None:
    if not isinstance(node, Group):
        return None
    if node.mixed_at is not None:
        return node.mixed_at
    for child in node.children:
        found = _first_mixed(child)
        if found is not None:
            return found
    return None


def _notes(node: Node) -> list[tuple[int, str]]:
    if isinstance(node, Group):
        return [note for child in node.children for note in _notes(child)]
    if isinstance(node, Comparison) and node.value_text.startswith("'"):
        return [
            (
                node.column,
                f"{node.value_text} keeps its single quotes in Segment's Actions runtime and "
                f'never matches; write "{node.value_text[1:-1]}"',
            )
        ]
    return []
