"""`frigade segment connect`, `status` and `disconnect`: Frigade's Segment integration.

Frigade streams flow events into a Segment HTTP API source given that source's write key; these
services register that key in Frigade, show it and remove it, through the (unconfirmed)
integrations GraphQL API in `frigade_cli.clients.frigade_graphql`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from frigade_cli.clients.frigade_graphql import (
    FrigadeIntegrations,
    GraphQLRequest,
    Integration,
    IntegrationsApi,
)
from frigade_cli.clients.segment_tracking import EU_SEGMENT_API_URL
from frigade_cli.kernel.app import App
from frigade_cli.kernel.config import DEFAULT_API_URL, DEFAULT_SEGMENT_API_URL
from frigade_cli.kernel.errors import FrigadeCliError, InputError, UsageError
from frigade_cli.kernel.http import check_url, make_client
from frigade_cli.kernel.keys import strip_bearer
from frigade_cli.kernel.redact import redact_key
from frigade_cli.segment.write_key import check_write_key

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")


@dataclass
class FrigadeTarget:
    """Which Frigade to talk to and how: flags, before env/profile/default are applied."""

    api_key: str | None = None
    api_url: str | None = None
    api: IntegrationsApi = field(default_factory=IntegrationsApi)


@dataclass
class ConnectRequest:
    """Everything `frigade segment connect` was asked to do."""

    target: FrigadeTarget
    write_key: str | None = None
    save: bool = False
    dry_run: bool = False
    verify: bool = False
    segment_api_url: str | None = None
    region: str | None = None


@dataclass
class ConnectResult:
    """What connecting did; keys are redacted.

    `action`: "connected" (new), "updated" (an integration existed with the same key),
    "changed" (it held another key: `previous_key`) or "verified" (`--verify` without
    `--write-key`: the connected key was tested and nothing was changed).
    """

    integration: Integration | None
    action: str
    write_key: str
    previous_key: str | None = None
    saved_to: str | None = None
    dry_run: bool = False
    requests: list[GraphQLRequest] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    verify_error: FrigadeCliError | None = None  # connected, but the test event failed


@dataclass
class StatusResult:
    """The Segment integration(s) Frigade holds; `connected` when one is ACTIVE."""

    integrations: list[Integration]
    key_field: str

    @property
    def connected(self) -> bool:
        return any(i.status == "ACTIVE" for i in self.integrations)


@dataclass
class DisconnectResult:
    """What disconnecting removed (nothing when none was connected or the user declined)."""

    removed: list[Integration]
    found: list[Integration]
    declined: bool = False


def _integrations_client(app: App, target: FrigadeTarget) -> tuple[str, str]:
    """The checked (API URL, private key) for the integrations API."""
    raw = app.setting("api_key", target.api_key)
    key = strip_bearer(raw) if raw else ""
    if not key:
        raise InputError(
            "no Frigade API key",
            hint="pass --api-key, set FRIGADE_API_KEY, or 'frigade config set api_key ...'",
        )
    app.terminal.add_secret(key)
    if not key.startswith("api_private_"):
        raise InputError(
            f"{redact_key(key)} is not a private key: Frigade's integrations need the secret key "
            "(api_private_...)"
        )
    url = app.setting("api_url", target.api_url) or DEFAULT_API_URL
    check_url(url, carries_secret=True, what="Frigade API URL")
    target.api.check()
    return url, key


def _call(
    app: App, target: FrigadeTarget, work: Callable[[FrigadeIntegrations], Awaitable[T]]
) -> T:
    url, key = _integrations_client(app, target)

    async def main() -> T:
        client: httpx.AsyncClient = make_client(timeout=30.0, log=app.terminal.debug)
        async with client:
            api = FrigadeIntegrations(
                client,
                url,
                key,
                target.api,
                on_retry=lambda n, why, wait: app.terminal.info(
                    f"retrying the integrations call ({why}) in {wait:.1f} s"
                ),
            )
            return await work(api)

    return asyncio.run(main())


def _same_key(shown: str | None, write_key: str) -> bool:
    """Whether the key a server shows (in full, or masked as `****abcd`) is `write_key`."""
    if shown is None:
        return False
    if "*" not in shown:
        return shown == write_key
    return shown.rsplit("*", 1)[1] == redact_key(write_key).rsplit("*", 1)[1]


VERIFY_EVENT = "Frigade CLI Connection Test"
REGIONS = {"us": DEFAULT_SEGMENT_API_URL, "eu": EU_SEGMENT_API_URL}


def verify_url(app: App, flag: str | None, region: str | None) -> str:
    """Where `--verify` sends: --segment-api-url, else --region's endpoint, else
    SEGMENT_API_URL / the profile's segment_api_url / https://api.segment.io."""
    if region is not None:
        if region not in REGIONS:
            raise UsageError(f"--region {region!r}: use one of {', '.join(REGIONS)}")
        if flag:
            raise UsageError("give --segment-api-url or --region, not both")
        return REGIONS[region]
    url = app.setting("segment_api_url", flag) or DEFAULT_SEGMENT_API_URL
    return check_url(url, carries_secret=True, what="Segment API URL")


