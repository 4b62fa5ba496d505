"""Fake PostHog throughput and memory, against baselines measured in the same run.

* loopback, full handler vs a bare pytest-httpserver handler that only answers 200 (same
  client, same payload): target ratio >= 0.8;
* in-process ``httpx.WSGITransport`` vs loopback httpx: target >= 5x;
* batches of 100 vs single events (events/s);
* RSS for 100,000 stored events: target <= 150 MB (issue 13).

Run: ``python bench/bench_server.py``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import table

from ctph_harness.posthog.app import CaptureApp
from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
EVENT = {"event": "bench", "distinct_id": "u1", "api_key": KEY, "properties": {"i": 1, "x": "y"}}
ONE = json.dumps(EVENT).encode()
BATCH = json.dumps({"api_key": KEY, "batch": [EVENT] * 100}).encode()
HEADERS = {"Content-Type": "application/json"}
# the same 100 events on capture's v1 route: Bearer key, the required headers, distinct uuids
V1_BATCH = json.dumps(
    {
        "created_at": "2026-03-19T14:30:00Z",
        "batch": [
            {
                "event": "bench",
                "uuid": str(uuid.UUID(int=i + 1)),
                "distinct_id": "u1",
                "timestamp": "2026-03-19T14:29:58Z",
                "options": {},
                "properties": {"i": 1, "x": "y"},
            }
            for i in range(100)
        ],
    }
).encode()
V1_HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "bench/1.0",
    "Authorization": f"Bearer {KEY}",
    "PostHog-Sdk-Info": "bench/1.0",
    "PostHog-Attempt": "1",
    "PostHog-Request-Id": "0190f6b2-7d1c-7b3a-9c1e-2f4a5b6c7d8e",
    "PostHog-Request-Timestamp": "2026-03-19T14:30:00Z",
}


def rate(send: Callable[[], object], events_per_call: int, calls: int, repeat: int = 3) -> float:
    """Best events/s over ``repeat`` runs of ``calls`` sends."""
    best = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            send()
        best = max(best, events_per_call * calls / (time.perf_counter() - started))
    return best


def bare_server() -> tuple[object, str]:
    from pytest_httpserver import HTTPServer
    from werkzeug.wrappers import Response

    server = HTTPServer(threaded=True)
    server.expect_request("/i/v0/e/").respond_with_handler(lambda request: Response("ok"))
    server.start()
    assert server.server is not None
    from ctph_harness.posthog.server import _QuietHandler

    server.server.RequestHandlerClass = _QuietHandler  # same logging cost as the fake
    return server, f"http://127.0.0.1:{server.port}"


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def main() -> None:
    calls = 600
    rows = []
    bare, bare_url = bare_server()
    with FakePostHog(journal_size=1_000) as fake, httpx.Client(base_url=bare_url) as to_bare:
        with httpx.Client(base_url=fake.url) as to_fake:
            # Alternated rounds, best of each: a loopback round trip here is ~1.7 ms and the
            # machine's noise is of that order, so back-to-back blocks drift apart.
            bare_rate = full_rate = 0.0
            for _ in range(5):
                bare_rate = max(
                    bare_rate,
                    rate(
                        lambda: to_bare.post("/i/v0/e/", content=ONE, headers=HEADERS), 1, calls, 1
                    ),
                )
                full_rate = max(
                    full_rate,
                    rate(
                        lambda: to_fake.post("/i/v0/e/", content=ONE, headers=HEADERS), 1, calls, 1
                    ),
                )
            fake.reset()
            batch_rate = rate(
                lambda: to_fake.post("/batch/", content=BATCH, headers=HEADERS), 100, 40
            )
            fake.reset()
            v1_rate = rate(
                lambda: to_fake.post(
                    "/i/v1/analytics/events", content=V1_BATCH, headers=V1_HEADERS
                ),
                100,
                40,
            )
        fake.reset()
        with httpx.Client(transport=fake.transport(), base_url="http://posthog") as local:
            local_rate = rate(
                lambda: local.post("/i/v0/e/", content=ONE, headers=HEADERS), 1, calls
            )
    bare.stop()  # type: ignore[attr-defined]
    rows.append(["loopback, bare 200 handler", f"{bare_rate:,.0f}", "baseline", ""])
    rows.append(
        ["loopback, full handler", f"{full_rate:,.0f}", f"{full_rate / bare_rate:.2f}x", ">= 0.8x"]
    )
    rows.append(
        [
            "in-process transport",
            f"{local_rate:,.0f}",
            f"{local_rate / full_rate:.2f}x loopback",
            ">= 5x",
        ]
    )
    rows.append(
        [
            "loopback, batch of 100",
            f"{batch_rate:,.0f}",
            f"{batch_rate / full_rate:.1f}x single",
            "",
        ]
    )
    rows.append(
        [
            "loopback, v1 batch of 100 (/i/v1/analytics/events)",
            f"{v1_rate:,.0f}",
            f"{v1_rate / batch_rate:.2f}x v0 batch",
            "",
        ]
    )

    app = CaptureApp(journal_size=1_000)
    before = rss_mb()
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://posthog") as local:
        for i in range(1_000):
            batch = [
                {**EVENT, "distinct_id": f"u{i % 500}", "properties": {"i": j, "x": "y"}}
                for j in range(100)
            ]
            local.post("/batch/", json={"api_key": KEY, "batch": batch})
    stored = len(app.events())
    rows.append(
        [
            f"RSS for {stored:,} events",
            f"{rss_mb():,.0f} MB",
            f"+{rss_mb() - before:,.0f} MB",
            "<= 150 MB",
        ]
    )
    print(table(["measure", "events/s or size", "ratio", "target"], rows))


if __name__ == "__main__":
    main()
