"""test-webhook: every bad input is one line and the right exit code before anything is sent;
explicit messageIds kept; answers that need a human (404, 3xx, a long Retry-After) explained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.support.recorder import Answer, Recorder

KEY = "api_private_test0000abcd"


def send(cli: Cli, recorder: Recorder, *args: str, key: str | None = KEY) -> Any:
    base = ["segment", "test-webhook", "--url", recorder.webhook_url]
    if key is not None:
        base += ["--api-key", key]
    return cli(*base, *args)


def sent_ids(recorder: Recorder) -> list[str]:
    return [m["messageId"] for body in recorder.bodies() for m in body]


# Explicit messageIds ---------------------------------------------------------------------------


def test_a_fixture_messages_own_message_id_is_sent_as_given(
    cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    fixture = tmp_path / "events.json"
    fixture.write_text(
        json.dumps(
            [
                {"type": "identify", "userId": "a", "messageId": "my-id-1"},
                {"type": "track", "userId": "a", "event": "E"},
            ]
        )
    )

    result = send(cli, recorder, "--fixture", str(fixture))

    assert result.exit_code == 0, result.output
    ids = sent_ids(recorder)
    assert ids[0] == "my-id-1"
    assert ids[1] != "my-id-1"


def test_count_repeating_a_fixture_derives_unique_ids_from_the_given_one(
    cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    fixture = tmp_path / "one.json"
    fixture.write_text(json.dumps({"type": "identify", "userId": "a", "messageId": "abc"}))

    result = send(cli, recorder, "--fixture", str(fixture), "--count", "3")

    assert result.exit_code == 0, result.output
    assert sent_ids(recorder) == ["abc", "abc-2", "abc-3"]


def test_override_message_id_once_is_sent_as_given(cli: Cli, recorder: Recorder) -> None:
    result = send(cli, recorder, "--override", "messageId=x", "--count", "1")

    assert result.exit_code == 0, result.output
    assert sent_ids(recorder) == ["x"]


def test_override_message_id_on_several_generated_messages_never_repeats_it(
    cli: Cli, recorder: Recorder
) -> None:
    result = send(cli, recorder, "--override", "messageId=x", "--count", "3")

    assert result.exit_code == 0, result.output
    assert sent_ids(recorder) == ["x", "x-2", "x-3"]


def test_override_message_id_on_a_fixture_repeated_by_count(cli: Cli, recorder: Recorder) -> None:
    result = send(cli, recorder, "--fixture", "track", "-o", "messageId=t1", "--count", "2")

    assert result.exit_code == 0, result.output
    assert sent_ids(recorder) == ["t1", "t1-2"]


# --resend validated like a fixture -------------------------------------------------------------


def write_spool(path: Path, *lines: object) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"url": "", "messages": [{"userId": "a"}]}, "line 1 message 1: 'type' must be one of"),
        ({"url": "", "messages": []}, "line 1: the 'messages' array is empty"),
        (
            {"url": "", "messages": [{"type": "track", "userId": "a"}]},
            "line 1 message 1: field 'event'",
        ),
        ({"url": ""}, "line 1: not a spooled batch"),
    ],
)
def test_a_resend_file_with_a_bad_message_exits_3_naming_file_and_line(
    cli: Cli, recorder: Recorder, tmp_path: Path, line: dict[str, Any], message: str
) -> None:
    spool = write_spool(tmp_path / "saved.ndjson", line)

    result = send(cli, recorder, "--resend", str(spool))

    assert result.exit_code == 3, result.output
    assert f"{spool} {message}" in result.stderr
    assert recorder.requests == []


@pytest.mark.parametrize(
    "extra",
    [["--count", "5"], ["--fixture", "identify"], ["--types", "track"], ["--override", "a=b"]],
)
def test_flags_resend_would_ignore_are_refused_as_usage_errors(
    cli: Cli, recorder: Recorder, tmp_path: Path, extra: list[str]
) -> None:
    spool = write_spool(
        tmp_path / "saved.ndjson", {"url": "", "messages": [{"type": "identify", "userId": "a"}]}
    )

    result = send(cli, recorder, "--resend", str(spool), *extra)

    assert result.exit_code == 2
    assert extra[0] in result.stderr
    assert recorder.requests == []


# Keys and URLs checked up front ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("api_private_tëst0000abcd", "U+00EB (LATIN SMALL LETTER E WITH DIAERESIS) at position 14"),
        ("api_private_test\u200b0000abcd", "U+200B (ZERO WIDTH SPACE) at position 17"),
        ("api_private_test0000abcd\u201d", "U+201D (RIGHT DOUBLE QUOTATION MARK) at position 25"),
        ("api_private_te\x01st0000abcd", "U+0001 (a control character) at position 15"),
        ("api_private_te st0000abcd", "U+0020 (SPACE) at position 15"),
    ],
)
def test_a_key_with_a_character_that_cannot_be_sent_exits_3_before_sending(
    cli: Cli, recorder: Recorder, key: str, shown: str
) -> None:
    result = send(cli, recorder, key=key)

    assert result.exit_code == 3, result.output
    assert shown in result.stderr
    assert result.stderr.count("\n") == 1
    assert "0000abcd" not in result.stderr.replace("****abcd", "")
    assert recorder.requests == []


def test_a_pasted_key_in_the_environment_is_refused_too(
    cli: Cli, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRIGADE_API_KEY", "api_private_tëst0000abcd")

    result = send(cli, recorder, key=None)

    assert result.exit_code == 3
    assert "U+00EB" in result.stderr
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:99999/v1/thirdParty/cdp/segment", "bad port"),
        ("http://127.0.0.1:abc/v1/thirdParty/cdp/segment", "bad port"),
        (" http://127.0.0.1:8080/v1/thirdParty/cdp/segment", "a space at its start"),
        ("http://127.0.0.1:8080/v1/thirdParty/cdp/segment ", "a space at its end"),
        ("127.0.0.1:8080/v1/thirdParty/cdp/segment", "not an absolute http(s) URL"),
    ],
)
def test_an_unusable_url_exits_3_before_anything_is_sent(cli: Cli, url: str, why: str) -> None:
    result = cli("segment", "test-webhook", "--url", url, "--api-key", KEY)

    assert result.exit_code == 3, result.output
    assert why in result.stderr
    assert result.stderr.count("\n") == 1
    assert "sending" not in result.stderr


def test_an_unusable_api_url_from_the_environment_exits_3(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRIGADE_API_URL", "http://127.0.0.1:99999")

    result = cli("segment", "test-webhook", "--api-key", KEY)

    assert result.exit_code == 3
    assert "http://127.0.0.1:99999/v1/thirdParty/cdp/segment" in result.stderr
    assert "bad port" in result.stderr


def test_default_url_is_frigades_segment_webhook(cli: Cli) -> None:
    result = cli("segment", "test-webhook", "--api-key", KEY, "--dry-run", "--json")

    assert result.exit_code == 0, result.output
    (request,) = json.loads(result.stdout)["requests"]
    assert request["url"] == "https://api.frigade.com/v1/thirdParty/cdp/segment"


def test_frigade_api_url_moves_the_default_url(
    cli: Cli, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRIGADE_API_URL", recorder.url)

    result = cli("segment", "test-webhook", "--api-key", KEY)

    assert result.exit_code == 0, result.output
    assert [r.path for r in recorder.requests] == ["/v1/thirdParty/cdp/segment"]


# Answers that need a human -----------------------------------------------------------------------


def test_a_404_names_the_path_frigade_expects(cli: Cli, recorder: Recorder) -> None:
    recorder.default = Answer(404, b'{"message":"Cannot POST /v1/segment"}')

    result = cli("segment", "test-webhook", "--url", f"{recorder.url}/v1/segment", "--api-key", KEY)

    assert result.exit_code == 5
    assert "HTTP 404" in result.stderr
    assert "nothing at /v1/segment" in result.stderr
    assert "POST /v1/thirdParty/cdp/segment" in result.stderr


def test_a_404_at_the_right_path_says_the_host_may_be_wrong(cli: Cli, recorder: Recorder) -> None:
    recorder.default = Answer(404, b'{"message":"Cannot POST"}')

    result = send(cli, recorder)

    assert result.exit_code == 5
    assert "the server has no /v1/thirdParty/cdp/segment" in result.stderr


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_shows_where_it_points_and_is_never_followed(
    cli: Cli, recorder: Recorder, status: int
) -> None:
    target = "https://api.frigade.example/v1/thirdParty/cdp/segment"
    recorder.default = Answer(status, b"", {"Location": target})

    result = send(cli, recorder, "--json")

    assert result.exit_code == 5
    assert len(recorder.requests) == 1
    summary = json.loads(result.stdout)
    (error,) = summary["errors"]
    assert error.startswith(f"HTTP {status}: the URL redirects to {target}; not followed")
    assert "--url" in error


def test_a_retry_after_over_the_cap_is_reported_before_waiting(
    cli: Cli, recorder: Recorder
) -> None:
    recorder.answer(Answer(429, b'{"message":"slow down"}', {"Retry-After": "120"}))

    result = send(cli, recorder, "--max-retry-wait", "100ms")

    assert result.exit_code == 0, result.output
    assert len(recorder.requests) == 2
    assert (
        "warning: batch 1: the server asks to wait 120 s (Retry-After); waiting 0.1 s instead "
        "(--max-retry-wait)" in result.stderr
    )


def test_the_capped_wait_is_told_only_when_a_wait_follows(cli: Cli, recorder: Recorder) -> None:
    refused = Answer(429, b'{"message":"slow down"}', {"Retry-After": "3600"})
    recorder.default = refused

    result = send(cli, recorder, "--retries", "2", "--max-retry-wait", "100ms")

    assert result.exit_code == 5, result.output
    assert len(recorder.requests) == 3  # the first attempt and 2 retries: 2 waits
    assert result.stderr.count("waiting 0.1 s instead (--max-retry-wait)") == 2


def test_a_retry_after_under_the_cap_is_waited_quietly(cli: Cli, recorder: Recorder) -> None:
    recorder.answer(Answer(429, b'{"message":"slow down"}', {"Retry-After": "0"}))

    result = send(cli, recorder)

    assert result.exit_code == 0, result.output
    assert "Retry-After" not in result.stderr


def test_a_message_the_added_message_id_pushes_over_32_kb_is_named_by_file_and_line(
    cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    # JSON as JavaScript writes it: compact. The tool's id adds `,"messageId":"frigade-cli-` +
    # 12 + `-` + 7 + `-` + 12 characters + `"`: 60 bytes.
    message = {"type": "track", "userId": "u1", "event": "Big", "properties": {"blob": ""}}
    bare = len(json.dumps(message, separators=(",", ":")))
    message["properties"]["blob"] = "x" * (32 * 1024 - bare - 10)  # 10 bytes under the limit
    size = len(json.dumps(message, separators=(",", ":")))
    fixture = tmp_path / "events.ndjson"
    fixture.write_text(json.dumps({"type": "track", "userId": "u1", "event": "Small"}) + "\n"
                       + json.dumps(message) + "\n")  # fmt: skip

    result = send(cli, recorder, "--fixture", str(fixture))

    assert result.exit_code == 3, result.output
    assert (
        f"error: {fixture} line 2: message is {size} bytes, {size + 60} with the messageId "
        "frigade-cli adds (it has none)"
    ) in result.stderr
    assert "frigade-cli-" not in result.stderr
    assert recorder.requests == []
