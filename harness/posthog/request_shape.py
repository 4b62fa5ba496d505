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
from functools import cache
from typing import Any

from ..contract import facts
from ..contract import limit as contract_limit
from .ids import is_illegal

__all__ = ["request_shape"]

_SAFE_INT = 2**53
"""Past this an integer is no longer exact in a JSON double, and past 2**63 serde refuses an
``i64``: such integers get their own class."""


def request_shape(document: Any) -> Hashable:
    """A hashable summary of ``document`` (parsed JSON): its structure with key order, the JSON
    type of every value, and each string's class; equal for bodies the fake treats alike."""
    return _shape(document, _classes())


@cache
def _classes() -> tuple[int, int]:
    """The distinct-id byte limit, and the longest illegal id: a longer string is illegal only
    when it is blank, which ``str.isspace`` tells without the list."""
    lists = facts()["illegal_distinct_ids"]
    entries = [*lists["case_insensitive"], *lists["case_sensitive"]]
    return contract_limit("distinct_id_max_bytes"), max(len(e) for e in entries) + 2  # quoted


def _shape(value: Any, classes: tuple[int, int]) -> Hashable:
    kind = type(value)
    if kind is str:
        return _string_class(value, classes)
    if kind is dict:
        return tuple([(key, _shape(item, classes)) for key, item in value.items()])
    if kind is list:
        return ("[", *[_shape(item, classes) for item in value])
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is int:
        return "i" if -_SAFE_INT < value < _SAFE_INT else "I"
    if kind is float:
        return "f" if value - value == 0.0 else "F"  # NaN and the infinities: not JSON
    return kind.__name__  # pragma: no cover - json.loads makes nothing else


def _string_class(text: str, classes: tuple[int, int]) -> str:
    long, illegal_max = classes
    size = len(text)
    if text.isascii():
        if illegal_max < size <= long and "\0" not in text and not text.isspace():
            return "s"  # the usual string: one pass of C checks
        if not size:
            return "s:empty"
        if size > long:
            return "s:long"
        if "\0" in text:
            return "s:nul"
        return "s:illegal" if is_illegal(text) else "s"
    if size * 4 > long and len(text.encode("utf-8", "surrogatepass")) > long:
        return "s:long-u"
    if "\0" in text:
        return "s:nul-u"
    return "s:illegal-u" if is_illegal(text) else "s:u"
