"""CORS as PostHog's capture service answers it (tower-http's ``CorsLayer`` as configured).

Browsers' SDKs send capture requests cross-origin; the fake must mirror the origin and the
requested headers and allow credentials, or a browser-side test fails where production works.
Upstream: ``rust/capture/src/router.rs`` (PostHog/posthog) configures the layer around the whole
router; ``tower-http/src/cors/mod.rs`` (tower-rs/tower-http) says what it sends.
"""

from __future__ import annotations

__all__ = ["cors_headers"]

_VARY = "origin, access-control-request-method, access-control-request-headers"


def cors_headers(
    method: str, origin: str | None, asked: str | None, methods: str = "GET,POST,OPTIONS"
) -> list[tuple[str, str]]:
    """The headers capture's CorsLayer adds to every answer: credentials allowed and ``Vary``
    always, the ``origin`` mirrored when there is one; on OPTIONS also the methods and the
    mirrored request headers (``asked``: the request's ``Access-Control-Request-Headers``);
    ``methods`` is the layer's ``allow_methods`` (capture's legacy layer unless told).
    (tower-http sends ``Allow-Credentials`` and ``Vary`` whether or not the request has an
    ``Origin``.)"""
    headers = [("Access-Control-Allow-Credentials", "true"), ("Vary", _VARY)]
    if method == "OPTIONS":
        headers.append(("Access-Control-Allow-Methods", methods))
        if asked:
            headers.append(("Access-Control-Allow-Headers", asked))
    if origin is not None:
        headers.append(("Access-Control-Allow-Origin", origin))
    return headers
