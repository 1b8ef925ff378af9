"""The one check for keys typed or pasted by a user."""

from __future__ import annotations

import pytest

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.keys import check_key_text, check_private_key, strip_bearer

KEY = "api_private_8f3k2Lq9ZxW7abcd"


@pytest.mark.parametrize("given", [KEY, f"Bearer {KEY}", f"bearer  {KEY}", f"  {KEY}\n"])
def test_a_private_key_is_returned_without_bearer_or_spaces(given: str) -> None:
    assert check_private_key(given) == KEY
    assert strip_bearer(given) == KEY


@pytest.mark.parametrize(
    ("key", "code_point", "position"),
    [
        ("api_private_8f3k2\u00a0Lq9", "U+00A0", 18),  # non-breaking space
        ("\u201capi_private_8f3k", "U+201C", 1),  # smart quote
        ("api_private_\u200b8f3k", "U+200B", 13),  # zero-width space
        ("api_private_8f3k\x7f", "U+007F", 17),  # DEL
        ("api_private_8f\x1b3k", "U+001B", 15),  # ESC
    ],
)
def test_a_character_that_cannot_go_in_a_header_is_named_with_its_position(
    key: str, code_point: str, position: int
) -> None:
    with pytest.raises(InputError) as info:
        check_key_text(key)

    assert f"{code_point} " in info.value.message
    assert f"at position {position} of {len(key)}" in info.value.message
    assert "8f3k" not in info.value.message


def test_a_public_key_is_refused_and_shown_redacted() -> None:
    with pytest.raises(InputError) as info:
        check_private_key("api_public_Q2w3E4r5T6y7wxyz")

    assert info.value.message.startswith("api_public_****wxyz is a public key")


def test_strict_wants_the_private_prefix() -> None:
    assert check_private_key("sk_0123456789abcdef") == "sk_0123456789abcdef"
    with pytest.raises(InputError, match="not a Frigade private key"):
        check_private_key("sk_0123456789abcdef", strict=True)
