"""Pure pieces behind `segment tail` and `connect`: filters, addresses, lines, key forms, ids."""

from __future__ import annotations

import re

import pytest

from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.redact import redact_text
from frigade_cli.render.tail import event_line
from frigade_cli.sandbox.events import EventHub, StreamFilter, sse_bytes
from frigade_cli.segment.event_filter import EventFilter, group_of
from frigade_cli.segment.write_key import check_write_key
from frigade_cli.services.tail import listen_address, stream_url

TRACK = {
    "type": "track",
    "event": "flowResponse.startedFlow",
    "userId": 42,
    "anonymousId": "a-1",
    "properties": {"groupId": "g-7"},
    "messageId": "m-1",
    "receivedAt": "2026-11-29T10:40:01.123Z",
}


@pytest.mark.parametrize(
    ("flt", "passes"),
    [
        (EventFilter.build(), True),
        (EventFilter.build(["identify", "track"]), True),
        (EventFilter.build(["identify,group"]), False),
        (EventFilter.build(event="flowResponse.*"), True),
        (EventFilter.build(event="flowresponse.*"), False),  # globs are case-sensitive
        (EventFilter.build(event="*Step"), False),
        (EventFilter.build(user_id="42"), True),  # a numeric id matches its text
        (EventFilter.build(anonymous_id="a-2"), False),
        (EventFilter.build(group_id="g-7"), True),
        (EventFilter.build(["track"], group_id="g-7", user_id="42"), True),
        (EventFilter.build(["track"], group_id="g-8", user_id="42"), False),
    ],
)
def test_a_filter_passes_what_meets_all_its_conditions(flt: EventFilter, passes: bool) -> None:
    assert flt.matches("track", TRACK) is passes
    assert flt.select([TRACK]) == ([TRACK] if passes else [])


def test_the_group_is_found_where_each_call_keeps_it() -> None:
    assert group_of({"groupId": "a", "context": {"groupId": "b"}}) == "a"
    assert group_of({"context": {"groupId": "b"}, "properties": {"groupId": "c"}}) == "b"
    assert group_of({"properties": {"groupId": "c"}}) == "c"
    assert group_of({"properties": "not an object"}) is None


@pytest.mark.parametrize(
    ("listen", "host", "port", "expected"),
    [
        ("8788", None, None, ("127.0.0.1", 8788)),
        ("0", None, None, ("127.0.0.1", 0)),
        ("0.0.0.0:9000", None, None, ("0.0.0.0", 9000)),
        ("[::1]:9000", None, None, ("::1", 9000)),
        (None, "0.0.0.0", None, ("0.0.0.0", 0)),
        (None, None, 7000, ("127.0.0.1", 7000)),
        ("127.0.0.1:7000", "127.0.0.1", 7000, ("127.0.0.1", 7000)),
    ],
)
def test_listen_addresses(
    listen: str | None, host: str | None, port: int | None, expected: tuple[str, int]
) -> None:
    assert listen_address(listen, host, port) == expected


@pytest.mark.parametrize(
    ("listen", "host", "port", "words"),
    [
        ("abc", None, None, "expected [HOST:]PORT"),
        ("host:", None, None, "expected [HOST:]PORT"),
        ("99999", None, None, "out of range"),
        ("8788", None, 8789, "different ports"),
        ("10.0.0.1:8788", "127.0.0.1", None, "different hosts"),
    ],
)
def test_bad_listen_addresses(
    listen: str | None, host: str | None, port: int | None, words: str
) -> None:
    with pytest.raises(InputError, match=re.escape(words)):
        listen_address(listen, host, port)


def test_the_stream_url_comes_from_the_sandbox_url() -> None:
    assert stream_url("http://127.0.0.1:8787/") == "http://127.0.0.1:8787/_sandbox/stream"
    assert stream_url("http://h:1/_sandbox/stream") == "http://h:1/_sandbox/stream"
    with pytest.raises(InputError):
        stream_url("127.0.0.1:8787")


def test_an_event_line_holds_what_a_person_looks_for() -> None:
    line = event_line("track", TRACK)

    assert line.split() == [
        "10:40:01.123",
        "track",
        "flowResponse.startedFlow",
        "user=42",
        "group=g-7",
        "id=m-1",
    ]


