"""The doctor service: the whole integration, one step at a time, each with a verdict and a fix.

Steps, in order (each composes another command's service, never its CLI):

1. `configuration`: the Frigade private key is found (which, from where, redacted), and what
   else is set.
2. `frigade-key`: Frigade accepts the key (`GET /v1/users` for a user that does not exist:
   a 404 is an accepted key).
3. `public-api`: the Public API token works and the destination exists.
4. `mapping`: the destination's subscriptions (or `--mapping FILE`) pass `validate`'s rules.
5. `end-to-end`: one marked event through Segment's tracking API to Frigade (`latency-check`,
   one sample; `--no-send` skips it).
6. `deliveries`: Segment -> Frigade deliveries in the window (`deliveries`), judged by
   `--max-failure-rate` and `--min-delivered`.
7. `frigade-to-segment`: Frigade holds an active Segment integration (`status`) and, with
   `--frigade-source-id`, its source received events (`--min-received`).

A step that lacks an input is `skipped` and says which flag or variable enables it; `warning`
does not fail the verdict. The exit code is the most severe failed step's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from frigade_cli.kernel.app import App
from frigade_cli.kernel.config import DEFAULT_API_URL, DEFAULT_SEGMENT_API_URL
from frigade_cli.kernel.durations import parse_duration
from frigade_cli.kernel.errors import FrigadeCliError, InputError, Interrupted, UsageError
from frigade_cli.kernel.exit_codes import ExitCode
from frigade_cli.kernel.redact import redact_key

PASSED, WARNING, FAILED, SKIPPED = "passed", "warning", "failed", "skipped"
# The exit code of the most severe failed step wins; an unexpected error is the loudest.
SEVERITY = (
    ExitCode.OK,
    ExitCode.VALIDATION,
    ExitCode.AUTH,
    ExitCode.UPSTREAM,
    ExitCode.THRESHOLD,
    ExitCode.ERROR,
)
PROBE_USER = "frigade-cli-doctor-probe"
TOKEN_FLAGS = "--token or SEGMENT_PUBLIC_API_TOKEN (profile: segment_public_api_token)"
STEP_TITLES = {
    "configuration": "configuration found",
    "frigade-key": "Frigade accepts the private key",
    "public-api": "the Public API token works and the destination exists",
    "mapping": "the mapping passes validate's rules",
    "end-to-end": "one marked event end to end",
    "deliveries": "Segment -> Frigade deliveries",
    "frigade-to-segment": "Frigade -> Segment integration active and receiving",
}


@dataclass
class DoctorRequest:
    """Everything `frigade doctor` was asked to do; flags named as in the commands it runs."""

    api_key: str | None = None
    api_url: str | None = None
    write_key: str | None = None
    segment_url: str | None = None
    token: str | None = None
    public_api_url: str | None = None
    destination_id: str | None = None
    source_id: str | None = None
    frigade_source_id: str | None = None
    mapping: str | None = None
    since: str = "1h"
    max_failure_rate: str | None = "1%"
    min_delivered: int | None = None
    min_received: int | None = None
    timeout: str = "90s"
    no_send: bool = False
    sandbox: bool = False
    sandbox_url: str | None = None
    graphql_path: str = "/graphql"
    integration_type: str = "SEGMENT"
    key_field: str = "writeKey"


@dataclass
class Step:
    """One step's verdict: `status` passed, warning, failed or skipped; `fix` when not passed."""

    name: str
    status: str
    detail: str
    fix: str | None = None
    exit_code: int = 0

    @property
    def title(self) -> str:
        return STEP_TITLES[self.name]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
            "exit_code": self.exit_code,
        }


@dataclass
class DoctorReport:
    """Every step in order; `passed` when none failed."""

    steps: list[Step]
    target: str

    @property
    def passed(self) -> bool:
        return all(s.status != FAILED for s in self.steps)

    @property
    def exit_code(self) -> int:
        codes = [s.exit_code for s in self.steps if s.status == FAILED]
        return max(codes, key=_rank, default=ExitCode.OK)

    def as_dict(self) -> dict[str, Any]:
        """The `--json` document: `{steps: [{name, status, detail, fix, ...}], passed}`."""
        return {
            "steps": [s.as_dict() for s in self.steps],
            "passed": self.passed,
            "exit_code": self.exit_code,
            "target": self.target,
        }


