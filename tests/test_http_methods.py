"""HEAD and 405 as capture's axum router answers them (issue 12), over real HTTP.

axum runs a ``get`` route's handler for HEAD and drops the body, keeping the ``Content-Length``
it set first (axum ``routing/route.rs``); a method a route lacks gets 405 with an empty body and
an ``Allow`` header listing the route's methods in the order they were added, GET bringing HEAD
(``routing/method_routing.rs``). Capture's routes: PostHog/posthog ``rust/capture/src/router.rs``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ctph_harness.posthog.server import FakePostHog


@pytest.fixture(scope="module")
def server() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


@pytest.fixture
def fake(server: FakePostHog) -> Iterator[FakePostHog]:
    server.reset()
    yield server
    server.reset()  # the 405s are recorded as problems on purpose


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
