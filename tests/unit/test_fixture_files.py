"""Reading user fixture files: UTF-8 only, a byte-order mark allowed, NDJSON (and gzip) streamed."""

from __future__ import annotations

import gc
import gzip
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from frigade_cli.kernel.errors import InputError
from frigade_cli.segment.fixtures import (
    Override,
    ReadProgress,
    iter_fixture_messages,
    load_fixtures,
)

IDENTIFY = {"type": "identify", "userId": "u1", "traits": {"plan": "free"}}
TRACK = {"type": "track", "userId": "u1", "event": "Clicked"}
BOM = b"\xef\xbb\xbf"


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode() + b"\n"


def problem_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_fixtures([str(path)])
    return str(info.value)


# Encoding -------------------------------------------------------------------------------------


def test_a_latin1_line_in_ndjson_is_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(line(TRACK) + b'{"type":"identify","userId":"caf\xe9"}\n' + line(TRACK))

    problem = problem_of(path)

    assert problem.startswith(f"{path} line 2: not UTF-8")
    assert "0xe9" in problem


def test_a_latin1_byte_in_a_pretty_json_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_bytes(b'{\n  "type": "identify",\n  "userId": "caf\xe9"\n}\n')

    assert problem_of(path).startswith(f"{path} line 3: not UTF-8 (byte 0xe9 at column 17)")


def test_a_latin1_single_line_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_bytes(b'{"type":"identify","userId":"caf\xe9"}')

    assert problem_of(path).startswith(f"{path} line 1: not UTF-8")


def test_valid_utf8_text_is_kept_exactly(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(line({**IDENTIFY, "userId": "café ✓"}) + line(TRACK))

    assert load_fixtures([str(path)])[0]["userId"] == "café ✓"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("one.json", json.dumps(IDENTIFY, indent=2).encode(), [IDENTIFY]),
        ("many.json", json.dumps([IDENTIFY, TRACK]).encode(), [IDENTIFY, TRACK]),
        ("pretty.json", json.dumps([IDENTIFY, TRACK], indent=2).encode(), [IDENTIFY, TRACK]),
        ("events.ndjson", line(IDENTIFY) + line(TRACK), [IDENTIFY, TRACK]),
        ("single.ndjson", line(TRACK), [TRACK]),
    ],
)
def test_a_utf8_byte_order_mark_is_accepted(
    tmp_path: Path, name: str, content: bytes, expected: list[dict[str, Any]]
) -> None:
    path = tmp_path / name
    path.write_bytes(BOM + content)

    assert load_fixtures([str(path)]) == expected


def test_a_byte_order_mark_later_in_the_file_is_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(line(IDENTIFY) + BOM + line(TRACK))

    assert problem_of(path).startswith(f"{path} line 2: invalid JSON")