def _rank(code: int) -> int:
    return SEVERITY.index(ExitCode(code)) if code in SEVERITY else len(SEVERITY)


@dataclass
class Setup:
    """The resolved inputs: values and where each came from (flag, env, profile, sandbox)."""

    target: str
    api_key: str | None
    api_key_from: str
    api_url: str
    write_key: str | None
    write_key_from: str
    segment_url: str
    token: str | None
    token_from: str
    public_api_url: str
    destination_id: str | None
    source_id: str | None
    frigade_source_id: str | None
    sandbox_url: str | None = None  # validate reads the mapping from this sandbox
    done: dict[str, Step] = field(default_factory=dict)

    def ok(self, name: str) -> bool:
        step = self.done.get(name)
        return step is not None and step.status in (PASSED, WARNING)


# Settings ---------------------------------------------------------------------------------------
def _configured(app: App, req: DoctorRequest) -> Setup:
    """Flags, environment and profile, as the commands doctor runs read them."""
    from frigade_cli.clients.segment_public_api import DEFAULT_URL

    def lookup(key: str, flag: str | None) -> tuple[str | None, str]:
        value = app.setting(key, flag)
        _, origin = app.config.lookup(key, flag)
        return value, origin

    api_key, api_key_from = lookup("api_key", req.api_key)
    write_key, write_key_from = lookup("segment_write_key", req.write_key)
    token, token_from = lookup("segment_public_api_token", req.token)
    return Setup(
        target="your workspace",
        api_key=api_key,
        api_key_from=api_key_from,
        api_url=(app.setting("api_url", req.api_url) or DEFAULT_API_URL).rstrip("/"),
        write_key=write_key,
        write_key_from=write_key_from,
        segment_url=(app.setting("segment_api_url", req.segment_url) or DEFAULT_SEGMENT_API_URL),
        token=token,
        token_from=token_from,
        public_api_url=req.public_api_url or DEFAULT_URL,
        destination_id=req.destination_id,
        source_id=req.source_id,
        frigade_source_id=req.frigade_source_id,
    )


def _on_sandbox(
    url: str,
    api_key: tuple[str | None, str],
    write_key: tuple[str | None, str],
    token: tuple[str | None, str],
    req: DoctorRequest,
) -> Setup:
    from frigade_cli.sandbox.delivery_overview import FRIGADE_SOURCE_ID, SOURCE_ID
    from frigade_cli.sandbox.public_api import DESTINATION_ID
    from frigade_cli.services.deliveries import PUBLIC_API_PATH

    return Setup(
        target=f"sandbox {url}",
        api_key=api_key[0],
        api_key_from=api_key[1],
        api_url=url,
        write_key=write_key[0],
        write_key_from=write_key[1],
        segment_url=url + "/segment",
        token=token[0],
        token_from=token[1],
        public_api_url=url + PUBLIC_API_PATH,
        destination_id=req.destination_id or DESTINATION_ID,
        source_id=req.source_id or SOURCE_ID,
        frigade_source_id=req.frigade_source_id or FRIGADE_SOURCE_ID,
        sandbox_url=url,
    )


def _given(flag: str, value: str | None, env: str | None = None) -> tuple[str | None, str]:
    """A value given by flag, else by environment variable (never a profile's)."""
    import os

    if value:
        return value, f"flag {flag}"
    if env and os.environ.get(env):
        return os.environ[env], f"env {env}"
    return None, ""


