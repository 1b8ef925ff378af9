"""The validate service: gather the mappings (file, flags, Public API, sandbox), check them,
optionally send one live test message, and return the report."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from frigade_cli.kernel.app import App
from frigade_cli.kernel.config import WEBHOOK_PATH
from frigade_cli.kernel.durations import finite
from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.http import RetryPolicy, is_loopback
from frigade_cli.segment.mapping import (
    FRIGADE_WEBHOOK_BASIS,
    FRIGADE_WEBHOOK_URL,
    DestinationInfo,
    DocumentPath,
    Expectations,
    MappingOverrides,
    MappingShapeError,
    WebhookMapping,
    export_in,
    is_masked,
    parse_header,
)
from frigade_cli.segment.mapping_file import MappingFile, UnusableInput, read_mapping_file
from frigade_cli.segment.rules import Finding, advice, check_mappings, find_rule
from frigade_cli.segment.rules import destination as destination_rules
from frigade_cli.segment.rules import live as live_rules
from frigade_cli.segment.rules.base import finding

URL_RULES = ("V101", "V102", "V103", "V104")  # the key is never sent --live with one of these
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class ValidateRequest:
    """Everything `frigade segment validate` was asked to do."""

    mapping_files: list[str] = field(default_factory=list)  # paths; '-' is stdin
    url: str | None = None
    method: str | None = None
    batch_size: int | None = None
    batching: bool | None = None
    headers: list[str] = field(default_factory=list)
    trigger: str | None = None
    enabled: bool | None = None
    destination_id: str | None = None
    expect_url: str | None = None
    token: str | None = None
    public_api_url: str | None = None
    sandbox: bool = False
    sandbox_url: str | None = None
    events_per_day: float | None = None
    max_batch_wait: float = 60.0
    target_wait: float = 2.0
    live: bool = False
    ignore: list[str] = field(default_factory=list)
    timeout: float = 30.0


@dataclass
class ValidationReport:
    """The outcome: what was checked, what was found, and the batch-wait advice."""

    source: str
    mappings: list[WebhookMapping]
    findings: list[Finding]
    advice: dict[str, Any]
    destination: DestinationInfo | None = None
    ignored: list[str] = field(default_factory=list)
    # The file each of `mappings` came from (None: not from a file, or stdin), in their order.
    mapping_files: list[str | None] = field(default_factory=list)
    # Rules this run could not check, with why (e.g. the live rules without --live).
    not_checked: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s: sum(f.severity == s for f in self.findings) for s in SEVERITY_ORDER}

    def as_dict(self) -> dict[str, Any]:
        """The `--json` document: `{valid, mappings, findings, advice, ...}` (README)."""
        return {
            "valid": self.valid,
            "source": self.source,
            "destination": None
            if self.destination is None
            else {
                "id": self.destination.id,
                "name": self.destination.name,
                "enabled": self.destination.enabled,
                "line": self.destination.line,
            },
            "mappings": [
                {"label": m.label, "file": self.file_of(n), **m.as_dict()}
                for n, m in enumerate(self.mappings)
            ],
            "findings": [f.as_dict() for f in self.findings],
            "counts": self.counts(),
            "ignored": self.ignored,
            "not_checked": self.not_checked,
            "advice": self.advice,
        }

    def file_of(self, index: int) -> str | None:
        """The file the `index`-th mapping came from, if any."""
        return self.mapping_files[index] if index < len(self.mapping_files) else None


@dataclass
class _Group:
    """Mappings checked together (one file's, or one destination's), with their destination,
    and the file they are in with the path of each inside it."""

    mappings: list[WebhookMapping]
    destination: DestinationInfo | None = None
    file: MappingFile | None = None
    paths: list[DocumentPath] = field(default_factory=list)
    destination_path: DocumentPath | None = None


@dataclass
class _Gathered:
    source: str
    groups: list[_Group]
    # The webhook a sandbox serves, which --sandbox expects unless --expect-url names another.
    sandbox_webhook: str | None = None
    live_key: str | None = None  # the real key behind a masked header (the sandbox's own)


def run_validate(app: App, req: ValidateRequest) -> ValidationReport:
    """Check the mappings the request names; return the report (rendering is the caller's).

    Raises UnusableInput (exit 2) for input that cannot be checked, AuthError (4) or
    UpstreamError (5) when Segment's Public API cannot be read.
    """
    app.config.require_profile()  # a profile named but missing is refused, even if unused here
    ignored = _ignored_codes(req.ignore)
    overrides = _overrides(req)
    app.terminal.add_secret(req.token)
    for _, value in overrides.headers:
        app.terminal.add_secret(value)
    sources = [bool(req.mapping_files), bool(req.destination_id), req.sandbox]
    if sum(sources) > 1:
        raise UnusableInput("give one of --mapping, --destination-id or --sandbox")
    if req.sandbox_url and not req.sandbox:
        raise UnusableInput("--sandbox-url needs --sandbox")
    if not any(sources) and not overrides.any:
        raise UnusableInput(
            "nothing to check: give --mapping FILE, --destination-id ID, --sandbox, or the "
            "mapping's values as flags (--url, --header, --trigger, ...)"
        )
    if req.events_per_day is not None:
        finite(req.events_per_day, "--events-per-day")
    if req.expect_url is not None:
        _check_expect_url(req.expect_url)
    with _gather(app, req) as gathered:
        url, basis = _expected_url(req, gathered)
        expect = Expectations(
            webhook_url=url,
            webhook_url_basis=basis,
            events_per_day=req.events_per_day,
            max_batch_wait_s=req.max_batch_wait,
            target_wait_s=req.target_wait,
        )
        mappings: list[WebhookMapping] = []
        mapping_files: list[str | None] = []
        findings: list[Finding] = []
        for group in gathered.groups:
            checked = [m.with_overrides(overrides) for m in group.mappings]
            found = check_mappings(checked, expect, group.destination)
            if req.live:
                found.extend(_live(app, checked, found, gathered, req.timeout))
            findings.extend(_placed(found, checked, group))
            mappings.extend(checked)
            shown = group.file.name if group.file and group.file.name != "stdin" else None
            mapping_files.extend(shown for _ in checked)
        destination = next((g.destination for g in gathered.groups if g.destination), None)
    if basis == FRIGADE_WEBHOOK_BASIS and any(f.code in URL_RULES for f in findings):
        _say_what_the_environment_does_not_change(app, url)
    kept = [f for f in findings if f.code not in ignored]
    kept.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return ValidationReport(
        source=gathered.source,
        mappings=mappings,
        findings=kept,
        advice=advice(mappings, expect),
        destination=destination,
        ignored=sorted(ignored),
        mapping_files=mapping_files,
        not_checked=_not_checked(req, destination),
    )


def _placed(
    findings: list[Finding], mappings: list[WebhookMapping], group: _Group
) -> list[Finding]:
    """The findings with their file, and the line of the field each is about (else the line its
    mapping starts on, as the rules gave it)."""
    file = group.file
    if file is None:
        return findings
    index: dict[str, int] = {}
    for n, mapping in enumerate(mappings):
        index.setdefault(mapping.label, n)
    shown = None if file.name == "stdin" else file.name
    placed = []
    for f in findings:
        line = f.line
        if f.mapping in index and index[f.mapping] < len(group.paths):
            line = file.field_line(group.paths[index[f.mapping]], f.field) or line
        elif f.field.startswith("destination.") and group.destination_path is not None:
            field_path = f.field.removeprefix("destination.")
            line = file.field_line(group.destination_path, field_path) or line
        placed.append(replace(f, file=shown, line=line))
    return placed


def _not_checked(req: ValidateRequest, info: DestinationInfo | None) -> dict[str, str]:
    """The rules this request leaves unchecked, each with the flag that would check it."""
    out = {}
    if info is None:
        for code in (*(rule.code for rule in destination_rules.RULES), "V117"):
            out[code] = "needs a destination (--destination-id, --sandbox, or a file with one)"
    if req.events_per_day is None:
        out["V203"] = "needs --events-per-day"
    if not req.live:
        for rule in live_rules.RULES:
            out[rule.code] = "needs --live"
    return dict(sorted(out.items()))


def _ignored_codes(ignore: list[str]) -> set[str]:
    codes = set()
    for item in ignore:
        for part in item.split(","):
            if not part.strip():
                continue
            rule = find_rule(part)
            if rule is None:
                raise UnusableInput(
                    f"--ignore {part.strip()}: no such rule (frigade segment validate "
                    "--list-rules lists them)"
                )
            codes.add(rule.code)
    return codes


def _overrides(req: ValidateRequest) -> MappingOverrides:
    headers = []
    for text in req.headers:
        try:
            headers.append(parse_header(text))
        except ValueError as exc:
            raise UnusableInput(f"--header: {exc}") from None
    return MappingOverrides(
        url=req.url,
        method=req.method,
        batch_size=req.batch_size,
        enable_batching=req.batching,
        headers=tuple(headers),
        trigger=req.trigger,
        enabled=req.enabled,
    )


def _check_expect_url(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnusableInput(f"--expect-url {url!r} is not an absolute http(s) URL")


def _expected_url(req: ValidateRequest, gathered: _Gathered) -> tuple[str, str]:
    """The webhook URL a correct mapping points at, and where that expectation comes from:
    --expect-url, else the sandbox's own webhook with --sandbox, else Frigade's documented one.
    Neither FRIGADE_API_URL nor a profile's webhook_url changes it: they say where this tool
    sends, not where Segment should."""
    if req.expect_url is not None:
        return req.expect_url.strip(), "--expect-url"
    if gathered.sandbox_webhook is not None:
        return gathered.sandbox_webhook, "the sandbox's webhook, --sandbox"
    return FRIGADE_WEBHOOK_URL, FRIGADE_WEBHOOK_BASIS


def _say_what_the_environment_does_not_change(app: App, expected: str) -> None:
    """A note when FRIGADE_API_URL or the profile point this tool elsewhere: the URL findings
    hold the mapping to Frigade's `expected` URL, not to them."""
    from frigade_cli.clients.frigade_webhook import webhook_url

    configured = webhook_url(app, None)
    if configured.rstrip("/") != expected.rstrip("/"):
        app.terminal.info(
            f"this tool's webhook URL is {configured} (FRIGADE_API_URL or the profile), but a "
            f"mapping is held to {expected}; to hold it to another, pass --expect-url URL"
        )


@contextmanager
def _gather(app: App, req: ValidateRequest) -> Iterator[_Gathered]:
    if req.mapping_files:
        groups = [_from_file(path) for path in req.mapping_files]
        names = ", ".join(g.file.name for g in groups if g.file is not None)
        yield _Gathered(f"{'file' if len(groups) == 1 else 'files'} {names}", groups)
    elif req.destination_id:
        token = app.setting("segment_public_api_token", req.token)
        if not token:
            from frigade_cli.clients.segment_public_api import TOKEN_HELP

            raise InputError("no Segment Public API token", hint=TOKEN_HELP)
        base = req.public_api_url or _default_public_api_url()
        destination, mappings = _read_public_api(app, base, token, req.destination_id, req)
        yield _Gathered(f"destination {req.destination_id}", [_Group(mappings, destination)])
    elif req.sandbox:
        with _sandbox_base(app, req) as (base, token):
            from frigade_cli.sandbox.public_api import DESTINATION_ID

            destination, mappings = _read_public_api(
                app, base + "/segmentapis", token, DESTINATION_ID, req
            )
            yield _Gathered(
                f"sandbox {base}",
                [_Group(mappings, destination)],
                sandbox_webhook=base + WEBHOOK_PATH,
                live_key=token,
            )
    else:
        yield _Gathered("flags", [_Group([WebhookMapping(name="flags")])])


def _default_public_api_url() -> str:
    from frigade_cli.clients.segment_public_api import DEFAULT_URL

    return DEFAULT_URL


def _from_file(path: str) -> _Group:
    """The destination (`data.destination`) and subscriptions in a file, each with its line."""
    file = read_mapping_file(path)
    try:
        export = export_in(file.document)
        mappings = [
            WebhookMapping.from_subscription(sub, n, file.line_of(where))
            for n, (sub, where) in enumerate(
                zip(export.subscriptions, export.paths, strict=True), 1
            )
        ]
        destination = None
        if export.destination is not None and export.destination_path is not None:
            destination = DestinationInfo.from_public_api(
                export.destination, line=file.line_of(export.destination_path)
            )
    except MappingShapeError as exc:
        raise UnusableInput(f"{file.name}: {exc}") from None
    return _Group(mappings, destination, file, export.paths, export.destination_path)


def _read_public_api(
    app: App, base: str, token: str, destination_id: str, req: ValidateRequest
) -> tuple[DestinationInfo, list[WebhookMapping]]:
    from frigade_cli.clients.segment_public_api import SegmentPublicApi

    app.terminal.add_secret(token)
    log = app.terminal.debug if app.terminal.verbose else None

    async def read() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        client = SegmentPublicApi(
            token, base, timeout=req.timeout, policy=RetryPolicy(attempts=4), log=log
        )
        async with client:
            destination = await client.get_destination(destination_id)
            subscriptions = await client.list_subscriptions(destination_id)
        for warning in client.warnings:
            app.terminal.warn(f"{warning}; the findings cover those only")
        return destination, subscriptions

    destination, subscriptions = asyncio.run(read())
    try:
        info = DestinationInfo.from_public_api(destination, destination_id)
        mappings = [WebhookMapping.from_subscription(s, n) for n, s in enumerate(subscriptions, 1)]
    except MappingShapeError as exc:
        from frigade_cli.kernel.errors import UpstreamError

        raise UpstreamError(
            f"Segment's Public API returned a subscription we cannot read: {exc}"
        ) from None
    return info, mappings


@contextmanager
def _sandbox_base(app: App, req: ValidateRequest) -> Iterator[tuple[str, str]]:
    """The sandbox's URL and Public API token: a running one (--sandbox-url) or a fresh one."""
    if req.sandbox_url:
        base = req.sandbox_url.rstrip("/")
        yield base, req.token or _running_sandbox_key(base, req.timeout)
        return
    from frigade_cli.sandbox import SandboxConfig, run_sandbox

    with run_sandbox(SandboxConfig(port=0)) as sandbox:
        app.terminal.info(f"sandbox started at {sandbox.url}")
        yield sandbox.url, sandbox.api_key


def _running_sandbox_key(base: str, timeout: float) -> str:
    """A running sandbox's private key, as its control API shows a generated one."""
    from frigade_cli.clients.sandbox_control import read_sandbox

    return read_sandbox(base, timeout).require("api_key", "--token")


# --live ------------------------------------------------------------------------------------------
def _live(
    app: App,
    mappings: list[WebhookMapping],
    findings: list[Finding],
    gathered: _Gathered,
    timeout: float,
) -> list[Finding]:
    out = []
    wrong_url = {f.mapping for f in findings if f.code in URL_RULES}
    for mapping in mappings:
        if mapping.label in wrong_url and not is_loopback(_host(mapping.url)):
            out.append(
                _live_finding(
                    "V304",
                    mapping,
                    "not sent: fix the URL first (the key is never sent "
                    "to a URL other than the expected one)",
                )
            )
            continue
        headers = dict(mapping.headers)
        for name, value in headers.items():
            if name.lower() == "authorization" and is_masked(value):
                if gathered.live_key is None:
                    out.append(
                        _live_finding(
                            "V304",
                            mapping,
                            "not sent: the key is masked by the Public API; give it "
                            "with --header (Authorization, 'Bearer ' and the private key)",
                        )
                    )
                    break
                headers[name] = f"Bearer {gathered.live_key}"
        else:
            out.append(_send_live(app, mapping, headers, timeout))
    return out


def _host(url: str | None) -> str | None:
    from urllib.parse import urlsplit

    return urlsplit(url or "").hostname


def _live_finding(code: str, mapping: WebhookMapping, message: str) -> Finding:
    return finding(code, mapping.label, message, line=mapping.line)


def _send_live(
    app: App, mapping: WebhookMapping, headers: dict[str, str], timeout: float
) -> Finding:
    from frigade_cli.clients.delivery_report import DeliveryReport
    from frigade_cli.clients.frigade_webhook import WebhookSender
    from frigade_cli.segment.streams import build_messages, plan_batches

    for value in headers.values():
        app.terminal.add_secret(value)
    url = mapping.url or ""
    try:
        sender = WebhookSender(
            url,
            "unused",  # the mapping's own Authorization header is sent instead
            method=(mapping.method or "POST").upper(),
            policy=RetryPolicy(attempts=2),
            timeout=timeout,
            headers=headers,
            log=app.terminal.debug if app.terminal.verbose else None,
        )
    except InputError as exc:
        return _live_finding("V304", mapping, f"not sent: {exc.message}")
    report = DeliveryReport(
        url=url, batch_size=1, batches=plan_batches(build_messages(1, ["identify"]), 1)
    )
    asyncio.run(sender.deliver(report))
    outcome = report.outcomes.get(0)
    if outcome is not None and outcome.accepted:
        return _live_finding(
            "V303", mapping, f"one identify message was accepted by {url} (HTTP {outcome.status})"
        )
    if outcome is None or outcome.status is None:
        error = outcome.error if outcome is not None else "not sent"
        return _live_finding("V116", mapping, f"the test message did not reach {url}: {error}")
    why = "the key was rejected" if outcome.status in (401, 403) else "the request was refused"
    return _live_finding("V116", mapping, f"{why}: {outcome.error}")