async def send_verify_event(
    app: App, write_key: str, url: str, integration_id: str | int | None
) -> dict[str, Any]:
    """One identifiable track event to Segment's tracking API; what to look for.

    Segment answers 200 to any write key (DESIGN.md, "HTTP Tracking API"), so the answer cannot
    prove the key: the returned note says where to look for the event.
    """
    from frigade_cli.clients.segment_tracking import SegmentTrackingClient

    anonymous_id = f"frigade-cli-verify-{uuid.uuid4()}"
    async with SegmentTrackingClient(write_key, base_url=url, log=app.terminal.debug) as client:
        response = await client.track(
            VERIFY_EVENT,
            anonymousId=anonymous_id,
            properties={
                "source": "frigade segment connect --verify",
                "integrationId": integration_id,
            },
        )
    return {
        "url": url,
        "status": response.status,
        "event": VERIFY_EVENT,
        "messageId": response.message_ids[0],
        "anonymousId": anonymous_id,
        "note": "Segment answers 200 even for an unknown write key: look for this messageId in "
        "the source's Debugger (or with 'frigade segment tail') to be sure it arrived",
    }


def run_connect(app: App, req: ConnectRequest) -> ConnectResult:
    """Register the write key as Frigade's Segment integration (an upsert: never a duplicate);
    with `verify`, then send one test track event with it (`extra["verify"]`).

    `--verify` without `--write-key` verifies what is connected and changes nothing: it never
    replaces Frigade's key with an older one from the environment or the profile.

    Raises InputError (a bad key form or URL, before anything is sent), AuthError, UpstreamError.
    """
    if req.region is not None and not req.verify:
        raise UsageError("--region names where --verify sends its test event: use it with --verify")
    if req.verify and req.write_key is None and not req.dry_run:
        return _verify_connected(app, req)
    # app.setting registers the key with the terminal: every line written redacts it.
    write_key = check_write_key(app.setting("segment_write_key", req.write_key))
    shown = redact_key(write_key)
    segment_url = verify_url(app, req.segment_api_url, req.region) if req.verify else None
    if req.dry_run:
        url, key = _integrations_client(app, req.target)
        api = FrigadeIntegrations(None, url, key, req.target.api)
        return ConnectResult(
            None,
            "dry-run",
            shown,
            dry_run=True,
            requests=[api.list_request(), api.upsert_request(write_key)],
            extra={"verify_url": segment_url} if segment_url else {},
        )

    async def work(api: FrigadeIntegrations) -> ConnectResult:
        before = await api.integrations()
        integration = await api.upsert(write_key)
        verified = None
        failure = None
        if segment_url is not None:
            try:
                verified = await send_verify_event(app, write_key, segment_url, integration.id)
            except FrigadeCliError as exc:
                failure = exc  # connected all the same: shown, then reported

        key_field = req.target.api.key_field
        previous = before[0].write_key(key_field) if before else None
        if not before:
            action = "connected"
        elif _same_key(previous, write_key):
            action = "updated"
        else:
            action = "changed"
        return ConnectResult(
            integration,
            action,
            shown,
            previous_key=before[0].shown_key(key_field) if action == "changed" else None,
            extra={"verify": verified} if verified is not None else {},
            verify_error=failure,
        )

    result = _call(app, req.target, work)
    if req.save:
        app.config.set("segment_write_key", write_key)
        result.saved_to = f"{app.config.path} (profile {app.config.profile})"
    return result


