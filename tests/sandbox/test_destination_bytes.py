"""The sandbox's Webhooks destination writes and signs bodies as Node's JSON.stringify does."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess

import pytest

from frigade_cli.sandbox.server import RunningSandbox
from tests.support.recorder import Recorder

SECRET = "destination-secret"
_NODE = (
    "const v = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
    "process.stdout.write(JSON.stringify(v) + '\\n' + JSON.stringify(v[0]));"
)
BATCH = (
    b'{"batch":[{"type":"track","userId":"u1","event":"Checkout","properties":'
    b'{"b":1,"2":"two","1":"one","rate":0.000001,"tiny":1e-7,"big":1e21,"whole":100.0,'
    b'"id":9007199254740993,"line":"a\\u2028b"}},'
    b'{"type":"identify","userId":"u2","traits":{"10":"ten","9":"nine","n":-0.0}}]}'
)


def test_delivered_bodies_and_signatures_are_what_node_writes(
    sb: RunningSandbox, recorder: Recorder
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: Node's JSON.stringify is the oracle of this test")
    sb.configure(
        destination={"url": recorder.webhook_url, "shared_secret": SECRET, "batch_size": 2}
    )

    response = sb.client.post(
        "/segment/v1/batch",
        content=BATCH,
        headers={"content-type": "application/json"},
        auth=(sb.write_key, ""),
    )
    assert response.status_code == 200, response.text
    sb.wait_idle()

    [request] = recorder.requests
    done = subprocess.run([node, "-e", _NODE], input=request.body, capture_output=True, check=True)
    whole, first = done.stdout.split(b"\n")
    assert request.body == whole
    assert (
        request.headers["x-signature"] == hmac.new(SECRET.encode(), first, hashlib.sha1).hexdigest()
    )
    assert (
        b'{"1":"one","2":"two","b":1,"rate":0.000001,"tiny":1e-7,"big":1e+21,"whole":100,'
        b'"id":9007199254740992,"line":"a\xe2\x80\xa8b"}'
    ) in request.body
    assert b'"traits":{"9":"nine","10":"ten","n":0}' in request.body
