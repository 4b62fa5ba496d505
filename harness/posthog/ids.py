"""Distinct ids: where capture finds one, what it stores, and which ids PostHog refuses to merge.

Shared by the checker (CTPH121-125), the wire layer (what capture stores) and the project state
(person merges), so that all three agree on one reading of ``rust/capture`` ``RawEvent`` and
``person-merge-service.ts`` ``isDistinctIdIllegal``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from ..contract import facts
from ..contract import limit as contract_limit

__all__ = ["DISTINCT_KEYS", "as_text", "is_illegal", "raw_distinct_id", "resolve_distinct_id"]

# RawEvent.distinct_id and its serde alias.
DISTINCT_KEYS = ("distinct_id", "$distinct_id")


def raw_distinct_id(event: Mapping[str, Any]) -> Any:
    """The value capture takes: top level (``distinct_id``/``$distinct_id``) unless absent or
    null, then ``properties.distinct_id``; ``None`` when there is none."""
    for key in DISTINCT_KEYS:
        value = event.get(key)
        if value is not None:
            return value
    props = event.get("properties")
    return props.get("distinct_id") if isinstance(props, Mapping) else None


def as_text(value: Any) -> str:
    """A distinct id as capture stores it: strings as they are, anything else as compact JSON
    (object keys sorted, as serde_json's default map is ordered)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def resolve_distinct_id(event: Mapping[str, Any]) -> str | None:
    """``RawEvent::extract_distinct_id``: the id PostHog stores, or ``None`` (capture's 400).

    NUL becomes U+FFFD; over 200 UTF-8 bytes the value is cut to its first 200 characters.
    """
    value = raw_distinct_id(event)
    if value is None:
        return None
    text = as_text(value).replace("\0", "\ufffd")
    if not text:
        return None
    limit = contract_limit("distinct_id_max_bytes")
    if len(text.encode("utf-8")) > limit:
        text = text[:limit]
    return text


@cache
def _illegal() -> tuple[frozenset[str], frozenset[str]]:
    lists = facts()["illegal_distinct_ids"]

    def quoted(entries: Iterable[str]) -> frozenset[str]:
        return frozenset(f for e in entries for f in (e, f"'{e}'", f'"{e}"'))

    return quoted(lists["case_insensitive"]), quoted(lists["case_sensitive"])


def is_illegal(distinct_id: str) -> bool:
    """``isDistinctIdIllegal``: trimmed-empty, or its lowercase in the case-insensitive list, or
    exactly in the case-sensitive list (both also hold each entry wrapped in ``'…'``/``"…"``).
    The lowercase test uses the untrimmed id, so ``" anonymous"`` is legal."""
    insensitive, sensitive = _illegal()
    return not distinct_id.strip() or distinct_id.lower() in insensitive or distinct_id in sensitive
