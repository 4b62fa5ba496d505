"""The fake PostHog under hostile clients: it never dies, never answers 5xx to what a client
sent, never stores half a request, and answers a good request soon after a flood of slow ones.

Each case drives the real server over real sockets. The cases that once killed the process run
against a ``ctph serve`` subprocess, so a crash fails the test instead of ending pytest.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from ctph_harness.posthog.exchange import BODY_UNREADABLE
from ctph_harness.posthog.project import Project
from ctph_harness.posthog.server import FakePostHog, _QuietHandler

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
PERSONAL = "phx_SECRETsecretSECRETsecretSECRET0123"
SAFETY = 60.0
"""Seconds a socket waits before a test gives up: a safety net, never the assertion."""


def ev(name: str, distinct_id: str, **properties: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": distinct_id, "api_key": KEY, "properties": properties}


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def raw_exchange(url: str, data: bytes) -> bytes:
    """Send ``data`` as is, close the write side (the client has nothing more to say) and
    read the whole answer."""
    with socket.create_connection(address(url), timeout=SAFETY) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def chunked(path: str, *chunks: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head.encode() + b"".join(chunks)


def good_request_works(url: str, name: str = "ok") -> None:
    answer = httpx.post(f"{url}/i/v0/e/", json=ev(name, "u"), timeout=SAFETY)
    assert answer.status_code == 200, answer.text


@contextmanager
def ctph_serve() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``ctph serve`` in a subprocess: its URL and the process (stopped on exit)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctph_harness.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        inspector = proc.stdout.readline()  # issue 16: the inspector's URL comes first
        assert inspector.startswith("ctph inspector: "), inspector
        first = proc.stdout.readline()
        assert first.startswith("fake PostHog listening on "), first
        yield first.split()[-1], proc
    finally:
        proc.kill()
        proc.communicate(timeout=SAFETY)


# --------------------------------------------------------------------------------------------
# chunked bodies and short bodies


def test_a_short_body_under_a_huge_chunk_size_does_not_kill_the_server() -> None:
    """A declared 256 MiB chunk holding 13 bytes, then the client closes: werkzeug's
    DechunkedInput shrank the read buffer yet reported it full, and the process died with
    SIGSEGV. Now it is an unreadable body, answered as capture answers one."""
    with ctph_serve() as (url, proc):
        answer = raw_exchange(
            url, chunked("/batch/", b"10000000\r\n", b'{"event":"a"}\r\n0\r\n\r\n')
        )
        assert status_of(answer) == 400
        assert answer.endswith(BODY_UNREADABLE.encode())
        good_request_works(url)
        assert proc.poll() is None


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param((b"zz\r\n", b'{"event":"a"}\r\n0\r\n\r\n'), id="malformed-size-line"),
        pytest.param((b"100\r\n", b'{"event":"a"}'), id="cut-short"),
        pytest.param((b"d\r\n", b'{"event":"a"}XX0\r\n\r\n'), id="missing-chunk-terminator"),
    ],
)
def test_broken_chunked_framing_is_the_clients_400(fake: FakePostHog, chunks: tuple[bytes]) -> None:
    answer = raw_exchange(fake.url, chunked("/batch/", *chunks))
    assert status_of(answer) == 400
    assert answer.endswith(BODY_UNREADABLE.encode())
    [entry] = fake.journal()
    assert (entry.status, entry.kind, entry.error) == (400, "capture", None)
    fake.check()  # a client's mistake is not a handler error
    good_request_works(fake.url)


def test_a_body_shorter_than_its_content_length_is_a_journalled_400(fake: FakePostHog) -> None:
    head = b"POST /i/v0/e/ HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n"
    answer = raw_exchange(fake.url, head + json.dumps(ev("cut", "u")).encode())
    assert status_of(answer) == 400
    assert answer.endswith(BODY_UNREADABLE.encode())
    [entry] = fake.journal()
    assert (entry.status, entry.kind) == (400, "capture")
    assert '"cut"' in entry.body  # what arrived is kept for the reader
    assert fake.events() == []


def test_a_broken_body_on_an_unknown_route_is_a_404_not_a_500(fake: FakePostHog) -> None:
    answer = raw_exchange(fake.url, chunked("/nowhere", b"zz\r\n"))
    assert status_of(answer) == 404
    [entry] = fake.journal()
    assert (entry.status, entry.kind, entry.error) == (404, "unexpected", None)


def test_a_valid_chunked_body_is_still_read(fake: FakePostHog) -> None:
    body = json.dumps(ev("chunked", "u")).encode()
    answer = raw_exchange(
        fake.url, chunked("/i/v0/e/", b"%x\r\n" % len(body), body, b"\r\n0\r\n\r\n")
    )
    assert status_of(answer) == 200
    assert [e.event for e in fake.events()] == ["chunked"]


# --------------------------------------------------------------------------------------------
# request-atomic ingestion


def fail_on_call(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the ``n``th :meth:`Project.ingest` call from now raise, as a bug deep in ingestion
    would."""
    real = Project.ingest
    calls = 0

    def ingest(self: Project, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == n:
            raise RuntimeError("ingestion broke on this event")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Project, "ingest", ingest)


