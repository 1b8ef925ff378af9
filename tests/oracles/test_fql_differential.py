"""`validate`'s trigger handling against Segment's own parser and evaluator, on a seeded corpus.

For every generated trigger, Segment's code (`parseFql` + `validate` of
@segment/destination-subscriptions, run in Node) is the oracle for:
- whether Segment accepts it, and the exact tree it reads;
- for every message of the corpus (six types, varied fields), whether it goes through;
- the product's certain verdicts (identify/group/track: all or none get through);
- the findings: a trigger Segment rejects is an error (V115), one it accepts is never called
  unparseable, one whose meaning a slip changed is reported (V205/V206), and every reading and
  fix the product writes reads back in Segment as claimed.
Every disagreement is printed, shrunk to a minimal trigger.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from frigade_cli.segment import fql
from frigade_cli.segment.mapping import WebhookMapping
from frigade_cli.segment.rules.trigger import check_trigger
from tests.oracles import fql_corpus
from tests.oracles.harness import Oracle, Oracles

SEED = int(os.environ.get("FQL_DIFFERENTIAL_SEED", "14014"))
TRIGGERS = int(os.environ.get("FQL_DIFFERENTIAL_TRIGGERS", "1500"))
EVENTS_PER_TYPE = 12


def seg_normal(ast: Any) -> Any:
    """Segment's tree (JSON) in a comparable form: groups flattened, numbers as floats."""
    if ast is None:
        return ("hole",)
    if ast.get("type") == "group":
        parts: list[Any] = []
        for child in ast["children"]:
            shape = seg_normal(child)
            if isinstance(shape, tuple) and shape[0] == ast["operator"]:
                parts.extend(shape[1])
            else:
                parts.append(shape)
        return parts[0] if len(parts) == 1 else (ast["operator"], tuple(parts))
    value = ast.get("value", "<none>")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = ("number", float(value))
    return ("condition", ast["type"], ast["operator"], ast.get("name"), value)


def same_tree(a: Any, b: Any) -> bool:
    """Two JSON trees equal, with 5 == 5.0 but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_tree(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def product_match(trigger: fql.Trigger, event: dict[str, Any]) -> Any:
    try:
        return trigger.matches(event)
    except fql.TriggerFailure:
        return "throws"


def oracle_match(answer: Any) -> Any:
    return "throws" if isinstance(answer, dict) else answer


class Differential:
    """Compares one trigger; `problems` lists (kind, detail) for each disagreement."""

    def __init__(self, oracle: Oracle, events: list[dict[str, Any]]) -> None:
        self.oracle = oracle
        self.events = events
        self.counts: Counter[str] = Counter()

    def ask(self, triggers: list[str], with_events: bool = True) -> list[dict[str, Any]]:
        evs = self.events if with_events else []
        return self.oracle.map([{"trigger": t, "events": evs} for t in triggers])

    def problems(
        self,
        case: fql_corpus.Case,
        answer: dict[str, Any],
        extra: dict[str, dict[str, Any]],
        count: bool = False,
    ) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        tally: Callable[[str], None] = self.counts.update if count else (lambda _: None)  # type: ignore[assignment]
        written = case.written
        rejected = answer["error"] is not None
        findings, _ = check_trigger(WebhookMapping(trigger=written))
        try:
            trigger: fql.Trigger | None = fql.parse_trigger(written)
            mine_error = None
        except fql.TriggerError as exc:
            trigger, mine_error = None, exc
        if rejected:
            tally(["segment rejects"])
            if trigger is not None:
                out.append(("accepted what Segment rejects", f"Segment: {answer['error']}"))
            if not any(f.code == "V115" and f.severity == "error" for f in findings):
                out.append(("Segment rejects, no error finding", str([f.code for f in findings])))
            fixed = fql.repair(written)
            if fixed is not None:
                tally(["rejected, with a fix"])
                back = extra.get(fixed)
                if back is None or back["error"] is not None:
                    out.append(("the fix for a rejected trigger is rejected too", fixed))
                elif self.meant(case, extra) is not None and not case.slips_beyond_repair:
                    tally(["rejected, the fix says what was meant"])
                    if seg_normal(back["ast"]) != self.meant(case, extra):
                        out.append(("the fix for a rejected trigger says something else", fixed))
            return out
        tally(["segment accepts"])
        if trigger is None:
            out.append(("rejected what Segment accepts", str(mine_error)))
            return out
        if any(f.code == "V115" for f in findings):
            out.append(("Segment accepts, product says it does not parse", str(findings)))
        if not same_tree(trigger.root.as_segment(), answer["ast"]):
            out.append(("a different tree", f"{trigger.root.as_segment()} vs {answer['ast']}"))
        for event, theirs in zip(self.events, answer["matches"], strict=True):
            mine = product_match(trigger, event)
            if mine != oracle_match(theirs):
                out.append(("a different decision", f"{mine} vs {theirs} on {event}"))
                break
        for message_type in fql.CHECKED_TYPES:
            reach = trigger.reach[message_type]
            decisions = [
                oracle_match(m)
                for e, m in zip(self.events, answer["matches"], strict=True)
                if e["type"] == message_type
            ]
            if reach is fql.Reach.ALL:
                tally(["certain: all"])
                if any(d is not True for d in decisions):
                    out.append(("wrong certain verdict", f"{message_type} all, {decisions}"))
            elif reach is fql.Reach.NONE:
                tally(["certain: none"])
                if any(d is True for d in decisions):
                    out.append(("wrong certain verdict", f"{message_type} none, {decisions}"))
            else:
                tally(["uncertain"])
        reported = {f.code for f in findings} & {"V205", "V206"}
        if trigger.misread:
            tally(["misread reported (V206)"])
            reading = fql.exact_render(trigger.root)
            if reading is not None:
                back = extra.get(reading)
                if (
                    back is None
                    or back["error"] is not None
                    or not same_tree(seg_normal(back["ast"]), seg_normal(answer["ast"]))
                ):
                    out.append(("the reading shown is not Segment's", reading))
            fix = trigger.fix
            if fix is not None:
                tally(["misread, with a fix"])
                back = extra.get(fix)
                if back is None or back["error"] is not None:
                    out.append(("the fix is rejected by Segment", fix))
                elif self.meant(case, extra) not in (None, seg_normal(back["ast"])):
                    out.append(("the fix does not say what was meant", fix))
        meant = self.meant(case, extra)
        if meant is not None and case.intended != written and meant != seg_normal(answer["ast"]):
            tally(["a slip changed the meaning"])
            if not reported:
                out.append(("a slip changed the meaning, not reported", str(case.intended)))
        return out

    @staticmethod
    def meant(case: fql_corpus.Case, extra: dict[str, dict[str, Any]]) -> Any:
        """Segment's tree for the case's intention, when Segment reads that text as written."""
        if case.intended is None or case.intended not in extra:
            return None
        answer = extra[case.intended]
        if answer["error"] is not None or _misread(case.intended):
            return None
        return seg_normal(answer["ast"])


def _misread(text: str) -> bool:
    try:
        return fql.parse_trigger(text).misread
    except fql.TriggerError:
        return True


def _pieces(text: str) -> list[str]:
    return re.findall(r'"[^"]*"|\'[^\']*\'|\s+|[A-Za-z_.\\]+|\d+(?:\.\d+)?|.', text)


def _followups(written: str, intended: str | None) -> list[str]:
    """The other texts a case's checks read back: the fixes, the reading, the intention."""
    out = []
    if intended is not None:
        out.append(intended)
    fixed = fql.repair(written)
    if fixed is not None:
        out.append(fixed)
    try:
        trigger = fql.parse_trigger(written)
    except fql.TriggerError:
        return out
    for text in (trigger.fix, fql.exact_render(trigger.root)):
        if text is not None:
            out.append(text)
    return out


