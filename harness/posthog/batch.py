"""The events one capture request carries: its body shape, its events as capture forwards them,
and its project token.

The second half of capture's request pipeline, after :func:`.wire.decode` has turned the bytes
into JSON (research/posthog-capture.md §2-§3). It mirrors:

* ``PostHog/posthog rust/capture/src/v0_request.rs``: the four body shapes (``RawRequest``),
  ``events(path)`` (engage hydration, empty batch, ``$performance_event`` filter), batch
  ``sent_at``;
* ``rust/capture/src/utils.rs`` ``extract_and_verify_token`` and ``token.rs``
  ``validate_token``;
* ``rust/common/types/src/event.rs``: ``RawEvent`` re-serialised (:func:`.serde.raw_event`),
  ``extract_token``.

Kept apart from :mod:`.wire` because it works on JSON, not bytes: the delivery check reads
documents it already holds through :func:`classify` alone. Refusals are
:class:`.wire.WireError` with PostHog's exact ``(status, body)``; per-event field validation
is the shared checker's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .answer import INVALID_KEY, MIXED_KEYS, NO_EVENT, NO_KEY, NO_VARIANT, NOT_ENGAGE
from .keys import event_token, token_problem, trimmed
from .serde import BATCH_TOKEN_KEYS, PERFORMANCE_EVENT, raw_event, variant
from .timestamps import parse_sent_at
from .wire import WireError

if TYPE_CHECKING:
    from .wire import Decoded

__all__ = ["Batch", "classify", "effective_sent_at", "validate_token"]


@dataclass(frozen=True)
class Batch:
    """The events of one request, re-serialised the way capture forwards them.

    ``events`` are dicts holding only ``RawEvent``'s keys (``token``, ``distinct_id``, ``uuid``,
    ``event``, ``properties``, ``timestamp``, ``offset``, ``$set``, ``$set_once``): capture
    re-serialises the struct, so unknown top-level keys such as ``type`` or ``library`` vanish.
    ``uuid`` is always present (``None`` when absent or empty) because ``RawEvent`` serialises it
    without ``skip_serializing_if``. ``token`` is the validated, trimmed project token; it is
    ``None`` only when every event was a ``$performance_event`` (PostHog then answers 200 before
    looking at tokens). ``read`` is every event as capture read it, before that filter, with its
    JSON pointer in the request body (what serde and then process_single_event judge);
    ``skipped`` holds the indexes of the ``$performance_event`` events left out of ``events``.
    """

    shape: str
    events: tuple[dict[str, Any], ...]
    token: str | None
    historical_migration: bool = False
    sent_at: datetime | None = None
    read: tuple[tuple[str, dict[str, Any]], ...] = ()
    skipped: frozenset[int] = frozenset()

    @property
    def filtered(self) -> int:
        """How many ``$performance_event`` events capture dropped."""
        return len(self.skipped)


def classify(payload: Any, path: str) -> Batch:
    """Sort parsed JSON into PostHog's four body shapes and resolve the project token.

    The shapes are tried in ``RawRequest``'s order (array, batch object, single event, engage);
    an object without a string ``event`` (or one that names a field twice, see
    :mod:`.serde`) is an engage payload, accepted only on ``/engage*`` paths, where its name
    becomes ``$identify``. Then, as ``events(path)`` and
    ``extract_and_verify_token`` do: an empty list is 400, ``$performance_event`` events are
    removed (all removed: a silent 200, so no token check), and the token comes from the batch
    object or from the events (see :func:`event_token`) and must pass :func:`validate_token`.
    """
    batch_token: str | None = None
    historical = False
    sent_at: datetime | None = None
    shape = variant(payload)
    if shape == "array":
        items, name = list(payload), None
    elif shape == "batch":
        items, name = list(payload["batch"]), None
        batch_token = next(payload[k] for k in BATCH_TOKEN_KEYS if k in payload)
        historical = payload.get("historical_migration") is True
        raw_sent = payload.get("sent_at")
        sent_at = parse_sent_at(raw_sent) if isinstance(raw_sent, str) else None
    elif shape == "one":
        items, name = [payload], None
    elif shape == "engage":
        if not path.startswith("/engage"):
            raise WireError(400, NOT_ENGAGE)
        items, name = [payload], "$identify"
    else:
        raise WireError(400, NO_VARIANT)

    if not items:
        raise WireError(400, NO_EVENT)
    events = [raw_event(item, name) for item in items]
    where = "/{}" if shape == "array" else "/batch/{}" if shape == "batch" else ""
    read = tuple((where.format(i), event) for i, event in enumerate(events))
    skipped = frozenset(i for i, event in enumerate(events) if event["event"] == PERFORMANCE_EVENT)
    kept = [event for i, event in enumerate(events) if i not in skipped]
    if not kept:
        return Batch(shape, (), None, historical, sent_at, read, skipped)

    if batch_token is not None:
        token = batch_token
    elif len(kept) == 1:
        single = _event_token(kept[0])
        if single is None:
            raise WireError(401, NO_KEY)
        token = single
    else:
        present = {t for t in (_event_token(event) for event in kept) if t is not None}
        if not present:
            raise WireError(401, NO_KEY)
        if len(present) > 1:
            raise WireError(401, MIXED_KEYS)
        token = present.pop()
    return Batch(shape, tuple(kept), validate_token(token), historical, sent_at, read, skipped)


def effective_sent_at(decoded: Decoded, batch: Batch) -> datetime | None:
    """analytics.rs: ``request.sent_at().or(query_params.sent_at())``: the body wins."""
    return batch.sent_at if batch.sent_at is not None else decoded.sent_at


def validate_token(token: str) -> str:
    """token.rs ``validate_token`` (rules in :mod:`.keys`): the trimmed token PostHog goes on
    with, or the 401 it answers."""
    reason = token_problem(token)
    if reason is not None:
        raise WireError(401, INVALID_KEY.format(reason))
    return trimmed(token)


def _event_token(event: Mapping[str, Any]) -> str | None:
    """The string token an event carries (``RawEvent::extract_token``), else ``None``."""
    found = event_token(event)
    return found[1] if found is not None and isinstance(found[1], str) else None