def test_escaped_lone_surrogates_and_big_integers_are_read_as_javascript_does(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(
        b'{"type":"track","userId":"u\\ud800","event":"E","properties":{"id":9007199254740993}}\n'
        + line(TRACK)
    )

    first = load_fixtures([str(path)])[0]

    assert first["userId"] == "u\ud800"
    assert first["properties"]["id"] == 9007199254740992.0


# Streaming ------------------------------------------------------------------------------------


def test_ndjson_is_read_lazily_so_an_error_comes_when_reached(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(line(IDENTIFY) + line(TRACK) + b'{"type": "track", "userId": \n')

    messages = iter_fixture_messages([str(path)])

    assert next(messages) == IDENTIFY
    assert next(messages) == TRACK
    with pytest.raises(InputError, match=r"line 3: invalid JSON"):
        next(messages)


def test_a_missing_file_is_refused_before_any_message(tmp_path: Path) -> None:
    good = tmp_path / "good.ndjson"
    good.write_bytes(line(IDENTIFY) + line(TRACK))

    with pytest.raises(InputError, match="not found"):
        iter_fixture_messages([str(good), str(tmp_path / "missing.ndjson")])


def test_gzip_ndjson_is_read_whatever_its_name(tmp_path: Path) -> None:
    for name in ("events.ndjson.gz", "events.gz", "export.bin"):
        path = tmp_path / name
        path.write_bytes(gzip.compress(line(IDENTIFY) + b"\n" + line(TRACK)))

        assert load_fixtures([str(path)]) == [IDENTIFY, TRACK]


def test_a_gzip_json_array_is_read(tmp_path: Path) -> None:
    path = tmp_path / "many.json.gz"
    path.write_bytes(gzip.compress(BOM + json.dumps([IDENTIFY, TRACK]).encode()))

    assert load_fixtures([str(path)]) == [IDENTIFY, TRACK]


def test_a_truncated_gzip_file_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson.gz"
    whole = gzip.compress(b"".join(line({**TRACK, "n": n}) for n in range(2000)))
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InputError) as info:
        for _ in iter_fixture_messages([str(path)]):
            pass

    assert str(info.value).startswith(f"{path}: cannot read fixture file after line")


def test_an_error_in_a_gzip_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson.gz"
    path.write_bytes(gzip.compress(line(IDENTIFY) + line(TRACK) + line({"type": "group"})))

    with pytest.raises(InputError, match=r"events\.ndjson\.gz line 3: field 'groupId'"):
        load_fixtures([str(path)])


def test_progress_counts_bytes_lines_and_messages(tmp_path: Path) -> None:
    plain = tmp_path / "a.ndjson"
    plain.write_bytes(line(IDENTIFY) + b"\n" + line(TRACK) + line(TRACK))
    packed = tmp_path / "b.ndjson.gz"
    packed.write_bytes(gzip.compress(line(IDENTIFY) + line(TRACK)))
    progress = ReadProgress()

    messages = list(iter_fixture_messages([str(plain), str(packed)], progress=progress))

    size = plain.stat().st_size + packed.stat().st_size
    assert len(messages) == progress.messages == 5
    assert progress.lines_read == 4 + 2
    assert progress.bytes_total == progress.bytes_read == size
    assert progress.current == str(packed)


def test_only_types_keeps_those_messages_and_still_validates_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(line(IDENTIFY) + line(TRACK) + line(IDENTIFY))

    kept = list(iter_fixture_messages([str(path)], only_types={"track"}))
    assert kept == [TRACK]

    path.write_bytes(line(IDENTIFY) + line({"type": "identify"}))
    with pytest.raises(InputError, match="line 2"):
        list(iter_fixture_messages([str(path)], only_types={"track"}))


def test_overrides_apply_to_streamed_messages(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson.gz"
    path.write_bytes(gzip.compress(line(IDENTIFY) + line(TRACK)))

    messages = iter_fixture_messages([str(path)], [Override.parse("userId=u9")])

    assert [m["userId"] for m in messages] == ["u9", "u9"]


def _write_events(path: Path, count: int) -> None:
    with gzip.open(path, "wb", compresslevel=1) as out:
        for n in range(count):
            message = {
                "type": "track",
                "userId": f"user_{n}",
                "event": "Invoice Downloaded",
                "messageId": f"m-{n:09d}",
                "properties": {"amount": n / 4, "note": "x" * 200},
            }
            out.write(line(message))


def _peak_while_reading(path: Path) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    try:
        read = sum(1 for _ in iter_fixture_messages([str(path)]))
        return read, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_long_the_ndjson_gz_file(tmp_path: Path) -> None:
    # Both files are long enough for gzip's own read buffer to reach its ceiling (it grows up to
    # a fixed size on Python 3.12+), so any further growth would come from the reader itself.
    small, large = tmp_path / "small.ndjson.gz", tmp_path / "large.ndjson.gz"
    _write_events(small, 40_000)  # about 11 MB of JSON once decompressed
    _write_events(large, 120_000)
    _peak_while_reading(small)  # warm-up: validators and caches built once

    read_small, small_peak = _peak_while_reading(small)
    read_large, large_peak = _peak_while_reading(large)

    assert (read_small, read_large) == (40_000, 120_000)
    # Three times the events, about the same peak: nothing grows with the file.
    assert large_peak < small_peak * 1.2 + 64 * 1024
    assert large_peak < 2 * 1024 * 1024


def test_override_values_are_read_as_javascript_reads_json() -> None:
    message = {"type": "track", "userId": "u1", "event": "E"}

    Override.parse("properties.id=9007199254740993").apply(message)
    Override.parse('properties.s="\\ud800"').apply(message)

    assert message["properties"] == {"id": 9007199254740992.0, "s": "\ud800"}
