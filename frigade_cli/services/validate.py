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
    DestinationInfo,
    Expectations,
    MappingOverrides,
    MappingShapeError,
    WebhookMapping,
    is_masked,
    parse_header,
    subscriptions_in,
)
from frigade_cli.segment.mapping_file import MappingFile, UnusableInput, read_mapping_file
from frigade_cli.segment.rules import (
    RULES_BY_CODE,
    Finding,
    advice,
    check_mappings,
    find_rule,
)
from frigade_cli.segment.rules import destination as destination_rules
from frigade_cli.segment.rules import live as live_rules

URL_RULES = ("V101", "V102", "V103", "V104")
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
    """Mappings checked together (one file's, or one destination's), and the file they are in."""

    mappings: list[WebhookMapping]
    file: MappingFile | None = None


@dataclass
class _Gathered:
    source: str
    groups: list[_Group]
    expect_url: str
    destination: DestinationInfo | None = None
    live_key: str | None = None  # the real key behind a masked header (the sandbox's own)


def run_validate(app: App, req: ValidateRequest) -> ValidationReport:
    """Check the mappings the request names; return the report (rendering is the caller's).

    Raises UnusableInput (exit 2) for input that cannot be checked, AuthError (4) or
    UpstreamError (5) when Segment's Public API cannot be read.
    """
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
    with _gather(app, req) as gathered:
        expect = Expectations(
            webhook_url=gathered.expect_url,
            events_per_day=req.events_per_day,
            max_batch_wait_s=req.max_batch_wait,
            target_wait_s=req.target_wait,
        )
        mappings: list[WebhookMapping] = []
        mapping_files: list[str | None] = []
        findings: list[Finding] = []
        for group in gathered.groups:
            checked = [m.with_overrides(overrides) for m in group.mappings]
            found = check_mappings(checked, expect, gathered.destination)
            if req.live:
                found.extend(_live(app, checked, found, gathered, req.timeout))
            findings.extend(_placed(found, checked, group.file))
            mappings.extend(checked)
            shown = group.file.name if group.file and group.file.name != "stdin" else None
            mapping_files.extend(shown for _ in checked)
        if gathered.destination is not None and not mappings:
            findings.append(
                Finding(
                    "V117",
                    "error",
                    f"destination {gathered.destination.id}",
                    "subscriptions",
                    "the destination has no subscription: Segment sends nothing to Frigade",
                    RULES_BY_CODE["V117"].fix,
                )
            )
    kept = [f for f in findings if f.code not in ignored]
    kept.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return ValidationReport(
        source=gathered.source,
        mappings=mappings,
        findings=kept,
        advice=advice(mappings, expect),
        destination=gathered.destination,
        ignored=sorted(ignored),
        mapping_files=mapping_files,
        not_checked=_not_checked(req, gathered.destination),
    )


def _placed(
    findings: list[Finding], mappings: list[WebhookMapping], file: MappingFile | None
) -> list[Finding]:
    """The findings with the file and line of the field each is about."""
    if file is None:
        return findings
    index: dict[str, int] = {}
    for n, mapping in enumerate(mappings):
        index.setdefault(mapping.label, n)
    shown = None if file.name == "stdin" else file.name
    return [
        replace(
            f,
            file=shown,
            line=file.line_of(index[f.mapping], f.field) if f.mapping in index else None,
        )
        for f in findings
    ]


def _not_checked(req: ValidateRequest, info: DestinationInfo | None) -> dict[str, str]:
    """The rules this request leaves unchecked, each with the flag that would check it."""
    out = {}
    if info is None:
        for rule in (*destination_rules.RULES, RULES_BY_CODE["V117"]):
            out[rule.code] = "needs a destination (--destination-id or --sandbox)"
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


def _expected_url(app: App) -> str:
    from frigade_cli.clients.frigade_webhook import webhook_url

    return webhook_url(app, None)


