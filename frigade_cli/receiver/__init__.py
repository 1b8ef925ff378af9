"""The one receiver of Segment's HTTP Tracking API in this project.

Used by the sandbox's Segment side (under `/segment/v1/...`) and by `frigade segment tail
--listen` (at `/v1/...`), so both answer Segment's libraries, the sandbox's forwarder and Frigade
itself the same way:

- `frigade_cli.receiver.tracking`: what a request means (auth, limits, gzip, message checks,
  `messageId` de-duplication, what Segment fills in); no I/O, no web framework;
- `frigade_cli.receiver.webhook`: Webhooks (Actions) deliveries, as `tail --listen` also takes
  them (signature, Frigade's key check, Segment messages);
- `frigade_cli.receiver.asgi`: the Starlette routes that feed them.

Importing this package is cheap: the constants below only.
"""

from __future__ import annotations

# Segment keeps at least 24 hours of messageIds and drops a message whose id it has seen
# (Segment docs, "Handling Duplicate Data"): the default look-back window, in seconds.
DEFAULT_DEDUP_WINDOW = 24 * 3600.0
# At most this many messageIds are remembered; the oldest are forgotten first (bounded memory).
MAX_REMEMBERED_IDS = 2_000_000