def _check(diff: Differential, cases: list[fql_corpus.Case], count: bool) -> list[Any]:
    answers = diff.ask([c.written for c in cases])
    followups = sorted({t for c in cases for t in _followups(c.written, c.intended)})
    extra = dict(zip(followups, diff.ask(followups, with_events=False), strict=True))
    return [diff.problems(c, a, extra, count) for c, a in zip(cases, answers, strict=True)]


def _shrink(diff: Differential, case: fql_corpus.Case, kind: str) -> str:
    """The shortest text, by deleting pieces, that still shows the same kind of disagreement."""
    text = case.written
    for _ in range(40):
        pieces = _pieces(text)
        candidates = ["".join(pieces[:i] + pieces[i + 1 :]) for i in range(len(pieces))]
        candidates = [c for c in candidates if c.strip()]
        if not candidates:
            break
        cases = [fql_corpus.Case(c, None, ()) for c in candidates]
        found = _check(diff, cases, count=False)
        still = [c for c, p in zip(candidates, found, strict=True) if any(k == kind for k, _ in p)]
        if not still:
            break
        text = min(still, key=len)
    return text


def test_fql_triggers_against_segments_parser_and_evaluator(oracles: Oracles) -> None:
    cases = fql_corpus.triggers(SEED, TRIGGERS)
    events = fql_corpus.events(SEED, EVENTS_PER_TYPE)
    with oracles.run("fql.mjs") as oracle:
        diff = Differential(oracle, events)
        found = _check(diff, cases, count=True)
        failures = [(c, p) for c, p in zip(cases, found, strict=True) if p]
        kinds = Counter(kind for _, p in failures for kind, _ in p)
        lines = []
        for kind in sorted(kinds):
            first = next(c for c, p in failures if any(k == kind for k, _ in p))
            detail = next(d for k, d in dict(found[cases.index(first)]).items() if k == kind)
            smallest = _shrink(diff, first, kind)
            lines.append(
                f"{kind}: {kinds[kind]} trigger(s); e.g. {first.written!r} ({detail}); "
                f"minimal: {smallest!r}"
            )
    slips = Counter(s for c in cases for s in c.slips)
    figures = (
        f"seed {SEED}: {len(cases)} triggers x {len(events)} messages; "
        + ", ".join(f"{k} {v}" for k, v in sorted(diff.counts.items()))
        + f"; slips {dict(sorted(slips.items()))}; disagreements {sum(kinds.values())}"
    )
    print(figures)
    for line in lines:
        print(line)
    for case, problems in failures:  # every disagreement, not only each kind's first
        for kind, detail in problems:
            print(f"  {kind}: {case.written!r}: {detail}")
    assert not failures, figures + "\n" + "\n".join(lines)
    assert len(cases) >= 1000
    assert diff.counts["segment rejects"] > 50 and diff.counts["misread reported (V206)"] > 50
