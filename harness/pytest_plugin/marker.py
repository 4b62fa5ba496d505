"""``@pytest.mark.ctph(profiles=, seed=, strict=, ignore=)``: per-test ctph settings.

The marker applies to campaign items (added by a ``pytest_collection_modifyitems`` hook) and to
hand-written tests using the fixtures. An argument it does not know is a usage error naming
it: a typo such as ``profile=5`` would otherwise run silently with the defaults.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..config import HarnessConfig

__all__ = ["MARKER_LINE", "apply_marker", "check_markers"]

_ARGUMENTS = ("profiles", "seed", "strict", "ignore")

MARKER_LINE = "ctph(profiles=None, seed=None, strict=None, ignore=()): per-test ctph settings"
"""The marker as ``pytest --markers`` lists it."""


def apply_marker(item: pytest.Item, config: HarnessConfig) -> HarnessConfig:
    """``config`` with the item's closest ``@pytest.mark.ctph(...)`` applied."""
    marker = item.get_closest_marker("ctph")
    if marker is None:
        return config
    _check_arguments(item, marker)  # a marker added after collection is checked here
    ignore = marker.kwargs.get("ignore")
    return config.with_overrides(
        profiles=marker.kwargs.get("profiles"),
        seed=marker.kwargs.get("seed"),
        strict=marker.kwargs.get("strict"),
        ignore=(*config.ignore, *ignore) if ignore else None,
    )


def check_markers(items: list[pytest.Item]) -> None:
    """Refuse, at collection, any ``ctph`` marker with an argument it does not take."""
    for item in items:
        for marker in item.iter_markers("ctph"):
            _check_arguments(item, marker)


def _check_arguments(item: pytest.Item, marker: pytest.Mark) -> None:
    if marker.args:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.ctph takes keyword arguments only "
            f"({', '.join(_ARGUMENTS)}), not {marker.args!r}"
        )
    unknown = sorted(set(marker.kwargs) - set(_ARGUMENTS))
    if unknown:
        named = ", ".join(f"`{name}`{_did_you_mean(name)}" for name in unknown)
        raise pytest.UsageError(
            f"{item.nodeid}: unknown argument(s) to @pytest.mark.ctph: {named}; "
            f"it takes {', '.join(_ARGUMENTS)}"
        )


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, _ARGUMENTS, n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""
