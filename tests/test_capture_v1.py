"""Capture's v1 analytics endpoint (``POST /i/v1/analytics/events``) on the fake PostHog.

Raw HTTP first: each refusal upstream answers (PostHog/posthog ``rust/capture/src/v1/``
``context.rs``, ``error.rs``, ``analytics/process.rs``) with its status and JSON body, each body
encoding, and the per-event results. Then the real posthog-python 7.x in ``capture_mode="v1"``
with every ``capture_compression``: the events, persons and groups it leaves must be the ones
v0 leaves, and the journal must hold no 4xx/5xx.
"""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
PATH = "/i/v1/analytics/events"


def _headers(**overrides: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/json",
        "User-Agent": "posthog-python/7.91.1",
        "PostHog-Sdk-Info": "posthog-python/7.91.1",
        "PostHog-Attempt": "1",
        "PostHog-Request-Id": str(uuid.uuid4()),
        "PostHog-Request-Timestamp": "2026-03-19T14:30:00Z",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def _event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event": "signed_up",
        "uuid": str(uuid.uuid4()),
        "distinct_id": "user-1",
        "timestamp": "2026-03-19T14:29:58.123Z",
        "options": {},
        "properties": {"plan": "pro"},
    }
    event.update(overrides)
    return event


def _body(*events: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps(
        {"created_at": "2026-03-19T14:30:00Z", "batch": list(events), **extra}
    ).encode()


def _post(fake: FakePostHog, body: bytes, **headers: str | None) -> tuple[int, Any]:
    response = fake.client().post(PATH, content=body, headers=_headers(**headers))
    return response.status_code, response.json() if response.content else None


def _refusal(tag: str, description: str) -> dict[str, str]:
    return {
        "error": tag,
        "error_description": description,
        "error_uri": "https://posthog.com/docs/api",
    }


def test_accepted_batch_answers_per_event_results_and_stores_like_v0(fake: FakePostHog) -> None:
    first, second = (
        _event(),
        _event(event="$pageview", session_id="s-1", options={"process_person_profile": "1"}),
    )
    status, body = _post(fake, _body(first, second))
    assert status == 200
    assert body == {"results": {first["uuid"]: {"result": "ok"}, second["uuid"]: {"result": "ok"}}}
    assert list(body["results"]) == [first["uuid"], second["uuid"]]  # batch order
    (stored,) = fake.events("signed_up")
    assert stored.token == KEY and stored.uuid == first["uuid"]
    assert stored.properties["plan"] == "pro"
    # $lib/$lib_version come from PostHog-Sdk-Info (types.rs build_property_injections)
    assert (stored.properties["$lib"], stored.properties["$lib_version"]) == (
        "posthog-python",
        "7.91.1",
    )
    (pageview,) = fake.events("$pageview")
    assert pageview.properties["$session_id"] == "s-1"
    assert pageview.properties["$process_person_profile"] is True
    assert fake.person("user-1") is not None
    entry = fake.journal()[-1]
    assert (entry.path, entry.status) == (PATH, 200)


def test_bad_events_are_dropped_one_by_one(fake: FakePostHog) -> None:
    cases = {
        "missing_event_name": _event(event=""),
        "event_name_too_long": _event(event="x" * 201),
        "missing_distinct_id": _event(distinct_id="   "),
        "distinct_id_too_large": _event(distinct_id="d" * 201),
        "invalid_distinct_id": _event(distinct_id="  Anonymous "),
        "invalid_event_timestamp": _event(timestamp="2026-03-19 14:29:58"),
        "malformed_event_properties": _event(properties=[1, 2]),
        "invalid_options": _event(options={"cookieless_mode": "maybe"}),
        "dropped_performance_event": _event(event="$performance_event"),
    }
    good = _event(event="x" * 200, distinct_id="d" * 200)
    status, body = _post(fake, _body(good, *cases.values()))
    assert status == 200
    assert body["results"][good["uuid"]] == {"result": "ok"}
    for tag, event in cases.items():
        assert body["results"][event["uuid"]] == {"result": "drop", "details": tag}
    assert [e.uuid for e in fake.events()] == [good["uuid"]]


@pytest.mark.parametrize(
    ("headers", "status", "tag", "description"),
    [
        ({"Authorization": None}, 401, "invalid_api_token", "The provided API token is not valid."),
        (
            {"Authorization": "Basic abc"},
            400,
            "invalid_header_value",
            "invalid header value: Authorization must use Bearer scheme",
        ),
        (
            {"Authorization": "Bearer phx_personal"},
            401,
            "invalid_api_token",
            "The provided API token is not valid.",
        ),
        (
            {"Authorization": "Bearer"},
            400,
            "invalid_header_value",
            "invalid header value: Authorization must use Bearer scheme",
        ),
        (
            {"PostHog-Sdk-Info": None, "PostHog-Attempt": None},
            400,
            "missing_required_headers",
            'request is missing required headers: ["PostHog-Sdk-Info", "PostHog-Attempt"]',
        ),
        (
            {"PostHog-Request-Id": "nope"},
            400,
            "invalid_header_value",
            "invalid header value: PostHog-Request-Id is not a valid UUID: nope",
        ),
        (
            {"PostHog-Attempt": "0"},
            400,
            "invalid_header_value",
            "invalid header value: PostHog-Attempt must be a positive integer: 0",
        ),
        (
            {"PostHog-Request-Timestamp": "yesterday"},
            400,
            "invalid_header_value",
            "invalid header value: PostHog-Request-Timestamp is not valid RFC 3339: yesterday",
        ),
        (
            {"Content-Type": "text/plain"},
            415,
            "unsupported_content_type",
            "unsupported content type: text/plain",
        ),
        (
            {"Content-Encoding": "lz4"},
            415,
            "unsupported_encoding",
            "unsupported content encoding: lz4",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and "_" in value else None,
)
def test_header_refusals(
    fake: FakePostHog, headers: dict[str, str | None], status: int, tag: str, description: str
) -> None:
    assert _post(fake, _body(_event()), **headers) == (status, _refusal(tag, description))
    assert fake.event_count() == 0


def test_bearer_is_case_insensitive_and_trimmed(fake: FakePostHog) -> None:
    status, _ = _post(fake, _body(_event()), Authorization=f"bEaReR   {KEY}")
    assert status == 200
    assert fake.events()[0].token == KEY


@pytest.mark.parametrize(
    ("body", "status", "tag", "description"),
    [
        (b"", 400, "empty_body", "request body is empty"),
        (b"not json {{", 400, "request_parsing_error", "Failed to parse request body."),
        (b'{"batch": []}', 400, "request_parsing_error", "Failed to parse request body."),
        (_body(), 400, "empty_batch", "request batch is empty"),
        (
            json.dumps({"created_at": "now", "batch": [_event()]}).encode(),
            400,
            "invalid_batch",
            "invalid batch: created_at is not valid RFC 3339: now",
        ),
        (
            _body(_event(uuid="not-a-uuid")),
            400,
            "missing_event_uuid",
            "event submitted without a uuid",
        ),
        # Uuid::parse_str's forms only: Python's uuid.UUID takes a lone brace and hyphens
        # anywhere, which capture refuses
        (
            _body(_event(uuid="{0bea642e-da0a-bb2c-c51a-09cde29058ac")),
            400,
            "missing_event_uuid",
            "event submitted without a uuid",
        ),
        (
            _body(_event(uuid="0bea642e-da0a-bb2c-c51a09cde29058ac")),
            400,
            "missing_event_uuid",
            "event submitted without a uuid",
        ),
    ],
)
def test_body_refusals(
    fake: FakePostHog, body: bytes, status: int, tag: str, description: str
) -> None:
    assert _post(fake, body) == (status, _refusal(tag, description))


@pytest.mark.parametrize(
    "other_form",
    [str.upper, lambda u: "{" + u + "}", lambda u: u.replace("-", ""), lambda u: "urn:uuid:" + u],
    ids=["upper", "braced", "simple", "urn"],
)
def test_a_repeated_uuid_refuses_the_whole_request(
    fake: FakePostHog, other_form: Callable[[str], str]
) -> None:
    event = _event()
    status, body = _post(fake, _body(event, _event(uuid=other_form(event["uuid"]))))
    assert (status, body["error"]) == (400, "duplicate_event_uuid")
    assert fake.event_count() == 0  # request-atomic


def _zstd(data: bytes) -> bytes:
    try:
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]

        return bytes(zstd.compress(data))
    except ImportError:
        import zstandard

        return bytes(zstandard.ZstdCompressor().compress(data))


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("zstd", _zstd), ("GZIP", gzip.compress)],
)
def test_encodings(fake: FakePostHog, encoding: str, compress: Any) -> None:
    event = _event()
    status, body = _post(fake, compress(_body(event)), **{"Content-Encoding": encoding})
    assert (status, body) == (200, {"results": {event["uuid"]: {"result": "ok"}}})
    assert fake.event_count() == 1


