"""pytest fixtures for the fake PostHog and hand-written campaign tests (registered by the
plugin).

Only ``pytest`` is imported at module level: the server, werkzeug and pytest-httpserver load
the first time a test asks for a fixture, so tests that never use the fake pay nothing.

* ``ctph_fake_posthog_options``: the keyword arguments the session's fake is made with
  (``project_keys``, ``clock``, ``journal_size``, ``journal_bytes``...); ``{}`` here. Override
  it in a ``conftest.py``, as pytest-httpserver's ``httpserver_listen_address``.
* ``ctph_fake_posthog_session``: one :class:`~ctph_harness.posthog.server.FakePostHog` per
  pytest session, hence one per xdist worker (each on its own ephemeral port), the one the
  campaign items deliver to. The socket is opened lazily, on first ``.url``.
* ``fake_posthog``: the same server with its state reset before the test and ``check()``
  called after it, so an unexpected request or a handler error fails the test at teardown
  with the request shown, instead of hiding behind a 500 the client may ignore.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .marker import apply_marker
from .session import ctph_session

if TYPE_CHECKING:
    from ..clevertap.profiles import Profile
    from ..config import HarnessConfig
    from ..delivery import Reply
    from ..engine import Preview, TemplateResult
    from ..posthog.server import FakePostHog

__all__ = [
    "Campaign",
    "ctph_campaign",
    "ctph_fake_posthog_options",
    "ctph_fake_posthog_session",
    "ctph_profiles",
    "fake_posthog",
]


@pytest.fixture(scope="session")
def ctph_fake_posthog_options() -> dict[str, Any]:
    """Keyword arguments for the session's :class:`~ctph_harness.posthog.server.FakePostHog`:
    none by default. Override it in a ``conftest.py`` to enforce project keys, pin the clock
    or bound the journal, e.g. ``return {"project_keys": ["phc_..."]}``."""
    return {}


@pytest.fixture(scope="session")
def ctph_fake_posthog_session(
    request: pytest.FixtureRequest, ctph_fake_posthog_options: Mapping[str, Any]
) -> FakePostHog:
    """The session's fake PostHog (per xdist worker): the same server the campaign items
    deliver to; stopped when the session ends."""
    return ctph_session(request.config).configured_server(ctph_fake_posthog_options)


@pytest.fixture
def fake_posthog(ctph_fake_posthog_session: FakePostHog) -> Iterator[FakePostHog]:
    """A clean fake PostHog for one test; unexpected requests fail the test at teardown."""
    server = ctph_fake_posthog_session
    server.reset()
    yield server
    server.check()


def _marked_config(request: pytest.FixtureRequest) -> HarnessConfig:
    """The run's configuration with the test's ``@pytest.mark.ctph(...)`` applied."""
    return apply_marker(request.node, ctph_session(request.config).run_settings())


@pytest.fixture
def ctph_profiles(request: pytest.FixtureRequest) -> Callable[..., list[Profile]]:
    """``ctph_profiles(reads, n=None, seed=None)``: the profiles ctph would generate for a
    template reading ``reads`` (e.g. ``[("Profile", "Email")]``), with the run's seed and count
    unless given (``@pytest.mark.ctph(profiles=..., seed=...)`` applies)."""
    from ..clevertap.profiles import generate
    from ..engine import property_specs

    settings = _marked_config(request)

    def make(
        reads: Sequence[Sequence[str | int]], n: int | None = None, seed: int | None = None
    ) -> list[Profile]:
        return generate(
            reads,
            settings.profiles if n is None else n,
            settings.seed if seed is None else seed,
            property_specs(settings),
        )

    return make


class Campaign:
    """One campaign template for a hand-written test: render it for a profile (the offline
    Preview & Test), deliver it like CleverTap would, or verify it whole."""

    def __init__(self, source: str | bytes, name: str, config: HarnessConfig, server: FakePostHog):
        self.source = source
        self.name = name
        self.config = config
        self.server = server

    def render(self, profile: Mapping[str, Any], event: Mapping[str, Any] | None = None) -> Preview:
        """The body this profile renders and what PostHog's contract says about it."""
        from ..clevertap.profiles import Profile
        from ..engine import preview

        given = Profile.from_json(dict(profile))
        return preview(self.source, self.name, self.config, profile=given, event=event)

    def deliver(self, profile: Mapping[str, Any], event: Mapping[str, Any] | None = None) -> Reply:
        """Render for ``profile`` and POST the body to the fake PostHog like the webhook does
        (nothing is sent when the template aborts: the answer then has no status)."""
        from ..delivery import Deliverer, Reply

        shown = self.render(profile, event)
        if shown.body is None:
            return Reply(None, "nothing sent: the template aborted or did not render", 0)
        return Deliverer(self.server, self.config, over_http=False).send(shown.body, socket=False)

    def verify(self) -> TemplateResult:
        """The whole pipeline, delivery included, with the test's settings. Every body
        reaches the fake (``deliver = "all"``) unless the settings say ``"shapes"``, so what a
        test asserts on the fake's events and persons afterwards holds every profile."""
        from ..delivery import delivering
        from ..engine import verify_template

        with delivering(server=self.server, default="all") as make:
            return verify_template(self.source, self.name, self.config, deliver=make(self.config))


@pytest.fixture
def ctph_campaign(
    request: pytest.FixtureRequest, fake_posthog: FakePostHog
) -> Callable[[str | Path], Campaign]:
    """``ctph_campaign(path_or_source)``: a :class:`Campaign` on the test's clean fake
    PostHog. A ``Path`` (or an existing file name) is read; other strings are the template."""
    from ..files import read_bytes

    settings = _marked_config(request)
    session = ctph_session(request.config)

    def load(template: str | Path) -> Campaign:
        path = Path(template) if not isinstance(template, Path) else template
        if isinstance(template, Path) or (len(str(template)) < 4096 and path.is_file()):
            near = apply_marker(request.node, session.template_settings(path))
            return Campaign(read_bytes(path), str(path), near, fake_posthog)
        return Campaign(str(template), "<template>", settings, fake_posthog)

    return load