def test_a_batch_answered_500_stores_nothing_and_its_retry_stores_once(
    fake: FakePostHog, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = fake.client()
    http.post("/i/v0/e/", json=ev("$identify", "known", **{"$set": {"plan": "free"}}))
    before = (fake.events(), fake.persons(), fake.warnings())
    batch = {
        "api_key": KEY,
        "batch": [
            ev("first", "new-user", **{"$set": {"a": 1}}),
            ev("$identify", "known", **{"$anon_distinct_id": "new-user", "$set": {"plan": "pro"}}),
            ev("$groupidentify", "known", **{"$group_type": "org", "$group_key": "o1"}),
            ev("bad", "known"),
            ev("after", "known"),
        ],
    }
    fail_on_call(monkeypatch, 4)
    assert http.post("/batch/", json=batch).status_code == 500
    assert (fake.events(), fake.persons(), fake.warnings(), fake.groups()) == (*before, [])
    [problem] = fake.app.problems()
    assert problem.stored == 0 and "ingestion broke" in (problem.error or "")

    monkeypatch.undo()
    assert http.post("/batch/", json=batch).status_code == 200
    names = [e.event for e in fake.events()]
    assert names == ["$identify", "first", "$identify", "$groupidentify", "bad", "after"]
    person = fake.person("new-user")
    assert person is not None and person == fake.person("known")
    assert person.properties == {"plan": "pro", "a": 1}
    fake.app.reset()  # the injected 500 was this test's doing


def test_a_failed_merge_puts_both_persons_back_in_place(
    fake: FakePostHog, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = fake.client()
    http.post("/batch/", json=[ev("seen", "anon", **{"$set": {"a": 1}}), ev("seen", "known")])
    before = fake.persons()
    merge = ev("$identify", "known", **{"$anon_distinct_id": "anon", "$set": {"b": 2}})
    fail_on_call(monkeypatch, 2)
    assert http.post("/batch/", json=[merge, ev("bad", "known")]).status_code == 500
    assert fake.persons() == before  # same rows, same order
    assert [e.event for e in fake.events()] == ["seen", "seen"]
    fake.app.reset()


# --------------------------------------------------------------------------------------------
# values nested past serde_json's limit, numbers past its range


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_array(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_BODIES = {
    "objects-490-deep": json.dumps(ev("deep", "u", x=nested(490))),
    "properties-array-260-deep": json.dumps({**ev("deep", "u"), "properties": deep_array(260)}),
    "event-486-deep": json.dumps(ev("deep", "u", x=nested(486))),
    "integer-5000-digits": json.dumps(ev("big", "u")).replace("{}", '{"n": ' + "9" * 5000 + "}"),
    "integer-309-digits": json.dumps(ev("big", "u")).replace("{}", '{"n": ' + "9" * 309 + "}"),
    "nesting-at-128": json.dumps(ev("deep", "u", x=nested(126))),
}


@pytest.mark.parametrize("path", ["/e/", "/batch/", "/i/v0/e/", "/capture/", "/engage/"])
@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_json_is_a_400_on_every_route_and_encoding(
    fake: FakePostHog, path: str, name: str
) -> None:
    import base64
    import gzip
    from urllib.parse import quote

    body = HOSTILE_BODIES[name].encode()
    http = fake.client()
    b64 = quote(base64.b64encode(body))
    answers = [
        http.post(path, content=body),
        http.post(path, content=gzip.compress(body), headers={"Content-Encoding": "gzip"}),
        http.post(path, content=gzip.compress(body), params={"compression": "gzip-js"}),
        http.get(f"{path}?data={b64}"),
        http.post(
            path,
            content=f"data={b64}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    assert [a.status_code for a in answers] == [400] * len(answers), [a.text for a in answers]
    assert fake.events() == []
    assert http.get("/_ctph/requests").status_code == 200
    fake.check()


def test_the_deepest_accepted_event_reads_back_everywhere(fake: FakePostHog) -> None:
    """127 levels is serde_json's deepest: accepted, stored and listed without a 500."""
    http = fake.client()
    assert http.post("/i/v0/e/", content=json.dumps(ev("deep", "u", x=nested(125)))).is_success
    for route in ("/_ctph/requests", "/_ctph/events", "/_ctph/persons"):
        assert http.get(route).status_code == 200, route
    assert len(fake.events()) == 1


# --------------------------------------------------------------------------------------------
# slow and idle connections

HALF_REQUEST = b"POST /batch/ HTTP/1.1\r\nHost: x\r\n"


def test_a_good_request_is_answered_while_and_after_slow_connections_hold(
    fake: FakePostHog,
) -> None:
    """200 clients send half a header block and hold; then they all close. The good request is
    answered meanwhile and right after, and the half requests are never run through the app
    (http.server took end of input as the end of the headers and dispatched each: released
    together, thousands of them queued a good request behind them for 10-40 s)."""
    held = [socket.create_connection(address(fake.url), timeout=SAFETY) for _ in range(200)]
    try:
        for sock in held:
            sock.sendall(HALF_REQUEST)
        good_request_works(fake.url, "while-held")
    finally:
        for sock in held:
            sock.close()
    good_request_works(fake.url, "after-release")
    deadline = time.monotonic() + SAFETY
    while time.monotonic() < deadline and len(fake.journal()) < 2:
        time.sleep(0.05)
    time.sleep(0.2)  # the released threads have had their turn
    assert [e.path for e in fake.journal()] == ["/i/v0/e/", "/i/v0/e/"]


def test_a_stalled_client_is_dropped_after_the_read_timeout(
    fake: FakePostHog, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _QuietHandler.timeout is not None  # by default a stalled client is dropped too
    monkeypatch.setattr(_QuietHandler, "timeout", 0.3)  # sooner, for the test
    with socket.create_connection(address(fake.url), timeout=SAFETY) as sock:
        sock.sendall(HALF_REQUEST)
        assert sock.recv(100) == b""  # the server closed it, without an answer
    assert fake.journal() == []
    good_request_works(fake.url)


# --------------------------------------------------------------------------------------------
# the server's own log


def test_ctph_serve_log_never_prints_a_whole_key() -> None:
    """http.server logs a malformed request line whole; werkzeug logs tracebacks that quote
    exception messages. Both pass through the one redaction."""
    with ctph_serve() as (url, proc):
        answer = raw_exchange(url, f"GET /?key={PERSONAL} HTTP/{PERSONAL}\r\n\r\n".encode())
        assert b"Error code: 400" in answer  # http.server's own page
        good_request_works(url)
        proc.send_signal(2)  # SIGINT: serve stops cleanly and flushes its log
        _, err = proc.communicate(timeout=SAFETY)
    assert "Bad request version" in err
    assert PERSONAL not in err and PERSONAL[-4:] in err


def test_werkzeug_log_records_are_redacted(
    fake: FakePostHog, caplog: pytest.LogCaptureFixture
) -> None:
    from werkzeug._internal import _log

    fake.url  # noqa: B018  started: the redaction is installed with the server
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        _log("error", "Error on request:\nValueError: %s", f"bad token {PERSONAL}")
    assert caplog.messages and PERSONAL not in caplog.text
    assert "phx_…" in caplog.text
