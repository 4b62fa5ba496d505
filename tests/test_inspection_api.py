"""The inspector's JSON API (issue 16): events linked to their request and test, the filters
(same meaning on ``/_ctph/events`` and ``/_ctph/requests``), NDJSON export, ``?wait=``, one
request in full (``/_ctph/requests/<n>``) and one event (``/_ctph/events/<uuid>``), the static
page with its security headers, and the same-origin rule for state changes."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import ctph_harness.posthog.ui_static as ui_static
from ctph_harness.posthog.app import CaptureApp
from ctph_harness.posthog.request_detail import HIDDEN_NOTE
from ctph_harness.posthog.server import FakePostHog
from ctph_harness.posthog.ui_static import CSP

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
PERSONAL = "phx_9fK2mQ7xLp4sT8vW1yZ3bN6cR0dH5jEq"


def ev(name: str, distinct_id: str, **properties: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": distinct_id, "api_key": KEY, "properties": properties}


def _traffic(app: CaptureApp, client: httpx.Client) -> None:
    """Three requests: a python-lib batch in test A, a refused event, a web event in test B."""
    app.set_test("tests/test_a.py::test_one")
    batch = [
        ev("signed_up", "u1", **{"$lib": "posthog-python", "plan": "Pro"}),
        ev("clicked", "u2", **{"$lib": "posthog-python"}),
    ]
    assert client.post("/batch/", json={"api_key": KEY, "batch": batch}).status_code == 200
    app.set_test(None)
    assert client.post("/i/v0/e/", json={"api_key": KEY, "event": "x"}).status_code == 400
    app.set_test("tests/sub/test_b.py::test_two[1]")
    web = ev("$pageview", "u1", **{"$lib": "web", "$current_url": "https://shop.example/cart"})
    assert client.post("/e/", json=web).status_code == 200
    app.set_test(None)


def test_events_carry_their_request_route_status_and_test(
    app: CaptureApp, client: httpx.Client
) -> None:
    _traffic(app, client)
    events = client.get("/_ctph/events").json()
    assert [(e["event"], e["request"], e["route"], e["status"], e["test"]) for e in events] == [
        ("signed_up", 1, "/batch/", 200, "tests/test_a.py::test_one"),
        ("clicked", 1, "/batch/", 200, "tests/test_a.py::test_one"),
        ("$pageview", 3, "/e/", 200, "tests/sub/test_b.py::test_two[1]"),
    ]
    journal = client.get("/_ctph/requests").json()
    assert [(r["seq"], r["status"], r["test"]) for r in journal[:3]] == [
        (1, 200, "tests/test_a.py::test_one"),
        (2, 400, None),
        (3, 200, "tests/sub/test_b.py::test_two[1]"),
    ]
    assert journal[0]["events"] == [events[0]["uuid"], events[1]["uuid"]]
    assert client.get("/_ctph/counts").json() == {"accepted": 3, "refused": 1, "warnings": 0}
    one = client.get(f"/_ctph/events/{events[2]['uuid']}")
    assert one.status_code == 200 and one.json() == events[2]
    missing = client.get("/_ctph/events/no-such-uuid")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"event": "clicked"}, ["clicked"]),
        ({"distinct_id": "u1"}, ["signed_up", "$pageview"]),
        ({"person": "u2"}, ["clicked"]),
        ({"status": "2xx"}, ["signed_up", "clicked", "$pageview"]),
        ({"status": "4xx"}, []),
        ({"route": "/e/"}, ["$pageview"]),
        ({"lib": "posthog-python"}, ["signed_up", "clicked"]),
        ({"test": "tests/test_a.py::test_one"}, ["signed_up", "clicked"]),
        ({"test": "tests/sub/"}, ["$pageview"]),
        ({"test": "tests/sub/test_b.py::"}, ["$pageview"]),
        ({"test": "tests/sub"}, []),  # not a prefix: no trailing / or ::
        ({"q": "PRO"}, ["signed_up"]),  # properties' JSON, any case
        ({"q": "shop.example"}, ["$pageview"]),
        ({"q": "u2"}, ["clicked"]),
        ({"lib": "posthog-python", "distinct_id": "u1"}, ["signed_up"]),
    ],
)
def test_event_filters(
    app: CaptureApp, client: httpx.Client, query: dict[str, str], names: list[str]
) -> None:
    _traffic(app, client)
    listed = client.get("/_ctph/events", params=query)
    assert listed.status_code == 200, listed.text
    assert [e["event"] for e in listed.json()] == names


def test_person_filter_follows_merges_and_takes_the_person_uuid(
    app: CaptureApp, client: httpx.Client
) -> None:
    client.post("/e/", json=ev("viewed", "anon-1"))
    client.post("/e/", json=ev("bought", "user@example.com"))
    identify = ev("$identify", "user@example.com", **{"$anon_distinct_id": "anon-1"})
    assert client.post("/e/", json=identify).status_code == 200
    person = app.person("anon-1")
    assert person is not None and "user@example.com" in person.distinct_ids
    by_id = client.get("/_ctph/events", params={"person": "anon-1"}).json()
    by_uuid = client.get("/_ctph/events", params={"person": person.id}).json()
    assert [e["event"] for e in by_id] == ["viewed", "bought", "$identify"]
    assert by_uuid == by_id
    assert client.get("/_ctph/events", params={"person": "nobody"}).json() == []


def test_request_filters_keep_refused_requests_apart(app: CaptureApp, client: httpx.Client) -> None:
    _traffic(app, client)
    refused = client.get("/_ctph/requests", params={"status": "4xx"}).json()
    assert [(r["seq"], r["response"]) for r in refused] == [
        (2, "event submitted without a distinct_id")  # PostHog's own text (capture's api.rs)
    ]
    assert [
        r["seq"] for r in client.get("/_ctph/requests", params={"event": "clicked"}).json()
    ] == [1]
    # event-level filters never keep a request that stored nothing
    assert client.get("/_ctph/requests", params={"status": "400", "event": "x"}).json() == []
    assert [r["seq"] for r in client.get("/_ctph/requests", params={"q": "CART"}).json()] == [3]
    kinds = {r["kind"] for r in client.get("/_ctph/requests", params={"kind": "inspect"}).json()}
    assert kinds == {"inspect"}


def test_filters_combine_with_paging(app: CaptureApp, client: httpx.Client) -> None:
    batch = [ev("a" if i % 2 else "b", f"u{i}") for i in range(10)]
    client.post("/batch/", json={"api_key": KEY, "batch": batch})
    first = client.get("/_ctph/events", params={"event": "a", "limit": 3}).json()
    assert [e["distinct_id"] for e in first["results"]] == ["u1", "u3", "u5"]
    rest = client.get("/_ctph/events", params={"event": "a", "cursor": first["cursor"]}).json()
    assert [e["distinct_id"] for e in rest["results"]] == ["u7", "u9"]
    assert rest["has_more"] is False
    client.post("/i/v0/e/", json={"api_key": KEY, "event": "x"})
    client.post("/i/v0/e/", json={"api_key": KEY, "event": "y"})
    page = client.get("/_ctph/requests", params={"status": "4xx", "limit": 1}).json()
    assert [r["status"] for r in page["results"]] == [400] and page["has_more"] is True
    tail = client.get("/_ctph/requests", params={"status": "4xx", "cursor": page["cursor"]})
    assert [r["seq"] for r in tail.json()["results"]] == [page["results"][0]["seq"] + 1]


@pytest.mark.parametrize(
    ("route", "query", "says"),
    [
        ("events", {"evnt": "x"}, "unknown parameter 'evnt'"),
        ("events", {"status": "2xy"}, "status must be"),
        ("events", {"status": "700"}, "status must be"),
        ("events", {"format": "csv"}, "format must be json or ndjson"),
        ("events", {"wait": "31"}, "at most 30"),
        ("events", {"wait": "0"}, "wait must be"),
        ("events", {"wait": "nan"}, "wait must be"),
        ("events", {"event": ""}, "event must not be empty"),
        ("events", {"kind": "capture"}, "unknown parameter 'kind'"),
        ("requests", {"person": ""}, "person must not be empty"),
        ("persons", {"event": "x"}, "unknown parameter 'event'"),
        ("persons", {"limit": "5"}, "unknown parameter 'limit'"),
        ("persons", {"person": ""}, "person must not be empty"),
        ("persons", {"q": ""}, "q must not be empty"),
        ("persons", {"format": "csv"}, "format must be json or ndjson"),
        ("groups", {"q": "x"}, "unknown parameter 'q'"),
        ("groups", {"format": "NDJSON"}, "format must be json or ndjson"),
        ("warnings", {"distinct_id": "u1"}, "unknown parameter 'distinct_id'"),
        ("warnings", {"format": ""}, "format must be json or ndjson"),
        ("recordings", {"sesion_id": "s1"}, "unknown parameter 'sesion_id'; this route takes"),
        ("counts", {"_": "1"}, "unknown parameter '_'; this route takes no parameters"),
    ],
)
def test_bad_parameters_are_400_saying_which(
    client: httpx.Client, route: str, query: dict[str, str], says: str
) -> None:
    answer = client.get(f"/_ctph/{route}", params=query)
    assert answer.status_code == 400 and says in answer.text, answer.text


@pytest.mark.parametrize(
    "query",
    [
        {PERSONAL: "1"},
        {"format": PERSONAL},
        {"wait": PERSONAL},
        {"order": PERSONAL},
        {"status": PERSONAL},
        {"limit": PERSONAL},
        {"cursor": PERSONAL},
        {"format": "x" * 5000},
    ],
)
@pytest.mark.parametrize("route", ["events", "requests", "persons", "warnings"])
def test_a_400_echoes_no_key_and_no_long_value(
    client: httpx.Client, route: str, query: dict[str, str]
) -> None:
    answer = client.get(f"/_ctph/{route}", params=query)
    assert answer.status_code == 400, answer.text
    assert PERSONAL[4:] not in answer.text and len(answer.text) < 300, answer.text


def test_ndjson_export_has_the_same_filters_and_redacts_keys(
    app: CaptureApp, client: httpx.Client
) -> None:
    _traffic(app, client)
    client.post("/e/", json=ev("leak", "u9", note=f"key {PERSONAL}"))
    answer = client.get("/_ctph/events", params={"format": "ndjson", "lib": "posthog-python"})
    assert answer.headers["content-type"] == "application/x-ndjson"
    lines = answer.text.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["signed_up", "clicked"]
    everything = client.get("/_ctph/events", params={"format": "ndjson"}).text
    assert PERSONAL not in everything and KEY not in everything and "phx_…" in everything
    paged = client.get("/_ctph/requests", params={"format": "ndjson", "limit": 2})
    assert len(paged.text.splitlines()) == 2
    assert paged.headers["x-ctph-has-more"] == "true" and paged.headers["x-ctph-cursor"]


def test_wait_answers_when_a_matching_event_arrives() -> None:
    with FakePostHog() as fake:
        http = fake.client()
        http.post("/e/", json=ev("wanted", "u0"))
        seen = http.get("/_ctph/events", params={"event": "wanted", "limit": 10}).json()
        assert [e["distinct_id"] for e in seen["results"]] == ["u0"]
        cursor = seen["cursor"]  # a cursor is for the filters it was issued with

        def later() -> None:
            time.sleep(0.3)
            httpx.post(fake.url + "/e/", json=ev("other", "u1"))  # wakes the waiter, no match
            time.sleep(0.2)
            httpx.post(fake.url + "/e/", json=ev("wanted", "u2"))

        sender = threading.Thread(target=later)
        sender.start()
        answer = http.get(
            "/_ctph/events",
            params={"event": "wanted", "wait": "20", "cursor": cursor},
            timeout=30,
        ).json()
        sender.join()
        assert [e["distinct_id"] for e in answer["results"]] == ["u2"]


def test_wait_ends_with_what_matches_when_time_is_up(client: httpx.Client) -> None:
    client.post("/e/", json=ev("a", "u1"))
    answer = client.get("/_ctph/events", params={"event": "b", "wait": "0.2"})
    assert answer.status_code == 200 and answer.json() == []
    present = client.get("/_ctph/events", params={"event": "a", "wait": "30"})
    assert [e["event"] for e in present.json()] == ["a"]  # already there: at once


def test_a_stopping_server_ends_a_wait() -> None:
    fake = FakePostHog()
    fake.start()
    answers: list[int] = []
    waiting = threading.Event()
    wait_for_change = fake.app.wait_for_change

    def noticed(version: int, timeout: float) -> int:  # the real wait, once it has begun
        waiting.set()
        return wait_for_change(version, timeout)

    fake.app.wait_for_change = noticed

    def waiter() -> None:
        with contextlib_suppress():
            answers.append(httpx.get(fake.url + "/_ctph/events?wait=30", timeout=40).status_code)

    thread = threading.Thread(target=waiter)
    thread.start()
    # stopped while the request waits (a fixed sleep let a loaded machine stop it before)
    assert waiting.wait(timeout=20), "the request never began to wait"
    fake.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and answers == [200]


def contextlib_suppress() -> Any:
    import contextlib

    return contextlib.suppress(httpx.HTTPError)


# -- one request in full ----------------------------------------------------------------------


def test_request_detail_shows_gzip_then_json_and_the_verdict(client: httpx.Client) -> None:
    body = json.dumps(ev("signed_up", "u1", note=PERSONAL)).encode()
    packed = gzip.compress(body)
    sent = client.post("/e/", content=packed, headers={"Content-Encoding": "gzip"})
    assert sent.status_code == 200
    detail = client.get("/_ctph/requests/1").json()
    assert detail["method"] == "POST" and detail["path"] == "/e/"
    assert detail["headers"]["Content-Encoding"] == "gzip"
    assert detail["body_encoding"] == "base64" and detail["body_truncated"] is False
    # gunzipped, the body would show the keys whole: a note stands in its place
    assert detail["body"] == HIDDEN_NOTE and detail["body_size"] == len(packed)
    assert [step["step"] for step in detail["decoding"]] == ["received", "gzip", "json"]
    assert detail["decoding"][1]["bytes"] == len(body)
    assert json.loads(detail["decoding"][-1]["text"])["event"] == "signed_up"
    assert detail["response"] == {
        "status": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"status":"Ok"}',
    }
    assert len(detail["events"]) == 1
    # ctph check's own finding for a personal key in a payload, with its code and hint
    (secret,) = [f for f in detail["verdict"] if f["code"] == "CTPH103"]
    assert set(secret) == {"code", "severity", "pointer", "message", "hint"}
    assert secret["severity"] == "error" and secret["pointer"] == "/properties/note"
    shown = json.dumps(detail)
    assert PERSONAL not in shown and KEY not in shown


def test_request_detail_of_a_form_with_base64(client: httpx.Client) -> None:
    data = base64.b64encode(json.dumps(ev("a", "u1")).encode()).decode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/e/", content=f"data={data}", headers=form).status_code == 200
    detail = client.get("/_ctph/requests/1").json()
    # the base64 holds the project key: the body is shown decoded, masked, in the steps only
    assert detail["body_encoding"] == "utf-8" and detail["body"] == HIDDEN_NOTE
    # /e/ is a legacy path: capture unwraps the form's base64 after it (decompression.rs)
    assert [step["step"] for step in detail["decoding"]] == ["received", "form", "base64", "json"]


def test_request_detail_of_a_get_with_data_in_the_query(client: httpx.Client) -> None:
    data = base64.b64encode(json.dumps(ev("a", "u1")).encode()).decode()
    assert client.get("/e/", params={"data": data}).status_code == 200
    detail = client.get("/_ctph/requests/1").json()
    assert detail["method"] == "GET" and detail["body"] == "" and detail["body_size"] == 0
    assert [step["step"] for step in detail["decoding"]] == ["received", "query", "base64", "json"]
    assert json.loads(detail["decoding"][-1]["text"])["distinct_id"] == "u1"


def _spellings(secret: str) -> list[str]:
    """The key's secret part, and its base64 at the three byte alignments (whose shared
    middle a reader could still decode)."""
    return [
        secret[4:],
        *(base64.b64encode(pad + secret.encode()).decode()[4:24] for pad in (b"", b"a", b"ab")),
    ]


def _no_key_anywhere(detail: dict[str, Any]) -> None:
    """Neither key, nor its base64, in any field."""
    shown = json.dumps(detail, ensure_ascii=False)
    for secret in (PERSONAL, KEY):
        for spelling in _spellings(secret):
            assert spelling not in shown


@pytest.mark.parametrize(
    ("make", "steps"),
    [
        pytest.param(
            lambda text: (gzip.compress(text.encode()), {"Content-Encoding": "gzip"}, ""),
            ["received", "gzip", "json"],
            id="gzip",
        ),
        pytest.param(
            lambda text: (
                base64.b64encode(base64.b64encode(text.encode())),
                {"Content-Type": "text/plain"},
                "",
            ),
            ["received", "base64", "base64", "json"],
            id="base64-of-base64",
        ),
        pytest.param(
            lambda text: (
                b"",
                {},
                "data=" + base64.b64encode(base64.b64encode(text.encode())).decode(),
            ),
            ["received", "query", "base64", "base64", "json"],
            id="query-base64-of-base64",
        ),
    ],
)
def test_request_detail_hides_a_key_inside_an_encoded_body(
    client: httpx.Client, make: Any, steps: list[str]
) -> None:
    body, headers, query = make(json.dumps(ev("signed_up", "u1", note=PERSONAL)))
    method = "GET" if query else "POST"
    sent = client.request(method, f"/e/?{query}", content=body, headers=headers)
    assert sent.status_code == 200, sent.text
    detail = client.get("/_ctph/requests/1").json()
    assert [step["step"] for step in detail["decoding"]] == steps
    assert HIDDEN_NOTE in (detail["body"], detail["query"])
    decoded = json.loads(detail["decoding"][-1]["text"])
    assert decoded["properties"]["note"] == "phx_…5jEq" and decoded["event"] == "signed_up"
    _no_key_anywhere(detail)


def test_request_detail_hides_a_json_escaped_key(client: httpx.Client) -> None:
    escaped = PERSONAL.replace("_", "\\u005f", 1)  # phx\u005f…: JSON for the same key
    body = json.dumps(ev("signed_up", "u1", tag="phx_literalABCD1234")).replace(
        '"tag"', f'"note": "{escaped}", "tag"'
    )
    assert "phx\\u005f" in body and json.loads(body)["properties"]["note"] == PERSONAL
    sent = client.post("/i/v0/e/", content=body.encode(), headers={"Content-Type": "text/plain"})
    assert sent.status_code == 200, sent.text
    detail = client.get("/_ctph/requests/1").json()
    assert detail["body"] == HIDDEN_NOTE
    assert [step["step"] for step in detail["decoding"]] == ["received", "json"]
    shown = detail["decoding"][-1]["text"]
    assert json.loads(shown)["properties"]["note"] == "phx_…5jEq"
    assert "\\u005f" not in shown
    _no_key_anywhere(detail)


def test_request_detail_keeps_a_plain_body_masked_in_place(client: httpx.Client) -> None:
    body = json.dumps(ev("signed_up", "u1", note=PERSONAL))
    sent = client.post("/i/v0/e/", content=body.encode(), headers={"Content-Type": "text/plain"})
    assert sent.status_code == 200, sent.text
    detail = client.get("/_ctph/requests/1").json()
    assert json.loads(detail["body"])["properties"]["note"] == "phx_…5jEq"
    assert detail["decoding"][-1]["text"] == detail["body"]
    _no_key_anywhere(detail)


def test_request_detail_of_a_refusal_and_of_unknown_numbers(client: httpx.Client) -> None:
    assert client.post("/i/v0/e/", json={"api_key": KEY, "event": "x"}).status_code == 400
    detail = client.get("/_ctph/requests/1").json()
    assert detail["response"]["status"] == 400
    assert detail["response"]["body"] == "event submitted without a distinct_id"
    assert detail["events"] == [] and detail["body_encoding"] == "utf-8"
    assert any(f["severity"] == "error" for f in detail["verdict"])
    assert client.post("/e/", content=b"\xff\xfe", headers={}).status_code == 400
    broken = client.get("/_ctph/requests/3").json()  # 2 was the detail GET above
    assert broken["decoding"][-1]["step"] == "error"
    for path in ("/_ctph/requests/999", "/_ctph/requests/x", "/_ctph/requests/-1"):
        answer = client.get(path)
        assert answer.status_code == 404 and "error" in answer.json()


# -- the static page and its headers ----------------------------------------------------------


@pytest.fixture
def ui_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in UI folder (16-UI owns the real one): the server lists and reads it the way
    it lists the package's, through importlib.resources' Traversable API."""
    folder = tmp_path / "ui"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>ctph</title>")
    (folder / "app.js").write_text("console.log(1)")
    (folder / "app.css").write_text("body{}")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    (tmp_path / "secret.txt").write_text("outside")
    monkeypatch.setattr(ui_static, "_folder", lambda: folder)
    return folder