def test_an_identify_line_summarises_its_traits_and_a_coloured_line_escapes_markup() -> None:
    identify = {"type": "identify", "anonymousId": "a", "traits": {"plan": "[bold]pro"}}

    plain = event_line("identify", identify, side="segment", upstream="200 3ms")
    coloured = event_line("identify", identify, colour=True)

    assert "plan=[bold]pro" in plain and "anon=a" in plain and plain.endswith("-> 200 3ms")
    assert plain.split()[0:2] == ["segment", "identify"]  # no time: none in the message
    assert "[green]identify" in coloured and "plan=\\[bold]pro" in coloured


@pytest.mark.parametrize("text", ["BEARER abcdefghijkl", "Authorization: BaSiC dXNlcjpwYXNz"])
def test_an_auth_header_in_any_case_is_still_redacted(text: str) -> None:
    assert text.split()[-1] not in redact_text(text)


@pytest.mark.parametrize("key", ["wk_abc123", "Ab9xK2LmN0pQ4rS6tU8vW1yZ3", "x"])
def test_write_keys_of_any_plain_form_pass(key: str) -> None:
    assert check_write_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        " wk",
        "wk ",
        "w k",
        "w\tk",
        "wk\u00a0x",
        "wk\u200b",
        "wk\x07",
        "caf\u00e9",
        "api_private_x",
        "api_public_x",
        "https://api.segment.io",
        "a/b",
    ],
)
def test_malformed_write_keys_are_input_errors(key: str) -> None:
    with pytest.raises(InputError):
        check_write_key(key)


def test_a_stream_resumes_after_its_own_ids_and_replays_after_another_runs() -> None:
    hub = EventHub()
    for n in range(3):
        hub.publish("segment", "track", {"n": n})

    assert hub.resume_after(f"{hub.run}.2") == 2
    assert hub.resume_after("2") == 2
    assert hub.resume_after("0123abcd.9") in (0, 9)  # 9 only if the run ids collide
    assert hub.resume_after("deadbeef.9") == (9 if hub.run == "deadbeef" else 0)
    assert hub.resume_after("") is None and hub.resume_after("x.y") is None
    assert [i[0] for i in hub.recent(StreamFilter(), None, 0)] == [1, 2, 3]
    assert sse_bytes(hub.recent(StreamFilter())[0], hub.run).startswith(
        f"id: {hub.run}.1\ndata: ".encode()
    )


def test_a_stream_cursor_shows_each_event_once_and_counts_gaps_and_restarts() -> None:
    from frigade_cli.services.tail import StreamCursor

    cursor = StreamCursor()
    steps = [
        ("r1.5", True),  # the stream opens after event 5
        ("r1.6", False),
        ("r1.7", False),
        ("r1.7", False),  # already seen
        ("r1.7", True),  # a reconnect opens where the reader was
        ("r1.10", False),  # 8 and 9 were no longer held
        ("r2.0", True),  # the sandbox restarted: its stream opens before its first event
        ("r2.1", False),
        ("r2.4", False),  # 2 and 3 gone from the new run's buffer
    ]
    seen = [cursor.advance(event_id, opening) for event_id, opening in steps]

    assert seen == [
        (True, 0, False),
        (True, 0, False),
        (True, 0, False),
        (False, 0, False),
        (False, 0, False),
        (True, 2, False),
        (True, 0, True),
        (True, 0, False),
        (True, 2, False),
    ]
    assert cursor.last_id == "r2.4"


def test_a_stream_dropped_again_and_again_backs_off_to_the_cap() -> None:
    from frigade_cli.services.tail import RECONNECT_BASE, RECONNECT_CAP, redrop_delay

    delays = [redrop_delay(n) for n in range(1, 10)]
    # At once after one drop, then 0.25 s doubling (hand-computed), never past the 5 s cap.
    assert delays[:6] == [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    assert delays[6:] == [5.0, 5.0, 5.0]
    assert (RECONNECT_BASE, RECONNECT_CAP) == (0.25, 5.0)