def test_undecodable_body(fake: FakePostHog) -> None:
    status, body = _post(fake, b"not gzip", **{"Content-Encoding": "gzip"})
    assert (status, body) == (
        400,
        _refusal("request_decoding_error", "Failed to decode request body."),
    )


def test_get_is_not_allowed(fake: FakePostHog) -> None:
    assert fake.client().get(PATH).status_code == 405
    fake.reset()  # the 405 is recorded as a problem on purpose


posthog = pytest.importorskip("posthog")


@pytest.mark.parametrize("compression", ["none", "gzip", "deflate", "zstd"])
def test_posthog_python_v1_mode(server: FakePostHog, compression: str) -> None:
    server.reset()
    sdk = posthog.Posthog(
        KEY, host=server.url, sync_mode=True, capture_mode="v1", capture_compression=compression
    )
    try:
        sdk.capture(
            "purchase", distinct_id="anon-1", properties={"amount": 3, "$set": {"plan": "free"}}
        )
        sdk.set(distinct_id="anon-1", properties={"email": "a@example.com"})
        sdk.alias("user-1", "anon-1")
        sdk.group_identify("company", "acme", {"name": "Acme"})
    finally:
        sdk.shutdown()
    server.check()
    journal = server.journal()
    assert journal and all(e.path == PATH and e.status == 200 for e in journal)
    if compression != "none":
        assert all(e.headers.get("Content-Encoding") == compression for e in journal)
    (purchase,) = server.events("purchase")
    assert purchase.properties["amount"] == 3
    assert purchase.properties["$lib"] == "posthog-python"
    person = server.person("user-1")
    assert person is not None and person == server.person("anon-1")
    assert person.properties["plan"] == "free" and person.properties["email"] == "a@example.com"
    (group,) = server.groups()
    assert (group.type, group.key, group.properties["name"]) == (
        "company",
        "acme",
        "Acme",
    )


