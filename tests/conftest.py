"""Shared fixtures, and what in-process pytester runs would otherwise import first.

``pytester.runpytest_inprocess`` restores ``sys.modules`` after each run. httpx imports httpcore's
exception classes lazily, on its first request, and caches them: if that first request happens
inside a pytester run, the cache keeps classes of a module the restore drops, later requests
raise the classes of a fresh import, and httpx no longer maps them (a dropped connection then
surfaces as ``httpcore.RemoteProtocolError`` instead of ``httpx.TransportError``). Importing both
here, once per process, keeps one httpcore for the whole session.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpcore  # noqa: F401
import pytest

from ctph_harness.posthog.server import FakePostHog


@pytest.fixture(scope="module")
def server() -> Iterator[FakePostHog]:
    """One fake PostHog per test module (a module may define its own ``server``)."""
    with FakePostHog() as fake:
        yield fake


@pytest.fixture
def fake(server: FakePostHog) -> Iterator[FakePostHog]:
    """The module's fake PostHog, empty before and after the test."""
    server.reset()
    yield server
    server.reset()
