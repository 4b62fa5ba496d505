"""The two CleverTap behaviours its docs leave open, as the dialect's settings.

A leaf module on purpose: :mod:`ctph_harness.config` validates ``missing`` and ``escaping``
against these types in every run, and importing :mod:`.dialect` would load python-liquid (the
pytest plugin must stay light when a run has no templates).

* ``missing``: ``"blank"`` (default): a missing property with no ``default`` renders as an empty
  string. ``"error"``: it fails the render (CTPH003), for accounts where CleverTap was seen to skip
  the send instead.
* ``escaping``: ``"none"`` (default): inserted values are written raw, as stock Liquid does, so a
  ``"`` in a name breaks a JSON body. ``"json"``: values are escaped for a JSON string context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ..errors import UsageError

__all__ = ["DEFAULT_SETTINGS", "DialectSettings", "Escaping", "Missing"]

Missing = Literal["blank", "error"]
"""How a missing property without ``default`` renders (CleverTap's docs leave it open)."""
Escaping = Literal["none", "json"]
"""Whether values inserted into the body are JSON-escaped (CleverTap's docs leave it open)."""


@dataclass(frozen=True)
class DialectSettings:
    """The undocumented CleverTap behaviours the harness has to assume (module docstring)."""

    missing: Missing = "blank"
    escaping: Escaping = "none"

    def __post_init__(self) -> None:
        for name, allowed in (("missing", get_args(Missing)), ("escaping", get_args(Escaping))):
            value = getattr(self, name)
            if value not in allowed:
                choices = " or ".join(repr(a) for a in allowed)
                raise UsageError(f"setting `{name}` must be {choices}, not {value!r}")


DEFAULT_SETTINGS = DialectSettings()
"""Stock-Liquid assumptions: missing renders blank, values inserted unescaped."""
