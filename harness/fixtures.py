"""pytest fixtures for the fake PostHog (registered by the plugin).

Only ``pytest`` is imported at module level: the server, werkzeug and pytest-httpserver load
the first time a test asks for a fixture, so tests that never use the fake pay nothing.

* ``ctph_fake_posthog_session``: one :class:`~ctph_harness.posthog.server.FakePostHog` per
  pytest session, hence one per xdist worker (each on its own ephemeral port). The socket is
  opened lazily, on first ``.url``.
* ``fake_posthog``: the same server with its state reset before the test and ``check()``
  called after it, so an unexpected request or a handler error fails the test at teardown
  with the request shown, instead of hiding behind a 500 the client may ignore.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .posthog.server import FakePostHog

__all__ = ["ctph_fake_posthog_session", "fake_posthog"]


@pytest.fixture(scope="session")
def ctph_fake_posthog_session() -> Iterator[FakePostHog]:
    """The session's fake PostHog (per xdist worker); stopped when the session ends."""
    from .posthog.server import FakePostHog

    server = FakePostHog()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_posthog(ctph_fake_posthog_session: FakePostHog) -> Iterator[FakePostHog]:
    """A clean fake PostHog for one test; unexpected requests fail the test at teardown."""
    server = ctph_fake_posthog_session
    server.reset()
    yield server
    server.check()