@contextmanager
def _setup(app: App, req: DoctorRequest) -> Iterator[Setup]:
    if req.sandbox_url and not req.sandbox:
        raise UsageError("--sandbox-url needs --sandbox")
    if not req.sandbox:
        yield _configured(app, req)
        return
    if req.sandbox_url:
        from frigade_cli.clients.sandbox_control import read_sandbox

        shown = read_sandbox(req.sandbox_url)

        def pick(given: tuple[str | None, str], own: str | None) -> tuple[str | None, str]:
            return given if given[0] else (own, "the sandbox" if own else "")

        setup = _on_sandbox(
            shown.url,
            pick(_given("--api-key", req.api_key, "FRIGADE_API_KEY"), shown.api_key),
            pick(_given("--write-key", req.write_key, "SEGMENT_WRITE_KEY"), shown.write_key),
            pick(_given("--token", req.token, "SEGMENT_PUBLIC_API_TOKEN"), shown.api_key),
            req,
        )
        yield setup
        return
    given = [
        flag
        for flag, value in (
            ("--api-key", req.api_key),
            ("--api-url", req.api_url),
            ("--write-key", req.write_key),
            ("--segment-url", req.segment_url),
            ("--token", req.token),
            ("--segment-public-api-url", req.public_api_url),
        )
        if value
    ]
    if given:
        raise UsageError(f"--sandbox uses its own URLs and keys: drop {', '.join(given)}")
    from frigade_cli.sandbox import SandboxConfig, run_sandbox

    with run_sandbox(SandboxConfig(port=0)) as running:
        app.terminal.info(f"sandbox started at {running.url}")
        app.terminal.add_secret(running.api_key, running.write_key)
        own = "the sandbox"
        setup = _on_sandbox(
            running.url,
            (running.api_key, own),
            (running.write_key, own),
            (running.api_key, own),
            req,
        )
        _prepare_sandbox(app, setup, req)
        yield setup


def _prepare_sandbox(app: App, setup: Setup, req: DoctorRequest) -> None:
    """Set a fresh sandbox up as a connected workspace: its write key registered as Frigade's
    Segment integration (as `connect` does) and, unless --no-send, one flow action that its
    Frigade streams into Segment."""
    from frigade_cli.clients.frigade import FrigadeClient
    from frigade_cli.services.connect import ConnectRequest, run_connect

    assert setup.api_key and setup.write_key
    quiet = App(terminal=app.terminal.quieter(), config=app.config)
    run_connect(quiet, ConnectRequest(_target(setup, req), write_key=setup.write_key))
    if req.no_send:
        return

    async def act() -> None:
        assert setup.api_key
        async with FrigadeClient(setup.api_key, base_url=setup.api_url) as client:
            await client.write_flow_state(PROBE_USER, "frigade-cli-doctor", "STARTED_FLOW")

    asyncio.run(act())


def _target(setup: Setup, req: DoctorRequest) -> Any:
    from frigade_cli.clients.frigade_graphql import IntegrationsApi
    from frigade_cli.services.connect import FrigadeTarget

    return FrigadeTarget(
        setup.api_key,
        setup.api_url,
        IntegrationsApi(req.graphql_path, req.integration_type, req.key_field),
    )


# Steps ------------------------------------------------------------------------------------------
def _failed(name: str, exc: FrigadeCliError, fix: str | None = None) -> Step:
    code = exc.exit_code
    if code == ExitCode.USAGE:  # a Public API 404: a value the user gave that is not there
        code = ExitCode.VALIDATION
    return Step(name, FAILED, exc.message, fix or exc.hint or None, int(code))


def _skipped(name: str, why: str) -> Step:
    return Step(name, SKIPPED, why)


def step_configuration(app: App, setup: Setup, req: DoctorRequest) -> Step:
    from frigade_cli.frigade.rules import KEY_HELP, check_webhook_key

    def shown(value: str | None, origin: str) -> str:
        return f"{redact_key(value)} ({origin})" if value else "not set"

    try:
        check_webhook_key(setup.api_key)
    except InputError as exc:
        return Step("configuration", FAILED, exc.message, exc.hint or KEY_HELP, ExitCode.VALIDATION)
    parts = [
        f"Frigade key {shown(setup.api_key, setup.api_key_from)} at {setup.api_url}",
        f"write key {shown(setup.write_key, setup.write_key_from)}",
        f"Public API token {shown(setup.token, setup.token_from)}",
        f"destination {setup.destination_id or 'not set'}",
        f"source {setup.source_id or 'not set'}",
        f"Frigade source {setup.frigade_source_id or 'not set'}",
    ]
    return Step("configuration", PASSED, "; ".join(parts))


