"""Which ``CorsLayer`` answers a path's preflight, and what it allows.

PostHog runs three CORS policies in front of the routes the fake serves, identical but for
``allow_methods`` (each mirrors the origin and the requested headers and allows credentials):

* capture's legacy layer, ``GET,POST,OPTIONS``, wraps the v0, status, AI and replay routes
  (PostHog/posthog ``rust/capture/src/router.rs``: applied *before* the v1 router is merged, so it
  stays scoped to them);
* the v1 router's own layer, ``POST,OPTIONS``, the outermost layer of ``/i/v1/analytics/events``
  (``rust/capture/src/v1/router.rs``: "v1 endpoints are POST-only; preflight is answered by the
  CORS layer");
* the flags service's layer, ``GET,POST,OPTIONS,HEAD``, around ``/flags``, ``/decide`` and the
  ``/array/<token>/config`` routes (``rust/feature-flags/src/router.rs``).

tower-http writes the list joined by commas, in the order given (``cors/allow_methods.rs``).
"""

from __future__ import annotations

from .routes import V1_PATHS, is_remote_route

__all__ = ["CAPTURE_CORS_METHODS", "FLAGS_CORS_METHODS", "V1_CORS_METHODS", "cors_methods"]

CAPTURE_CORS_METHODS = "GET,POST,OPTIONS"
V1_CORS_METHODS = "POST,OPTIONS"
FLAGS_CORS_METHODS = "GET,POST,OPTIONS,HEAD"


def cors_methods(path: str) -> str:
    """``Access-Control-Allow-Methods`` of the layer that answers ``path``'s preflight."""
    if path in V1_PATHS:
        return V1_CORS_METHODS
    if is_remote_route(path):
        return FLAGS_CORS_METHODS
    return CAPTURE_CORS_METHODS
