"""Events linked to the request that stored them, kept as one run per request
(:mod:`ctph_harness.posthog.event_links`): requests storing several events, none, or events
equal to another request's; the inspector's views walking forward, newest first and filtered;
reset; and the runs' own edges (a rolled-back request, a view taken before a reset)."""

from __future__ import annotations

from typing import Any

import httpx

from ctph_harness.posthog.app import CaptureApp
from ctph_harness.posthog.event_links import Link, Links
from ctph_harness.posthog.project import Event

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
STAMP = "2026-03-19T14:29:58Z"


def ev(name: str, distinct_id: str, **extra: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": distinct_id, "api_key": KEY, **extra}


def _send(app: CaptureApp, client: httpx.Client) -> list[tuple[str, int, str, int, str | None]]:
    """Forty requests of 0 to 4 stored events (some refused, some whose events are all
    dropped), in two tests; what each stored event's link must be, in ingestion order."""
    expected: list[tuple[str, int, str, int, str | None]] = []
    for n in range(1, 41):
        test = f"tests/test_t.py::test_{n % 3}" if n % 3 else None
        app.set_test(test)
        size = n % 5
        if n % 7 == 0:  # refused: no event stored
            response = client.post("/i/v0/e/", json={"api_key": KEY, "event": "x"})
            assert response.status_code == 400
            continue
        if n % 11 == 0:  # accepted, but capture drops the event: none stored
            response = client.post("/e/", json=ev("$performance_event", "u1"))
            assert response.status_code == 200
            continue
        batch = [ev(f"e{n}.{i}", f"u{i}") for i in range(size)]
        response = client.post("/batch/", json={"api_key": KEY, "batch": batch})
        assert response.status_code == (200 if batch else 400)  # capture refuses an empty one
        expected += [(f"e{n}.{i}", n, "/batch/", 200, test) for i in range(size)]
    app.set_test(None)
    return expected


def _linked(events: list[dict[str, Any]]) -> list[tuple[str, int, str, int, str | None]]:
    return [(e["event"], e["request"], e["route"], e["status"], e["test"]) for e in events]


def test_every_view_links_each_event_to_its_request(app: CaptureApp, client: httpx.Client) -> None:
    expected = _send(app, client)
    assert len(expected) > 40  # several events for most requests, none for some
    events = client.get("/_ctph/events").json()
    assert _linked(events) == expected
    newest = client.get("/_ctph/events", params={"order": "desc"}).json()
    assert _linked(newest) == expected[::-1]
    pages: list[dict[str, Any]] = []
    cursor = ""
    while True:  # newest first, a page at a time: each page walks backwards
        page = client.get(
            "/_ctph/events", params={"order": "desc", "limit": 7, "cursor": cursor}
        ).json()
        pages += page["results"]
        cursor = page["cursor"]
        if not page["results"] or len(pages) == len(expected):
            break
    assert _linked(pages) == expected[::-1]
    test_1 = client.get("/_ctph/events", params={"test": "tests/test_t.py::test_1"}).json()
    assert _linked(test_1) == [e for e in expected if e[4] == "tests/test_t.py::test_1"]
    # a filter walks every event forwards, then the page starts at the front again
    paged = client.get("/_ctph/events", params={"status": "200", "limit": 5}).json()
    assert _linked(paged["results"]) == expected[:5]
    middle = events[len(events) // 2]
    assert client.get(f"/_ctph/events/{middle['uuid']}").json() == middle
    for request in client.get("/_ctph/requests").json():
        mine = [e["uuid"] for e in events if e["request"] == request["seq"]]
        assert request["events"] == mine
        detail = client.get(f"/_ctph/requests/{request['seq']}").json()
        assert detail["events"] == mine


def test_events_equal_to_another_requests_keep_their_own_request(
    app: CaptureApp, client: httpx.Client
) -> None:
    same = ev("signed_up", "u1", uuid="0190f6b2-7d1c-7b3a-9c1e-2f4a5b6c7d8e", timestamp=STAMP)
    for test in ("tests/test_a.py::test_a", "tests/test_b.py::test_b"):
        app.set_test(test)
        assert client.post("/batch/", json={"api_key": KEY, "batch": [same]}).status_code == 200
    first, second = app.events()
    assert first == second and first is not second  # equal rows, told apart by identity
    events = client.get("/_ctph/events").json()
    assert [(e["request"], e["test"]) for e in events] == [
        (1, "tests/test_a.py::test_a"),
        (2, "tests/test_b.py::test_b"),
    ]
    desc = client.get("/_ctph/events", params={"order": "desc"}).json()
    assert [e["request"] for e in desc] == [2, 1]


def test_after_a_reset_old_requests_have_no_events_and_new_ones_link(
    app: CaptureApp, client: httpx.Client
) -> None:
    _send(app, client)
    before = client.get("/_ctph/requests").json()
    app.reset()
    assert client.get("/_ctph/events").json() == []
    assert client.get(f"/_ctph/requests/{before[0]['seq']}").status_code == 404
    app.set_test("tests/test_c.py::test_c")
    batch = [ev("after", "u9"), ev("after", "u8")]
    assert client.post("/batch/", json={"api_key": KEY, "batch": batch}).status_code == 200
    events = client.get("/_ctph/events").json()
    (request,) = client.get("/_ctph/requests", params={"kind": "capture"}).json()
    assert [(e["request"], e["test"]) for e in events] == [
        (request["seq"], "tests/test_c.py::test_c")
    ] * 2
    assert request["events"] == [e["uuid"] for e in events]


def test_events_share_their_name_and_distinct_id_without_changing_them(
    app: CaptureApp, client: httpx.Client
) -> None:
    batch = [ev("clicked", f"u{i % 2}") for i in range(4)]
    assert client.post("/batch/", json={"api_key": KEY, "batch": batch}).status_code == 200
    stored = app.events()
    assert [(e.event, e.distinct_id) for e in stored] == [
        ("clicked", "u0"),
        ("clicked", "u1"),
        ("clicked", "u0"),
        ("clicked", "u1"),
    ]
    assert stored[0].event is stored[3].event and stored[0].distinct_id is stored[2].distinct_id


def _event(n: int) -> Event:
    return Event(f"uuid-{n}", "e", "u", {}, None, None)  # type: ignore[arg-type]


def test_runs_find_positions_and_drop_a_rolled_back_run() -> None:
    links = Links()
    one, two = Link(1, "/batch/", 200, None), Link(3, "/e/", 200, "t")
    links.add(one, 0, 3)
    links.add(Link(2, "/batch/", 200, None), 3, 2)  # then rolled back: the list ends at 3
    before = links.view()  # a reader that took its view before the rollback was known
    links.add(two, 3, 1)
    # ... still reads what it took: dropping a run does not change the arrays a view holds
    assert before.span(2) == (3, 5) and before.at(4) == Link(2, "/batch/", 200, None)
    runs = links.view()
    assert [runs.at(p) for p in range(5)] == [one, one, one, two, None]
    assert runs.span(1) == (0, 3) and runs.span(2) == (0, 0) and runs.span(3) == (3, 4)
    events = [_event(n) for n in range(4)]
    walk = runs.locator(events)
    assert [walk.position(e) for e in reversed(events)] == [3, 2, 1, 0]
    assert [walk.position(e) for e in (events[2], events[0], _event(9))] == [2, 0, -1]
    equal = [_event(7) for _ in range(3)]  # equal rows: found by identity, not equality
    walk = runs.locator(equal)
    assert [walk.position(e) for e in (equal[0], equal[2], equal[1], equal[0])] == [0, 2, 1, 0]
    links.clear()
    assert runs.at(0) == one and links.view().at(0) is None  # a view outlives the reset