def step_frigade_key(app: App, setup: Setup, req: DoctorRequest) -> Step:
    from frigade_cli.clients.frigade import FrigadeClient
    from frigade_cli.kernel.http import RetryPolicy

    if not setup.ok("configuration"):
        return _skipped("frigade-key", "needs a Frigade private key (see configuration)")
    assert setup.api_key

    async def probe() -> None:
        async with FrigadeClient(
            setup.api_key or "",
            base_url=setup.api_url,
            policy=RetryPolicy(attempts=2),
            timeout=_http_timeout(req),
        ) as client:
            await client.get_user(PROBE_USER)

    try:
        asyncio.run(probe())
    except FrigadeCliError as exc:
        fix = (
            "pass the private key (api_private_...) from the Frigade dashboard with --api-key "
            "or FRIGADE_API_KEY"
            if exc.exit_code == ExitCode.AUTH
            else "check --api-url (FRIGADE_API_URL) and the network"
        )
        return _failed("frigade-key", exc, fix)
    return Step(
        "frigade-key",
        PASSED,
        f"Frigade at {setup.api_url} accepted {redact_key(setup.api_key)} (GET /v1/users)",
    )


def step_public_api(app: App, setup: Setup, req: DoctorRequest) -> Step:
    from frigade_cli.clients.segment_public_api import SegmentPublicApi
    from frigade_cli.kernel.http import RetryPolicy

    missing = []
    if not setup.token:
        missing.append(TOKEN_FLAGS)
    if not setup.destination_id:
        missing.append("--destination-id")
    if missing:
        return _skipped("public-api", "pass " + " and ".join(missing))
    assert setup.token and setup.destination_id

    async def read() -> dict[str, Any]:
        assert setup.token and setup.destination_id
        client = SegmentPublicApi(
            setup.token,
            setup.public_api_url,
            timeout=_http_timeout(req),
            policy=RetryPolicy(attempts=3),
        )
        async with client:
            return await client.get_destination(setup.destination_id)

    try:
        destination = asyncio.run(read())
    except FrigadeCliError as exc:
        return _failed("public-api", exc)
    name = destination.get("name")
    state = "enabled" if destination.get("enabled") is not False else "disabled"
    return Step(
        "public-api",
        PASSED,
        f"the token reads destination {setup.destination_id}"
        + (f" ({name})" if name else "")
        + f", {state}",
    )


def step_mapping(app: App, setup: Setup, req: DoctorRequest) -> Step:
    from frigade_cli.services.validate import ValidateRequest, run_validate

    timeout = _http_timeout(req)
    if req.mapping:
        validate = ValidateRequest(mapping_files=[req.mapping], timeout=timeout)
    elif not setup.ok("public-api"):
        why = (
            "needs the public-api step"
            if "public-api" in setup.done and setup.done["public-api"].status == FAILED
            else f"pass --mapping FILE, or --destination-id with {TOKEN_FLAGS}"
        )
        return _skipped("mapping", why)
    elif setup.sandbox_url:
        validate = ValidateRequest(
            sandbox=True, sandbox_url=setup.sandbox_url, token=setup.token, timeout=timeout
        )
    else:
        validate = ValidateRequest(
            destination_id=setup.destination_id,
            token=setup.token,
            public_api_url=setup.public_api_url,
            timeout=timeout,
        )
    try:
        report = run_validate(app, validate)
    except FrigadeCliError as exc:
        return _failed("mapping", exc)
    errors = [f for f in report.findings if f.severity == "error"]
    warnings = [f for f in report.findings if f.severity == "warning"]
    checked = f"{len(report.mappings)} mapping(s) from {report.source}"
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        return Step(
            "mapping",
            FAILED,
            f"{first.code} {first.mapping}: {first.message}{more}",
            f"{first.fix} (frigade segment validate shows every finding)",
            ExitCode.VALIDATION,
        )
    if warnings:
        first = warnings[0]
        return Step(
            "mapping",
            WARNING,
            f"{checked}: {first.code} {first.mapping}: {first.message}",
            first.fix,
        )
    return Step("mapping", PASSED, f"{checked}: no error, no warning")


