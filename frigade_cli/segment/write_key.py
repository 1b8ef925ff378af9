"""The form of a Segment write key, checked before anything is sent (no I/O).

Segment cannot confirm a write key by its response (the tracking API answers 200 to any key), so
the only check possible up front is its form: the usual paste mistakes are refused by name.
"""

from __future__ import annotations

import unicodedata

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.redact import redact_key


def check_write_key(value: str | None, what: str = "write key") -> str:
    """`value` when it can be a Segment write key; InputError (exit 3) naming the mistake.

    Refused: empty; whitespace anywhere; non-ASCII or control characters (a smart quote or
    zero-width space from a paste); a Frigade key (`api_private_...`/`api_public_...`); a URL or
    path (a scheme or a slash).
    """
    if value is None or value == "":
        raise InputError(
            f"no Segment {what}",
            hint="pass --write-key, set SEGMENT_WRITE_KEY, or 'frigade config set "
            "segment_write_key ...'",
        )
    shown = redact_key(value)
    if value.strip() != value:
        raise InputError(f"the {what} {shown} has spaces around it: paste the key alone")
    if any(c.isspace() for c in value):
        raise InputError(f"the {what} {shown} has whitespace inside: a write key is one word")
    for c in value:
        if not c.isascii() or not c.isprintable():
            name = unicodedata.name(c, f"U+{ord(c):04X}")
            raise InputError(
                f"the {what} {shown} holds {name} (U+{ord(c):04X}): a write key is plain ASCII; "
                "retype it or paste it from the source's settings again"
            )
    if value.startswith(("api_private_", "api_public_")):
        raise InputError(
            f"{shown} is a Frigade key, not a Segment write key",
            hint="use the write key of a Segment HTTP API source (Segment: Connections > "
            "Sources > your source > Settings > API Keys)",
        )
    if "://" in value or "/" in value:
        raise InputError(
            f"the {what} {shown} looks like a URL or a path: pass the source's write key itself"
        )
    return value
