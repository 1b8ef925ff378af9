"""The one check for keys and tokens typed or pasted by a user, before any is sent or stored."""

from __future__ import annotations

from frigade_cli.kernel.errors import InputError

PRIVATE_PREFIX = "api_private_"
PUBLIC_PREFIX = "api_public_"


def strip_bearer(key: str) -> str:
    """The key itself, whether the user typed it with or without the `Bearer ` prefix."""
    key = key.strip()
    return key[7:].strip() if key.lower().startswith("bearer ") else key


def whitespace_around(value: str) -> str | None:
    """What whitespace surrounds `value`, said as a person would (`a line break at its end`,
    `spaces around it`), or None when there is none. A pasted key or URL often ends in a line
    break, which "spaces" would not make anyone look for."""
    if value == value.strip():
        return None
    lead = value[: len(value) - len(value.lstrip())]
    trail = value[len(value.rstrip()) :]
    where = "around it" if lead and trail else ("at its start" if lead else "at its end")
    return f"{_whitespace_kinds(lead + trail)} {where}"


def whitespace_inside(value: str) -> str | None:
    """The kinds of whitespace inside `value` (`a line break`, `a space`), or None."""
    inner = [c for c in value.strip() if c.isspace()]
    return _whitespace_kinds("".join(inner)) if inner else None


def _whitespace_kinds(chars: str) -> str:
    kinds = []
    if "\n" in chars or "\r" in chars:
        kinds.append("a line break")
    if "\t" in chars:
        kinds.append("a tab")
    if " " in chars:
        kinds.append("spaces" if chars.count(" ") > 1 else "a space")
    import unicodedata

    others = {c for c in chars if c not in "\r\n\t "}
    kinds += sorted(unicodedata.name(c, f"U+{ord(c):04X}") for c in others)
    return " and ".join(kinds)


def check_key_text(key: str, what: str = "the API key") -> str:
    """`key` when every character can go in an HTTP header as typed; InputError (exit 3) if not.

    A paste often brings a smart quote, a non-breaking or zero-width space, or a control
    character: such a key would be rejected by the server or by the HTTP library mid-run, so it
    is refused up front, naming the character and its position (never the key).
    """
    for position, char in enumerate(key, start=1):
        if not (0x21 <= ord(char) <= 0x7E):
            import unicodedata

            name = unicodedata.name(char, "a control character")
            raise InputError(
                f"{what} has a character that cannot be sent: U+{ord(char):04X} ({name}) at "
                f"position {position} of {len(key)}",
                hint="copy the key again, or type it; keys are plain ASCII letters, digits, '_'",
            )
    return key


def check_private_key(key: str, what: str = "the API key", *, strict: bool = False) -> str:
    """A Frigade private key, `Bearer ` removed; InputError (exit 3) for a public key, a key that
    cannot be sent, and (with `strict`, when storing it) one without the `api_private_` prefix."""
    from frigade_cli.kernel.redact import redact_key

    key = check_key_text(strip_bearer(key), what)
    if key.startswith(PUBLIC_PREFIX):
        raise InputError(
            f"{redact_key(key)} is a public key; this needs the secret key (api_private_...)",
            hint="copy the private key from the Frigade dashboard (Developer > API keys)",
        )
    if strict and not key.startswith(PRIVATE_PREFIX):
        raise InputError(
            f"{what} {redact_key(key)} is not a Frigade private key (api_private_...)",
            hint="copy the private key from the Frigade dashboard (Developer > API keys)",
        )
    return key


def basic_user(credential: str) -> str | None:
    """The user part of an HTTP Basic credential (`base64(user:password)`, RFC 7617), or None
    when it is not valid base64 of UTF-8 text."""
    import base64
    import binascii

    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded.split(":", 1)[0]
