"""A seeded corpus of FQL triggers and Segment messages, for the differential with Segment's code.

Each generated trigger comes as (written, intended): `intended` is the clean FQL of what the
writer meant, `written` the same with the slips people make (upper-case OR, `or(`, a trailing
`and`, `!(...)`, `!=` or `<` without their space, `! contains`, `==`, single quotes, stray
words, nested parentheses, tabs and newlines). A share of the corpus is token soup instead, to
probe the parser where no intention exists (`intended` is None).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

TYPES = ("identify", "group", "track", "page", "screen", "alias")
ROOT_FIELDS = ("type", "event", "name", "userId")
HEADS = ("properties", "traits", "context")
PATHS = (
    "plan",
    "price",
    "count",
    "flag",
    "tags",
    "a.b",
    "library.name",
    "items.0",
    "empty",
    "missing",
    "nested.deep.x",
    "tags.length",
)
STRINGS = (
    "identify",
    "group",
    "track",
    "page",
    "Signed Up",
    "Order Completed",
    "pro",
    "free",
    "",
    "null",
    "true",
    "5",
    "abc",
    "Ünï",
    "a b",
    "analytics.js",
)
WORDS = ("identify", "group", "track", "page", "pro", "free", "abc", "Signed")
NUMBERS = ("0", "5", "-1.5", "100", "10.0", "007", "-0", "2.5", "-")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Case:
    """One trigger: as written, as meant (None for token soup), and how it was made."""

    written: str
    intended: str | None
    slips: tuple[str, ...]

    @property
    def slips_beyond_repair(self) -> bool:
        """Slips other than the missing or extra spaces Segment rejects (those a fix mends)."""
        mended = {"no-space-after-!=", "no-space-before-op", "space-after-!"}
        return any(s not in mended for s in self.slips)


class _Maker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.slips: list[str] = []

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def slip(self, name: str, p: float) -> bool:
        if self.chance(p):
            self.slips.append(name)
            return True
        return False

    def field(self) -> str:
        if self.chance(0.55):
            return self.rng.choice(ROOT_FIELDS)
        return f"{self.rng.choice(HEADS)}.{self.rng.choice(PATHS)}"

    def value(self, field: str) -> tuple[str, str]:
        """(written, intended) value text."""
        r = self.rng
        word = r.choice(TYPES) if field == "type" and self.chance(0.6) else r.choice(STRINGS)
        roll = r.random()
        if roll < 0.55:
            text = f'"{word}"'
            if '"' not in word and "'" not in word and self.slip("single-quotes", 0.06):
                return f"'{word}'", text
            return text, text
        if roll < 0.7:
            text = r.choice(NUMBERS)
            return text, text
        if roll < 0.8:
            text = r.choice(("true", "false"))
            return text, text
        if roll < 0.9:
            return "null", "null"
        text = r.choice(WORDS)  # unquoted: a plain word is a string to Segment
        return text, text

    def comparison(self) -> tuple[str, str, bool]:
        """(written, intended, negatable)."""
        field = self.field()
        op = self.rng.choice(OPERATORS)
        written_value, value = self.value(field)
        intended = f"{field} {op} {value}"
        written_op = op
        spaced_after = " "
        spaced_before = " "
        if op == "!=" and self.slip("no-space-after-!=", 0.08):
            spaced_after = ""
        if op in ("<", ">", "<=", ">=") and self.slip("no-space-after-<=", 0.05):
            spaced_after = ""
        if self.slip("no-space-before-op", 0.05):
            spaced_before = ""
        if op == "=" and self.slip("==", 0.03):
            written_op = "=="
        written = f"{field}{spaced_before}{written_op}{spaced_after}{written_value}"
        # `!(x = v)` means `x != v` exactly only for a string value: `= 5`, `= true` and
        # `= null` become number_equals, is_true and not_exists, whose negations FQL cannot write.
        plain = value.startswith('"') or value in WORDS
        return written, intended, op in ("=", "!=") and plain

    def function(self) -> tuple[str, str]:
        r = self.rng
        name = r.choice(("contains", "match"))
        target = self.field()
        if target == "type" and self.chance(0.7):
            target = "event"
        word = r.choice(STRINGS)
        if name == "match":
            word = (word + "*") if self.chance(0.5) else ("*" + word)
            if self.slip("match-without-star", 0.05):
                word = word.strip("*") or "x"
        pattern = f'"{word}"'
        negated = self.chance(0.3)
        intended = f"{'!' if negated else ''}{name}({target}, {pattern})"
        bang = "!"
        if negated and self.slip("space-after-!", 0.12):
            bang = "! "
        written = f"{bang if negated else ''}{name}({target}, {pattern})"
        return written, intended

    def atom(self) -> tuple[str, str]:
        if self.chance(0.25):
            return self.function()
        written, intended, negatable = self.comparison()
        if negatable and self.slip("!(...)", 0.06):
            flipped = intended.replace(" != ", " = ", 1) if " != " in intended else None
            flipped = flipped or intended.replace(" = ", " != ", 1)
            return f"!({written})", flipped
        if self.slip("unknown-field", 0.02):
            return f"groupId = {self.rng.choice(WORDS)} and {written}", intended
        return written, intended

    def conjunction(self, op: str, before_paren: bool) -> tuple[str, str]:
        r = self.rng
        written = op
        if self.slip("upper-case", 0.08):
            written = op.upper() if self.chance(0.8) else op.capitalize()
        if self.slip("doubled", 0.02):
            written = f"{written} {written}"
        if before_paren and self.slip("or(", 0.25):
            return f" {written}", f" {op} "
        space = r.choice((" ", " ", " ", "\t", "\n", "  "))
        return f"{space}{written}{space if space != chr(10) else ' '}", f" {op} "

    def expression(self, depth: int) -> tuple[str, str]:
        r = self.rng
        count = r.choice((1, 1, 2, 2, 2, 3, 4))
        op = r.choice(("and", "or"))
        parts = [self.term(depth) for _ in range(count)]
        written, intended = parts[0]
        for part_written, part_intended in parts[1:]:
            this = ("or" if op == "and" else "and") if self.slip("mixed", 0.03) else op
            w_conj, i_conj = self.conjunction(this, part_written.startswith("("))
            written += w_conj + part_written
            intended += i_conj + part_intended
        if self.slip("trailing", 0.06):
            trailing = r.choice(("and", "or"))
            written += f" {trailing}"
        if depth == 0 and self.slip("leading", 0.02):
            written = f"{r.choice(('and', 'or'))} {written}"
        return written, intended

    def term(self, depth: int) -> tuple[str, str]:
        if depth < 2 and self.chance(0.22 if depth == 0 else 0.1):
            written, intended = self.expression(depth + 1)
            return f"({written})", f"({intended})"
        return self.atom()


_SOUP = (
    "type",
    "event",
    "name",
    "userId",
    "properties.plan",
    "traits.count",
    "context.library.name",
    "properties",
    "groupId",
    "toString",
    "contains",
    "match",
    "and",
    "or",
    "AND",
    "OR",
    "null",
    "true",
    "=",
    "!=",
    "<",
    ">=",
    "!",
    "(",
    ")",
    ",",
    ".",
    "[",
    "]",
    '"track"',
    '"a*"',
    "'x'",
    "5",
    "-",
    "1.5",
    "identify",
    "nu",
    "an",
    "\\a",
    "#",
)


def _soup(rng: random.Random) -> str:
    tokens = [rng.choice(_SOUP) for _ in range(rng.randint(1, 9))]
    out = ""
    for token in tokens:
        out += token + rng.choice(("", " ", " ", " ", "\t"))
    return out.rstrip(" ") if rng.random() < 0.7 else out


def triggers(seed: int, count: int) -> list[Case]:
    """`count` cases from `seed`: most of them generated with their intention, 15% token soup."""
    rng = random.Random(seed)
    out: list[Case] = []
    while len(out) < count:
        if rng.random() < 0.15:
            out.append(Case(_soup(rng), None, ("soup",)))
            continue
        maker = _Maker(rng)
        written, intended = maker.expression(0)
        out.append(Case(written, intended, tuple(maker.slips)))
    return out


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice((*STRINGS, "Signed Up v2", "xyz", "abcdef"))
    if roll < 0.55:
        return rng.choice((0, 5, -1.5, 100, 10.0, 7, 2.5, 1e21, -0.0, 3))
    if roll < 0.65:
        return rng.choice((True, False))
    if roll < 0.72:
        return None
    if roll < 0.85 and depth < 2:
        return {k: _random_value(rng, depth + 1) for k in rng.sample(("b", "x", "deep", "0"), 2)}
    if depth < 2:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return "leaf"


def _bag(rng: random.Random) -> Any:
    if rng.random() < 0.04:
        return rng.choice(("a string", 5, [1, 2]))
    names = ("plan", "price", "count", "flag", "tags", "a", "items", "empty", "nested")
    keys = rng.sample(names, 4)
    bag = {key: _random_value(rng) for key in keys}
    if "nested" in bag and rng.random() < 0.5:
        bag["nested"] = {"deep": {"x": _random_value(rng)}}
    if "a" in bag and rng.random() < 0.5:
        bag["a"] = {"b": rng.choice(STRINGS)}
    if "empty" in bag:
        bag["empty"] = rng.choice(("", 0, None, False, []))
    return bag


def events(seed: int, per_type: int) -> list[dict[str, Any]]:
    """`per_type` Spec-shaped messages of each of the six types (identify and group never carry
    `event`), with varied userId, names, properties, traits and context."""
    rng = random.Random(seed)
    out = []
    for message_type in TYPES:
        for n in range(per_type):
            event: dict[str, Any] = {"type": message_type, "messageId": f"m-{message_type}-{n}"}
            roll = rng.random()
            if roll < 0.7:
                event["userId"] = rng.choice(("user-1", "u2", "", "null", "true", "abc"))
            elif roll < 0.8:
                event["userId"] = None
            event["anonymousId"] = f"anon-{n}"
            if rng.random() < 0.8:
                event["context"] = {
                    "library": {"name": rng.choice(("analytics.js", "analytics-node", ""))},
                    "plan": _random_value(rng),
                    "count": rng.choice((0, 1, 5, "5")),
                }
            if message_type == "track":
                event["event"] = rng.choice((*STRINGS, "Order Completed v2", "Signed Up"))
                event["properties"] = _bag(rng)
            elif message_type in ("identify", "group"):
                event["traits"] = _bag(rng)
                if message_type == "group":
                    event["groupId"] = f"g-{n}"
            elif message_type in ("page", "screen"):
                if rng.random() < 0.8:
                    event["name"] = rng.choice((*STRINGS, "Home", "Pricing"))
                event["properties"] = _bag(rng)
            else:
                event["previousId"] = f"prev-{n}"
            out.append(event)
    return out