def step_end_to_end(app: App, setup: Setup, req: DoctorRequest) -> Step:
    from frigade_cli.services.latency_check import LatencyCheckRequest, run_latency_check

    if req.no_send:
        return _skipped("end-to-end", "--no-send: nothing was sent")
    if not setup.write_key:
        return _skipped(
            "end-to-end",
            "pass --write-key or set SEGMENT_WRITE_KEY (profile: segment_write_key): the "
            "write key of the source feeding Frigade's destination",
        )
    if not setup.ok("frigade-key"):
        return _skipped("end-to-end", "needs a key Frigade accepts (see frigade-key)")
    quiet = App(terminal=app.terminal.quieter(), config=app.config)
    report = run_latency_check(
        quiet,
        LatencyCheckRequest(
            path="segment",
            samples=1,
            timeout=req.timeout,
            api_key=setup.api_key,
            api_url=setup.api_url,
            write_key=setup.write_key,
            segment_url=setup.segment_url,
        ),
    )
    if report.interrupted:
        raise Interrupted("interrupted while the marked event was on its way")
    if report.error is not None:
        return _failed("end-to-end", report.error)
    result = report.result("segment")
    sample = result.samples[0] if result and result.samples else None
    if sample is not None and sample.arrived and sample.latency_ms is not None:
        return Step(
            "end-to-end",
            PASSED,
            f"a marked track event sent to {setup.segment_url} was in Frigade after "
            f"{sample.latency_ms / 1000:.2f} s",
        )
    why = sample.error if sample is not None and sample.error else "it was not seen"
    return Step(
        "end-to-end",
        FAILED,
        f"a marked track event sent to {setup.segment_url} did not reach Frigade: {why}",
        "check that the write key's source feeds the Frigade destination, that its mapping "
        "subscribes to track (frigade segment validate) and what Segment did with it "
        "(frigade segment deliveries)",
        ExitCode.THRESHOLD,
    )


def _deliveries_plan(setup: Setup, req: DoctorRequest, egress: bool) -> Any:
    from frigade_cli.services.deliveries import DeliveriesRequest, plan

    return plan(
        DeliveriesRequest(
            source_id=setup.source_id if egress else None,
            destination_id=setup.destination_id if egress else None,
            frigade_source_id=None if egress else setup.frigade_source_id,
            since=req.since,
            max_failure_rate=req.max_failure_rate if egress else None,
            min_delivered=req.min_delivered if egress else None,
            min_received=None if egress else req.min_received,
        )
    )


def _read(app: App, setup: Setup, checked: Any, req: DoctorRequest) -> Any:
    from frigade_cli.services.deliveries import PublicApiTarget, read_deliveries

    assert setup.token
    target = PublicApiTarget(setup.public_api_url, setup.token, setup.target)
    return read_deliveries(app, target, checked, _http_timeout(req))


def step_deliveries(app: App, setup: Setup, req: DoctorRequest) -> Step:
    missing = []
    if not setup.source_id or not setup.destination_id:
        missing.append("--source-id and --destination-id")
    if not setup.token:
        missing.append(TOKEN_FLAGS)
    if missing:
        return _skipped("deliveries", "pass " + " and ".join(missing))
    try:
        checked = _deliveries_plan(setup, req, egress=True)
        report = _read(app, setup, checked, req)
    except FrigadeCliError as exc:
        return _failed("deliveries", exc)
    e = report.segment_to_frigade
    assert e is not None
    span = f"in the last {req.since}"
    rate = "" if e.failure_rate is None else f" ({e.failure_rate:.2%})"
    counts = (
        f"{e.delivered} delivered, {e.failed} failed{rate}, {e.filtered} filtered at the "
        f"destination, {e.retries} retries {span}"
    )
    breached = [g for g in report.gates if not g.passed]
    if breached:
        top = e.discard_reasons[0] if e.discard_reasons else None
        detail = counts + "; " + "; ".join(g.describe() for g in breached)
        if top is not None:
            detail += f"; most failures: {top.reason} ({top.count})"
        fix = (top.meaning if top is not None and top.meaning else None) or (
            "look at the failures with frigade segment deliveries --group-by discardReason"
            if e.failed
            else "send events through the source, or check it feeds the destination"
        )
        return Step("deliveries", FAILED, detail, fix, ExitCode.THRESHOLD)
    if e.delivered + e.failed == 0:
        return Step(
            "deliveries",
            WARNING,
            f"nothing delivered or failed {span}",
            "send events through the source (or run without --no-send); check the source "
            "feeds this destination",
        )
    return Step("deliveries", PASSED, counts)


