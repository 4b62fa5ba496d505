"""``GET /_ctph/stream`` over real sockets (issue 16): one SSE message per journalled request
with its journal number as ``id:``, resume from ``Last-Event-ID`` with a ``gap`` when the
journal dropped some, ``reset`` and ``warning`` messages, the heartbeat, the cap on open
streams (503 beyond it, a freed slot on disconnect), capture answered while the cap is
reached, and a stopping server ending every stream at once."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest

from ctph_harness.posthog import live
from ctph_harness.posthog.app import CaptureApp
from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
XSS = "<img src=x onerror=alert(1)>"


def ev(name: str, distinct_id: str, **properties: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": distinct_id, "api_key": KEY, "properties": properties}


@pytest.fixture(autouse=True)
def quick_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "HEARTBEAT", 0.2)


@pytest.fixture
def fake() -> Iterator[FakePostHog]:
    with FakePostHog() as server:
        yield server


class Reader:
    """An open stream, read message by message (``event``, ``id``, ``data``) or comment."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> dict[str, Any]:
        """The next message (comments come as ``{"comment": text}``)."""
        fields: dict[str, Any] = {}
        for line in self._lines:
            if line == "":
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                return {"comment": line[1:].strip()}
            name, _, value = line.partition(": ")
            fields[name] = json.loads(value) if name == "data" else value
        raise EOFError("the stream ended")

    def next_event(self) -> dict[str, Any]:
        """The next message that is not a comment or the ``retry:`` preamble."""
        while True:
            message = self.next()
            if "event" in message:
                return message


@contextmanager
def stream(fake: FakePostHog, **headers: str) -> Iterator[Reader]:
    params = {}
    if "since" in headers:
        params["since"] = headers.pop("since")
    with (
        httpx.Client(timeout=10) as client,
        client.stream(
            "GET", fake.url + "/_ctph/stream", params=params, headers=headers
        ) as response,
    ):
        assert response.status_code == 200, response.read()
        yield Reader(response)


def test_each_request_is_one_message_with_its_number_events_and_counts(
    fake: FakePostHog,
) -> None:
    with stream(fake) as reader:
        assert reader.response.headers["content-type"].startswith("text/event-stream")
        assert reader.response.headers["cache-control"] == "no-cache"
        assert reader.response.headers["x-accel-buffering"] == "no"
        http = fake.client()
        web = ev(XSS, "u1", **{"$current_url": "https://a.example/", "$lib": "web"})
        web["properties"]["$lib_version"] = "1.2.3"
        assert http.post("/e/", json=web).status_code == 200
        assert http.post("/i/v0/e/", json={"api_key": KEY, "event": "x"}).status_code == 400
        http.get("/_ctph/events")  # the inspector's own reads are not streamed
        mobile = ev("opened", "u2", **{"$screen_name": "Home"})
        assert http.post("/batch/", json={"api_key": KEY, "batch": [mobile]}).status_code == 200
        first, second, third = (reader.next_event() for _ in range(3))
    assert (first["event"], first["id"]) == ("request", "1")
    data = first["data"]
    assert set(data) == {
        "number", "time", "method", "path", "status", "message", "test", "events", "counts"
    }  # fmt: skip
    assert (data["number"], data["method"], data["path"], data["status"]) == (1, "POST", "/e/", 200)
    assert data["time"].endswith("Z") and len(data["time"].split(".")[1]) == 4  # ms + Z
    (event,) = data["events"]
    assert event["event"] == XSS  # data, as text: the page shows it as text
    assert (event["url"], event["lib"], event["lib_version"]) == (
        "https://a.example/",
        "web",
        "1.2.3",
    )
    assert set(event) == {"uuid", "event", "distinct_id", "timestamp", "url", "lib", "lib_version"}
    assert set(data["counts"]) == {"accepted", "refused", "warnings"}
    refused = second["data"]
    assert (second["id"], refused["status"]) == ("2", 400)
    assert refused["message"] == "event submitted without a distinct_id" and refused["events"] == []
    assert third["id"] == "4" and third["data"]["events"][0]["url"] == "Home"
    # the totals when the message was sent (a burst read at once shares them)
    assert third["data"]["counts"] == {"accepted": 2, "refused": 1, "warnings": 0}


def test_keys_are_redacted_in_the_stream(fake: FakePostHog) -> None:
    personal = "phx_9fK2mQ7xLp4sT8vW1yZ3bN6cR0dH5jEq"
    with stream(fake) as reader:
        fake.client().post("/e/", json=ev(f"leaked {personal}", "u1"))
        message = reader.next_event()
    shown = message["data"]["events"][0]["event"]
    assert personal not in json.dumps(message) and shown == f"leaked phx_…{personal[-4:]}"


def test_resume_replays_what_the_journal_holds_and_says_what_it_dropped() -> None:
    with FakePostHog(journal_size=3) as fake:
        http = fake.client()
        for i in range(6):
            assert http.post("/e/", json=ev("a", f"u{i}")).status_code == 200
        with stream(fake, **{"Last-Event-ID": "1"}) as reader:
            gap = reader.next_event()
            replayed = [reader.next_event()["id"] for _ in range(3)]
        assert (gap["event"], gap["data"]) == ("gap", {"dropped": 2})  # 2 and 3 were evicted
        assert replayed == ["4", "5", "6"]
        with stream(fake, since="5") as reader:
            assert reader.next_event()["id"] == "6"  # no gap: nothing after 5 was lost
        # a browser reconnecting after the server restarted: its number is from another run
        with stream(fake, **{"Last-Event-ID": "900"}) as reader:
            assert reader.next_event()["event"] == "reset"
            assert reader.next_event()["data"] == {"dropped": 3}  # this run's 1-3: evicted
            assert [reader.next_event()["id"] for _ in range(3)] == ["4", "5", "6"]


