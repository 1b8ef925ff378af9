"""Segment's `X-Signature`: hex HMAC-SHA1 of the payload's JSON (its first element when batched)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from frigade_cli.segment import jsjson


def signature(payload: Any, secret: str) -> str:
    """The signature Segment computes for one event's payload with the destination's secret."""
    return hmac.new(secret.encode(), jsjson.dumps(payload), hashlib.sha1).hexdigest()


def batch_signature(messages: Sequence[Any], secret: str) -> str:
    """With batching, Segment signs only the first element of the array."""
    return signature(messages[0], secret)


def verify(payload: Any, secret: str, given: str) -> bool:
    """Constant-time check of a received signature."""
    return hmac.compare_digest(signature(payload, secret), given.strip().lower())
