"""Every route of the fake reads JSON with the project's one reader (serde.read: capture's
depth limit, lone surrogates) and inflates gzip with the one capped reader (wire.gunzip), so a
hostile body gets the route's refusal, never a 500 or a body inflated past its cap."""

from __future__ import annotations

import gzip
import uuid

import pytest

from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
DEEP = ("[" * 5000 + "]" * 5000).encode()


def v1_headers() -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {KEY}",
        "PostHog-Sdk-Info": "posthog-python/7.91.1",
        "PostHog-Attempt": "1",
        "PostHog-Request-Id": str(uuid.uuid4()),
        "PostHog-Request-Timestamp": "2026-03-19T14:30:00Z",
    }


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/i/v1/analytics/events", v1_headers()),
        ("/flags/?v=2", {"Content-Type": "application/json"}),
        ("/_ctph/flags", {"Content-Type": "application/json"}),
        ("/i/v0/ai/otel", {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}),
    ],
)
def test_json_nested_past_capture_depth_is_refused_not_a_500(
    fake: FakePostHog, path: str, headers: dict[str, str]
) -> None:
    status, _ = fake.call("POST", path, DEEP, headers)
    assert 400 <= status < 500
    assert all(entry.status < 500 for entry in fake.journal())


def test_a_gzip_body_inflating_past_the_flags_cap_is_refused(fake: FakePostHog) -> None:
    bomb = gzip.compress(b" " * (11 * 1024 * 1024))  # 11 MiB of blanks, ~11 KB on the wire
    status, text = fake.call(
        "POST",
        "/flags/?v=2",
        bomb,
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert status == 400 and "gzip" in text
