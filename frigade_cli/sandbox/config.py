"""The sandbox's settings: keys, the Webhooks (Actions) destination, fault injection.

Pure data and validation, no I/O, cheap to import (the CLI builds a `SandboxConfig` before it
imports the server).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from frigade_cli.kernel.durations import parse_duration
from frigade_cli.kernel.errors import InputError
from frigade_cli.kernel.http import RetryPolicy, check_url
from frigade_cli.receiver import DEFAULT_DEDUP_WINDOW
from frigade_cli.segment.batching import MAX_BATCH_SIZE, MIN_BATCH_SIZE
from frigade_cli.segment.messages import FRIGADE_TYPES, MESSAGE_TYPES

DEFAULT_PORT = 8787
DEFAULT_BATCH_SIZE = 100  # Frigade's guide; Segment's own default is 1000
DEFAULT_FLUSH_INTERVAL = 1.0
MAX_FLUSH_INTERVAL = 3600.0
MAX_LATENCY = 60.0
DEFAULT_FAIL_WITH = 503
METHODS = ("POST", "PUT", "PATCH")
KEY_NAMES = ("api_key", "public_key", "write_key")
# How the Frigade side reads back what Frigade does not document: connectionData as given
# ("clear") or with secret-looking values masked; `properties` as documented (an object) or as a
# JSON-encoded string.
CONNECTION_DATA_FORMS = ("clear", "masked")
PROPERTIES_FORMS = ("object", "string")
# Segment retries for up to 4 hours; a sandbox gives up after a few quick attempts instead.
DEFAULT_RETRY = RetryPolicy(attempts=5, base=0.1, cap=2.0, max_retry_after=5.0)


def generate_key(kind: str) -> str:
    """A fresh key: `api_private_sandbox_...`, `api_public_sandbox_...` or `wk_sandbox_...`."""
    token = secrets.token_hex(12)
    if kind == "api_key":
        return f"api_private_sandbox_{token}"
    if kind == "public_key":
        return f"api_public_sandbox_{token}"
    return f"wk_sandbox_{token}"


@dataclass
class DestinationConfig:
    """The Segment Webhooks (Actions) destination the sandbox runs, modelled on its `send` action.

    `url` None means the sandbox's own Frigade webhook; `headers` None means
    `Authorization: Bearer <the sandbox's private key>` (Frigade's recommended mapping).
    `trigger` is the subscription's FQL trigger, applied as Segment's runtime applies it; None
    means the trigger Segment's UI writes for `event_types`.
    """

    url: str | None = None
    method: str = "POST"
    headers: dict[str, str] | None = None
    enable_batching: bool = True
    batch_size: int = DEFAULT_BATCH_SIZE
    flush_interval: float = DEFAULT_FLUSH_INTERVAL
    shared_secret: str | None = None
    event_types: tuple[str, ...] = FRIGADE_TYPES
    trigger: str | None = None
    enabled: bool = True

    @property
    def effective_trigger(self) -> str:
        """The trigger the destination applies: `trigger`, or the one for `event_types`."""
        from frigade_cli.segment.fql import trigger_for

        return self.trigger if self.trigger is not None else trigger_for(self.event_types)

    def validate(self) -> None:
        if self.url is not None:
            # headers None means the default Authorization header: a secret either way.
            check_url(self.url, carries_secret=self.headers != {}, what="destination url")
        if self.method.upper() not in METHODS:
            raise InputError(
                f"destination method {self.method!r} must be one of {', '.join(METHODS)}"
            )
        self.method = self.method.upper()
        if self.headers is not None:
            for name, value in self.headers.items():
                if not (str(name).isascii() and str(value).isascii()):
                    raise InputError(f"destination header {name!r}: Segment allows ASCII only")
        if not MIN_BATCH_SIZE <= self.batch_size <= MAX_BATCH_SIZE:
            raise InputError(
                f"batch size {self.batch_size} is out of range: Segment allows "
                f"{MIN_BATCH_SIZE} to {MAX_BATCH_SIZE}"
            )
        if not 0 < self.flush_interval <= MAX_FLUSH_INTERVAL:
            raise InputError(
                f"flush interval {self.flush_interval:g}s must be above 0 and at most "
                f"{MAX_FLUSH_INTERVAL:g}s"
            )
        unknown = [t for t in self.event_types if t not in MESSAGE_TYPES]
        if unknown:
            raise InputError(
                f"event type {unknown[0]!r} is not a Segment type ({', '.join(MESSAGE_TYPES)})"
            )
        if self.trigger is not None:
            from frigade_cli.segment.fql import TriggerError, parse_trigger, repair

            try:
                parse_trigger(self.trigger)
            except TriggerError as exc:
                fixed = repair(self.trigger)
                hint = f"; write: {fixed}" if fixed is not None else ""
                raise InputError(
                    f"destination trigger: Segment rejects it (column {exc.column}: "
                    f"{exc.message}){hint}"
                ) from None


@dataclass
class SandboxConfig:
    """Everything a sandbox run needs; keys left as None are generated (and marked as such)."""

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    public_key: str | None = None
    write_key: str | None = None
    # Where flowStates actions are sent as track events; None: the sandbox's own Segment side.
    segment_api_url: str | None = None
    destination: DestinationConfig = field(default_factory=DestinationConfig)
    fail_rate: float = 0.0
    # The status injected faults answer with; 429 is Frigade's monthly-active-user cap.
    fail_with: int = DEFAULT_FAIL_WITH
    latency: float = 0.0
    data_path: Path | None = None
    retry: RetryPolicy = DEFAULT_RETRY
    max_in_flight: int = 4
    strict_spec: bool = False
    connection_data: str = "clear"  # one of CONNECTION_DATA_FORMS
    properties: str = "object"  # one of PROPERTIES_FORMS
    # Seconds a messageId is remembered by the Segment side (0: every repeat is accepted).
    dedup_window: float = DEFAULT_DEDUP_WINDOW
    keepalive: float = 15.0
    drain_timeout: float = 2.0
    recent_events: int = 1000
    generated: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        made = set()
        for name in KEY_NAMES:
            if not getattr(self, name):
                setattr(self, name, generate_key(name))
                made.add(name)
        self.generated = frozenset(made)

    @property
    def keys(self) -> tuple[str, str, str]:
        assert self.api_key and self.public_key and self.write_key
        return self.api_key, self.public_key, self.write_key

    def validate(self) -> SandboxConfig:
        """Raise InputError naming the first unusable value; return self for chaining."""
        api_key, public_key, _ = self.keys
        if not api_key.startswith("api_private_"):
            raise InputError("--api-key must be a private key (api_private_...)")
        if not public_key.startswith("api_public_"):
            raise InputError("--public-key must be a public key (api_public_...)")
        if not 0 <= self.port <= 65535:
            raise InputError(f"port {self.port} is out of range (0-65535; 0 picks a free port)")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise InputError(f"fail rate {self.fail_rate:g} must be between 0 and 1")
        if isinstance(self.fail_with, bool) or not (
            isinstance(self.fail_with, int) and 400 <= self.fail_with <= 599
        ):
            raise InputError(
                f"fail with {self.fail_with!r}: give an HTTP error status, 400 to 599 "
                "(429 is Frigade's monthly-active-user cap)"
            )
        if not 0.0 <= self.latency <= MAX_LATENCY:
            raise InputError(f"latency {self.latency:g}s must be between 0 and {MAX_LATENCY:g}s")
        if self.segment_api_url is not None:
            check_url(self.segment_api_url, carries_secret=True, what="segment API url")
        if self.max_in_flight < 1:
            raise InputError("max in-flight deliveries must be at least 1")
        if self.connection_data not in CONNECTION_DATA_FORMS:
            raise InputError(
                f"connection data {self.connection_data!r} must be one of "
                f"{', '.join(CONNECTION_DATA_FORMS)}"
            )
        if self.properties not in PROPERTIES_FORMS:
            raise InputError(
                f"properties {self.properties!r} must be one of {', '.join(PROPERTIES_FORMS)}"
            )
        if not self.dedup_window >= 0:
            raise InputError(f"dedup window {self.dedup_window:g}s must not be negative")
        self.destination.validate()
        return self

    def settings_json(self) -> dict[str, Any]:
        """The runtime-changeable settings, as `GET /_sandbox/config` shows them."""
        d = self.destination
        return {
            "fail_rate": self.fail_rate,
            "fail_with": self.fail_with,
            "latency": self.latency,
            "segment_api_url": self.segment_api_url,
            "strict_spec": self.strict_spec,
            "connection_data": self.connection_data,
            "properties": self.properties,
            "retry": {
                "attempts": self.retry.attempts,
                "base": self.retry.base,
                "cap": self.retry.cap,
                "max_retry_after": self.retry.max_retry_after,
            },
            "destination": {
                "url": d.url,
                "method": d.method,
                "headers": d.headers,
                "enable_batching": d.enable_batching,
                "batch_size": d.batch_size,
                "flush_interval": d.flush_interval,
                "shared_secret": d.shared_secret,
                "event_types": list(d.event_types),
                "trigger": d.trigger,
                "enabled": d.enabled,
            },
        }

    def patched(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """A validated copy with `changes` (the JSON of `PATCH /_sandbox/config`) applied.

        Durations accept numbers (seconds) or strings such as `250ms`.
        """
        if not isinstance(changes, Mapping):
            raise InputError("the body must be a JSON object of settings")
        top = {
            "fail_rate",
            "fail_with",
            "latency",
            "segment_api_url",
            "strict_spec",
            "connection_data",
            "properties",
            "retry",
            "destination",
        }
        _no_unknown(changes, top, "setting")
        new = replace(self, destination=replace(self.destination))
        new.generated = self.generated
        if "fail_rate" in changes:
            new.fail_rate = _number(changes["fail_rate"], "fail_rate")
        if "fail_with" in changes:
            value = changes["fail_with"]
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"fail_with must be an HTTP status such as 429, got {value!r}")
            new.fail_with = value
        if "latency" in changes:
            new.latency = parse_duration(changes["latency"], "latency")
        if "segment_api_url" in changes:
            new.segment_api_url = _optional_str(changes["segment_api_url"], "segment_api_url")
        if "strict_spec" in changes:
            new.strict_spec = _bool(changes["strict_spec"], "strict_spec")
        for name in ("connection_data", "properties"):
            if name in changes:
                value = changes[name]
                if not isinstance(value, str):
                    raise InputError(f"{name} must be a string, got {value!r}")
                setattr(new, name, value)
        if "retry" in changes:
            new.retry = _patched_retry(new.retry, changes["retry"])
        if "destination" in changes:
            _patch_destination(new.destination, changes["destination"])
        return new.validate()


def _no_unknown(changes: Mapping[str, Any], known: set[str], what: str) -> None:
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InputError(f"unknown {what} {unknown[0]!r}: use {', '.join(sorted(known))}")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a number, got {value!r}")
    return float(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, got {value!r}")
    return value


def _optional_str(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InputError(f"{name} must be a string or null, got {value!r}")
    return value or None


def _patched_retry(policy: RetryPolicy, changes: Any) -> RetryPolicy:
    if not isinstance(changes, Mapping):
        raise InputError('retry must be an object such as {"attempts": 3, "base": 0.05}')
    known = {f.name for f in fields(RetryPolicy)}
    _no_unknown(changes, known, "retry setting")
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "attempts":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"retry.attempts must be a whole number >= 1, got {value!r}")
            values[name] = value
        else:
            values[name] = parse_duration(value, f"retry.{name}")
    return replace(policy, **values)


def _patch_destination(dest: DestinationConfig, changes: Any) -> None:
    if not isinstance(changes, Mapping):
        raise InputError("destination must be an object of destination settings")
    _no_unknown(changes, {f.name for f in fields(DestinationConfig)}, "destination setting")
    for name, value in changes.items():
        if name in ("url", "shared_secret"):
            setattr(dest, name, _optional_str(value, f"destination.{name}"))
        elif name == "method":
            if not isinstance(value, str):
                raise InputError(f"destination.method must be a string, got {value!r}")
            dest.method = value
        elif name == "headers":
            if value is not None and not (
                isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
            ):
                raise InputError("destination.headers must be an object of strings or null")
            dest.headers = None if value is None else {str(k): v for k, v in value.items()}
        elif name in ("enable_batching", "enabled"):
            setattr(dest, name, _bool(value, f"destination.{name}"))
        elif name == "batch_size":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"destination.batch_size must be a whole number, got {value!r}")
            dest.batch_size = value
        elif name == "flush_interval":
            dest.flush_interval = parse_duration(value, "destination.flush_interval")
        elif name == "trigger":
            if value is not None and not isinstance(value, str):
                raise InputError(
                    f"destination.trigger must be an FQL string or null, got {value!r}"
                )
            dest.trigger = value
        elif name == "event_types":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise InputError("destination.event_types must be a list of Segment types")
            dest.event_types = tuple(value)
