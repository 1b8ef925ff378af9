"""The baseline sender: the official segment-analytics-python library, as its docs show it used.

    python benchmarks/baseline_segment.py URL COUNT

Sends COUNT identify, group and track events (in that order, repeating) through one Client with
its default consumer thread and batches of 100 (`upload_size`), to URL (`/v1/batch` is appended
by the library), then flushes and exits. When the library's queue is full the producer waits
for room rather than dropping events (the library drops them by default), so every event
arrives and the benchmark can check the count at the sink.
"""

from __future__ import annotations

import sys
import time

from segment.analytics import Client


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    client = Client("benchmark_write_key", host=url, upload_size=100, max_retries=3)
    for i in range(count):
        user = f"bench_user_{i % 50}"
        while True:
            kind = i % 3
            if kind == 0:
                accepted, _ = client.identify(
                    user, {"name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro"}
                )
            elif kind == 1:
                accepted, _ = client.group(
                    user, f"bench_org_{i % 7}", {"name": "Acme", "industry": "Retail"}
                )
            else:
                accepted, _ = client.track(user, "Report Exported", {"format": "csv", "rows": 1200})
            if accepted:
                break
            time.sleep(0.001)  # the queue is full: wait for the consumer
    client.flush()


if __name__ == "__main__":
    main()
