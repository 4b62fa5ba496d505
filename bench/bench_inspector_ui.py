"""The inspector page (issue 16) in headless Chromium, against baselines in the same run.

* **capture -> row**: one event POSTed to ``/i/v0/e/``, then Playwright waits for the page's
  newest row to name it (``wait_for_function``, polled on animation frames); median over 100.
  Baseline: the same POST, then ``GET /_ctph/events?event=...`` shows it (the raw JSON API).
* **page load with 100,000 events stored**: navigation to the first paint of the events view
  (its first page, 200 rows of the newest, and the counters). Baselines: the unpaged
  ``GET /_ctph/events`` a page reading everything would need, and the one newest page
  (``?limit=200&order=desc``) the inspector reads.
* **stream throughput**: 20,000 events POSTed as 200 batches of 100 with the page open, until
  the page says it holds all of them (counter and "N older events not shown"): events shown
  per second. Baselines: the same POSTs with no page open (ingestion alone), a plain SSE
  client reading the same stream (no browser), and the raw JSON API paging the 20,000 back.

Numbers are wall-clock on a shared machine: each row is run ``ROUNDS`` times and printed as
median (min-max). Needs Chromium on PATH (Debian: ``apt-get install chromium``) and the test
extra's playwright. Run: ``python bench/bench_inspector_ui.py [rounds]``
(``bench_inspector.py`` measures the server side alone).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stream import stream_messages
from _table import table

from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LATENCY_N = 100
STORED = 100_000
FLOOD = 20_000
FLOOD_BATCH = 100


def post_batch(http: httpx.Client, events: list[dict[str, object]]) -> None:
    body = json.dumps({"api_key": KEY, "batch": events}).encode()
    answer = http.post("/batch/", content=body)
    assert answer.status_code == 200, answer.text


def bulk(prefix: str, count: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {"event": f"{prefix}_{n}", "distinct_id": f"u{n % 97}", "properties": {"n": n}}
        for n in range(start, start + count)
    ]


def ready(page: Page) -> None:
    page.wait_for_selector('main [role=tabpanel]:not([hidden])[data-ready="1"]', state="attached")


def first_row_is(page: Page, name: str) -> None:
    page.wait_for_function(
        "name => document.querySelector('#events-body tr td.event')?.textContent === name",
        arg=name,
        timeout=10_000,
    )


def latency(page: Page, fake: FakePostHog) -> tuple[list[float], list[float]]:
    """Seconds from a capture POST to the row on the page, and to the raw API showing it."""
    http = fake.client()
    page.goto(fake.url + "/_ctph/ui/")
    ready(page)
    page.wait_for_selector('body[data-live="live"]', state="attached")
    to_row, to_api = [], []
    for n in range(LATENCY_N):
        name = f"latency_{n}"
        body = json.dumps({"api_key": KEY, "event": name, "distinct_id": "u1"}).encode()
        started = time.perf_counter()
        assert http.post("/i/v0/e/", content=body).status_code == 200
        first_row_is(page, name)
        to_row.append(time.perf_counter() - started)
        api_name = f"api_{n}"
        body = json.dumps({"api_key": KEY, "event": api_name, "distinct_id": "u1"}).encode()
        started = time.perf_counter()
        assert http.post("/i/v0/e/", content=body).status_code == 200
        assert http.get("/_ctph/events", params={"event": api_name}).json()
        to_api.append(time.perf_counter() - started)
        first_row_is(page, api_name)  # let the page catch up before the next round
    return to_row, to_api


def load(page: Page, fake: FakePostHog) -> tuple[float, float, float]:
    """Page load to first paint with STORED events; the whole list and one newest page."""
    http = fake.client()
    started = time.perf_counter()
    page.goto(fake.url + "/_ctph/ui/")
    ready(page)
    page.wait_for_function(
        "n => document.getElementById('count-accepted').textContent === n",
        arg=f"{STORED:,}",
    )
    paint = time.perf_counter() - started
    started = time.perf_counter()
    assert len(http.get("/_ctph/events").json()) == STORED
    whole = time.perf_counter() - started
    started = time.perf_counter()
    http.get("/_ctph/events", params={"limit": 200, "order": "desc"}).raise_for_status()
    newest = time.perf_counter() - started
    return paint, whole, newest


def flood(fake: FakePostHog, round_: int) -> float:
    """Seconds to POST FLOOD events in batches (what the other rows wait on too)."""
    http = fake.client()
    started = time.perf_counter()
    for at in range(0, FLOOD, FLOOD_BATCH):
        post_batch(http, bulk(f"flood{round_}", FLOOD_BATCH, at))
    return time.perf_counter() - started


def page_throughput(page: Page, fake: FakePostHog, round_: int) -> float:
    fake.reset()
    page.goto(fake.url + "/_ctph/ui/")
    ready(page)
    page.wait_for_selector('body[data-live="live"]', state="attached")
    started = time.perf_counter()
    flood(fake, round_)
    page.wait_for_function(
        "n => document.getElementById('count-accepted').textContent === n"
        " && document.getElementById('older-line').textContent.startsWith"
        "((Number(n.replaceAll(',', '')) - 200).toLocaleString('en'))",
        arg=f"{FLOOD:,}",
        timeout=120_000,
    )
    return time.perf_counter() - started


def sse_throughput(fake: FakePostHog, round_: int) -> float:
    """A plain SSE client (no browser) reading the same flood from the stream."""
    fake.reset()
    seen = 0
    done = threading.Event()
    opened = threading.Event()

    def read() -> None:
        nonlocal seen
        for message in stream_messages(fake.url + "/_ctph/stream", opened):
            seen += len(message.get("events", []))
            if seen >= FLOOD:
                done.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    opened.wait(10)
    time.sleep(0.1)
    started = time.perf_counter()
    flood(fake, round_)
    done.wait(120)
    return time.perf_counter() - started


def api_read(fake: FakePostHog) -> float:
    """The raw JSON API paging FLOOD stored events back (10,000 a page)."""
    http = fake.client()
    started = time.perf_counter()
    page = http.get("/_ctph/events", params={"limit": 10_000}).json()
    got = len(page["results"])
    while page["has_more"]:
        page = http.get("/_ctph/events", params={"limit": 10_000, "cursor": page["cursor"]}).json()
        got += len(page["results"])
    assert got == FLOOD, got
    return time.perf_counter() - started


def spread(values: list[float], scale: float = 1.0, digits: int = 0) -> str:
    scaled = sorted(v * scale for v in values)
    mid = statistics.median(scaled)
    return f"{mid:,.{digits}f} ({scaled[0]:,.{digits}f}-{scaled[-1]:,.{digits}f})"


@contextmanager
def browser_page() -> Iterator[Page]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no Chromium on PATH (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def rounds_of(count: int, measure: Callable[[int], float]) -> list[float]:
    return [measure(r) for r in range(count)]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with browser_page() as page, FakePostHog(journal_size=10_000) as fake:
        to_row, to_api = latency(page, fake)
        print(f"capture -> visible, {LATENCY_N} events, one at a time (ms)")
        print(
            table(
                ["path", "median", "p90", "min", "max"],
                [
                    [label, *(f"{v * 1000:.1f}" for v in stats(values))]
                    for label, values in (("inspector row (SSE)", to_row), ("raw JSON API", to_api))
                ],
            )
        )
        fake.reset()
        http = fake.client()
        for at in range(0, STORED, 10_000):
            post_batch(http, bulk("stored", 10_000, at))
        loads = [load(page, fake) for _ in range(rounds)]
        print(f"\npage load with {STORED:,} events stored (ms, median (min-max) of {rounds})")
        print(
            table(
                ["what", "time"],
                [
                    ["inspector: navigation to first paint", spread([x[0] for x in loads], 1000)],
                    ["raw API: whole list (unpaged)", spread([x[1] for x in loads], 1000)],
                    ["raw API: newest page (limit=200, desc)", spread([x[2] for x in loads], 1000)],
                ],
            )
        )
        ingest = rounds_of(rounds, lambda r: (fake.reset(), flood(fake, r))[1])
        shown = rounds_of(rounds, lambda r: page_throughput(page, fake, r + 100))
        read_api = rounds_of(rounds, lambda r: api_read(fake))
        sse = rounds_of(rounds, lambda r: sse_throughput(fake, r + 200))
        base = statistics.median(FLOOD / t for t in ingest)
        rows = []
        for label, times in (
            ("ingestion alone (POST, no page)", ingest),
            ("inspector page: shown (SSE)", shown),
            ("plain SSE client (no browser)", sse),
            ("raw JSON API: read back, 10k pages", read_api),
        ):
            rates = [FLOOD / t for t in times]
            rows.append([label, spread(rates), f"{statistics.median(rates) / base:.2f}x"])
        head = f"throughput, {FLOOD:,} events in batches of {FLOOD_BATCH}"
        print(f"\n{head} (events/s, {rounds} rounds)")
        print(table(["path", "events/s median (min-max)", "vs ingestion"], rows))


def stats(values: list[float]) -> tuple[float, float, float, float]:
    ordered = sorted(values)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return statistics.median(ordered), p90, ordered[0], ordered[-1]


if __name__ == "__main__":
    main()