# -- the v1 router's own middleware and CORS (rust/capture/src/v1/middleware.rs, v1/router.rs) --


@pytest.fixture
def pinned(fake: FakePostHog) -> Iterator[FakePostHog]:
    from datetime import datetime, timezone

    from ctph_harness.posthog.app import utc_now

    fake.app.set_clock(lambda: datetime(2026, 3, 9, 14, 30, 1, 250000, tzinfo=timezone.utc))
    try:
        yield fake
    finally:
        fake.app.set_clock(utc_now)
        fake.reset()  # the refusals below are recorded as problems on purpose


def test_every_v1_answer_carries_date_and_the_echoed_request_id(pinned: FakePostHog) -> None:
    """``v1_common_headers``: ``Date`` is the receipt time in chrono's RFC 2822 form (zero-padded
    day, ``+0000``), and the request's ``PostHog-Request-Id`` comes back unchanged, on a 200, on a
    refusal (even when the id itself is what was refused) and on axum's 405."""
    client = pinned.client()
    request_id = str(uuid.uuid4())
    ok = client.post(
        PATH, content=_body(_event()), headers=_headers(**{"PostHog-Request-Id": request_id})
    )
    bad = client.post(
        PATH, content=_body(_event()), headers=_headers(**{"PostHog-Request-Id": "nope"})
    )
    refused = client.get(PATH, headers={"PostHog-Request-Id": request_id})
    assert (ok.status_code, bad.status_code, refused.status_code) == (200, 400, 405)
    for answer in (ok, bad, refused):
        assert answer.headers["date"] == "Mon, 09 Mar 2026 14:30:01 +0000"
    assert ok.headers["posthog-request-id"] == request_id
    assert bad.headers["posthog-request-id"] == "nope"
    assert refused.headers["posthog-request-id"] == request_id
    assert "retry-after" not in ok.headers and "retry-after" not in bad.headers


def test_no_request_id_header_without_one_in_the_request(pinned: FakePostHog) -> None:
    answer = pinned.client().post(
        PATH, content=_body(_event()), headers=_headers(**{"PostHog-Request-Id": None})
    )
    assert answer.status_code == 400  # a required header is missing
    assert "posthog-request-id" not in answer.headers
    assert answer.headers["date"] == "Mon, 09 Mar 2026 14:30:01 +0000"


@pytest.mark.parametrize("path", [PATH, PATH + "/"])
def test_405_allows_post_only(pinned: FakePostHog, path: str) -> None:
    """``post(handle_request)`` and nothing else: axum's ``Allow`` is ``POST`` (no HEAD, no
    OPTIONS handler), empty body, no ``Content-Type``."""
    for method in ("GET", "HEAD", "PUT", "DELETE"):
        answer = pinned.client().request(method, path)
        assert answer.status_code == 405, method
        assert answer.headers["allow"] == "POST"
        assert answer.content == b"" and "content-type" not in answer.headers


def test_preflight_is_the_v1_cors_layers(fake: FakePostHog) -> None:
    """The v1 ``CorsLayer`` (outermost, so no middleware headers) allows ``POST,OPTIONS`` only and
    mirrors origin and headers like capture's; a POST's answer carries the mirrored origin."""
    origin = "https://app.example.com"
    preflight = fake.client().options(
        PATH,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,posthog-sdk-info",
            "PostHog-Request-Id": str(uuid.uuid4()),
        },
    )
    assert preflight.status_code == 200 and preflight.content == b""
    assert preflight.headers["access-control-allow-methods"] == "POST,OPTIONS"
    assert preflight.headers["access-control-allow-headers"] == "authorization,posthog-sdk-info"
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "posthog-request-id" not in preflight.headers
    posted = fake.client().post(
        PATH, content=_body(_event()), headers={**_headers(), "Origin": origin}
    )
    assert posted.status_code == 200
    assert posted.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-methods" not in posted.headers
