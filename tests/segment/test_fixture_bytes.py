"""A user's fixture file is sent with the bytes and signature JavaScript would produce."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.support.recorder import Recorder

KEY = "api_private_testkey_0123456789"
SECRET = "fixture-shared-secret"

# What Node writes back for a body: the whole array, then its first element, one a line.
_NODE = (
    "const v = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
    "process.stdout.write(JSON.stringify(v) + '\\n' + JSON.stringify(v[0]));"
)

# Integer-like keys out of order, numbers at JavaScript's edges, a lone surrogate, a big integer.
FIXTURE = (
    b'{"type":"track","userId":"u1","event":"Checkout","properties":'
    b'{"b":1,"2":"two","1":"one","rate":0.000001,"tiny":1e-7,"big":1e21,"whole":100.0,'
    b'"id":9007199254740993,"s":"lone \\ud800 and \\u2028"}}\n'
    b'{"type":"identify","userId":"u2","traits":{"10":"ten","9":"nine","n":-0}}\n'
)


@pytest.fixture
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed: Node's JSON.stringify is the oracle of this test")
    return found


def _as_node_writes(node: str, body: bytes) -> tuple[bytes, bytes]:
    done = subprocess.run([node, "-e", _NODE], input=body, capture_output=True, check=True)
    whole, first = done.stdout.split(b"\n")
    return whole, first


@pytest.mark.parametrize("packing", ["plain", "bom", "gzip"])
def test_fixture_messages_are_sent_as_javascript_writes_and_signs_them(
    cli: Cli, recorder: Recorder, tmp_path: Path, node: str, packing: str
) -> None:
    path = tmp_path / "events.ndjson"
    if packing == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + FIXTURE)
    elif packing == "gzip":
        path = tmp_path / "events.ndjson.gz"
        path.write_bytes(gzip.compress(FIXTURE))
    else:
        path.write_bytes(FIXTURE)

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--fixture", str(path), "--signing-secret", SECRET,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    (request,) = recorder.requests
    whole, first = _as_node_writes(node, request.body)
    assert request.body == whole  # already exactly what JSON.stringify writes
    assert (
        request.headers["x-signature"] == hmac.new(SECRET.encode(), first, hashlib.sha1).hexdigest()
    )
    assert (
        b'"properties":{"1":"one","2":"two","b":1,"rate":0.000001,"tiny":1e-7,"big":1e+21,'
        b'"whole":100,"id":9007199254740992,"s":"lone \\ud800 and \xe2\x80\xa8"}'
    ) in request.body
    assert b'"traits":{"9":"nine","10":"ten","n":0}' in request.body


def test_a_latin1_fixture_is_refused_before_anything_is_sent(
    cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(FIXTURE.split(b"\n")[0] + b'\n{"type":"identify","userId":"caf\xe9"}\n')

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--fixture", str(path),
    )  # fmt: skip

    assert result.exit_code == 3
    assert f"{path} line 2: not UTF-8" in result.stderr
    assert recorder.requests == []


def test_dry_run_json_shows_the_exact_body_even_with_a_lone_surrogate(
    cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(FIXTURE)

    result = cli(
        "segment", "test-webhook", "--url", recorder.webhook_url, "--api-key", KEY,
        "--fixture", str(path), "--dry-run", "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    (planned,) = json.loads(result.stdout)["requests"]
    assert planned["body"][0]["properties"]["s"] == "lone \ud800 and \u2028"
    assert planned["body"][0]["properties"]["rate"] == 0.000001
    assert b'"rate":0.000001,"tiny":1e-7' in result.stdout.encode()
    assert recorder.requests == []
