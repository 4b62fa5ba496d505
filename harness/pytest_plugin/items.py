"""Campaign templates as pytest items.

``campaigns/purchase.json.liquid::contract`` runs the whole pipeline for one template (the
engine does the work) and fails with the findings (see :mod:`.failure`). The item takes the
session's fake PostHog through the ``ctph_fake_posthog_session`` fixture, as doctest items take
theirs, so ``ctph_fake_posthog_options`` in a conftest configures the server the templates are
delivered to, and autouse fixtures apply to campaign items as to any test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .failure import describe_failure, internal_error
from .marker import apply_marker
from .session import ctph_session

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from ..config import HarnessConfig
    from ..engine import TemplateResult
    from ..posthog.server import FakePostHog

__all__ = ["CampaignFailed", "CampaignFile", "CampaignItem"]

_SERVER_FIXTURE = "ctph_fake_posthog_session"


class CampaignFailed(Exception):
    """A template has failing findings (raised by :class:`CampaignItem`, never shown raw)."""

    def __init__(self, result: TemplateResult) -> None:
        super().__init__(result.path)
        self.result = result


class CampaignInputError(Exception):
    """The file is not a template at all (binary, not UTF-8, too large)."""


class CampaignFile(pytest.File):
    """One template file; its items are the checks run on it."""

    def collect(self) -> Iterator[pytest.Item]:
        yield CampaignItem.from_parent(self, name="contract")


class CampaignItem(pytest.Item):
    """Render, check and judge one template (``::contract``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Fixture support, as pytest's doctest items have it: the session fake comes from its
        # fixture (so its options fixture applies), autouse fixtures run too.
        self.add_marker(pytest.mark.usefixtures(_SERVER_FIXTURE))
        self.funcargs: dict[str, object] = {}
        info = self.session._fixturemanager.getfixtureinfo(node=self, func=None, cls=None)
        self._fixtureinfo = info
        self.fixturenames = info.names_closure

    def setup(self) -> None:
        from _pytest.fixtures import TopRequest

        self._request = TopRequest(self, _ispytest=True)  # type: ignore[arg-type]
        self._request._fillfixtures()

    def runtest(self) -> None:
        from ..delivery import delivering
        from ..engine import verify_template
        from ..errors import HarnessError
        from ..files import read_bytes
        from ..verdict import passed

        session = ctph_session(self.config)
        config = apply_marker(self, session.template_settings(self.path))
        self.stash[_SETTINGS] = config
        self.user_properties += [("ctph_seed", config.seed), ("ctph_profiles", config.profiles)]
        server: FakePostHog = self.funcargs[_SERVER_FIXTURE]  # type: ignore[assignment]
        try:
            source = read_bytes(self.path)
            with delivering(server=server, **session.delivery_options()) as make:
                result = verify_template(source, self.display_path(), config, deliver=make(config))
        except HarnessError as exc:
            self.stash[_ERROR] = str(exc)
            raise CampaignInputError(str(exc)) from None
        except Exception as exc:
            self.stash[_ERROR] = f"ctph internal error: {type(exc).__name__}: {exc}"
            raise
        self.stash[_RESULT] = result
        if not passed(result.findings, strict=config.strict):
            raise CampaignFailed(result)

    def result_data(self) -> dict[str, Any] | None:
        """This template's report entry as plain data (``None`` before it ran)."""
        if _RESULT in self.stash:
            strict = self.stash[_SETTINGS].strict  # the template's own, not the run's
            return self.stash[_RESULT].item(strict=strict).to_dict()
        if _ERROR in self.stash:
            from ..reports.model import ItemReport

            errored = ItemReport(self.display_path(), (), False, error=self.stash[_ERROR])
            return errored.to_dict()
        return None

    def display_path(self) -> str:
        """The template's path as reports show it (relative to the rootdir when inside it)."""
        try:
            return str(self.path.relative_to(self.config.rootpath))
        except ValueError:
            return str(self.path)

    def repr_failure(
        self, excinfo: ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, CampaignFailed):
            settings = self.stash[_SETTINGS]  # the template's own, marker and overrides in
            return describe_failure(
                excinfo.value.result, seed=settings.seed, strict=settings.strict
            )
        if isinstance(excinfo.value, CampaignInputError):
            return f"ctph: {excinfo.value}"
        if self._wants_traceback():
            return super().repr_failure(excinfo, style=style)
        return internal_error(self.display_path(), excinfo.value)

    def _wants_traceback(self) -> bool:
        """``--tb=long``/``--tb=native``, ``-v`` or ``CTPH_DEBUG``: whoever asked for detail."""
        tb = self.config.getoption("tbstyle", "auto")
        verbose = int(self.config.getoption("verbose", 0) or 0)
        return tb in ("long", "native") or verbose > 0 or bool(os.environ.get("CTPH_DEBUG"))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"ctph contract: {self.display_path()}"


_RESULT = pytest.StashKey["TemplateResult"]()
_ERROR = pytest.StashKey[str]()
"""Why a template could not be judged (not a template, or a bug in ctph): the report still
lists it, as an errored item."""
_SETTINGS: pytest.StashKey[HarnessConfig] = pytest.StashKey()
"""The settings the template was judged with, for its failure text and report entry."""
