"""test-webhook's requests and the sandbox destination's deliveries against Segment's own
Webhooks (Actions) destination, run in Node on the same events, mapping and shared secret.

Both sides send to one recording server on 127.0.0.1; each request is compared with the one
Segment's code makes for the same events: method, body bytes, X-Signature and the whole header set
(Host and Content-Length included). Every disagreement is printed with the case that shows it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from frigade_cli.sandbox import run_sandbox
from frigade_cli.sandbox.server import RunningSandbox
from frigade_cli.sandbox.testing import fast_config
from tests.conftest import Cli
from tests.oracles import corpus
from tests.oracles.harness import Oracles
from tests.support.recorder import Recorded, Recorder

SEED = 20261202
KEY = "api_private_oracle0000abcd"
ALL_TYPES = ("identify", "group", "track", "page", "screen", "alias")
FRIGADE_TYPES = ("identify", "group", "track")
SECRETS = [None, "s3cret", "sécret-🚀", "a much longer shared secret, with spaces"]


@dataclass
class Case:
    """One request to compare: what the product sent, and the oracle request that should match."""

    name: str
    product: Recorded
    oracle_path: str
    request: dict[str, Any]


def requests_at(recorder: Recorder, path: str) -> list[Recorded]:
    return [r for r in recorder.requests if r.path == path]


def disagreements(cases: list[Case], recorder: Recorder, oracles: Oracles) -> list[str]:
    """Run every case's oracle request, then compare each pair.

    One line per kind of difference (a header's name, the body, the method): how many requests
    show it, and the smallest case that does (fewest events, fewest mapping headers).
    """
    answers = oracles.map("webhook.mjs", [c.request for c in cases])
    kinds: dict[str, list[tuple[int, str]]] = {}
    for case, answer in zip(cases, answers, strict=True):
        [oracle] = requests_at(recorder, case.oracle_path) or [None]
        if oracle is None:
            found = [corpus.Difference("nothing sent by Segment's code", "-", repr(answer))]
        else:
            found = corpus.header_differences(case.product.header_lines, oracle.header_lines)
            body = corpus.body_difference(case.product.body, oracle.body)
            found += [body] if body else []
            if case.product.method != oracle.method:
                found.append(corpus.Difference("method", case.product.method, oracle.method))
        mapping, settings = case.request["mapping"], case.request["settings"]
        size = len(case.request["events"]) + 100 * len(mapping["headers"])
        given = (
            f"{case.name}: method {mapping['method']}, headers {mapping['headers']}, "
            f"secret {settings.get('sharedSecret')!r}, events {case.request['events'][:300]}"
        )
        for difference in found:
            kind = difference.what.split(" at byte")[0]
            kinds.setdefault(kind, []).append((size, f"{difference}\n    in {given}"))
    return [
        f"{kind}: {len(seen)} request(s); smallest: {min(seen)[1]}"
        for kind, seen in sorted(kinds.items())
    ]


def report(found: list[str], compared: int) -> str:
    return f"{compared} requests compared with Segment's (seed {SEED}):\n" + "\n".join(found)


# test-webhook -----------------------------------------------------------------------------------
def test_test_webhook_sends_what_segments_destination_sends(
    oracles: Oracles, cli: Cli, recorder: Recorder, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    write = corpus.Writer(rng)
    cases: list[Case] = []
    runs = [(size, secret) for size in (1, 2, 3, 5, 8, 13) for secret in SECRETS]
    for run, (batch_size, secret) in enumerate(runs):
        batches = rng.randint(15, 25)
        texts = [write.message(f"tw-{run}-{n}", ALL_TYPES) for n in range(batch_size * batches)]
        fixture = tmp_path / f"run{run}.ndjson"
        fixture.write_text("\n".join(texts) + "\n", encoding="utf-8")
        path = f"/tw/{run}"
        args = ["segment", "test-webhook", "--url", recorder.url + path, "--api-key", KEY]
        args += ["--fixture", str(fixture), "--batch-size", str(batch_size)]
        args += ["--types", ",".join(ALL_TYPES), "--concurrency", "1", "--json"]
        args += ["--signing-secret", secret] if secret else []
        result = cli(*args)
        assert result.exit_code == 0, result.output
        sent = requests_at(recorder, path)
        assert len(sent) == batches, result.output
        for index, product in enumerate(sent):
            chunk = texts[index * batch_size : (index + 1) * batch_size]
            oracle_path = f"/segment/tw/{run}/{index}"
            cases.append(
                Case(
                    f"test-webhook run {run} batch {index}",
                    product,
                    oracle_path,
                    {
                        "events": "[" + ",".join(chunk) + "]",
                        "mapping": {
                            "url": recorder.url + oracle_path,
                            "method": "POST",
                            "headers": {"Authorization": f"Bearer {KEY}"},
                            "batch_size": batch_size,
                        },
                        "settings": {"sharedSecret": secret} if secret else {},
                        "batched": True,
                    },
                )
            )

    found = disagreements(cases, recorder, oracles)

    assert len(cases) >= 400
    assert not found, report(found, len(cases))


# The sandbox's destination ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(fast_config()) as running:
        yield running


def post_texts(sandbox: RunningSandbox, texts: list[str]) -> httpx.Response:
    body = '{"batch":[' + ",".join(texts) + "]}"
    return sandbox.client.post(
        "/segment/v1/batch",
        content=body.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
        auth=(sandbox.write_key, ""),
    )


def sandbox_cases(
    rng: random.Random, sandbox: RunningSandbox, recorder: Recorder, count: int
) -> Iterator[Case]:
    # Segment's tracking API side of the sandbox refuses lone surrogates (a separate question).
    write = corpus.Writer(rng, lone_surrogates=False)
    for number in range(count):
        batched = rng.random() < 0.7
        secret = rng.choice(SECRETS)
        headers = corpus.mapping_headers(rng)
        method = rng.choice(["POST", "PUT", "PATCH"])
        texts = [write.message(f"sb-{number}-{n}", FRIGADE_TYPES) for n in range(rng.randint(1, 6))]
        path = f"/sb/{number}"
        destination: dict[str, Any] = {
            "url": recorder.url + path,
            "method": method,
            "headers": headers,
            "enable_batching": batched,
            "batch_size": rng.randint(1, 8),
            "shared_secret": secret,
            "flush_interval": "10s",
        }
        sandbox.configure(destination=destination)
        answer = post_texts(sandbox, texts)
        assert answer.status_code == 200, answer.text
        assert sandbox.wait_idle(timeout=10.0)
        delivered = requests_at(recorder, path)
        assert sum(len(r.json()) if batched else 1 for r in delivered) == len(texts), delivered
        for index, product in enumerate(delivered):
            oracle_path = f"/segment/sb/{number}/{index}"
            body = product.body.decode("utf-8")
            yield Case(
                f"sandbox case {number} request {index} ({'batched' if batched else 'one event'})",
                product,
                oracle_path,
                {
                    "events": body if batched else f"[{body}]",
                    "mapping": {
                        "url": recorder.url + oracle_path,
                        "method": method,
                        "headers": headers,
                        "batch_size": destination["batch_size"],
                    },
                    "settings": {"sharedSecret": secret} if secret else {},
                    "batched": batched,
                },
            )


def test_the_sandbox_destination_delivers_what_segments_destination_sends(
    oracles: Oracles, sandbox: RunningSandbox, recorder: Recorder
) -> None:
    rng = random.Random(SEED + 1)

    cases = list(sandbox_cases(rng, sandbox, recorder, 300))
    found = disagreements(cases, recorder, oracles)

    assert len(cases) >= 500
    assert not found, report(found, len(cases))


def test_the_corpus_reaches_the_edges_it_is_meant_to() -> None:
    # The generated messages must hold what makes JSON writers differ, or the comparison is idle.
    rng = random.Random(SEED)
    write = corpus.Writer(rng)
    texts = [write.message(f"m{n}", ALL_TYPES) for n in range(300)]
    joined = "\n".join(texts)
    for needle in ('"1":', "e-7", "\\ud800", "\u2028", "9007199254740993", "-0"):
        assert needle in joined, needle
    parsed = [json.loads(t) for t in texts]
    assert {m["type"] for m in parsed} == set(ALL_TYPES)
