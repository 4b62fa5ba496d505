"""The headers every v1 answer carries, as the v1 router's middleware adds them.

``v1_common_headers`` (PostHog/posthog ``rust/capture/src/v1/middleware.rs``) wraps every v1
route, so it reaches the handler's answers, its refusals and axum's 405 alike (not the CORS
preflight: the v1 ``CorsLayer`` sits outside it, ``rust/capture/src/v1/router.rs``). It sets
``Date`` to the time the request was *received*, in chrono's ``to_rfc2822`` form
(``Mon, 07 Dec 2026 02:34:43 +0000``, not HTTP's ``GMT`` form), and echoes the request's
``PostHog-Request-Id`` byte for byte, valid or not, when there is one.

``Retry-After`` is set upstream only on a rate-limited refusal (``v1/error.rs``) or a 200 with a
``retry`` result (``v1/analytics/response.rs``), neither of which the fake produces; the
``Accept``/``Accept-Encoding`` that one version of ``error.rs`` put on refusals is gone from the
newest middleware's contract (its test says they "should not be on responses"), so neither is
sent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from email.utils import format_datetime

from .answer import Answer
from .exchange import Incoming
from .route_cors import V1_CORS_METHODS

__all__ = ["V1_ALLOW", "rfc2822", "with_v1_headers"]

V1_ALLOW = "POST"
"""axum's ``Allow`` for a route with only ``post(handle_request)`` (``v1/analytics/router.rs``:
no ``options`` handler, no GET, so no HEAD)."""

_REQUEST_ID = "PostHog-Request-Id"


def rfc2822(moment: datetime) -> str:
    """chrono's ``DateTime<Utc>::to_rfc2822``: zero-padded day, whole seconds, ``+0000``."""
    if moment.tzinfo is None:  # a pinned clock's naive time is UTC, as everywhere in the fake
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0))


def with_v1_headers(answer: Answer, incoming: Incoming, received_at: datetime) -> Answer:
    """``answer`` as ``v1_common_headers`` and the v1 ``CorsLayer`` leave it."""
    extra = [("Date", rfc2822(received_at))]
    request_id = incoming.header(_REQUEST_ID)
    if request_id is not None:
        extra.append((_REQUEST_ID, request_id))
    return replace(answer, headers=answer.headers + tuple(extra), cors_methods=V1_CORS_METHODS)