def test_static_files_are_served_with_types_and_security_headers(ui_folder: Path) -> None:
    with FakePostHog() as fake:
        http = fake.client()
        moved = http.get("/_ctph/ui")
        assert moved.status_code in (301, 308) and moved.headers["location"] == "/_ctph/ui/"
        for path, kind in [
            ("/_ctph/ui/", "text/html; charset=utf-8"),
            ("/_ctph/ui/app.js", "text/javascript; charset=utf-8"),
            ("/_ctph/ui/app.css", "text/css; charset=utf-8"),
            ("/_ctph/ui/logo.png", "image/png"),
        ]:
            answer = http.get(path)
            assert answer.status_code == 200 and answer.headers["content-type"] == kind
            assert answer.headers["content-security-policy"] == CSP
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"
        assert http.get("/_ctph/ui/logo.png").content == (ui_folder / "logo.png").read_bytes()
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        for path in ("/_ctph/ui/%2e%2e/secret.txt", "/_ctph/ui/..%2fsecret.txt", "/_ctph/ui/x.js"):
            answer = http.get(path)
            assert answer.status_code == 404 and b"outside" not in answer.content
        assert fake.journal() == []  # loading the page is not traffic
        fake.check()


def test_without_an_index_the_page_is_a_clear_404(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui_static, "_folder", lambda: tmp_path / "missing")
    with FakePostHog() as fake:
        answer = fake.client().get("/_ctph/ui/")
        assert answer.status_code == 404 and "no index.html" in answer.text


