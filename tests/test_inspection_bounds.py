"""The inspection side under hostile use: every string the request journal shows is redacted,
its bodies' depth never becomes recursion, it is bounded by bytes, ``/_ctph/events`` and
``/_ctph/requests`` page stably, and ``reset()`` lets go of what requests carried."""

from __future__ import annotations

import base64
import contextlib
import gc
import json
import re
import tracemalloc
import urllib.parse
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

import ctph_harness.posthog.app as app_module
from ctph_harness.posthog.app import CaptureApp
from ctph_harness.posthog.inspection import MAX_LIMIT
from ctph_harness.posthog.journal import TOO_DEEP, Journal, Record
from ctph_harness.redact import printable

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
PERSONAL = "phx_9fK2mQ7xLp4sT8vW1yZ3bN6cR0dH5jEq"
SHOWN = f"phx_…{PERSONAL[-4:]}"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def ev(name: str, distinct_id: str, **properties: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": distinct_id, "api_key": KEY, "properties": properties}


def _b64(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


# -- redaction: every string the journal shows ------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HOSTILE: dict[str, dict[str, Any]] = {
    # what leaked whole before
    "property name": {"json": ev("a", "u", **{PERSONAL: 1})},
    "nested key": {"json": ev("a", "u", deep={"list": [{PERSONAL: [PERSONAL]}]})},
    "request path": {"url": f"/e/{PERSONAL}", "content": b"{}"},
    "header name": {"json": ev("a", "u"), "headers": {f"X-{PERSONAL}": "1"}},
    "base64 data query": {"url": "/e/?data=" + urllib.parse.quote(_b64(ev("a", "u", p=PERSONAL)))},
    "base64 form body, undecodable": {
        "content": ("data=" + _b64({"event": "a", "x": PERSONAL})[:-4] + "%%%").encode(),
        "headers": FORM,
    },
    # what held already, kept so
    "query string": {"url": f"/e/?token={PERSONAL}", "json": ev("a", "u")},
    "url-encoded data= query": {
        "url": "/e/?data=" + urllib.parse.quote(json.dumps(ev("a", "u", p=PERSONAL)))
    },
    "url-encoded form body": {
        "content": ("data=" + urllib.parse.quote(json.dumps(ev("a", "u", p=PERSONAL)))).encode(),
        "headers": FORM,
    },
    "prefixed header value": {
        "json": ev("a", "u"),
        "headers": {"Authorization": f"Bearer{PERSONAL}"},
    },
    "undecodable body": {"content": f'{{"event": "a", "broken {PERSONAL}'.encode()},
    "key as the api_key": {"json": {"event": "a", "distinct_id": "u", "api_key": PERSONAL}},
}


def _base64_decoded(text: str) -> str:
    """Every base64-looking run of ``text`` decoded (an oracle independent of the redaction:
    a key a reader could decode from the journal is a leak too)."""
    found = []
    for run in re.findall(r"[A-Za-z0-9+/_-]{16,}", urllib.parse.unquote(text)):
        for alphabet in (base64.b64decode, base64.urlsafe_b64decode):
            with contextlib.suppress(ValueError):
                found.append(alphabet(run[: len(run) // 4 * 4]).decode("latin-1"))
    return "\n".join(found)


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_requests_journal_masks_a_key_wherever_the_request_carries_it(
    app: CaptureApp, client: httpx.Client, case: str
) -> None:
    request = {"url": "/e/", **HOSTILE[case]}
    client.post(**request)
    answer = client.get("/_ctph/requests")
    assert answer.status_code == 200
    (entry,) = app.journal()[:1]
    shown = [answer.text, str(entry.to_dict()), entry.describe()]
    for text in shown:
        assert PERSONAL not in text
        assert PERSONAL not in urllib.parse.unquote(text)
        assert PERSONAL not in _base64_decoded(text)
    if case != "header name":  # WSGI upper-cases a header name: the key's case is gone
        assert SHOWN in answer.text or "holding a key" in answer.text


def test_a_handler_error_quoting_a_key_is_masked(
    app: CaptureApp, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*_: object) -> None:
        raise ValueError(f"cannot read {PERSONAL}")

    monkeypatch.setattr(app_module, "capture", failing)
    assert client.post("/e/", json=ev("a", "u")).status_code == 500
    (problem,) = app.problems()
    assert problem.error is not None and SHOWN in problem.error
    assert PERSONAL not in problem.describe() + client.get("/_ctph/requests").text


def test_base64_redaction_finds_a_key_at_every_byte_alignment() -> None:
    for offset in range(3):
        raw = ("x" * offset + json.dumps({"token": PERSONAL})).encode()
        for encoded in (
            base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
            urllib.parse.quote(base64.b64encode(raw).decode(), safe=""),
        ):
            assert "holding a key" in printable(f"data={encoded}&ver=1")
    plain = "01a24df5-c5cd-7eac-9f57-3fd2125d14d5 an_ordinary_identifier_that_is_long"
    assert printable(plain) == plain


# -- depth: no recursion the body controls ----------------------------------------------------


def _record(body: str, *, decoded: bool) -> Record:
    return Record(1, NOW, "POST", "/e/", "", (), body, decoded, 400, "", "capture")


@pytest.mark.parametrize("depth", [200, 5_000, 100_000])
def test_journal_shows_a_body_of_any_depth(depth: int) -> None:
    text = f'{{"k": "{PERSONAL}", "p": {"[" * depth}1{"]" * depth}}}'
    journal = Journal(10_000)
    journal.append(_record(text, decoded=True))
    (entry,) = [r.entry() for r in journal.records()]
    shown = json.dumps(entry.to_dict(), default=str, ensure_ascii=False)
    assert PERSONAL not in shown and SHOWN in shown
    if depth == 200:  # json.loads takes it; the copy stops at serde's depth
        assert TOO_DEEP in shown
        assert isinstance(entry.body, dict)


def test_a_deeply_nested_request_leaves_the_journal_readable(
    app: CaptureApp, client: httpx.Client
) -> None:
    body = '{"event": "a", "distinct_id": "u", "api_key": "%s", "properties": {"x": %s1%s}}'
    assert client.post("/e/", content=body % (KEY, "[" * 5_000, "]" * 5_000)).status_code == 400
    assert client.post("/e/", json=ev("a", "u")).status_code == 200
    answer = client.get("/_ctph/requests")
    assert answer.status_code == 200
    assert [entry["status"] for entry in answer.json()] == [400, 200]


# -- the byte budget --------------------------------------------------------------------------


def _refused_body(size: int) -> bytes:
    # no distinct_id: capture refuses it (400) after decoding, and the journal keeps its text
    return json.dumps({"event": "a", "api_key": KEY, "properties": {"x": "y" * size}}).encode()


def test_journal_is_bounded_by_bytes_and_says_how_many_it_dropped() -> None:
    app = CaptureApp(journal_size=None, journal_bytes=300_000)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://p") as client:
        for _ in range(10):
            assert client.post("/e/", content=_refused_body(100_000)).status_code == 400
        page = client.get("/_ctph/requests", params={"limit": 100}).json()
    assert [r["seq"] for r in page["results"]] == [9, 10]
    assert page["dropped"] == 8 and page["has_more"] is False
    assert app.journal_page().dropped == 8


def test_the_newest_request_is_kept_even_beyond_the_budget() -> None:
    app = CaptureApp(journal_bytes=1_000)
    app.call("POST", "/e/", _refused_body(10_000))
    app.call("POST", "/e/", _refused_body(10_000))
    assert [e.seq for e in app.journal()] == [2]


def test_journal_memory_follows_the_budget_not_the_traffic() -> None:
    app = CaptureApp(journal_size=None, journal_bytes=1_000_000)
    body = _refused_body(200_000)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(40):  # 8 MB of refused bodies, nothing stored as events
            app.call("POST", "/e/", body)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2_000_000, grown


def test_count_bound_and_size_zero_still_hold() -> None:
    app = CaptureApp(journal_size=0)
    app.call("POST", "/e/", json.dumps(ev("a", "u")).encode())
    assert app.journal() == [] and app.journal_page().dropped == 1


# -- paging -----------------------------------------------------------------------------------


def _batch(client: httpx.Client, start: int, count: int, name: str = "a") -> None:
    batch = [ev(name, f"u{i}", n=i) for i in range(start, start + count)]
    assert client.post("/batch/", json={"api_key": KEY, "batch": batch}).status_code == 200


def test_events_without_paging_parameters_answer_the_whole_list(client: httpx.Client) -> None:
    _batch(client, 0, 3)
    listed = client.get("/_ctph/events").json()
    assert isinstance(listed, list) and [e["properties"]["n"] for e in listed] == [0, 1, 2]
    assert set(listed[0]) == {
        "uuid",
        "event",
        "distinct_id",
        "properties",
        "timestamp",
        "person_id",
        "token",
        # issue 16: the request that stored it
        "request",
        "route",
        "status",
        "test",
    }


def test_event_pages_neither_skip_nor_repeat_while_events_arrive(client: httpx.Client) -> None:
    _batch(client, 0, 250)
    seen: list[int] = []
    page = client.get("/_ctph/events", params={"limit": 100}).json()
    seen += [e["properties"]["n"] for e in page["results"]]
    _batch(client, 250, 30)  # arrives between pages
    while page["has_more"]:
        page = client.get("/_ctph/events", params={"limit": 100, "cursor": page["cursor"]}).json()
        seen += [e["properties"]["n"] for e in page["results"]]
    assert seen == list(range(280))
    # the last cursor tails: later it returns only what arrived since
    cursor = page["cursor"]
    assert client.get("/_ctph/events", params={"cursor": cursor}).json()["results"] == []
    _batch(client, 280, 2)
    tail = client.get("/_ctph/events", params={"cursor": cursor}).json()
    assert [e["properties"]["n"] for e in tail["results"]] == [280, 281]


def test_event_paging_combines_with_filters(client: httpx.Client) -> None:
    for i in range(5):
        _batch(client, i, 1, name="a")
        _batch(client, i, 1, name="b")
    first = client.get("/_ctph/events", params={"event": "b", "limit": 3}).json()
    rest = client.get(
        "/_ctph/events", params={"event": "b", "limit": 3, "cursor": first["cursor"]}
    ).json()
    assert [e["event"] for e in first["results"] + rest["results"]] == ["b"] * 5
    assert (first["has_more"], rest["has_more"]) == (True, False)


def test_request_pages_follow_the_never_restarting_sequence(client: httpx.Client) -> None:
    for i in range(5):
        _batch(client, i, 1)
    page = client.get("/_ctph/requests", params={"limit": 2}).json()
    assert [r["seq"] for r in page["results"]] == [1, 2] and page["has_more"]
    page = client.get("/_ctph/requests", params={"limit": 2, "cursor": page["cursor"]}).json()
    assert [r["seq"] for r in page["results"]] == [3, 4]
    assert isinstance(client.get("/_ctph/requests").json(), list)  # unpaged: as before


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"limit": "0"}, "limit must be from 1"),
        ({"limit": str(MAX_LIMIT + 1)}, "limit must be from 1"),
        ({"limit": "-5"}, "limit must be a whole number"),
        ({"limit": "ten"}, "limit must be a whole number"),
        ({"limit": "9" * 5000}, "limit must be a whole number"),
        ({"limit": "1.5"}, "limit must be a whole number"),
        ({"cursor": "!!!"}, "is not one this route issued"),
        ({"cursor": "x" * 5000}, "is not one this route issued"),
        ({"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()}, "is not one this route"),
        ({"cursor": base64.urlsafe_b64encode(b"q3:").decode()}, "is not one this route"),
    ],
)
def test_bad_paging_parameters_answer_400_saying_why(
    client: httpx.Client, params: dict[str, str], says: str
) -> None:
    _batch(client, 0, 2)
    for route in ("/_ctph/events", "/_ctph/requests"):
        answer = client.get(route, params=params)
        assert answer.status_code == 400, (route, answer.text)
        assert says in answer.text


def test_a_cursor_is_refused_by_the_other_route(client: httpx.Client) -> None:
    _batch(client, 0, 2)
    events = client.get("/_ctph/events", params={"limit": 1}).json()["cursor"]
    requests = client.get("/_ctph/requests", params={"limit": 1}).json()["cursor"]
    assert client.get("/_ctph/requests", params={"cursor": events}).status_code == 400
    assert client.get("/_ctph/events", params={"cursor": requests}).status_code == 400


def test_a_cursor_from_before_a_reset_is_refused(app: CaptureApp, client: httpx.Client) -> None:
    _batch(client, 0, 3)
    cursor = client.get("/_ctph/events", params={"limit": 2}).json()["cursor"]
    app.reset()
    _batch(client, 10, 3)
    answer = client.get("/_ctph/events", params={"cursor": cursor})
    assert answer.status_code == 400 and "reset" in answer.text


# -- reset frees memory -----------------------------------------------------------------------


def test_reset_lets_go_of_what_requests_carried(app: CaptureApp) -> None:
    app.call("POST", "/e/", json.dumps(ev("warm", "u")).encode())  # first-use caches
    app.reset()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(60):
            event = ev("a", f"u{i}", big="x" * 20_000, **{"$set": {"p": "y" * 20_000}})
            # a distinct 20 KB timestamp and header name each: memos keyed by request text
            event["timestamp"] = "2024-05-01T12:00:00" + str(i) + "z" * 20_000
            headers = {f"X-{i}-" + "h" * 2_000: "1"}
            app.call("POST", "/e/", json.dumps(event).encode(), headers)
        app.call("GET", f"/nope/{'n' * 3_000}", b"")  # a problem, kept apart
        gc.collect()
        loaded = tracemalloc.get_traced_memory()[0] - before
        app.reset()  # no gc.collect(): reference counting alone must free it
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert loaded > 3_000_000  # the requests did hold memory
    assert left < 200_000, left
    assert (app.events(), app.persons(), app.journal(), app.problems()) == ([], [], [], [])