@contextmanager
def _gather(app: App, req: ValidateRequest) -> Iterator[_Gathered]:
    if req.mapping_files:
        files = [read_mapping_file(path) for path in req.mapping_files]
        names = ", ".join(f.name for f in files)
        yield _Gathered(
            f"{'file' if len(files) == 1 else 'files'} {names}",
            [_Group(_from_document(f.document, f.name), f) for f in files],
            _expected_url(app),
        )
    elif req.destination_id:
        token = app.setting("segment_public_api_token", req.token)
        if not token:
            from frigade_cli.clients.segment_public_api import TOKEN_HELP

            raise InputError("no Segment Public API token", hint=TOKEN_HELP)
        base = req.public_api_url or _default_public_api_url()
        destination, mappings = _read_public_api(app, base, token, req.destination_id, req)
        yield _Gathered(
            f"destination {req.destination_id}", [_Group(mappings)], _expected_url(app), destination
        )
    elif req.sandbox:
        with _sandbox_base(app, req) as (base, token):
            from frigade_cli.sandbox.public_api import DESTINATION_ID

            destination, mappings = _read_public_api(
                app, base + "/segmentapis", token, DESTINATION_ID, req
            )
            yield _Gathered(
                f"sandbox {base}",
                [_Group(mappings)],
                base + WEBHOOK_PATH,
                destination,
                live_key=token,
            )
    else:
        yield _Gathered("flags", [_Group([WebhookMapping(name="flags")])], _expected_url(app))


def _default_public_api_url() -> str:
    from frigade_cli.clients.segment_public_api import DEFAULT_URL

    return DEFAULT_URL


def _from_document(document: Any, shown: str) -> list[WebhookMapping]:
    try:
        subscriptions = subscriptions_in(document)
        return [WebhookMapping.from_subscription(s, n) for n, s in enumerate(subscriptions, 1)]
    except MappingShapeError as exc:
        raise UnusableInput(f"{shown}: {exc}") from None


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
        return destination, subscriptions

    destination, subscriptions = asyncio.run(read())
    secret = (destination.get("settings") or {}).get("sharedSecret")
    info = DestinationInfo(
        id=str(destination.get("id") or destination_id),
        name=destination.get("name"),
        enabled=destination.get("enabled")
        if isinstance(destination.get("enabled"), bool)
        else None,
        shared_secret=str(secret) if secret else None,
    )
    try:
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
    for mapping in mappings:
        label = mapping.label
        url_problems = [f for f in findings if f.mapping == label and f.code in URL_RULES]
        host = _host(mapping.url)
        if url_problems and not is_loopback(host):
            out.append(
                _live_finding(
                    "V304",
                    label,
                    "not sent: fix the URL first (the key is "
                    "never sent to a host that is not Frigade's)",
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
                            label,
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


def _live_finding(code: str, label: str, message: str) -> Finding:
    rule = RULES_BY_CODE[code]
    return Finding(code, rule.severity, label, rule.field, message, rule.fix)


def _send_live(
    app: App, mapping: WebhookMapping, headers: dict[str, str], timeout: float
) -> Finding:
    from frigade_cli.clients.delivery_report import DeliveryReport
    from frigade_cli.clients.frigade_webhook import WebhookSender
    from frigade_cli.segment.streams import build_messages, plan_batches

    label = mapping.label
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
        return _live_finding("V304", label, f"not sent: {exc.message}")
    report = DeliveryReport(
        url=url, batch_size=1, batches=plan_batches(build_messages(1, ["identify"]), 1)
    )
    asyncio.run(sender.deliver(report))
    outcome = report.outcomes.get(0)
    if outcome is not None and outcome.accepted:
        return _live_finding(
            "V303", label, f"one identify message was accepted by {url} (HTTP {outcome.status})"
        )
    if outcome is None or outcome.status is None:
        error = outcome.error if outcome is not None else "not sent"
        return _live_finding("V116", label, f"the test message did not reach {url}: {error}")
    why = "the key was rejected" if outcome.status in (401, 403) else "the request was refused"
    return _live_finding("V116", label, f"{why}: {outcome.error}")