# -- state changes are same-origin ------------------------------------------------------------


def test_cross_origin_resets_are_refused_and_own_origin_or_none_pass() -> None:
    with FakePostHog() as fake:
        http = fake.client()
        http.post("/e/", json=ev("a", "u1"))
        port = fake.address[1]
        for headers in (
            {"Origin": "https://evil.example"},
            {"Origin": f"http://evil.example:{port}"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
        ):
            refused = http.post("/_ctph/reset", headers=headers)
            assert refused.status_code == 403, headers
            assert http.post("/_ctph/flags", json={}, headers=headers).status_code == 403
        assert fake.event_count() == 1
        for headers in ({"Origin": fake.url}, {"Origin": f"http://localhost:{port}"}, {}):
            assert http.post("/_ctph/reset", headers=headers).status_code == 200, headers
        assert fake.event_count() == 0


def test_free_text_search_sees_keys_as_they_are_shown(
    app: CaptureApp, client: httpx.Client
) -> None:
    """``q`` searches what the API shows: a key's hidden middle matches nothing, so a search
    cannot confirm it a character at a time; its shown prefix still finds the event."""
    client.post("/e/", json=ev("leak", "u9", note=f"key {PERSONAL}"))
    hidden = PERSONAL[6:20].lower()
    assert client.get("/_ctph/events", params={"q": hidden}).json() == []
    # (kind=capture: the journal also holds the search above, whose query has the text)
    searched = client.get("/_ctph/requests", params={"q": hidden, "kind": "capture"}).json()
    assert searched == []
    assert [e["event"] for e in client.get("/_ctph/events", params={"q": "phx_"}).json()] == [
        "leak"
    ]


# -- persons, groups and warnings: filters and export (the inspector's Export per view) -------


@pytest.fixture(scope="module")
def served() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


@pytest.fixture
def http(served: FakePostHog) -> httpx.Client:
    """Real loopback HTTP to a fake emptied for each test."""
    served.reset()
    return served.client()


def _people(http: httpx.Client) -> None:
    """A person merged by ``$identify`` (anon-1 + user@example.com, plan Team), a second one
    holding a personal key in a property, a group, and an ingestion warning (a merge into an
    illegal distinct id is refused)."""
    sent = [
        ev("viewed", "anon-1"),
        ev(
            "$identify",
            "user@example.com",
            **{"$anon_distinct_id": "anon-1", "$set": {"plan": "Team"}},
        ),
        ev("leaked", "u-key", **{"$set": {"note": f"key {PERSONAL}"}}),
        ev("$groupidentify", "u-key", **{"$group_type": "org", "$group_key": "o1"}),
        ev("$identify", "u-odd", **{"$anon_distinct_id": "undefined"}),
    ]
    for event in sent:
        assert http.post("/e/", json=event).status_code == 200


def _ids(answer: httpx.Response) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    return [sorted(p["distinct_ids"]) for p in answer.json()]


MERGED = ["anon-1", "user@example.com"]


@pytest.mark.parametrize("route", ["persons", "groups", "warnings"])
def test_state_lists_export_as_ndjson_and_answer_json_as_before(
    http: httpx.Client, route: str
) -> None:
    _people(http)
    plain = http.get(f"/_ctph/{route}")
    assert plain.headers["content-type"] == "application/json"
    as_json = http.get(f"/_ctph/{route}", params={"format": "json"})
    assert as_json.text == plain.text  # format=json is the default, spelled out
    listed = plain.json()
    assert listed  # each route has something to export
    exported = http.get(f"/_ctph/{route}", params={"format": "ndjson"})
    assert exported.headers["content-type"] == "application/x-ndjson"
    assert exported.text.endswith("\n")
    assert [json.loads(line) for line in exported.text.splitlines()] == listed


def test_state_lists_export_nothing_as_an_empty_ndjson(http: httpx.Client) -> None:
    for route in ("persons", "groups", "warnings"):
        exported = http.get(f"/_ctph/{route}", params={"format": "ndjson"})
        assert (exported.status_code, exported.text) == (200, ""), route


def test_persons_filter_by_person_after_a_merge_and_by_uuid(
    served: FakePostHog, http: httpx.Client
) -> None:
    _people(http)
    assert len(http.get("/_ctph/persons").json()) == 3
    merged = served.person("anon-1")
    assert merged is not None
    for ident in ("anon-1", "user@example.com", merged.id):
        assert _ids(http.get("/_ctph/persons", params={"person": ident})) == [MERGED], ident
    assert _ids(http.get("/_ctph/persons", params={"person": "nobody"})) == []


def test_persons_filter_by_distinct_id_and_text(http: httpx.Client) -> None:
    _people(http)
    for ident in MERGED:
        assert _ids(http.get("/_ctph/persons", params={"distinct_id": ident})) == [MERGED]
    assert _ids(http.get("/_ctph/persons", params={"distinct_id": "anon"})) == []  # exact
    assert _ids(http.get("/_ctph/persons", params={"q": "tEAM"})) == [MERGED]  # any case
    assert _ids(http.get("/_ctph/persons", params={"q": "ANON"})) == [MERGED]  # an id's text
    both = {"q": "team", "distinct_id": "u-key"}  # filters combine: no person has both
    assert _ids(http.get("/_ctph/persons", params=both)) == []
    lines = http.get("/_ctph/persons", params={"q": "team", "format": "ndjson"}).text
    assert [sorted(json.loads(line)["distinct_ids"]) for line in lines.splitlines()] == [MERGED]


def test_persons_search_and_export_see_keys_masked(http: httpx.Client) -> None:
    """``q`` searches the person as the API shows it: the key's hidden middle matches nothing
    (a search cannot confirm it one character at a time), its shown prefix finds the person,
    and neither export holds the key."""
    _people(http)
    hidden = PERSONAL[6:20]
    assert _ids(http.get("/_ctph/persons", params={"q": hidden})) == []
    assert _ids(http.get("/_ctph/persons", params={"q": "PHX_"})) == [["u-key"]]
    for export in ("json", "ndjson"):
        text = http.get("/_ctph/persons", params={"format": export}).text
        assert "phx_…" in text and PERSONAL not in text and hidden not in text, export


# -- the inspector page's own reads -----------------------------------------------------------

PAGE_READ = {"X-Ctph-Inspector": "1"}  # what ui/dom.js getJSON sends


def test_the_pages_own_reads_take_no_journal_slot() -> None:
    """A page polling for hours must not evict capture requests from a bounded journal; the
    same reads without the page's header (curl, a test) are journaled as before."""
    app = CaptureApp(journal_size=10)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://p") as client:
        for n in range(3):
            assert client.post("/i/v0/e/", json=ev(f"e{n}", "u1")).status_code == 200
        uuid = client.get("/_ctph/events", headers=PAGE_READ).json()[0]["uuid"]
        for _ in range(20):  # a page's polling and redraws
            for path in ("/_ctph/requests?limit=1000", "/_ctph/counts", "/_ctph/requests/1"):
                assert client.get(path, headers=PAGE_READ).status_code == 200
            assert client.get(f"/_ctph/events/{uuid}", headers=PAGE_READ).status_code == 200
        journal = client.get("/_ctph/requests").json()  # a user's own read: journaled
        assert [(r["seq"], r["kind"]) for r in journal] == [
            (1, "capture"),
            (2, "capture"),
            (3, "capture"),
        ]
        # still journaled with the header: a problem (an unknown route), a read marked with
        # another value, and a state change (the reset, which then leaves only itself)
        assert client.get("/_ctph/nothing", headers=PAGE_READ).status_code == 404
        assert client.get("/_ctph/counts", headers={"X-Ctph-Inspector": "0"}).status_code == 200
        assert [e.path for e in app.problems()] == ["/_ctph/nothing"]
        kept = [(r["path"], r["status"]) for r in client.get("/_ctph/requests").json()]
        assert kept[3:] == [
            ("/_ctph/requests", 200),
            ("/_ctph/nothing", 404),
            ("/_ctph/counts", 200),
        ]
        assert client.post("/_ctph/reset", headers=PAGE_READ).status_code == 200
        kept = [(r["path"], r["status"]) for r in client.get("/_ctph/requests").json()]
        assert kept == [("/_ctph/reset", 200)]


def test_request_detail_shows_a_gzip_of_text_that_is_not_json_as_text(
    client: httpx.Client,
) -> None:
    """Capture refuses it; the detail shows what the gzip held (masked), not only base64."""
    text = f"event=signed_up&api_key={KEY} not json"
    packed = gzip.compress(text.encode())
    sent = client.post("/i/v0/e/", content=packed, headers={"Content-Encoding": "gzip"})
    assert sent.status_code == 400
    detail = client.get("/_ctph/requests/1").json()
    steps = detail["decoding"]
    assert [step["step"] for step in steps] == ["received", "gzip", "error"]
    assert steps[1]["bytes"] == len(text.encode())
    assert (
        steps[1]["text"].startswith("event=signed_up&api_key=phc_kR3…")
        and "not json" in steps[1]["text"]
    )
    assert detail["body"] == HIDDEN_NOTE  # the gzip held a key: the base64 is not shown
    assert KEY not in json.dumps(detail)
    # bytes that are not UTF-8 stay a byte count only
    assert (
        client.post(
            "/i/v0/e/", content=gzip.compress(b"\xff\xfe"), headers={"Content-Encoding": "gzip"}
        ).status_code
        == 400
    )
    binary = client.get("/_ctph/requests/3").json()["decoding"]
    assert binary[-1]["step"] == "error" and all("text" not in step for step in binary[:-1])
