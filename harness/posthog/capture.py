"""PostHog's capture pipeline for one request: decode, shape and token, checks, the verdict.

Pure (no state is touched): :class:`.app.CaptureApp` runs it outside its lock and ingests what
the returned :class:`.answer.Answer` accepted. It owns no rule of its own: :mod:`.wire` turns
bytes into JSON and :mod:`.batch` JSON into events the way capture does,
:func:`.checker.refusals` (the payload checker's rules, from capture's own contract
``event.json``, so the two cannot drift) finds what PostHog refuses, and :mod:`.rejection` picks
the refusal capture would answer first. Nothing here depends on the clock: capture refuses no
timestamp, ingestion corrects them later.
"""

from __future__ import annotations

from ..contract import limit as contract_limit
from .answer import JSON, OK_BODY, Answer
from .batch import Batch, classify, effective_sent_at
from .checker import event_refusals, refusals, size_bound
from .exchange import Incoming, UnreadableBody
from .journal import preview
from .rejection import rejection
from .wire import WireError, decode

__all__ = ["capture"]

_EVENT_SLACK = 64
"""Bytes an event can gain when classify re-serialises it: ``"uuid":null,`` (12),
``"properties":{}`` (15), four hyphens of a canonical uuid, ``"event":"$identify",`` (20)."""


def capture(incoming: Incoming, keys: frozenset[str] | None) -> Answer:
    """PostHog's answer to one capture request, with the events to ingest when it is 200.

    ``keys`` is enforce mode's set of known project keys (``None``: any well-formed key)."""
    path = incoming.path
    try:
        body = incoming.body(contract_limit("request_max_bytes"))  # read before answering 413
    except UnreadableBody as exc:  # the client's framing, not the server, is at fault: a 400
        return Answer(400, str(exc), payload=preview(exc.partial))
    try:
        decoded = decode(incoming.method, path, incoming.args(), dict(incoming.headers), body)
    except WireError as exc:
        return Answer(exc.status, exc.body, payload=preview(body))
    try:
        batch: Batch | None = classify(decoded.payload, path)
        shape_error: WireError | None = None
    except WireError as exc:
        if exc.status != 401:
            return Answer(exc.status, exc.body, payload=decoded.text, decoded=True)
        batch, shape_error = None, exc
    # An uncompressed body bounds the JSON it holds (base64 and forms only add), unless it
    # has exponent numbers (see size_bound).
    size = size_bound(body, len(body)) if decoded.compression == "none" else None
    if batch is None:
        # The key was refused, so no events were read: serde's refusals for any event of
        # the body still come first, so the body itself is judged.
        findings = refusals(decoded.payload, endpoint=path, size=size)
    else:
        # Every event as capture read it (RawEvent), $performance_event ones included, since
        # serde reads them before they are dropped; rejection() skips their later checks.
        bound = size + _EVENT_SLACK * len(batch.read) if size is not None else None
        findings = event_refusals(batch.read, size=bound)
    refusal = rejection(findings, batch, shape_error, keys)
    if refusal is not None:
        status, text = refusal
        return Answer(status, text, payload=decoded.text, decoded=True)
    assert batch is not None
    return Answer(
        204 if decoded.beacon else 200,
        "" if decoded.beacon else OK_BODY,
        JSON,
        events=batch.events,
        token=batch.token,
        sent_at=effective_sent_at(decoded, batch),
        payload=decoded.text,
        decoded=True,
    )
