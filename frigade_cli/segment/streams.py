"""Message streams for a test run: synthetic, fixture-based or overridden Segment messages, made
lazily and cut into batches as Segment's Webhooks (Actions) destination sends them."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from frigade_cli.kernel.errors import InputError
from frigade_cli.segment.batching import Batch, batch_encoded, make_batches
from frigade_cli.segment.factory import MessageFactory
from frigade_cli.segment.fixtures import Override
from frigade_cli.segment.messages import FRIGADE_TYPES, MAX_MESSAGE_ID_LENGTH, MESSAGE_TYPES

if TYPE_CHECKING:
    from frigade_cli.segment.fixtures import ReadProgress


def parse_types(types: str | Sequence[str] | None) -> list[str]:
    """`identify,group,track` into a validated list of message types."""
    if types is None:
        return list(FRIGADE_TYPES)
    items = types.split(",") if isinstance(types, str) else list(types)
    wanted = [t.strip().lower() for item in items for t in item.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in MESSAGE_TYPES]
    if unknown or not wanted:
        raise InputError(
            f"--types: unknown type {', '.join(unknown) or '(none)'}; choose from "
            f"{', '.join(MESSAGE_TYPES)}"
        )
    return list(dict.fromkeys(wanted))


def build_messages(
    count: int | None,
    types: list[str],
    fixtures: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    only_types: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Every message `iter_messages` makes, in a list (for small runs and dry runs)."""
    return list(iter_messages(count, types, fixtures, overrides, seed, only_types))


def iter_batches(
    count: int | None,
    types: list[str],
    batch_size: int,
    fixtures: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    only_types: Sequence[str] | None = None,
    progress: ReadProgress | None = None,
    halt: Callable[[], bool] | None = None,
) -> Iterator[Batch]:
    """The run's batches, made lazily from `iter_messages` (same arguments and errors).

    Synthetic messages that nothing changes (no `--override`) take the fast path: encoded
    straight from templates (`MessageFactory.encoded`), byte for byte what encoding each
    message would give, with no dict made per message.
    """
    if not fixtures and not overrides:
        if count is not None and count < 1:
            raise InputError("--count must be at least 1")
        encoded = MessageFactory(seed=seed).encoded(count or len(types), types)
        return batch_encoded(encoded, batch_size)
    messages = iter_messages(count, types, fixtures, overrides, seed, only_types, progress, halt)
    return make_batches(messages, batch_size)


