"""What `segment test-webhook` shows: the run's summary, or the exact requests of a dry run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from frigade_cli.kernel.output import Terminal
    from frigade_cli.segment.batching import Batch


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def delivery_summary(terminal: Terminal, summary: dict[str, Any], json_output: bool) -> None:
    """The summary of a test-webhook run."""
    if json_output:
        terminal.json(summary)
        return
    latency = summary["latency_ms"]
    statuses = ", ".join(f"{code} x{n}" for code, n in summary["status_codes"].items()) or "-"
    rows = [
        ("url", summary["url"]),
        ("batches", f"{summary['batches']} (batch size {summary['batch_size']})"),
        ("events", summary["events"]),
        (
            "accepted",
            f"{summary['accepted']['events']} events in {summary['accepted']['batches']} batches",
        ),
        (
            "failed",
            f"{summary['failed']['events']} events in {summary['failed']['batches']} batches",
        ),
        (
            "not sent",
            f"{summary['unsent']['events']} events in {summary['unsent']['batches']} batches"
            + (
                f" ({summary['unsent']['not_generated']} of them never generated)"
                if summary["unsent"].get("not_generated")
                else ""
            ),
        ),
        ("status codes", statuses),
        ("retries", summary["retries"]),
        (
            "latency",
            f"p50 {_ms(latency['p50'])}, p95 {_ms(latency['p95'])}, max {_ms(latency['max'])}",
        ),
        (
            "rate",
            f"{summary['events_per_s'] or 0:,.0f} events/s over {summary['duration_s']:.2f} s",
        ),
    ]
    if summary["spool_file"]:
        rows.append(("saved to", summary["spool_file"]))
    if "sandbox" in summary:
        check = summary["sandbox"]
        by_type = ", ".join(f"{t} {n}" for t, n in sorted(check["ingested_by_type"].items()))
        rows.append(("sandbox", f"ingested {check['ingested']} events ({by_type or 'none'})"))
    terminal.table(["", ""], rows, show_header=False)


def dry_run(
    terminal: Terminal,
    requests: list[tuple[str, str, dict[str, str], Batch]],
    json_output: bool,
) -> None:
    """The exact requests a run would send (keys redacted by the terminal)."""
    if json_output:
        terminal.json(
            {
                "dry_run": True,
                "requests": [
                    {
                        "method": method,
                        "url": url,
                        "headers": headers,
                        "events": batch.size,
                        "bytes": len(batch.body),
                        "body": orjson.Fragment(batch.body),  # the exact bytes sent
                    }
                    for method, url, headers, batch in requests
                ],
            }
        )
        return
    for n, (method, url, headers, batch) in enumerate(requests, start=1):
        events = f"{batch.size} event" + ("" if batch.size == 1 else "s")
        terminal.line(f"# request {n} of {len(requests)}: {events}, {len(batch.body)} bytes")
        terminal.line(f"{method} {url}")
        for name, value in headers.items():
            terminal.line(f"{name}: {value}")
        terminal.line("")
        terminal.line(batch.body.decode())
        terminal.line("")


class TestWebhookPrinter:
    """The view `run_test_webhook` hands its results to, printing on one terminal."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def dry_run(
        self, requests: list[tuple[str, str, dict[str, str], Batch]], json_output: bool
    ) -> None:
        """The exact requests a run would send."""
        dry_run(self.terminal, requests, json_output)

    def summary(self, summary: dict[str, Any], json_output: bool) -> None:
        """The summary of a send."""
        delivery_summary(self.terminal, summary, json_output)