def _verify_connected(app: App, req: ConnectRequest) -> ConnectResult:
    """`connect --verify` alone: test the key Frigade holds, with the local copy of it.

    Frigade shows the key masked (`****abcd`): the key from SEGMENT_WRITE_KEY or the profile is
    used when it is that key. InputError when nothing is connected, or when the local key is
    another one (naming both, redacted): replacing it takes an explicit `--write-key`.
    """
    local = app.setting("segment_write_key", None)
    local = check_write_key(local) if local else None
    app.terminal.add_secret(local)
    segment_url = verify_url(app, req.segment_api_url, req.region)
    key_field = req.target.api.key_field

    async def work(api: FrigadeIntegrations) -> ConnectResult:
        found = await api.integrations()
        if not found:
            raise InputError(
                "nothing to verify: Frigade has no Segment integration",
                hint="connect one with 'frigade segment connect --write-key KEY --verify'",
            )
        held = found[0].write_key(key_field)
        key = held if held and "*" not in held else local
        if key is None or not _same_key(held, key):
            local_note = f"the local key is {redact_key(local)}" if local else "no local key"
            raise InputError(
                f"Frigade holds write key {found[0].shown_key(key_field) or 'unknown'} and "
                f"{local_note} (SEGMENT_WRITE_KEY or the profile): nothing verified, nothing "
                "changed",
                hint="pass --write-key with the key Frigade holds to verify it, or with a new "
                "key to replace it",
            )
        app.terminal.add_secret(key)
        failure = None
        verified = None
        try:
            verified = await send_verify_event(app, key, segment_url, found[0].id)
        except FrigadeCliError as exc:
            failure = exc
        return ConnectResult(
            found[0],
            "verified",
            redact_key(key),
            extra={"verify": verified} if verified is not None else {},
            verify_error=failure,
        )

    return _call(app, req.target, work)


def run_status(app: App, target: FrigadeTarget) -> StatusResult:
    """The Segment integration(s) Frigade holds. Raises AuthError, UpstreamError."""

    async def work(api: FrigadeIntegrations) -> StatusResult:
        return StatusResult(await api.integrations(), target.api.key_field)

    return _call(app, target, work)


def run_disconnect(
    app: App, target: FrigadeTarget, yes: bool, confirm: Callable[[str], bool] | None
) -> DisconnectResult:
    """Remove Frigade's Segment integration(s).

    Without `yes`, `confirm(question)` decides; `confirm` None means nobody can be asked (stdin is
    not a terminal), which is an InputError when there is something to remove.
    """

    async def find(api: FrigadeIntegrations) -> list[Integration]:
        return await api.integrations()

    found = _call(app, target, find)
    if not found:
        return DisconnectResult([], [])
    if not yes:
        names = ", ".join(
            f"{i.id} (write key {i.shown_key(target.api.key_field) or 'unknown'})" for i in found
        )
        if confirm is None:
            raise InputError(
                f"disconnecting {names} needs confirmation and stdin is not a terminal",
                hint="pass --yes to disconnect without a question",
            )
        if not confirm(f"Disconnect Frigade's Segment integration {names}?"):
            return DisconnectResult([], found, declined=True)

    async def remove(api: FrigadeIntegrations) -> DisconnectResult:
        for integration in found:
            await api.delete(integration.id)
        return DisconnectResult(found, found)

    return _call(app, target, remove)