def step_frigade_to_segment(app: App, setup: Setup, req: DoctorRequest) -> Step:
    from frigade_cli.services.connect import run_status

    if not setup.ok("frigade-key"):
        return _skipped("frigade-to-segment", "needs a key Frigade accepts (see frigade-key)")
    try:
        status = run_status(app, _target(setup, req))
    except FrigadeCliError as exc:
        return _failed("frigade-to-segment", exc)
    active = [i for i in status.integrations if i.status == "ACTIVE"]
    if not active:
        return Step(
            "frigade-to-segment",
            FAILED,
            "Frigade holds no active Segment integration: it streams nothing into Segment",
            "register the HTTP API source's write key: frigade segment connect --write-key ...",
            ExitCode.VALIDATION,
        )
    integration = active[0]
    shown = integration.shown_key(status.key_field) or "a write key"
    holds = f"integration {integration.id} active with {shown}"
    if not setup.frigade_source_id or not setup.token:
        return Step(
            "frigade-to-segment",
            PASSED,
            holds + " (pass --frigade-source-id and a Public API token to see what its source "
            "received)",
        )
    try:
        report = _read(app, setup, _deliveries_plan(setup, req, egress=False), req)
    except FrigadeCliError as exc:
        return _failed("frigade-to-segment", exc)
    i = report.frigade_to_segment
    assert i is not None
    got = (
        f"{holds}; {i.source_id} received {i.received}, {i.failed_on_ingest} failed on ingest "
        f"in the last {req.since}"
    )
    breached = [g for g in report.gates if not g.passed]
    if breached:
        return Step(
            "frigade-to-segment",
            FAILED,
            got + "; " + "; ".join(g.describe() for g in breached),
            "check the integration's write key belongs to this source (frigade segment status)",
            ExitCode.THRESHOLD,
        )
    if i.failed_on_ingest:
        top = i.reasons[0].reason if i.reasons else "no reason given"
        return Step(
            "frigade-to-segment",
            WARNING,
            f"{got}; most failures: {top}",
            "check the write key Frigade holds (frigade segment status; connect again with "
            "the source's key)",
        )
    if not i.received:
        return Step(
            "frigade-to-segment",
            WARNING,
            got,
            "Frigade streams as users go through flows: none did in the window, or the write "
            "key Frigade holds is another source's",
        )
    return Step("frigade-to-segment", PASSED, got)


STEPS: tuple[tuple[str, Callable[[App, Setup, DoctorRequest], Step]], ...] = (
    ("configuration", step_configuration),
    ("frigade-key", step_frigade_key),
    ("public-api", step_public_api),
    ("mapping", step_mapping),
    ("end-to-end", step_end_to_end),
    ("deliveries", step_deliveries),
    ("frigade-to-segment", step_frigade_to_segment),
)


def _http_timeout(req: DoctorRequest) -> float:
    return max(1.0, min(30.0, parse_duration(req.timeout, "--timeout")))


def check_request(req: DoctorRequest) -> None:
    """Settings checked before any step runs; InputError (exit 3) naming the flag."""
    from frigade_cli.services.deliveries import parse_rate

    if parse_duration(req.timeout, "--timeout") <= 0:
        raise InputError("--timeout must be above 0")
    if parse_duration(req.since, "--since") <= 0:
        raise InputError("--since must be above 0")
    if req.max_failure_rate is not None:
        parse_rate(req.max_failure_rate)
    for flag, value in (
        ("--min-delivered", req.min_delivered),
        ("--min-received", req.min_received),
    ):
        if value is not None and value < 0:
            raise InputError(f"{flag} must not be negative")


def run_doctor(
    app: App, req: DoctorRequest, on_step: Callable[[Step], None] | None = None
) -> DoctorReport:
    """Run every step in order; the report (`on_step` sees each step as it ends).

    Raises InputError (3) for settings no step can run with, before anything is sent;
    UpstreamError (5) when `--sandbox-url` names no running sandbox; Interrupted on Ctrl-C.
    Every other failure is a step's verdict.
    """
    check_request(req)
    with _setup(app, req) as setup:
        for name, run in STEPS:
            step = run(app, setup, req)
            assert step.name == name
            setup.done[name] = step
            if on_step is not None:
                on_step(step)
        return DoctorReport(list(setup.done.values()), setup.target)
