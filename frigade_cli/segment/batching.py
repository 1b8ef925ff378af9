"""Splitting messages into webhook batches by count and by bytes."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from frigade_cli.kernel.errors import FrigadeCliError, InputError
from frigade_cli.segment import jsjson
from frigade_cli.segment.messages import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES

MIN_BATCH_SIZE = 1
MAX_BATCH_SIZE = 4000  # Segment Webhooks (Actions): batch_size maximum


class Batch:
    """One webhook request: a bare JSON array of messages, with its encoded body.

    A batch made from messages that came already encoded holds only its body and its size;
    `messages` is read back from the body the first time it is asked for (to sign, to save).
    """

    __slots__ = ("_messages", "_size", "body", "index")

    def __init__(
        self,
        index: int,
        messages: list[dict[str, Any]] | None = None,
        body: bytes = b"[]",
        size: int | None = None,
    ) -> None:
        self.index = index
        self.body = body
        self._messages = messages
        self._size = len(messages) if messages is not None else (size or 0)

    @property
    def messages(self) -> list[dict[str, Any]]:
        if self._messages is None:
            self._messages = jsjson.loads(self.body)
        return self._messages

    @property
    def size(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"Batch(index={self.index}, size={self.size}, {len(self.body)} bytes)"


def _message_id(message: dict[str, Any], n: int) -> str:
    return str(message.get("messageId") or f"message {n}")


def make_batches(
    messages: Iterable[dict[str, Any]],
    batch_size: int,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[Batch]:
    """Split `messages` into batches of at most `batch_size` whose body never exceeds `max_bytes`.

    Lazy: a batch is made when it is asked for. A batch size out of range is refused at once,
    before any message is read; a message over Segment's 32 KB limit is refused, with an error
    naming it, when the iteration reaches it. When `messages` itself raises (a bad fixture line)
    or a message is refused after the first batch, the messages before it are batched and
    yielded first, then the error is raised; within the first batch it is raised at once, so a
    small input with a bad message sends nothing.
    """
    if not MIN_BATCH_SIZE <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(
            f"batch size {batch_size} is out of range: Segment allows {MIN_BATCH_SIZE} to "
            f"{MAX_BATCH_SIZE}"
        )
    return _batches(messages, batch_size, max_bytes)


def batch_encoded(
    encoded: Iterable[bytes], batch_size: int, max_bytes: int = MAX_BATCH_BYTES
) -> Iterator[Batch]:
    """Batches of messages that come already encoded exactly as JSON.stringify writes them
    (the synthetic messages' fast path), split as `make_batches` splits; lazy likewise.

    Each item must be one message's JSON object, under 32 KB: it is not checked again.
    """
    if not MIN_BATCH_SIZE <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(
            f"batch size {batch_size} is out of range: Segment allows {MIN_BATCH_SIZE} to "
            f"{MAX_BATCH_SIZE}"
        )
    return _encoded_batches(encoded, batch_size, max_bytes)


def _encoded_batches(encoded: Iterable[bytes], batch_size: int, max_bytes: int) -> Iterator[Batch]:
    index = 0
    parts: list[bytes] = []
    length = 2
    for data in encoded:
        added = len(data) + (1 if parts else 0)
        if parts and (len(parts) >= batch_size or length + added > max_bytes):
            yield Batch(index, None, b"[" + b",".join(parts) + b"]", len(parts))
            index += 1
            parts, length = [], 2
            added = len(data)
        parts.append(data)
        length += added
    if parts:
        yield Batch(index, None, b"[" + b",".join(parts) + b"]", len(parts))


def _batches(
    messages: Iterable[dict[str, Any]], batch_size: int, max_bytes: int
) -> Iterator[Batch]:
    # Each message is encoded by orjson alone (its size decides the split), and the batch's body
    # is checked once against `jsjson.dumps` of the whole batch: one check per request instead
    # of one per message. From the first batch where they differ (a number JavaScript writes
    # otherwise), the rest of the stream is encoded message by message, exactly.
    source = iter(messages)
    index = 0
    current: list[dict[str, Any]] = []
    parts: list[bytes] = []
    length = 2  # the brackets
    n = 0
    broken: FrigadeCliError | None = None
    while True:
        try:
            message = next(source, None)
        except FrigadeCliError as exc:  # a bad message further on: send what came before it
            broken, message = exc, None
        if message is not None:
            n += 1
            try:
                data = orjson.dumps(message)
            except orjson.JSONEncodeError:  # what only the exact encoder writes (an int past 2**64)
                data = jsjson.dumps(message)
            if len(data) > MAX_MESSAGE_BYTES:
                try:
                    data = _exact(message, n)
                except InputError as exc:  # over 32 KB: send what came before it
                    broken, message = exc, None
        if message is not None:
            added = len(data) + (1 if parts else 0)
        if broken is not None and index == 0:
            raise broken  # in the first batch: nothing is sent
        if current and (
            message is None or len(current) >= batch_size or length + added > max_bytes
        ):
            body = b"[" + b",".join(parts) + b"]"
            if body != jsjson.dumps(current):
                if broken is not None:
                    yield from _exact_batches(
                        current, batch_size, max_bytes, index, n - len(current)
                    )
                    raise broken
                rest = itertools.chain(current, [] if message is None else [message], source)
                yield from _exact_batches(rest, batch_size, max_bytes, index, n - len(current))
                return
            yield Batch(index, current, body)
            index += 1
            current, parts, length = [], [], 2
            added = len(data) if message is not None else 0
        if message is None:
            if broken is not None:
                raise broken
            return
        current.append(message)
        parts.append(data)
        length += added


def _exact(message: dict[str, Any], n: int) -> bytes:
    """The message as JSON.stringify writes it; InputError when it is over Segment's 32 KB."""
    data = jsjson.dumps(message)
    if len(data) > MAX_MESSAGE_BYTES:
        raise InputError(
            f"{_message_id(message, n)} is {len(data)} bytes; Segment refuses messages over "
            f"{MAX_MESSAGE_BYTES} bytes (32 KB)"
        )
    return data


def _exact_batches(
    messages: Iterable[dict[str, Any]], batch_size: int, max_bytes: int, index: int, seen: int
) -> Iterator[Batch]:
    """Batches from `index` on, by each message's exact encoding (`seen` messages came before)."""
    current: list[dict[str, Any]] = []
    encoded: list[bytes] = []
    length = 2
    numbered = enumerate(messages, start=seen + 1)
    while True:
        try:
            n, message = next(numbered)
        except StopIteration:
            break
        except FrigadeCliError:  # a bad message further on: send what came before it
            if current and index > 0:
                yield Batch(index, current, b"[" + b",".join(encoded) + b"]")
            raise
        try:
            data = _exact(message, n)
        except InputError:  # over 32 KB: send what came before it
            if current and index > 0:
                yield Batch(index, current, b"[" + b",".join(encoded) + b"]")
            raise
        added = len(data) + (1 if encoded else 0)
        if current and (len(current) >= batch_size or length + added > max_bytes):
            yield Batch(index, current, b"[" + b",".join(encoded) + b"]")
            index += 1
            current, encoded, length = [], [], 2
            added = len(data)
        current.append(message)
        encoded.append(data)
        length += added
    if current:
        yield Batch(index, current, b"[" + b",".join(encoded) + b"]")
