"""Load and abuse over loopback: concurrent clients lose nothing, malformed bytes wedge nothing.

8 threads × 2,000 events, as single-event requests and as batches of 100; every event must be
stored exactly once and no answer may be a 5xx. (werkzeug's threaded dev server, which
pytest-httpserver runs, costs ~1.7 ms per request on a 2-core machine whatever the handler
does, so the 16,000 single requests take ~30 s.) Then malformed requests (truncated gzip,
invalid UTF-8, deep nesting, huge headers, lone surrogates) get PostHog's 4xx and the server
still answers the next request.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ctph_harness.posthog.server import FakePostHog

pytestmark = pytest.mark.slow

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
THREADS = 8
PER_THREAD = 2_000
BATCH = 100
SINGLE_PER_THREAD = PER_THREAD


@pytest.fixture(scope="module")
def server() -> Iterator[FakePostHog]:
    with FakePostHog(journal_size=1_000) as fake:
        yield fake


def _event(worker: int, i: int) -> dict[str, object]:
    return {"event": "load", "distinct_id": f"w{worker}", "api_key": KEY, "properties": {"i": i}}


def _run(server: FakePostHog, worker: int, batch: int, total: int = PER_THREAD) -> list[int]:
    statuses = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for start in range(0, total, batch):
            events = [_event(worker, i) for i in range(start, start + batch)]
            body = events[0] if batch == 1 else {"api_key": KEY, "batch": events}
            statuses.append(
                client.post("/i/v0/e/" if batch == 1 else "/batch/", json=body).status_code
            )
    return statuses


@pytest.mark.parametrize("batch", [1, BATCH], ids=["single", "batch100"])
def test_concurrent_clients_lose_nothing(server: FakePostHog, batch: int) -> None:
    server.reset()
    total = PER_THREAD if batch > 1 else SINGLE_PER_THREAD
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda w: _run(server, w, batch, total), range(THREADS)))
    statuses = [s for result in results for s in result]
    assert len(statuses) == THREADS * total // batch
    assert set(statuses) == {200}
    events = server.events()
    assert len(events) == THREADS * total
    for worker in range(THREADS):
        seen = sorted(e.properties["i"] for e in events if e.distinct_id == f"w{worker}")
        assert seen == list(range(total))
    assert len({e.uuid for e in events}) == len(events)
    assert len(server.persons()) == THREADS
    server.check()


def test_injected_faults_under_load_are_the_only_5xx(server: FakePostHog) -> None:
    server.reset()
    server.inject(status=503, count=25)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda w: _run(server, w, 20), range(4)))
    statuses = [s for result in results for s in result]
    assert statuses.count(503) == 25
    assert set(statuses) == {200, 503}
    assert len(server.events()) == (len(statuses) - 25) * 20


def _raw(server: FakePostHog, request: bytes) -> bytes:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _post(path: str, body: bytes, headers: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{headers}Connection: close\r\n\r\n"
    return head.encode() + body


ONE = json.dumps({"event": "a", "distinct_id": "u", "api_key": KEY}).encode()
MALFORMED = [
    (
        "truncated-gzip",
        _post("/batch/", gzip.compress(ONE * 50)[:40]),
        b"400",
        b"invalid GZIP data",
    ),
    ("invalid-utf8", _post("/i/v0/e/", b'{"event":"\xc3\x28"}'), b"400", b"invalid UTF8"),
    ("deep-nesting", _post("/i/v0/e/", b"[" * 200_000), b"400", b"failed to parse request"),
    (
        "deep-object-nesting",
        _post("/i/v0/e/", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
        b"400",
        b"failed to parse request",
    ),
    (
        "lone-surrogate",
        _post("/i/v0/e/", b'{"event":"a","distinct_id":"\\udc00","api_key":"phc_abcdefgh"}'),
        b"400",
        b"surrogate",
    ),
    # hyper (PostHog) and http.server both refuse an oversized header line: 431
    ("huge-header", _post("/i/v0/e/", ONE, "X-Big: " + "h" * 200_000 + "\r\n"), b"431", b""),
    (
        "short-body",
        _post("/i/v0/e/", ONE).replace(
            f"Content-Length: {len(ONE)}".encode(), b"Content-Length: 10"
        ),
        b"400",
        b"failed to parse request",
    ),
    ("garbage-request-line", b"\x00\x01\x02 nonsense\r\n\r\n", None, b"400"),
]


@pytest.mark.parametrize(
    ("raw", "status", "text"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_requests_do_not_wedge(
    server: FakePostHog, raw: bytes, status: bytes, text: bytes
) -> None:
    server.reset()
    answer = _raw(server, raw)
    if status is not None:  # None: an HTTP/0.9-style answer with no status line
        assert answer.split(b" ", 2)[1] == status, answer[:300]
    assert text in answer
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.post("/i/v0/e/", content=ONE).status_code == 200
    server.check()
