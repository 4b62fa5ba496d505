"""Which one refusal PostHog answers when a request has several things wrong with it.

The checker (:func:`.checker.check`) reports *every* finding, each with the ``(status, body)``
capture would answer if it were the only problem; :func:`.batch.classify` resolves the token
the way capture does. Capture stops at the first refusal in its own order, so this module
ranks them: request parsing, then the key, then enforce mode, then each event in turn (in
``process_single_event``'s order within one event), then the per-event size check at the
Kafka send (research §3-§6).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..findings import Finding
from .answer import INVALID_KEY
from .batch import Batch
from .wire import WireError

__all__ = ["ENFORCE_BODY", "rejection"]

ENFORCE_BODY = INVALID_KEY.format("not a known project API key")
"""Upstream (``known_tokens.rs``, enforce mode) is only pinned by a test asserting the body
contains "project API key"; the rest of the wording is ours."""

_EVENT_CHECK_ORDER = (
    "event submitted with an empty event name",
    "event submitted without a distinct_id",
    "event submitted with invalid cookieless mode",
)
"""``process_single_event``'s order within one event."""


def _phase(rejection: tuple[int, str]) -> int:
    """PostHog's order of refusals: request parsing, then the key, then each event in turn,
    then the size check at the Kafka send (research §3-§6)."""
    status, body = rejection
    if body.startswith(("failed to", "request ")):
        return 0
    if status == 401:
        return 1
    return 3 if status == 413 else 2


def _event_index(pointer: str) -> int:
    """Which event a finding points into: ``/3/…`` or ``/batch/3/…``; ``""`` is event 0."""
    parts = pointer.split("/")
    if len(parts) > 2 and parts[1] == "batch" and parts[2].isdigit():
        return int(parts[2])
    if len(parts) > 1 and parts[1].isdigit():
        return int(parts[1])
    return 0


def rejection(
    findings: Sequence[Finding],
    batch: Batch | None,
    shape_error: WireError | None,
    keys: frozenset[str] | None,
) -> tuple[int, str] | None:
    """The one ``(status, body)`` PostHog answers, or ``None`` for 200.

    Parse-level refusals come first whatever else is wrong (serde fails before any token is
    looked at); then the key, whose verdict is :func:`.batch.classify`'s (it resolved the
    token the way capture does); then enforce mode; then per-event refusals in event order;
    then the per-event size check. Events capture filters out (``$performance_event``) are
    not checked after parsing.
    """
    ranked = [f for f in findings if f.rejection is not None]
    parse = [f.rejection for f in ranked if f.rejection is not None and _phase(f.rejection) == 0]
    if parse:
        return parse[0]
    if shape_error is not None:
        return shape_error.status, shape_error.body
    assert batch is not None
    if not batch.events:
        return None  # every event was a $performance_event: 200, nothing checked
    if keys is not None and batch.token not in keys:
        return 401, ENFORCE_BODY
    later: list[tuple[int, int, int, tuple[int, str]]] = []
    for order, item in enumerate(ranked):
        refusal = item.rejection
        assert refusal is not None
        phase = _phase(refusal)
        if phase < 2:
            continue  # 401s: classify already resolved and validated the token
        index = _event_index(item.pointer)
        if index in batch.skipped:
            continue
        rank = (
            _EVENT_CHECK_ORDER.index(refusal[1])
            if refusal[1] in _EVENT_CHECK_ORDER
            else len(_EVENT_CHECK_ORDER) + order
        )
        later.append((phase, index, rank, refusal))
    return min(later)[3] if later else None
