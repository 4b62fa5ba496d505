"""JSON as the fake server writes it (inspection answers, journal renderings).

Datetimes become ISO-8601 with a ``Z``; mappings, tuples and sets become objects and arrays, so
the frozen dataclasses of :mod:`.project` serialise without a hand-written encoder each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = ["dumps", "iso"]


def iso(moment: datetime) -> str:
    """``moment`` in UTC, ISO-8601 with ``Z`` (what PostHog's JSON shows)."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, frozenset, set)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> str:
    """Compact-enough JSON, non-ASCII kept readable."""
    return json.dumps(value, default=_default, ensure_ascii=False)
