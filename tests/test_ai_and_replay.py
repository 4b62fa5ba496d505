"""The AI routes and session replay (issue 12), over real HTTP against FakePostHog.

* ``/i/v0/ai/batch/``: what posthog-python 7.91's ``capture_ai()`` posts (``request.py``
  ``AI_EVENTS_ENDPOINT``), the ``/batch`` handler (PostHog/posthog
  rust/capture/tests/integration_ai_route_surface.rs): events stored as from ``/batch``;
* ``/i/v0/ai`` (multipart) and ``/i/v0/ai/otel``: Bearer auth and validation answers
  (rust/capture/src/ai_endpoint.rs, otel_endpoint.rs);
* ``/s/``: ``$snapshot`` events become recordings, apart from the analytics events
  (rust/capture/src/payload/recordings.rs, events/recordings.rs).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
UUID = "0190b1a5-5f6e-7c3e-9a8f-1b2c3d4e5f60"


@pytest.fixture(scope="module")
def module_server() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


@pytest.fixture
def server(module_server: FakePostHog) -> Iterator[FakePostHog]:
    module_server.reset()
    yield module_server
    module_server.reset()  # some tests provoke refusals on purpose


def post(server: FakePostHog, path: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(server.url + path, content=body, headers=headers, timeout=10)


# -- /i/v0/ai/batch/ -------------------------------------------------------------------------


def test_posthog_python_capture_ai_reaches_the_ai_batch_route(server: FakePostHog) -> None:
    posthog = pytest.importorskip("posthog")
    sdk = posthog.Posthog(KEY, host=server.url, sync_mode=True)
    try:
        sdk.capture_ai(
            "$ai_generation",
            distinct_id="llm-user",
            properties={"$ai_model": "gpt-5", "$ai_input_tokens": 12},
        )
        sdk.capture("ordinary", distinct_id="llm-user")
    finally:
        sdk.shutdown()
    server.check()
    paths = [(entry.path, entry.status) for entry in server.journal()]
    assert ("/i/v0/ai/batch/", 200) in paths and ("/batch/", 200) in paths
    (event,) = server.events("$ai_generation")
    assert event.distinct_id == "llm-user"
    assert event.properties["$ai_model"] == "gpt-5"
    assert event.token == KEY
    assert server.person("llm-user") is not None  # stored exactly as from /batch


def test_ai_batch_answers_like_batch(server: FakePostHog) -> None:
    body = {"api_key": KEY, "batch": [{"event": "$ai_span", "distinct_id": "u", "properties": {}}]}
    ok = post(server, "/i/v0/ai/batch", json.dumps(body).encode())
    assert (ok.status_code, ok.text) == (200, '{"status":"Ok"}')
    missing = post(server, "/i/v0/ai/batch/", json.dumps({"batch": []}).encode())
    refused = post(server, "/batch/", json.dumps({"batch": []}).encode())
    assert (missing.status_code, missing.text) == (refused.status_code, refused.text)


# -- /i/v0/ai (multipart) --------------------------------------------------------------------


def multipart(*parts: tuple[str, str | None, bytes], boundary: str = "XyZ") -> bytes:
    out = b""
    for name, content_type, data in parts:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'.encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def ai_event(**overrides: Any) -> bytes:
    event = {
        "event": "$ai_generation",
        "distinct_id": "llm-user",
        "uuid": UUID,
        "properties": {"$ai_model": "gpt-5"},
    }
    event.update(overrides)
    return json.dumps(event).encode()


BEARER = {"Authorization": f"Bearer {KEY}", "Content-Type": "multipart/form-data; boundary=XyZ"}


def test_multipart_ai_event_is_stored_with_blob_placeholders(server: FakePostHog) -> None:
    body = multipart(
        ("event", "application/json", ai_event()),
        ("event.properties.$ai_input", "application/json", b'[{"role":"user"}]'),
    )
    answer = post(server, "/i/v0/ai", body, **BEARER)
    assert answer.status_code == 200
    assert answer.json() == {
        "accepted_parts": [
            {
                "name": "event",
                "length": len(ai_event()),
                "content-type": "application/json",
                "content-encoding": None,
            },
            {
                "name": "event.properties.$ai_input",
                "length": 17,
                "content-type": "application/json",
                "content-encoding": None,
            },
        ]
    }
    (event,) = server.events("$ai_generation")
    assert event.uuid == UUID
    assert event.properties["$ai_input"] == f"s3://PLACEHOLDER/TEAM_ID/{UUID}?range=0-16"


def test_multipart_body_may_be_gzipped(server: FakePostHog) -> None:
    body = gzip.compress(multipart(("event", "application/json", ai_event())))
    answer = post(server, "/i/v0/ai", body, **BEARER, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 200
    assert [part["name"] for part in answer.json()["accepted_parts"]] == ["event"]
    assert server.event_count() == 1


@pytest.mark.parametrize(
    ("headers", "body", "status", "text"),
    [
        ({}, b"x", 401, "event submitted without an api_key"),
        ({"Authorization": KEY}, b"x", 401, "event submitted without an api_key"),
        (
            {"Authorization": "Bearer phx_personal"},
            b"x",
            401,
            "API key is not valid: personal_api_key",
        ),
        (
            {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
            b"{}",
            400,
            "failed to decode request: Content-Type must be multipart/form-data",
        ),
        (BEARER, b"", 400, "request missing data payload"),
        (
            BEARER,
            multipart(("event.properties", "application/json", b"{}")),
            400,
            "failed to parse request: First part must be 'event', got 'event.properties'",
        ),
        (
            BEARER,
            multipart(("event", None, ai_event(event="$pageview"))),
            400,
            "failed to parse request: Event name must be one of: $ai_generation, $ai_trace, "
            "$ai_span, $ai_embedding, $ai_metric, $ai_feedback, got '$pageview'",
        ),
        (
            BEARER,
            multipart(("event", None, ai_event(properties={}))),
            400,
            "failed to parse request: Event properties must contain '$ai_model'",
        ),
        (
            BEARER,
            multipart(("event", None, b"{not json")),
            400,
            "failed to parse request: Event part must be valid JSON",
        ),
        (
            BEARER,
            multipart(("event", None, ai_event()), ("event.properties.blob", None, b"x")),
            400,
            "failed to parse request: Missing required Content-Type header for blob part "
            "'event.properties.blob'",
        ),
    ],
)
def test_multipart_auth_and_validation_answers(
    server: FakePostHog, headers: dict[str, str], body: bytes, status: int, text: str
) -> None:
    answer = post(server, "/i/v0/ai/", body, **headers)
    assert (answer.status_code, answer.text) == (status, text)
    assert server.event_count() == 0


# -- /i/v0/ai/otel ---------------------------------------------------------------------------


def test_otel_checks_content_type_then_bearer(server: FakePostHog) -> None:
    def otel(body: bytes, **headers: str) -> tuple[int, str]:
        answer = post(server, "/i/v0/ai/otel", body, **headers)
        return answer.status_code, answer.text

    json_type = {"Content-Type": "application/json"}
    assert otel(b"", **json_type) == (400, "request missing data payload")
    assert otel(b"{}", **{"Content-Type": "text/plain"}) == (
        400,
        "failed to decode request: Content-Type must be application/x-protobuf or application/json",
    )
    assert otel(b"{}", **json_type) == (401, "event submitted without an api_key")
    assert otel(b"{}", **json_type, Authorization=f"Bearer {KEY}") == (200, "{}")


# -- /s/ session replay ----------------------------------------------------------------------


def snapshot(data: Any, session: str = "sess-1", **props: Any) -> dict[str, Any]:
    return {
        "event": "$snapshot",
        "properties": {
            "$snapshot_data": data,
            "$session_id": session,
            "$window_id": "win-1",
            "distinct_id": "viewer",
            "token": KEY,
            **props,
        },
    }


def test_snapshots_become_a_recording_not_events(server: FakePostHog) -> None:
    first = [snapshot([{"type": 4, "data": {"href": "https://a/"}}, {"type": 2, "data": {}}])]
    second = [snapshot({"type": 3, "data": {"source": 2}}), snapshot([{"type": 3}])]
    for body in (first, second):
        answer = post(
            server,
            "/s/?compression=gzip-js&ver=1.0",
            gzip.compress(json.dumps(body).encode()),
            **{"Content-Type": "text/plain"},
        )
        assert (answer.status_code, answer.text) == (200, '{"status":"Ok"}')
    post(server, "/s/", json.dumps([snapshot([{"type": 4}], session="sess-2")]).encode())
    assert server.event_count() == 0 and server.persons() == []
    one, two = server.recordings()
    assert (one.session_id, one.distinct_id, one.messages) == ("sess-1", "viewer", 2)
    assert [item["type"] for item in one.snapshots] == [4, 2, 3, 3]
    assert one.window_ids == ("win-1",) and one.snapshot_source == "web"
    assert two.session_id == "sess-2" and server.recording_count() == 2
    assert [r.session_id for r in server.recordings("sess-2")] == ["sess-2"]
    listed = httpx.get(server.url + "/_ctph/recordings", params={"session_id": "sess-1"}).json()
    assert [r["session_id"] for r in listed] == ["sess-1"]
    assert listed[0]["snapshots"][0] == {"type": 4, "data": {"href": "https://a/"}}
    assert [e.kind for e in server.journal()][:3] == ["recording"] * 3
    server.reset()
    assert server.recordings() == []


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ([], 400, "request holds no event"),
        (
            {"api_key": KEY, "batch": [snapshot([])]},
            400,
            "failed to parse request: data did not "
            "match any variant of untagged enum RecordingPayload",
        ),
        (
            [{**snapshot([]), "properties": {"$snapshot_data": [], "$session_id": "s"}}],
            401,
            "event submitted without an api_key",
        ),
        (
            [{**snapshot([]), "properties": {"token": KEY, "$snapshot_data": []}}],
            400,
            "event submitted without a distinct_id",
        ),
        ([snapshot([], session="")], 200, '{"status":"Ok"}'),
        ([snapshot([], session="a" * 71)], 400, "replay event has invalid session id"),
        ([snapshot([], session="not/ok")], 400, "replay event has invalid session id"),
        ([snapshot([], session=None)], 400, "replay event submitted without session id"),
        ([snapshot("text")], 400, "replay event submitted without snapshot data"),
        (
            [snapshot([]), {"event": "$snapshot", "properties": {}}],
            400,
            "replay event submitted without snapshot data",
        ),
    ],
)
def test_replay_refusals(server: FakePostHog, body: Any, status: int, text: str) -> None:
    answer = post(server, "/s/", json.dumps(body).encode())
    assert (answer.status_code, answer.text) == (status, text)
    assert server.recording_count() == (1 if status == 200 else 0)


def test_replay_body_limits_are_its_own(server: FakePostHog) -> None:
    """25 MiB on the wire (router.rs RECORDING_BODY_SIZE, /batch has 20 MiB), 1,000,000 bytes
    decoded (recordings mode: KAFKA_PRODUCER_MESSAGE_MAX_BYTES)."""
    over_batch = json.dumps([snapshot([{"type": 3, "data": "x" * 1000}] * 22_000)]).encode()
    assert 20 * 1024 * 1024 < len(over_batch) < 25 * 1024 * 1024
    too_big = "maximum event size exceeded: "
    batch = post(server, "/batch/", over_batch)
    assert (batch.status_code, batch.text) == (
        413,
        too_big + "Request body exceeds limit of 20971520 bytes",
    )
    replay = post(server, "/s/", over_batch)
    assert (replay.status_code, replay.text) == (
        413,
        too_big + f"Uncompressed payload size limit 1000000 exceeded: {len(over_batch)}",
    )
    over_wire = json.dumps([snapshot([{"type": 3, "data": "x" * 1000}] * 27_000)]).encode()
    replay = post(server, "/s/", over_wire)
    assert (replay.status_code, replay.text) == (
        413,
        too_big + "Request body exceeds limit of 26214400 bytes",
    )
    fits = json.dumps([snapshot([{"type": 3, "data": "x" * 1000}] * 900)]).encode()  # 0.9 MB
    assert post(server, "/s/", fits).status_code == 200
    assert len(server.recordings()[0].snapshots) == 900
