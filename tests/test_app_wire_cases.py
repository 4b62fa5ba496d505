"""Raw wire cases through loopback HTTP: each encoding, each 400/401/413 cause, beacon, OPTIONS.

Every row is one request as bytes on the wire and the exact status and body PostHog's capture
service answers (research/posthog-capture.md §1-§6). The server is the real
:class:`FakePostHog` on an ephemeral loopback port; the client is plain httpx.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
OK = '{"status":"Ok"}'
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PARSE = "failed to parse request: data did not match any variant of untagged enum RawRequest"
# lz-string 1.5.0 compressToBase64 of a one-event array (made by the JavaScript original)
LZ_EVENTS = (
    "NobwRApgbhB2AuYBcYAkAHAhgc2gSwgHcwAaMAEzwGd49YBjeAfT3OQoEZSx0AnAe3QRetCFWTh4/ANZx26ABb0mAD27"
    "088AJ7sAWgB/eeegoAEgGoIwAXysBdIA"
)


def event(**fields: Any) -> dict[str, Any]:
    return {"event": "signup", "distinct_id": "u1", "api_key": KEY, **fields}


def js(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass(frozen=True)
class Case:
    id: str
    body: bytes
    status: int
    text: str
    path: str = "/i/v0/e/"
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    stored: int | None = None


ONE = js(event())
BIG_EVENT = js(event(properties={"blob": "x" * 1_000_001}))

CASES = [
    # -- encodings that succeed ----------------------------------------------------------------
    Case("json-one-event", ONE, 200, OK, stored=1),
    Case("json-array", js([event(), event(event="b")]), 200, OK, path="/e", stored=2),
    Case(
        "batch-object", js({"api_key": KEY, "batch": [event()]}), 200, OK, path="/batch/", stored=1
    ),
    Case("batch-shape-on-event-route", js({"token": KEY, "batch": [event()]}), 200, OK, stored=1),
    Case(
        "gzip-content-encoding",
        gzip.compress(ONE),
        200,
        OK,
        headers={"Content-Encoding": "gzip"},
        stored=1,
    ),
    Case("gzip-sniffed-no-hint", gzip.compress(ONE), 200, OK, path="/batch", stored=1),
    Case(
        "gzip-js-query-hint",
        gzip.compress(ONE),
        200,
        OK,
        path="/i/v0/e/?compression=gzip-js&ver=1.2",
        headers={"Content-Type": "text/plain"},
        stored=1,
    ),
    # posthog-js sends lz64 as a form field; the whole-body base64 sniff would eat a raw one
    Case(
        "lz64-form-query-hint",
        b"data=" + quote(LZ_EVENTS).encode(),
        200,
        OK,
        path="/e/?compression=lz64",
        headers=FORM,
        stored=1,
    ),
    Case(
        "lz64-form-field-hint",
        b"compression=lz-string&data=" + quote(LZ_EVENTS).encode(),
        200,
        OK,
        path="/e/",
        headers=FORM,
        stored=1,
    ),
    Case(
        "lz64-raw-body-base64-sniffed-first",
        LZ_EVENTS.encode(),
        400,
        "failed to decode request: decompress_lz64: failed decompress to UTF16",
        path="/e/?compression=lz64",
    ),
    Case("whole-body-base64", base64.b64encode(ONE), 200, OK, stored=1),
    Case(
        "form-data-base64",
        b"data=" + quote(base64.b64encode(ONE)).encode(),
        200,
        OK,
        path="/e/",
        headers=FORM,
        stored=1,
    ),
    Case(
        "form-data-json",
        b"data=" + quote(ONE).encode(),
        200,
        OK,
        path="/e/",
        headers=FORM,
        stored=1,
    ),
    Case("get-data-query", b"", 200, OK, method="GET", path="/e/?data=" + quote(ONE), stored=1),
    Case(
        "get-data-query-base64",
        b"",
        200,
        OK,
        method="GET",
        path="/i/v0/e/?data=" + quote(base64.b64encode(ONE)),
        stored=1,
    ),
    Case(
        "engage-nameless-is-identify",
        js({"distinct_id": "u1", "token": KEY, "$set": {"a": 1}}),
        200,
        OK,
        path="/engage/",
        stored=1,
    ),
    Case("beacon-204", ONE, 204, "", path="/i/v0/e/?beacon=1", stored=1),
    Case("beacon-0-is-200", ONE, 200, OK, path="/i/v0/e/?beacon=0", stored=1),
    Case("options-is-the-cors-preflight", b"", 200, "", method="OPTIONS", stored=0),
    Case(
        "performance-events-only",
        js([{"event": "$performance_event", "distinct_id": "u1"}]),
        200,
        OK,
        stored=0,
    ),
    # -- 400: decoding -------------------------------------------------------------------------
    Case("empty-body", b"", 400, "request missing data payload"),
    Case("bad-gzip", b"\x1f\x8b\x08garbage", 400, "failed to decode request: invalid GZIP data"),
    Case(
        "truncated-gzip",
        gzip.compress(ONE)[:20],
        400,
        "failed to decode request: invalid GZIP data",
    ),
    Case(
        "gzip-of-invalid-utf8",
        gzip.compress(b"\xff\xfe"),
        400,
        "failed to decode request: invalid gzip data",
    ),
    Case(
        "invalid-utf8",
        b'{"event":"\xff"}',
        400,
        "failed to decode request: invalid UTF8 in request payload",
    ),
    Case(
        "form-type-without-form",
        ONE,
        400,
        "failed to decode request: expected form data in POST request payload",
        headers=FORM,
    ),
    Case(
        "bad-lz64",
        b"!!!!",
        400,
        "failed to decode request: decompress_lz64: failed decompress to UTF16",
        path="/e/?compression=lz64",
    ),
    Case(
        "bad-query-integer",
        ONE,
        400,
        "Failed to deserialize query string: invalid digit found in string",
        path="/i/v0/e/?_=abc",
    ),
    # -- 400: parsing and shapes ---------------------------------------------------------------
    Case(
        "not-json",
        b"{nope",
        400,
        "failed to parse request: key must be a string at line 1 column 2",
    ),
    Case("json-scalar", b"42", 400, PARSE),
    Case(
        "lone-surrogate",
        b'{"event":"\\ud800","distinct_id":"u1","api_key":"' + KEY.encode() + b'"}',
        400,
        "failed to parse request: lone leading surrogate in hex escape",
    ),
    Case(
        "deep-nesting",
        b"[" * 100_000 + b"]" * 100_000,
        400,
        "failed to parse request: recursion limit exceeded",
    ),
    Case("empty-array", b"[]", 400, "request holds no event"),
    Case(
        "empty-batch",
        js({"api_key": KEY, "batch": []}),
        400,
        "request holds no event",
        path="/batch/",
    ),
    Case(
        "nameless-off-engage",
        js({"distinct_id": "u1", "token": KEY}),
        400,
        "failed to hydrate events from request: non-engage request missing event name attribute",
    ),
    Case("timestamp-not-string", js(event(timestamp=5)), 400, PARSE),
    Case("properties-array", js(event(properties=[])), 400, PARSE),
    Case("bad-uuid", js(event(uuid="not-a-uuid")), 400, PARSE),
    # -- 400: per event ------------------------------------------------------------------------
    Case("empty-event-name", js(event(event="")), 400, "event submitted with an empty event name"),
    Case(
        "missing-distinct-id",
        js({"event": "signup", "api_key": KEY}),
        400,
        "event submitted without a distinct_id",
    ),
    Case(
        "empty-distinct-id", js(event(distinct_id="")), 400, "event submitted without a distinct_id"
    ),
    Case(
        "cookieless-not-bool",
        js(event(properties={"$cookieless_mode": "yes"})),
        400,
        "event submitted with invalid cookieless mode",
    ),
    Case(
        "one-bad-event-fails-batch",
        js({"api_key": KEY, "batch": [event(), event(event="")]}),
        400,
        "event submitted with an empty event name",
        path="/batch/",
    ),
    # -- 401 -----------------------------------------------------------------------------------
    Case(
        "no-key",
        js({"event": "signup", "distinct_id": "u1"}),
        401,
        "event submitted without an api_key",
    ),
    Case(
        "inconsistent-keys",
        js([event(), event(api_key="phc_other_key_123456")]),
        401,
        "batch submitted with inconsistent api_key values",
    ),
    Case(
        "personal-key",
        js(event(api_key="phx_secretsecretsecret")),
        401,
        "API key is not valid: personal_api_key",
    ),
    Case("blank-key", js(event(api_key="   ")), 401, "API key is not valid: empty"),
    Case(
        "too-long-key", js(event(api_key="phc_" + "a" * 61)), 401, "API key is not valid: too_long"
    ),
    Case("non-ascii-key", js(event(api_key="phc_ключ")), 401, "API key is not valid: not_ascii"),
    Case("nul-in-key", js(event(api_key="phc_a\u0000b")), 401, "API key is not valid: null_byte"),
    # -- 413 -----------------------------------------------------------------------------------
    Case("event-over-1mb", BIG_EVENT, 413, "maximum event size exceeded"),
    Case(
        "body-over-20mib",
        b"x" * (20 * 1024 * 1024 + 1),
        413,
        "maximum event size exceeded: Request body exceeds limit of 20971520 bytes",
        path="/batch/",
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


@pytest.fixture(scope="module")
def client(server: FakePostHog) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_wire_case(case: Case, server: FakePostHog, client: httpx.Client) -> None:
    server.reset()
    response = client.request(case.method, case.path, content=case.body, headers=case.headers)
    assert (response.status_code, response.text) == (case.status, case.text)
    if case.status == 200 and case.method != "OPTIONS":
        assert response.headers["content-type"] == "application/json"
    elif case.status >= 400:
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
    expected_stored = case.stored if case.stored is not None else 0
    assert len(server.events()) == expected_stored
    server.check()  # none of these is "unexpected"


# -- several faults in one body: PostHog's order ------------------------------------------------

ORDER_CASES = [
    # parse-level refusals win over a missing key and per-event faults
    ("parse-before-key", js([{"event": "", "distinct_id": "u1", "timestamp": 5}]), 400, PARSE),
    # the key is checked before any event
    (
        "key-before-event",
        js([{"event": "", "distinct_id": ""}]),
        401,
        "event submitted without an api_key",
    ),
    # events in order: the first bad event decides
    (
        "first-bad-event-decides",
        js([event(distinct_id=""), event(event="")]),
        400,
        "event submitted without a distinct_id",
    ),
    # within one event: name, then distinct_id, then cookieless mode
    (
        "name-before-distinct-id",
        js([event(event="", distinct_id="", properties={"$cookieless_mode": 1})]),
        400,
        "event submitted with an empty event name",
    ),
    # per-event 400s before the size check at the Kafka send
    (
        "event-400-before-size",
        js([event(properties={"blob": "x" * 1_000_001}), event(event="")]),
        400,
        "event submitted with an empty event name",
    ),
    # a $performance_event is dropped before per-event checks
    (
        "filtered-event-not-checked",
        js([{"event": "$performance_event", "distinct_id": "", "api_key": KEY}, event()]),
        200,
        OK,
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "text"), [c[1:] for c in ORDER_CASES], ids=[c[0] for c in ORDER_CASES]
)
def test_rejection_order(
    body: bytes, status: int, text: str, server: FakePostHog, client: httpx.Client
) -> None:
    server.reset()
    response = client.post("/i/v0/e/", content=body)
    assert (response.status_code, response.text) == (status, text)


def test_cors_mirrors_origin_and_headers(server: FakePostHog, client: httpx.Client) -> None:
    response = client.options(
        "/i/v0/e/",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert (response.status_code, response.text) == (200, "")
    assert "content-type" not in response.headers
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-headers"] == "content-type"
    assert response.headers["access-control-allow-methods"] == "GET,POST,OPTIONS"


def test_cors_layer_wraps_every_answer_and_answers_every_options(
    server: FakePostHog, client: httpx.Client
) -> None:
    """capture's CorsLayer (router.rs) wraps the whole router: credentials and Vary go on every
    answer, Origin or not, and it answers any OPTIONS itself, even on a path with no route."""
    server.reset()
    plain = client.post("/i/v0/e/", content=ONE)
    assert plain.headers["access-control-allow-credentials"] == "true"
    assert plain.headers["vary"].startswith("origin")
    assert "access-control-allow-origin" not in plain.headers
    anywhere = client.options("/no/such/route")
    assert (anywhere.status_code, anywhere.text) == (200, "")
    assert anywhere.headers["access-control-allow-methods"] == "GET,POST,OPTIONS"
    assert server.call("OPTIONS", "/batch/", b"") == (200, "")
    assert server.app.problems() == []
    assert [entry.kind for entry in server.journal()][-2:] == ["preflight", "preflight"]


@pytest.mark.parametrize(
    "path",
    [
        "/i/v0/e",
        "/i/v0/e/",
        "/e",
        "/e/",
        "/capture",
        "/capture/",
        "/track",
        "/track/",
        "/engage",
        "/engage/",
        "/batch",
        "/batch/",
    ],
)
def test_every_route_with_and_without_slash(
    path: str, server: FakePostHog, client: httpx.Client
) -> None:
    server.reset()
    assert client.post(path, content=ONE).status_code == 200
    assert client.get(path, params={"data": ONE.decode()}).status_code == 200
    assert client.options(path).status_code == 200
    assert len(server.events()) == 2


def test_unknown_path_and_method_are_recorded_as_unexpected(
    server: FakePostHog, client: httpx.Client
) -> None:
    server.reset()
    assert client.post("/i/v0/x", content=ONE).status_code == 404
    assert client.put("/batch/", content=ONE).status_code == 405
    with pytest.raises(AssertionError, match=r"2 unexpected request\(s\)") as info:
        server.check()
    assert "POST /i/v0/x -> 404" in str(info.value)
    assert "PUT /batch/ -> 405" in str(info.value)
    server.reset()


def test_enforce_mode_accepts_only_configured_keys(
    server: FakePostHog, client: httpx.Client
) -> None:
    server.reset()
    server.app.enforce([KEY])
    try:
        assert client.post("/i/v0/e/", content=ONE).status_code == 200
        refused = client.post("/i/v0/e/", content=js(event(api_key="phc_someone_elses_key_1234")))
        assert refused.status_code == 401
        assert "project API key" in refused.text
        # shape problems still win over enforcement, as upstream validates first
        assert (
            client.post("/i/v0/e/", content=js(event(api_key="phx_personal_key_123"))).text
            == "API key is not valid: personal_api_key"
        )
    finally:
        server.app.enforce(None)


def test_batch_object_capture_cannot_read_is_one_nameless_event_on_engage() -> None:
    """``sent_at: true`` fails ``BatchedRequest``, so capture reads the whole object as one
    nameless event (``/engage`` names it $identify); it has no distinct_id, so 400. The server
    once took its refusals from another reading of the body, ingested, and answered 500."""
    from werkzeug.test import Client

    from ctph_harness.posthog.app import CaptureApp

    body = {
        "token": "phc_k",
        "sent_at": True,
        "batch": [{"event": "e", "distinct_id": "u", "properties": {}}],
    }
    app = CaptureApp()
    response = Client(app).post("/engage", data=json.dumps(body), content_type="application/json")
    assert (response.status_code, response.get_data(as_text=True)) == (
        400,
        "event submitted without a distinct_id",
    )
    assert app.problems() == [] and app.events() == []


def test_in_process_call_answers_like_loopback(server: FakePostHog, client: httpx.Client) -> None:
    """``FakePostHog.call`` hands the body over directly; the answers, including the size
    refusals, must be the ones a socket client gets."""
    numbers = b'{"n": [' + b",".join([b"1e15"] * 100_000) + b"]}"
    grown = js(event(properties={"n": 0})).replace(b'{"n": 0}', numbers)
    over_wire_cap = js(event(properties={"blob": "x" * (20 * 1024 * 1024)}))
    server.reset()
    for body in (js(event()), BIG_EVENT, grown, over_wire_cap, b"{not json"):
        http = client.post("/i/v0/e/", content=body)
        assert server.call("POST", "/i/v0/e/", body) == (http.status_code, http.text)
    assert server.call("POST", "/i/v0/e/", grown) == (413, "maximum event size exceeded")
    assert server.event_count() == len(server.events()) == 2


def test_a_dropped_performance_event_does_not_shift_which_refusal_wins(
    server: FakePostHog, client: httpx.Client
) -> None:
    """Capture answers the first refused event; a ``$performance_event`` before it is read and
    dropped, so the events after it keep their places (no renumbering)."""
    no_id = {"event": "a", "api_key": KEY, "properties": {}}
    no_name = event(event="")
    performance = event(event="$performance_event")
    for body in ([no_id, no_name], [performance, no_id, no_name]):
        response = client.post("/batch/", content=js(body))
        assert (response.status_code, response.text) == (
            400,
            "event submitted without a distinct_id",
        )
