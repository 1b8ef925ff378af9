"""Segment Spec messages (identify, group, track, page, screen, alias) and their limits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from frigade_cli.kernel.clock import is_iso_8601
from frigade_cli.kernel.errors import InputError
from frigade_cli.segment import jsjson

MAX_MESSAGE_BYTES = 32 * 1024  # Segment: 32 KB per message
MAX_BATCH_BYTES = 500_000  # Segment: 500 KB per batch request (kept under, never at)
MAX_BATCH_MESSAGES = 2500  # Segment tracking API: messages per batch call
MAX_MESSAGE_ID_LENGTH = 100
MESSAGE_TYPES = ("identify", "group", "track", "page", "screen", "alias")
FRIGADE_TYPES = ("identify", "group", "track")  # what Frigade's guide maps


class _Message(BaseModel):
    """Fields common to every Segment message; unknown fields are kept as Segment keeps them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    userId: str | None = None
    anonymousId: str | None = None
    messageId: str | None = Field(default=None, max_length=MAX_MESSAGE_ID_LENGTH)
    timestamp: str | None = None
    sentAt: str | None = None
    receivedAt: str | None = None
    originalTimestamp: str | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _identity_and_times(self) -> _Message:
        if not self.userId and not self.anonymousId:
            raise ValueError("either userId or anonymousId is required")
        for name in ("timestamp", "sentAt", "receivedAt", "originalTimestamp"):
            value = getattr(self, name)
            if value is not None and not is_iso_8601(value):
                raise ValueError(f"{name} must be an ISO-8601 date-time, got {value!r}")
        return self


class IdentifyMessage(_Message):
    type: Literal["identify"]
    traits: dict[str, Any] | None = None


class GroupMessage(_Message):
    type: Literal["group"]
    groupId: str = Field(min_length=1)
    traits: dict[str, Any] | None = None


class TrackMessage(_Message):
    type: Literal["track"]
    event: str = Field(min_length=1)
    properties: dict[str, Any] | None = None


class PageMessage(_Message):
    type: Literal["page"]
    name: str | None = None
    properties: dict[str, Any] | None = None


class ScreenMessage(_Message):
    type: Literal["screen"]
    name: str | None = None
    properties: dict[str, Any] | None = None


class AliasMessage(_Message):
    type: Literal["alias"]
    previousId: str = Field(min_length=1)


SegmentMessage = Annotated[
    IdentifyMessage | GroupMessage | TrackMessage | PageMessage | ScreenMessage | AliasMessage,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(SegmentMessage)


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if p not in MESSAGE_TYPES)
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"field '{loc}' is required"
    if (
        first["type"] == "union_tag_invalid"
        or loc == "type"
        or first["type"] == "union_tag_not_found"
    ):
        return f"'type' must be one of {', '.join(MESSAGE_TYPES)}"
    return f"field '{loc}': {msg}" if loc else msg


def message_problem(message: Any) -> str | None:
    """Why `message` is not a valid Segment message, or None when it is."""
    if not isinstance(message, dict):
        return f"a message must be a JSON object, got {type(message).__name__}"
    try:
        _ADAPTER.validate_python(message)
    except ValidationError as exc:
        return _describe(exc)
    size = len(jsjson.dumps(message))
    if size > MAX_MESSAGE_BYTES:
        return f"message is {size} bytes; Segment's limit is {MAX_MESSAGE_BYTES} bytes (32 KB)"
    return None


def validate_message(message: Any, where: str = "message") -> dict[str, Any]:
    """Return `message` unchanged when it is Spec-valid; else raise InputError naming `where`."""
    problem = message_problem(message)
    if problem:
        raise InputError(f"{where}: {problem}")
    assert isinstance(message, dict)
    return message
