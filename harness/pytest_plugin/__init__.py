"""The pytest side of ctph-harness: campaign templates as test items, and fixtures.

:mod:`.hooks` is the ``pytest11`` entry point (``ctph_harness``, so ``-p ctph_harness`` works)
and holds only hooks; the run's state is one :class:`~.session.CtphSession` in
``config.stash``; :mod:`.items` are the campaign items, :mod:`.fixtures` the fixtures.
:func:`ctph_session` is how a ``conftest.py`` hook reaches the run's fake PostHog, e.g.
``ctph_session(session.config).server.inject(status=503)``.
"""

from __future__ import annotations

from .session import CtphSession, ctph_session

__all__ = ["CtphSession", "ctph_session"]
