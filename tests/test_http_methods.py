"""HEAD and 405 as capture's axum router answers them (issue 12), over real HTTP.

axum runs a ``get`` route's handler for HEAD and drops the body, keeping the ``Content-Length``
it set first (axum ``routing/route.rs``); a method a route lacks gets 405 with an empty body and
an ``Allow`` header listing the route's methods in the order they were added, GET bringing HEAD
(``routing/method_routing.rs``). Capture's routes: PostHog/posthog ``rust/capture/src/router.rs``.
"""

from __future__ import annotations

import httpx
import pytest

from ctph_harness.posthog.server import FakePostHog


@pytest.mark.parametrize("path", ["/", "/_readiness", "/_liveness", "/i/v0/e/", "/batch", "/s/"])
def test_head_answers_as_get_without_a_body(fake: FakePostHog, path: str) -> None:
    get = httpx.get(fake.url + path)
    head = httpx.head(fake.url + path)
    assert head.status_code == get.status_code
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers.get("content-type") == get.headers.get("content-type")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/batch/", "POST,GET,HEAD,OPTIONS"),
        ("DELETE", "/i/v0/e", "POST,GET,HEAD,OPTIONS"),
        ("PATCH", "/s/", "POST,GET,HEAD,OPTIONS"),
        ("PUT", "/i/v0/ai/batch/", "POST,GET,HEAD,OPTIONS"),
        ("POST", "/", "GET,HEAD"),
        ("DELETE", "/_liveness", "GET,HEAD"),
        ("GET", "/i/v0/ai", "POST,OPTIONS"),
        ("GET", "/i/v0/ai/otel/", "POST,OPTIONS"),
        # v1 is post(handle_request) alone (rust/capture/src/v1/analytics/router.rs)
        ("GET", "/i/v1/analytics/events", "POST"),
        ("PUT", "/i/v1/analytics/events/", "POST"),
        # the flags service's handler answers 405 itself (rust/feature-flags/src/api/endpoint.rs)
        ("PUT", "/flags", "GET, POST, OPTIONS, HEAD"),
        ("DELETE", "/flags/", "GET, POST, OPTIONS, HEAD"),
        ("PATCH", "/decide/", "GET, POST, OPTIONS, HEAD"),
    ],
)
def test_405_carries_allow(fake: FakePostHog, method: str, path: str, allow: str) -> None:
    answer = httpx.request(method, fake.url + path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allow
    assert answer.content == b"" and "content-type" not in answer.headers
    assert [p.status for p in fake.app.problems()] == [405]  # still a problem for the test


def test_unknown_path_is_still_404(fake: FakePostHog) -> None:
    assert httpx.put(fake.url + "/nowhere").status_code == 404
    assert "allow" not in httpx.put(fake.url + "/nowhere").headers


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/i/v0/e/", "GET,POST,OPTIONS"),  # capture's legacy CorsLayer (router.rs)
        ("/i/v1/analytics/events", "POST,OPTIONS"),  # v1's own (v1/router.rs)
        ("/flags/", "GET,POST,OPTIONS,HEAD"),  # the flags service's (feature-flags router.rs)
        ("/array/phc_x/config.js", "GET,POST,OPTIONS,HEAD"),
    ],
)
def test_preflight_allows_what_the_routes_cors_layer_allows(
    fake: FakePostHog, path: str, methods: str
) -> None:
    answer = httpx.options(
        fake.url + path,
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
    )
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["access-control-allow-methods"] == methods
    assert answer.headers["access-control-allow-origin"] == "https://a.example"


@pytest.mark.parametrize("path", ["/", "/i/v1/analytics/events"])
def test_one_date_header(fake: FakePostHog, path: str) -> None:
    """The HTTP server adds ``Date`` only where the route set none (v1 sets its own)."""
    answer = httpx.get(fake.url + path)
    assert len(answer.headers.get_list("date")) == 1
    fake.reset()
