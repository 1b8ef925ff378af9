"""Segment's X-Signature: hex HMAC-SHA1 of the JS-style JSON, of the first element when batched."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from frigade_cli.segment import signing

SECRET = "s3cr3t-shared"


def expected(json_text: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), json_text.encode("utf-8"), hashlib.sha1).hexdigest()


def test_signature_is_hmac_sha1_hex_of_compact_json() -> None:
    assert signing.signature({"a": 1, "b": "é"}, SECRET) == expected('{"a":1,"b":"é"}')


def test_signature_of_integral_float_matches_javascripts_bytes() -> None:
    payload = {"type": "track", "properties": {"amount": 129.0}}

    assert signing.signature(payload, SECRET) == expected(
        '{"type":"track","properties":{"amount":129}}'
    )


def test_signature_is_forty_lowercase_hex_digits() -> None:
    sig = signing.signature({"a": 1}, SECRET)

    assert len(sig) == 40
    assert sig == sig.lower()
    int(sig, 16)


def test_signature_depends_on_the_secret() -> None:
    assert signing.signature({"a": 1}, "one") != signing.signature({"a": 1}, "two")


def test_non_ascii_secret_is_utf8_encoded() -> None:
    assert signing.signature({"a": 1}, "clé") == expected('{"a":1}', "clé")


def test_batch_signature_signs_only_the_first_element() -> None:
    batch = [{"n": 1, "name": "Zoë"}, {"n": 2}, {"n": 3}]

    assert signing.batch_signature(batch, SECRET) == expected('{"n":1,"name":"Zoë"}')


def test_batch_signature_ignores_later_elements() -> None:
    first = {"n": 1}

    assert signing.batch_signature([first, {"n": 2}], SECRET) == signing.batch_signature(
        [first, {"n": 99}], SECRET
    )


def test_batch_signature_of_an_empty_batch_is_an_error() -> None:
    with pytest.raises(IndexError):
        signing.batch_signature([], SECRET)


def test_verify_accepts_the_right_signature() -> None:
    assert signing.verify({"a": 1, "b": "é"}, SECRET, expected('{"a":1,"b":"é"}'))


def test_verify_tolerates_upper_case_and_surrounding_space() -> None:
    given = "  " + expected('{"a":1}').upper() + "\n"

    assert signing.verify({"a": 1}, SECRET, given)


def test_verify_refuses_a_signature_made_with_another_secret() -> None:
    assert not signing.verify({"a": 1}, SECRET, expected('{"a":1}', "other"))


def test_verify_refuses_a_signature_of_another_payload() -> None:
    assert not signing.verify({"a": 2}, SECRET, expected('{"a":1}'))


def test_verify_refuses_garbage() -> None:
    assert not signing.verify({"a": 1}, SECRET, "not-a-signature")
