"""The FakePostHog Python API: state accessors, filters, journal, reset, faults, assertions,
the in-process transport, the inspection routes, teardown failures and ``serve``."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest

from ctph_harness.errors import UsageError
from ctph_harness.posthog.app import CaptureApp, InjectedDrop
from ctph_harness.posthog.server import FakePostHog, is_loopback
from ctph_harness.posthog.standalone import serve

pytest_plugins = ["pytester"]

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def ev(name: str, distinct_id: str, **properties: object) -> dict[str, object]:
    return {"event": name, "distinct_id": distinct_id, "api_key": KEY, "properties": properties}


@pytest.fixture
def http(fake: FakePostHog) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url) as client:
        yield client


def test_events_persons_groups_and_filters(fake: FakePostHog, http: httpx.Client) -> None:
    http.post(
        "/batch/",
        json={"api_key": KEY, "batch": [ev("a", "u1", n=1), ev("b", "u1"), ev("a", "u2", n=2)]},
    )
    http.post(
        "/i/v0/e/",
        json=ev(
            "$groupidentify",
            "u1",
            **{"$group_type": "org", "$group_key": "o1", "$group_set": {"x": 1}},
        ),
    )
    assert [e.event for e in fake.events()] == ["a", "b", "a", "$groupidentify"]
    assert [e.distinct_id for e in fake.events(name="a")] == ["u1", "u2"]
    assert [e.event for e in fake.events(distinct_id="u1")] == ["a", "b", "$groupidentify"]
    assert [e.properties["n"] for e in fake.events(name="a", distinct_id="u2")] == [2]
    assert {p.distinct_ids for p in fake.persons()} == {("u1",), ("u2",)}
    assert fake.person("u2") is not None and fake.person("nobody") is None
    assert [(g.type, g.key, dict(g.properties)) for g in fake.groups()] == [("org", "o1", {"x": 1})]


def test_warnings_from_ingestion(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=ev("$identify", "user", **{"$process_person_profile": False}))
    assert [w.type for w in fake.warnings()] == [
        "invalid_event_when_process_person_profile_is_false"
    ]
    assert fake.events() == []


def test_journal_redacts_keys_and_records_answers(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=ev("a", "u1"), headers={"Authorization": f"Bearer {KEY}"})
    http.post("/i/v0/e/", content=b"{broken")
    first, second = fake.journal()
    assert (first.method, first.path, first.status, first.kind, first.stored) == (
        "POST",
        "/i/v0/e/",
        200,
        "capture",
        1,
    )
    assert KEY not in str(first.to_dict())
    assert first.body["api_key"].startswith("phc_kR3") and "…" in first.body["api_key"]
    assert first.headers["Authorization"].startswith("Bearer phc_kR3…")
    assert first.response == '{"status":"Ok"}'
    assert second.status == 400 and second.body == "{broken"
    assert first.seq < second.seq


def test_journal_is_bounded() -> None:
    app = CaptureApp(journal_size=3)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://posthog") as client:
        for i in range(5):
            client.post("/i/v0/e/", json=ev("a", f"u{i}"))
    assert [e.seq for e in app.journal()] == [3, 4, 5]
    assert len(app.events()) == 5  # the project keeps everything


def test_reset_forgets_everything(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=ev("a", "u1"))
    http.get("/unknown")
    fake.inject(status=503, count=5)
    fake.reset()
    assert (fake.events(), fake.persons(), fake.journal(), fake.app.problems()) == ([], [], [], [])
    assert http.post("/i/v0/e/", json=ev("a", "u1")).status_code == 200  # fault gone too


def test_inject_count_status_and_nothing_stored(fake: FakePostHog, http: httpx.Client) -> None:
    fake.inject(status=429, count=2)
    answers = [http.post("/i/v0/e/", json=ev("a", "u1")) for _ in range(3)]
    assert [(r.status_code, r.text) for r in answers] == [
        (429, "rate limited"),
        (429, "rate limited"),
        (200, '{"status":"Ok"}'),
    ]
    assert len(fake.events()) == 1
    assert [e.kind for e in fake.journal()] == ["fault", "fault", "capture"]
    fake.inject(status=503)
    assert http.post("/batch/", json=[ev("a", "u1")]).text == "transient error, please retry"


def test_inject_fraction_is_seeded_and_capped(fake: FakePostHog, http: httpx.Client) -> None:
    fake.inject(status=503, fraction=0.5, count=4, seed=7)
    codes = [http.post("/i/v0/e/", json=ev("a", "u1")).status_code for _ in range(40)]
    assert codes.count(503) == 4
    assert len(fake.events()) == 36


def test_inject_delay_then_normal_answer(fake: FakePostHog, http: httpx.Client) -> None:
    fake.inject(delay=0.2)
    started = time.perf_counter()
    assert http.post("/i/v0/e/", json=ev("a", "u1")).status_code == 200
    assert time.perf_counter() - started >= 0.2
    assert len(fake.events()) == 1


def test_inject_drop_over_loopback_and_in_process(fake: FakePostHog, http: httpx.Client) -> None:
    fake.inject(drop=True, count=2)
    # A dropped connection reaches the client as RemoteProtocolError or, depending on timing,
    # ReadError: both are transport errors, which is what a delivery client must handle.
    with pytest.raises(httpx.TransportError):
        http.post("/i/v0/e/", json=ev("a", "u1"))
    with (
        httpx.Client(transport=fake.transport(), base_url="http://posthog") as local,
        pytest.raises(InjectedDrop),
    ):
        local.post("/i/v0/e/", json=ev("a", "u1"))
    assert http.post("/i/v0/e/", json=ev("a", "u1")).status_code == 200  # server not wedged
    assert len(fake.events()) == 1
    fake.check()  # a requested drop is not a problem


def test_inject_rejects_nonsense() -> None:
    app = CaptureApp()
    with pytest.raises(ValueError, match="status"):
        app.inject(status=500)
    with pytest.raises(ValueError, match="fraction"):
        app.inject(status=503, fraction=1.5)
    with pytest.raises(ValueError, match="either"):
        app.inject(status=503, drop=True)


def test_transport_shares_state_with_loopback(fake: FakePostHog, http: httpx.Client) -> None:
    with httpx.Client(transport=fake.transport(), base_url="http://posthog") as local:
        assert local.post("/i/v0/e/", json=ev("a", "u1")).json() == {"status": "Ok"}
    http.post("/i/v0/e/", json=ev("b", "u1"))
    assert [e.event for e in fake.events()] == ["a", "b"]


def test_inspection_routes(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=ev("a", "u1", plan="pro"))
    http.post("/i/v0/e/", json=ev("b", "u2"))
    events = http.get("/_ctph/events", params={"event": "a"}).json()
    assert [(e["event"], e["distinct_id"], e["properties"]["plan"]) for e in events] == [
        ("a", "u1", "pro")
    ]
    assert events[0]["timestamp"].endswith("Z")
    assert len(http.get("/_ctph/events", params={"distinct_id": "u2"}).json()) == 1
    assert {tuple(p["distinct_ids"]) for p in http.get("/_ctph/persons").json()} == {
        ("u1",),
        ("u2",),
    }
    assert http.get("/_ctph/groups").json() == []
    assert http.get("/_ctph/warnings").json() == []
    requests = http.get("/_ctph/requests").json()
    assert [r["kind"] for r in requests][:2] == ["capture", "capture"]
    assert KEY not in str(requests)
    assert http.post("/_ctph/reset").json() == {"status": "Ok"}
    assert http.get("/_ctph/events").json() == []
    assert http.get("/_ctph/nope").status_code == 404
    fake.reset()


def test_pinned_clock_drives_skew_correction() -> None:
    app = CaptureApp(clock=lambda: NOW)
    body = {
        "api_key": KEY,
        "sent_at": "2024-05-01T11:00:00Z",
        "batch": [{**ev("a", "u1"), "timestamp": "2024-05-01T10:59:00Z"}],
    }
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://posthog") as client:
        client.post("/batch/", json=body)
        client.post("/i/v0/e/", json={**ev("b", "u1"), "offset": 1500})
    first, second = app.events()
    assert first.timestamp == datetime(2024, 5, 1, 11, 59, tzinfo=timezone.utc)
    assert second.timestamp == datetime(2024, 5, 1, 11, 59, 58, 500000, tzinfo=timezone.utc)
    assert app.journal()[0].received_at == NOW


# -- assertion helpers -------------------------------------------------------------------------


def test_assert_event_passes_and_returns_matches(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=ev("purchase", "u1", amount=10, cart={"items": 2, "coupon": None}))
    (match,) = fake.assert_event("purchase", distinct_id="u1", properties={"cart": {"items": 2}})
    assert match.properties["amount"] == 10
    fake.assert_event("purchase", count=1)
    fake.assert_event("refund", count=0)


def test_assert_event_near_miss_message(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=ev("$pageview", "u1"))
    http.post("/i/v0/e/", json=ev("purchase", "u2", amount=12, currency="EUR"))
    with pytest.raises(AssertionError) as info:
        fake.assert_event(
            "purchase", distinct_id="u1", properties={"amount": 10, "currency": "EUR", "sku": "A"}
        )
    message = str(info.value)
    assert "found 0" in message
    assert "2 event(s) stored: 1 × '$pageview', 1 × 'purchase'" in message
    assert "closest event: 'purchase' distinct_id='u2'" in message
    assert "distinct_id: expected 'u1', got 'u2'" in message
    assert "properties.amount: expected 10, got 12" in message
    assert 'properties.sku: missing (expected "A")' in message
    assert "currency" not in message.split("closest event")[1].split("\n", 1)[1]


def test_assert_event_typo_finds_the_similar_name(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=ev("signup_completed", "u1"))
    http.post("/i/v0/e/", json=ev("zzz", "u1"))
    with pytest.raises(AssertionError, match="closest event: 'signup_completed'") as info:
        fake.assert_event("signup_complete", distinct_id="u1")
    assert "event: expected 'signup_complete', got 'signup_completed'" in str(info.value)


def test_assert_event_count_mismatch_lists_matches(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=[ev("a", "u1"), ev("a", "u1")])
    with pytest.raises(AssertionError, match=r"exactly 1 event\(s\).*found 2") as info:
        fake.assert_event("a", count=1)
    assert "matching events:" in str(info.value)


def test_assert_event_with_nothing_stored(fake: FakePostHog) -> None:
    with pytest.raises(AssertionError, match="no events are stored"):
        fake.assert_event("a")


def test_assert_person(fake: FakePostHog, http: httpx.Client) -> None:
    http.post("/i/v0/e/", json=ev("$set", "user-42", **{"$set": {"plan": "pro", "seats": 3}}))
    assert fake.assert_person("user-42", {"plan": "pro"}).properties["seats"] == 3
    with pytest.raises(AssertionError, match=r"closest distinct ids: \['user-42'\]"):
        fake.assert_person("user-24")
    with pytest.raises(AssertionError, match=r'properties\.plan: expected "free", got "pro"'):
        fake.assert_person("user-42", {"plan": "free"})


def test_check_shows_handler_errors(
    fake: FakePostHog, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(fake.app._project, "ingest", explode)
    response = http.post("/i/v0/e/", json=ev("a", "u1"))
    assert response.status_code == 500
    monkeypatch.undo()
    with pytest.raises(AssertionError, match="1 handler error") as info:
        fake.check()
    assert "RuntimeError: boom" in str(info.value)
    assert "POST /i/v0/e/ -> 500" in str(info.value)
    fake.reset()


# -- binding and serve ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.2", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_refuses_remote_bind_unless_allowed() -> None:
    with pytest.raises(ValueError, match="allow_remote"):
        FakePostHog(host="0.0.0.0")
    FakePostHog(host="0.0.0.0", allow_remote=True)  # constructing does not bind
    with pytest.raises(UsageError, match="--allow-remote"):
        serve("0.0.0.0", 0, False, io.StringIO())


def test_server_starts_lazily() -> None:
    fake = FakePostHog()
    assert not fake.is_running and "not started" in repr(fake)
    try:
        assert fake.capture_url("batch/").startswith("http://127.0.0.1:")
        assert fake.is_running
    finally:
        fake.stop()


def test_serve_prints_url_and_serves_until_stopped() -> None:
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(
        target=serve, args=("127.0.0.1", 0, False, out), kwargs={"stop": stop}
    )
    thread.start()
    try:
        for _ in range(100):
            if "Ctrl-C" in out.getvalue():
                break
            time.sleep(0.02)
        url = out.getvalue().split("listening on ", 1)[1].split()[0]
        assert "/_ctph/events" in out.getvalue() and "/_ctph/reset" in out.getvalue()
        assert httpx.post(url + "/i/v0/e/", json=ev("a", "u1")).status_code == 200
        assert len(httpx.get(url + "/_ctph/events").json()) == 1
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


# -- the pytest fixtures -------------------------------------------------------------------------

CONFTEST = 'pytest_plugins = ["ctph_harness.pytest_plugin.fixtures"]\n'


def test_fixture_fails_test_on_unexpected_request(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        import httpx

        def test_posts_to_a_wrong_path(fake_posthog):
            httpx.post(fake_posthog.url + "/i/v0/typo", json={})

        def test_clean(fake_posthog):
            body = {"event": "a", "distinct_id": "u", "api_key": "phc_test_key_123456"}
            assert httpx.post(fake_posthog.capture_url(), json=body).status_code == 200
            fake_posthog.assert_event("a", distinct_id="u")

        def test_state_was_reset_and_server_shared(fake_posthog, ctph_fake_posthog_session):
            assert fake_posthog.events() == []
            assert fake_posthog is ctph_fake_posthog_session
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_posts_to_a_wrong_path*",
            "*1 unexpected request(s)*",
            "*POST /i/v0/typo -> 404*",
        ]
    )
