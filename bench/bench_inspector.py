"""The inspector's server side (issue 16), against baselines measured in the same run.

* stream throughput: events per second a ``/_ctph/stream?since=0`` replay delivers, against
  the raw JSON API (``/_ctph/events`` whole, and paged by 10,000) reading the same events;
* capture request -> its message on an open stream: median and p95 over 100 requests;
* capture throughput (loopback) with 0 and with 16 idle streams open (target ratio ~1: open
  pages must not slow the SDKs down);
* with 100,000 events stored: the first page the UI asks for (``/_ctph/events?limit=100``)
  and a filtered one (``?event=...&limit=100``), next to the whole list.

Each row is the best (and worst) of ``REPEAT`` runs; the machine is shared, so read ratios.
Run: ``python bench/bench_inspector.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stream import stream_messages
from _table import table

from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
REPEAT = 3
STORED = 20_000  # events the stream and the JSON API read (200 batches of 100)


def _event(i: int, name: str = "bench") -> dict[str, object]:
    return {
        "event": name,
        "distinct_id": f"u{i % 500}",
        "properties": {"$lib": "web", "$current_url": f"https://shop.example/p/{i}", "i": i},
    }


def _fill(fake: FakePostHog, count: int) -> None:
    for start in range(0, count, 100):
        batch = [_event(i) for i in range(start, min(count, start + 100))]
        body = json.dumps({"api_key": KEY, "batch": batch}).encode()
        status, _ = fake.call("POST", "/batch/", body, {"Content-Type": "application/json"})
        assert status == 200


def _timed(run: Callable[[], int]) -> tuple[float, float]:
    """(best, worst) events per second over REPEAT runs of ``run`` (which returns events)."""
    rates = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        count = run()
        rates.append(count / (time.perf_counter() - start))
    return max(rates), min(rates)


def _stream_replay(fake: FakePostHog, last: int) -> int:
    events = 0
    for message in stream_messages(fake.url + "/_ctph/stream?since=0"):
        events += len(message.get("events", ()))
        if message.get("number") == last:
            return events
    raise AssertionError("the stream ended early")


def throughput() -> list[list[object]]:
    with FakePostHog() as fake:
        _fill(fake, STORED)
        last = fake.app.journal_page(0, 10_000).entries[-1].seq
        http = fake.client()

        def whole() -> int:
            return len(http.get("/_ctph/events", timeout=60).json())

        def paged() -> int:
            count, params = 0, {"limit": "10000"}
            while True:
                page = http.get("/_ctph/events", params=params, timeout=60).json()
                count += len(page["results"])
                if not page["has_more"]:
                    return count
                params = {"limit": "10000", "cursor": page["cursor"]}

        base = _timed(whole)
        rows: list[list[object]] = [["GET /_ctph/events (whole list)", *_rate(base, base)]]
        rows.append(["GET /_ctph/events?limit=10000 (paged)", *_rate(_timed(paged), base)])
        rows.append(
            [
                "GET /_ctph/stream?since=0 (replay)",
                *_rate(_timed(lambda: _stream_replay(fake, last)), base),
            ]
        )
    return rows


def _rate(found: tuple[float, float], base: tuple[float, float]) -> list[object]:
    best, worst = found
    return [f"{best:,.0f}", f"{worst:,.0f}", f"{best / base[0]:.2f}x"]


def latency() -> list[list[object]]:
    """Capture request sent -> its message read from an open stream, 100 times: spaced 5 ms
    (a burst: the stream's pacing batches it) and 100 ms (an idle stream answers at once)."""
    return [_latency(0.005), _latency(0.1)]


def _latency(spacing: float) -> list[object]:
    with FakePostHog() as fake:
        got: dict[int, float] = {}
        ready = threading.Event()

        def read() -> None:
            for message in stream_messages(fake.url + "/_ctph/stream", ready):
                got[message["number"]] = time.perf_counter()
                if len(got) >= 100:
                    return

        reader = threading.Thread(target=read)
        reader.start()
        ready.wait(10)
        sent: dict[int, float] = {}
        http = httpx.Client(base_url=fake.url)
        for i in range(100):
            body = {"api_key": KEY, **_event(i)}
            sent[i + 1] = time.perf_counter()
            assert http.post("/i/v0/e/", json=body).status_code == 200
            time.sleep(spacing)
        reader.join(30)
        http.close()
        gaps = sorted((got[n] - sent[n]) * 1000 for n in sent if n in got)
    p95 = gaps[int(len(gaps) * 0.95) - 1]
    label = f"capture -> stream message (ms), {spacing * 1000:g} ms apart"
    return [label, f"{statistics.median(gaps):.2f}", f"{p95:.2f}", len(gaps)]


def _capture_rate(fake: FakePostHog, count: int = 400) -> float:
    http = httpx.Client(base_url=fake.url)
    body = json.dumps({"api_key": KEY, **_event(1)}).encode()
    start = time.perf_counter()
    for _ in range(count):
        http.post("/i/v0/e/", content=body, headers={"Content-Type": "application/json"})
    http.close()
    return count / (time.perf_counter() - start)


def open_streams() -> list[list[object]]:
    rows = []
    with FakePostHog() as fake:
        idle = [_capture_rate(fake) for _ in range(REPEAT)]
        with ExitStack() as stack:
            client = stack.enter_context(httpx.Client(timeout=60))
            for _ in range(16):
                stack.enter_context(client.stream("GET", fake.url + "/_ctph/stream"))
            busy = [_capture_rate(fake) for _ in range(REPEAT)]
    rows.append(
        ["capture req/s, no stream open", f"{max(idle):,.0f}", f"{min(idle):,.0f}", "1.00x"]
    )
    rows.append([
        "capture req/s, 16 streams open (each reads every request)",
        f"{max(busy):,.0f}",
        f"{min(busy):,.0f}",
        f"{max(busy) / max(idle):.2f}x",
    ])  # fmt: skip
    return rows


def big_store() -> list[list[object]]:
    rows = []
    with FakePostHog() as fake:
        _fill(fake, 100_000)
        http = fake.client()
        for label, params in [
            ("whole list (100,000 events)", {}),
            ("first page (limit=100)", {"limit": "100"}),
            ("filtered page (event=...&limit=100)", {"event": "bench", "limit": "100"}),
            ("free text page (q=p/99999&limit=100)", {"q": "p/99999", "limit": "100"}),
        ]:
            times = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                assert http.get("/_ctph/events", params=params, timeout=120).status_code == 200
                times.append((time.perf_counter() - start) * 1000)
            rows.append([label, f"{min(times):,.1f}", f"{max(times):,.1f}"])
    return rows


def main() -> None:
    print(f"stream vs JSON API, {STORED:,} stored events (events/s; best, worst of {REPEAT})")
    print(table(["route", "best", "worst", "vs whole list"], throughput()))
    print()
    print(table(["latency", "median", "p95", "samples"], latency()))
    print()
    print(table(["capture over loopback", "best", "worst", "ratio"], open_streams()))
    print()
    print("GET /_ctph/events with 100,000 events stored (ms; best, worst)")
    print(table(["answer", "best", "worst"], big_store()))


if __name__ == "__main__":
    main()
