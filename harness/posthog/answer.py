"""What the app decided to answer one request, before it is written out.

An :class:`Answer` carries both halves of the decision: the HTTP answer (status, body, content
type) and, for an accepted capture, what to ingest (events, token, ``sent_at``). Keeping them
together lets the app ingest and journal under one lock *before* the response is written, so
a client that saw 200 can assert at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "BAD_UTF8",
    "INVALID_KEY",
    "JSON",
    "MIXED_KEYS",
    "NOT_ENGAGE",
    "NO_EVENT",
    "NO_KEY",
    "NO_VARIANT",
    "OK_BODY",
    "TEXT",
    "Answer",
]

OK_BODY = '{"status":"Ok"}'
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"

# capture's refusal texts (rust/capture/src/api.rs CaptureError), shared by the checker, which
# predicts them, and the wire layer, which answers them
NO_VARIANT = "failed to parse request: data did not match any variant of untagged enum RawRequest"
BAD_UTF8 = "failed to decode request: invalid UTF8 in request payload"
NOT_ENGAGE = (
    "failed to hydrate events from request: non-engage request missing event name attribute"
)
NO_EVENT = "request holds no event"
NO_KEY = "event submitted without an api_key"
MIXED_KEYS = "batch submitted with inconsistent api_key values"
INVALID_KEY = "API key is not valid: {}"


@dataclass(frozen=True, slots=True)
class Answer:
    """One decision. ``kind`` is the journal's routing label (see :class:`.journal.JournalEntry`);
    an empty ``content_type`` sends no ``Content-Type`` (the CORS preflight's empty answer);
    ``payload`` is what the journal keeps as the body (the decoded JSON text when ``decoded``,
    else a text preview, else ``None``: the journal previews the raw body itself)."""

    status: int
    body: str
    content_type: str = TEXT
    kind: str = "capture"
    events: Sequence[dict[str, Any]] = ()
    token: str | None = None
    sent_at: datetime | None = None
    payload: str | None = None
    decoded: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    """Extra response headers after ``Content-Type``/``Content-Length`` (a 405's ``Allow``)."""
    cors_methods: str = "GET,POST,OPTIONS"
    """What the ``CorsLayer`` wrapping the route sends as ``Access-Control-Allow-Methods`` on a
    preflight: capture's legacy layer by default; v1 and the flags service have their own
    (:mod:`.route_cors`)."""