def test_a_reader_behind_the_journal_is_told_what_it_missed() -> None:
    """The stream's generator, driven by hand: it reads only when asked for its next chunk,
    so five requests land (and three are evicted) between two reads."""
    app = CaptureApp(journal_size=2)
    slots = live.StreamSlots()
    assert slots.acquire()
    chunks = live.Stream(app, slots, -1)
    assert next(chunks).startswith(b"retry: ")
    for i in range(5):
        app.call("POST", "/e/", json.dumps(ev("a", f"u{i}")).encode())
    text = next(chunks).decode()
    chunks.close()
    assert slots.open == 0
    assert text.startswith('event: gap\ndata: {"dropped": 3}\n\n')
    assert [line for line in text.splitlines() if line.startswith("id: ")] == ["id: 4", "id: 5"]


def test_a_new_stream_starts_from_now_and_says_reset_and_warnings(fake: FakePostHog) -> None:
    http = fake.client()
    http.post("/e/", json=ev("old", "u0"))
    with stream(fake) as reader:
        http.post("/_ctph/reset")
        assert reader.next_event()["event"] == "reset"
        http.post("/e/", json=ev("$identify", "known", **{"$anon_distinct_id": "anon-0"}))
        http.post("/e/", json=ev("$pageview", "other"))
        http.post("/e/", json=ev("$create_alias", "other", alias="known"))
        kinds = [reader.next_event() for _ in range(4)]
    assert [m["data"]["events"][0]["event"] for m in kinds[:3]] == [
        "$identify", "$pageview", "$create_alias"
    ]  # fmt: skip
    assert kinds[3]["event"] == "warning"
    assert kinds[3]["data"]["type"] == "cannot_merge_already_identified"
    assert fake.app.live_read(0, 0, -1, 0).counts["warnings"] == 1


def test_an_idle_stream_sends_heartbeats(fake: FakePostHog) -> None:
    with stream(fake) as reader:
        comments = [reader.next() for _ in range(3)]
    assert {"comment": "ping"} in comments


def test_bad_since_is_a_400(fake: FakePostHog) -> None:
    for query in ("since=x", "since=-1", "other=1"):
        answer = httpx.get(f"{fake.url}/_ctph/stream?{query}")
        assert answer.status_code == 400 and answer.text.startswith("ctph: "), query


def test_a_400_echoes_no_key_and_no_long_value(fake: FakePostHog) -> None:
    secret = "phx_9fK2mQ7xLp4sT8vW1yZ3bN6cR0dH5jEq"
    for query in (f"{secret}=1", f"since={secret}", f"since={'9' * 5000}x"):
        answer = httpx.get(f"{fake.url}/_ctph/stream?{query}")
        assert answer.status_code == 400 and answer.text.startswith("ctph: "), query
        assert secret[4:] not in answer.text and len(answer.text) < 300, answer.text
    assert "phx_…5jEq" in httpx.get(f"{fake.url}/_ctph/stream?{secret}=1").text


def _capture_ok(fake: FakePostHog, name: str) -> None:
    with socket.create_connection(fake.address, timeout=5) as sock:
        body = json.dumps(ev(name, "u1")).encode()
        sock.sendall(
            b"POST /e/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 200")


def test_the_cap_answers_503_captures_still_work_and_a_closed_stream_frees_its_slot(
    fake: FakePostHog,
) -> None:
    with ExitStack() as streams:
        readers = [streams.enter_context(stream(fake)) for _ in range(live.MAX_STREAMS)]
        full = httpx.get(fake.url + "/_ctph/stream", timeout=5)
        assert full.status_code == 503
        assert full.headers["content-type"].startswith("text/plain")
        assert str(live.MAX_STREAMS) in full.text and "/_ctph/requests?cursor=" in full.text
        _capture_ok(fake, "while-full")  # the server still has threads for SDKs
        for reader in readers:
            assert reader.next_event()["data"]["events"][0]["event"] == "while-full"
        assert fake.app.streams.open == live.MAX_STREAMS
    # the clients went away: each stream notices at its next write (a heartbeat at most)
    deadline = time.monotonic() + 10
    while fake.app.streams.open and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.app.streams.open == 0
    with stream(fake) as reader:
        _capture_ok(fake, "after")
        assert reader.next_event()["data"]["events"][0]["event"] == "after"


def test_stopping_the_server_ends_open_streams_promptly() -> None:
    fake = FakePostHog()
    fake.start()
    ended: list[str] = []

    def read() -> None:
        try:
            with stream(fake) as reader:
                while True:
                    reader.next()
        except (EOFError, httpx.HTTPError) as exc:
            ended.append(type(exc).__name__)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    deadline = time.monotonic() + 5
    while fake.app.streams.open < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    fake.stop()
    for thread in readers:
        thread.join(timeout=5)
    # ended by the stop, not by a heartbeat's failed write or the client's timeout
    assert not any(thread.is_alive() for thread in readers) and len(ended) == 3
    # the server thread frees the slot just after the client read the stream's end
    deadline = time.monotonic() + 5
    while fake.app.streams.open and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.app.streams.open == 0


def test_in_process_callers_are_told_to_poll() -> None:
    fake = FakePostHog()
    status, text = fake.call("GET", "/_ctph/stream", b"")
    assert status == 400 and "/_ctph/requests?cursor=" in text
