"""Spool files: written 0600 and whole, redacted, refused with one line when they cannot be."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from frigade_cli.kernel import spool
from frigade_cli.kernel.errors import InputError, UnsavedError
from frigade_cli.kernel.spool import SpooledBatch
from frigade_cli.segment.spool_format import SEGMENT_SPOOL


def write_spool(batches, path=None, secrets=()):  # type: ignore[no-untyped-def]
    return spool.write_spool(batches, path, secrets, codec=SEGMENT_SPOOL)


def read_spool(path):  # type: ignore[no-untyped-def]
    return spool.read_spool(path, SEGMENT_SPOOL)


def check_spool(path):  # type: ignore[no-untyped-def]
    return spool.check_spool(path, SEGMENT_SPOOL)


MESSAGE = {"type": "identify", "userId": "u1", "messageId": "m1"}


def test_a_spool_line_holds_the_batch_with_its_url_and_error_redacted(tmp_path: Path) -> None:
    batch = SpooledBatch(
        url="https://bob:pw123456@h.example/hook?token=tok_abcdefgh",
        messages=[MESSAGE],
        status=400,
        error="HTTP 400: echoed sEcReT-42-value",
    )

    path = write_spool([batch], tmp_path / "s.ndjson", secrets=["sEcReT-42-value"])

    assert path == tmp_path / "s.ndjson"
    (line,) = [json.loads(x) for x in path.read_text().splitlines()]
    assert line["url"] == "https://bob:****@h.example/hook?token=****efgh"
    assert line["error"] == "HTTP 400: echoed ****alue"
    assert line["messages"] == [MESSAGE]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.ndjson"]  # no partial file left


def test_nothing_to_keep_writes_nothing(tmp_path: Path) -> None:
    assert write_spool([], tmp_path / "s.ndjson") is None
    assert not (tmp_path / "s.ndjson").exists()


def test_an_unwritable_place_is_one_line_saying_where_and_why(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(UnsavedError) as info:
        write_spool([SpooledBatch("https://h/x", [MESSAGE, MESSAGE])], blocker / "s.ndjson")

    assert info.value.message == (
        f"could not save 2 undelivered events to {blocker}: it is a file, not a directory"
    )
    assert info.value.exit_code == 7


def test_a_spool_file_reads_back_as_written(tmp_path: Path) -> None:
    path = write_spool([SpooledBatch("https://h/x", [MESSAGE], 503, "HTTP 503")], tmp_path / "s")
    assert path is not None

    (batch,) = read_spool(path)

    assert (batch.url, batch.messages, batch.status, batch.error) == (
        "https://h/x",
        [MESSAGE],
        503,
        "HTTP 503",
    )


def test_a_message_only_javascript_can_write_survives_the_spool(tmp_path: Path) -> None:
    # A lone surrogate and an integer past 2**64 are valid in a fixture (JSON.parse reads them);
    # the spool must keep them, written as JSON.stringify writes them.
    message = {"type": "track", "userId": "u\ud800", "event": "E", "properties": {"n": 2**70}}
    path = write_spool(
        [SpooledBatch(url="http://127.0.0.1:1/hook", messages=[message])], tmp_path / "s.ndjson"
    )

    assert path is not None
    line = path.read_bytes()
    assert b'"userId":"u\\ud800"' in line
    assert b'"n":1.1805916207174113e+21' in line  # JSON.stringify(2 ** 70)
    (batch,) = read_spool(path)
    assert batch.messages[0]["userId"] == "u\ud800"
    assert batch.messages[0]["properties"]["n"] == float(2**70)


def test_batches_are_written_as_they_come_not_gathered_first(tmp_path: Path) -> None:
    target = tmp_path / "s.ndjson"
    partial = tmp_path / ".s.ndjson.partial"
    writing: list[bool] = []

    def batches() -> Iterator[SpooledBatch]:
        for n in range(3):
            # Gathering every batch first would make the file only after the last one.
            writing.append(partial.exists())
            yield SpooledBatch("https://h/x", [{**MESSAGE, "messageId": f"m{n}"}] * 2000)

    write_spool(batches(), target)

    assert writing == [False, True, True]
    assert [len(b.messages) for b in read_spool(target)] == [2000, 2000, 2000]
    assert not partial.exists()


def test_check_spool_counts_every_event_and_names_a_bad_line(tmp_path: Path) -> None:
    path = write_spool(
        [SpooledBatch("https://h/x", [MESSAGE] * 3), SpooledBatch("https://h/y", [MESSAGE] * 2)],
        tmp_path / "s.ndjson",
    )
    assert path is not None
    checked = check_spool(path)
    assert (checked.url, checked.batches, checked.events) == ("https://h/x", 2, 5)
    assert [len(b.messages) for b in checked.batches_iter()] == [3, 2]

    with path.open("a") as out:
        out.write('{"messages": [{"type": "identify"}]}\n')
    with pytest.raises(InputError, match="line 3 message 1"):
        check_spool(path)
