"""Secrets never printed: keys shown as api_private_****abcd wherever they appear."""

from __future__ import annotations

import json

import pytest

from frigade_cli.kernel.redact import redact_headers, redact_key, redact_text

PRIVATE = "api_private_8f3k2Lq9ZxW7abcd"
PUBLIC = "api_public_Q2w3E4r5T6y7wxyz"


def test_private_key_shows_its_kind_and_last_four() -> None:
    assert redact_key(PRIVATE) == "api_private_****abcd"


def test_public_key_shows_its_kind_and_last_four() -> None:
    assert redact_key(PUBLIC) == "api_public_****wxyz"


def test_other_secret_shows_only_its_last_four() -> None:
    assert redact_key("segmentWriteKey0123456789") == "****6789"


@pytest.mark.parametrize("key", ["api_private_abcd1234", "api_private_x", "abcdefgh", "k"])
def test_short_key_shows_no_characters(key: str) -> None:
    shown = redact_key(key)

    assert shown.endswith("****")
    assert key.removeprefix("api_private_") not in shown


@pytest.mark.parametrize("key", [None, ""])
def test_no_key_redacts_to_nothing(key: str | None) -> None:
    assert redact_key(key) == ""


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        (f"Bearer {PRIVATE}", "Bearer api_private_****abcd"),
        (f"bearer  {PRIVATE}", "bearer  api_private_****abcd"),
        ("Basic c2VnbWVudFdyaXRlS2V5Og==", "Basic ****Og=="),
    ],
)
def test_authorization_value_keeps_its_scheme(header: str, shown: str) -> None:
    assert redact_key(header) == shown


def test_redact_headers_hides_credentials_and_keeps_the_rest() -> None:
    headers = [
        ("Authorization", f"Bearer {PRIVATE}"),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNzd29yZA=="),
        ("Cookie", "session=abcdefghijklmnop"),
        ("Content-Type", "application/json"),
    ]

    redacted = dict(redact_headers(headers))

    assert redacted["Authorization"] == "Bearer api_private_****abcd"
    assert "dXNlcjpwYXNzd29yZA" not in redacted["Proxy-Authorization"]
    assert "abcdefghijklmnop" not in redacted["Cookie"]
    assert redacted["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "template",
    [
        "the key {key} was rejected",
        "https://api.frigade.com/v1/users?key={key}&userId=u1",
        "https://127.0.0.1/x?auth=Bearer%20{key}",
        "FRIGADE_API_KEY={key}",
        "x_{key}",
        "({key})",
        "{key}\nnext line",
    ],
)
def test_frigade_key_embedded_in_text_is_redacted(template: str) -> None:
    text = redact_text(template.format(key=PRIVATE))

    assert PRIVATE not in text
    assert "8f3k2Lq9ZxW7" not in text
    assert "api_private_****abcd" in text


def test_frigade_key_inside_json_is_redacted_and_json_stays_valid() -> None:
    document = json.dumps({"api_key": PRIVATE, "public": PUBLIC, "n": 1})

    redacted = json.loads(redact_text(document))

    assert redacted == {"api_key": "api_private_****abcd", "public": "api_public_****wxyz", "n": 1}


def test_bearer_token_in_a_log_line_is_redacted() -> None:
    text = redact_text("> POST /x [authorization: Bearer opaqueToken123456789]")

    assert "opaqueToken123456789" not in text
    assert "Bearer ****6789" in text


def test_registered_secret_is_replaced_wherever_it_appears() -> None:
    secret = "sEgMeNtWrItEkEy42"

    text = redact_text(f"write key {secret} in https://x/?k={secret}", secrets=[secret])

    assert secret not in text
    assert text.count("****Ey42") == 2


def test_longer_registered_secret_wins_over_one_it_contains() -> None:
    text = redact_text("token abcdefghijklmnop", secrets=["abcdefgh", "abcdefghijklmnop"])

    assert text == "token ****mnop"


def test_none_and_empty_registered_secrets_are_ignored() -> None:
    assert redact_text("nothing secret here", secrets=[None, ""]) == "nothing secret here"


def test_short_registered_secret_is_replaced_without_showing_any_of_it() -> None:
    text = redact_text("pin 4242 used", secrets=["4242"])

    assert "4242" not in text


def test_text_without_secrets_is_unchanged() -> None:
    text = "POST https://api.frigade.com/v1/thirdParty/cdp/segment -> 200 in 12 ms"

    assert redact_text(text) == text


def test_redaction_is_idempotent() -> None:
    once = redact_text(f"Bearer {PRIVATE} and {PUBLIC}")

    assert redact_text(once) == once


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://bob:hunter2secret@api.example/x", "https://bob:****@api.example/x"),
        ("http://tok_0123456789@127.0.0.1:8080/x", "http://****@127.0.0.1:8080/x"),
        (
            "GET https://h/x?userId=u1&api_key=abcdef123456",
            "GET https://h/x?userId=u1&api_key=****3456",
        ),
        ("https://h/x?token=t0k3n-value-99&b=2", "https://h/x?token=****e-99&b=2"),
        ("https://h/hook?sig=0a1b2c3d4e5f", "https://h/hook?sig=****4e5f"),
        (
            '{"url": "https://a:b@h/?secret=s3cr3tvalue"}',
            '{"url": "https://a:****@h/?secret=****alue"}',
        ),
    ],
)
def test_secrets_inside_urls_are_redacted(text: str, shown: str) -> None:
    assert redact_text(text) == shown
    assert redact_text(shown) == shown  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "https://h/v1/users?userId=u1&groupId=g1",
        "POST http://127.0.0.1:8787/v1/thirdParty/cdp/segment -> 200",
        "at 10:30 the user a@b.example signed up",
    ],
)
def test_urls_without_secrets_are_unchanged(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "prose",
    ["Basic monthly", "plan: Basic Subscription", "Bearer bonds matured", "basic settings!"],
)
def test_prose_after_basic_or_bearer_is_not_taken_for_a_credential(prose: str) -> None:
    # Event data shown by tail (a trait "Basic monthly") must reach the reader as it is.
    assert redact_text(prose) == prose


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Bearer sk_live_abcdefgh", "Bearer ****efgh"),
        ("basic dXNlcjpwYXNzd29yZA==", "basic ****ZA=="),
        ("Bearer opaqueTokenAbcdefgh", "Bearer ****efgh"),
    ],
)
def test_credentials_after_basic_or_bearer_are_redacted(text: str, shown: str) -> None:
    assert redact_text(text) == shown