def iter_messages(
    count: int | None,
    types: list[str],
    fixtures: Sequence[str] = (),
    overrides: Sequence[str] = (),
    seed: int | None = None,
    only_types: Sequence[str] | None = None,
    progress: ReadProgress | None = None,
    halt: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """The messages to send, made one at a time: synthetic ones, or fixture messages, overrides
    applied. Memory stays flat however large `count` or the fixture files are.

    Synthetic messages cycle through `types`; `count` defaults to one of each. Fixture files are
    read lazily, in order, and read again from the start when `count` asks for more messages
    than they hold; `count` defaults to each fixture message once. `only_types` keeps just the
    fixture messages of those types (`--types` with `--fixture`); `progress` is updated as the
    files are read. `halt()` true at the end of a pass stops the repeats (a stopped run keeps
    the rest of the pass it was in, but does not make further copies just to save them).
    An explicit `messageId` (a fixture's own, or `--override messageId=X`) is sent as given the
    first time; each further copy gets `X-2`, `X-3`, ... so that no two messages of a run share
    an id unless the fixture itself says so.

    Raised before the first message: InputError for a count under 1, a bad override, a missing
    fixture, and a synthetic message the overrides make invalid (overrides are the same for
    every message of a type, so the first of each type decides). Raised when the iteration
    reaches it: InputError naming the file and line of a bad fixture message.
    """
    if count is not None and count < 1:
        raise InputError("--count must be at least 1")
    parsed = [Override.parse(o) for o in overrides]
    factory = MessageFactory(seed=seed)
    if not fixtures:
        return _synthetic(factory, count or len(types), types, parsed)
    from frigade_cli.segment.fixtures import iter_fixture_messages

    # Resolve every file and read the first message now, so a missing file or an empty
    # selection is refused before anything is sent.
    first = iter_fixture_messages(fixtures, parsed, only_types=only_types, progress=progress)
    head = next(first, None)
    if head is None:
        wanted = f" of type {', '.join(only_types)} (--types)" if only_types else ""
        raise InputError(f"no fixture message{wanted} in {', '.join(fixtures)}")
    return _from_fixtures(
        itertools.chain([head], first), factory, count, fixtures, parsed, only_types, halt
    )


def _synthetic(
    factory: MessageFactory, count: int, types: list[str], overrides: list[Override]
) -> Iterator[dict[str, Any]]:
    messages = factory.mix(count, types)
    if not overrides:
        return messages
    from frigade_cli.segment.messages import message_problem

    # The first message of each type shows what the overrides do to every one of that type.
    head = list(itertools.islice(messages, len(types)))
    ids = _RepeatedIds()
    for n, message in enumerate(head, start=1):
        for override in overrides:
            override.apply(message)
        problem = message_problem(message)
        if problem:
            raise InputError(f"message {n} after --override: {problem}")
    return _overridden(head, messages, overrides, ids, count)


def _overridden(
    head: list[dict[str, Any]],
    rest: Iterator[dict[str, Any]],
    overrides: list[Override],
    ids: _RepeatedIds,
    count: int,
) -> Iterator[dict[str, Any]]:
    from frigade_cli.segment.messages import validate_message

    renumber = any(o.path == ("messageId",) for o in overrides)
    for message in head:
        if renumber:
            ids.number(message)
        yield message
    for n, message in enumerate(rest, start=len(head) + 1):
        for override in overrides:
            override.apply(message)
        if renumber:
            ids.number(message)
        yield validate_message(message, f"message {n} of {count} after --override")


def _from_fixtures(
    first_pass: Iterator[dict[str, Any]],
    factory: MessageFactory,
    count: int | None,
    fixtures: Sequence[str],
    overrides: list[Override],
    only_types: Sequence[str] | None,
    halt: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    from frigade_cli.segment.fixtures import iter_fixture_messages

    ids = _RepeatedIds()
    n = 0
    repeat = 0
    source = first_pass
    while True:
        for message in source:
            if count is not None and n >= count:
                return
            given = message.get("messageId")
            if not given:
                # Unique across runs and repeats of the same file; Segment dedups on it.
                message["messageId"] = (
                    f"frigade-cli-{factory.run_id}-{n:07d}-{uuid.uuid4().hex[:12]}"
                )
            elif repeat == 0:
                if count is not None:  # repeats may follow: remember the ids they must avoid
                    ids.taken.add(str(given))
            else:
                message["messageId"] = ids.derive(str(given), repeat + 1)
            n += 1
            yield message
        if count is None or n >= count or (halt is not None and halt()):
            return
        repeat += 1
        source = iter_fixture_messages(fixtures, overrides, only_types=only_types)


class _RepeatedIds:
    """`X-2`, `X-3`, ... for the 2nd, 3rd, ... message given the id X, never an id in `taken`.

    Holds only the ids given explicitly and the rare derived id that had to dodge one, never
    one entry per message: derived ids of different counts cannot equal each other.
    """

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self._seen: dict[str, int] = {}

    def number(self, message: dict[str, Any]) -> None:
        """Give `message` its id's next derived form when the id was seen before."""
        given = message.get("messageId")
        if not isinstance(given, str):
            return
        seen = self._seen[given] = self._seen.get(given, 0) + 1
        if seen == 1:
            self.taken.add(given)
        else:
            message["messageId"] = self.derive(given, seen)

    def derive(self, given: str, n: int) -> str:
        """`given-n`, unique against `taken`, within Segment's 100-character limit."""
        suffix = f"-{n}"
        candidate = given[: MAX_MESSAGE_ID_LENGTH - len(suffix)] + suffix
        extra = 1
        while candidate in self.taken:
            extra += 1
            suffix = f"-{n}-{extra}"
            candidate = given[: MAX_MESSAGE_ID_LENGTH - len(suffix)] + suffix
        if extra > 1:
            self.taken.add(candidate)
        return candidate


def plan_batches(messages: list[dict[str, Any]], batch_size: int) -> list[Batch]:
    """Batches by count and bytes (never over 500 KB a request)."""
    return list(make_batches(messages, batch_size))
