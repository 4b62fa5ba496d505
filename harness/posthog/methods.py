"""Which methods each capture route takes, and axum's answer to the others.

Capture is an axum router (PostHog/posthog ``rust/capture/src/router.rs``): the v0 routes are
``post(event).get(event).options(options)``, the status routes ``get(index)``, the AI route
``post(ai_handler).options(options)``, replay ``/s`` like the v0 routes. axum's method router
answers HEAD with the GET handler and no body (``Content-Length`` set before the body is
dropped), and any method a route lacks with ``405``, an empty body, no ``Content-Type`` and an
``Allow`` header listing the route's methods in the order they were added, ``GET`` bringing
``HEAD`` with it (axum ``routing/method_routing.rs`` ``append_allow_header``,
``routing/route.rs``). CORS preflights never get here: the ``CorsLayer`` answers every OPTIONS.
"""

from __future__ import annotations

from .answer import Answer

__all__ = [
    "AI_ALLOW",
    "CAPTURE_ALLOW",
    "FLAGS_ALLOW",
    "GET_METHODS",
    "STATUS_ALLOW",
    "not_allowed",
]

GET_METHODS = frozenset({"GET", "HEAD"})
"""What a ``get(...)`` route answers: HEAD runs the GET handler."""

CAPTURE_ALLOW = "POST,GET,HEAD,OPTIONS"
"""``post(..).get(..).options(..)``: the v0 capture routes and ``/s``."""

STATUS_ALLOW = "GET,HEAD"
"""``get(index)``: ``/``, ``/_readiness``, ``/_liveness``."""

AI_ALLOW = "POST,OPTIONS"
"""``post(ai_handler).options(..)``: ``/i/v0/ai``."""


FLAGS_ALLOW = "GET, POST, OPTIONS, HEAD"
"""``/flags`` and ``/decide`` are ``any(endpoint::flags)`` in the flags service
(``rust/feature-flags/src/router.rs``); the handler itself answers a method it does not take
with 405, no body and this ``allow`` (``rust/feature-flags/src/api/endpoint.rs``), spaces and
all."""


def not_allowed(allow: str) -> Answer:
    """axum's 405: empty body, no ``Content-Type``, the route's ``Allow``."""
    return Answer(405, "", "", kind="unexpected", headers=(("Allow", allow),))
