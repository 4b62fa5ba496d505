"""What one profile did, as the pipeline hands it on: the seam between the pure engine and the
delivery at its edge.

:mod:`ctph_harness.engine` produces a :class:`ProfileOutcome` per profile and accepts a
:data:`Deliver` hook for all of a template's outcomes; :mod:`ctph_harness.delivery` implements
that hook. Both import this module and neither imports the other, so the engine stays free of
servers and HTTP clients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .clevertap.profiles import Profile
from .findings import Finding

__all__ = ["Deliver", "ProfileOutcome"]


@dataclass(frozen=True)
class ProfileOutcome:
    """What one profile did: its body (``None`` if nothing was sent), the parsed document, and
    the per-profile findings."""

    profile: Profile
    body: str | None
    document: Any
    aborted: bool
    findings: tuple[Finding, ...]


Deliver = Callable[[Sequence[ProfileOutcome]], list[Finding]]
"""Sends every profile's body of one template somewhere (the fake PostHog) and returns the
findings that adds (:func:`ctph_harness.delivery.delivering` makes one per template)."""
