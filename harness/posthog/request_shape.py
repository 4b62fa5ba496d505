"""The shape of a capture request body: what the fake PostHog's answer can depend on, without
the values that only make one user differ from the next.

Delivery in ``"shapes"`` mode (:mod:`ctph_harness.delivery`) sends one body per shape (and per
predicted finding set) instead of every body, so a campaign's 2,000 random users who all render
``{"event": "Purchase", "distinct_id": "<an email>", "properties": {"value": <a number>}}``
cost one request, while a body with another structure, another JSON type somewhere, or a
string of another class still reaches the fake and can disagree with the contract check
(CTPH301).

The classes of a string are the ones capture and ingestion read
(``rust/capture`` ``RawEvent::extract_distinct_id``, ``plugin-server``
``person-merge-service.ts`` ``isDistinctIdIllegal``, through :mod:`.ids`): empty, blank, an
illegal id, over the distinct-id byte limit, holding NUL, not ASCII. What a shape does not
see: a value's exact text (a timestamp string that parses against one that does not, when the
check predicted neither) and state one body leaves for the next (a merge that depends on which
persons exist). ``deliver = "all"`` sends every body for those.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ..contract import limit as contract_limit
from .ids import is_illegal

__all__ = ["request_shape"]

_SAFE_INT = 2**53
"""Past this an integer is no longer exact in a JSON double, and past 2**63 serde refuses an
``i64``: such integers get their own class."""


def request_shape(document: Any) -> Hashable:
    """A hashable summary of ``document`` (parsed JSON): its structure with key order, the JSON
    type of every value, and each string's class; equal for bodies the fake treats alike."""
    return _shape(document, contract_limit("distinct_id_max_bytes"))


def _shape(value: Any, long: int) -> Hashable:
    kind = type(value)
    if kind is str:
        return _string_class(value, long)
    if kind is dict:
        return tuple((key, _shape(item, long)) for key, item in value.items())
    if kind is list:
        return ("[", *(_shape(item, long) for item in value))
    if kind is bool or value is None:
        return value
    if kind is int:
        return "i" if -_SAFE_INT < value < _SAFE_INT else "I"
    if kind is float:
        return "f" if value - value == 0.0 else "F"  # NaN and the infinities: not JSON
    return kind.__name__  # pragma: no cover - json.loads makes nothing else


def _string_class(text: str, long: int) -> str:
    if not text:
        return "s:empty"
    if text.isascii():
        if len(text) > long:
            return "s:long"
        if "\0" in text:
            return "s:nul"
        return "s:illegal" if is_illegal(text) else "s"
    if len(text) * 4 > long and len(text.encode("utf-8", "surrogatepass")) > long:
        return "s:long-u"
    if "\0" in text:
        return "s:nul-u"
    return "s:illegal-u" if is_illegal(text) else "s:u"
