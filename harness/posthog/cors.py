"""CORS as PostHog's capture service answers it (tower-http's ``CorsLayer`` as configured).

Browsers' SDKs send capture requests cross-origin; the fake must mirror the origin and the
requested headers and allow credentials, or a browser-side test fails where production works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .exchange import Incoming

__all__ = ["cors_headers"]

_VARY = "origin, access-control-request-method, access-control-request-headers"


def cors_headers(incoming: Incoming) -> list[tuple[str, str]]:
    """The CORS headers for this request (none without an ``Origin``): origin and headers
    mirrored, credentials allowed, GET/POST/OPTIONS."""
    origin = incoming.header("Origin")
    if origin is None:
        return []
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true"),
    ]
    if incoming.method == "OPTIONS":
        headers.append(("Access-Control-Allow-Methods", "GET,POST,OPTIONS"))
        asked = incoming.header("Access-Control-Request-Headers")
        if asked:
            headers.append(("Access-Control-Allow-Headers", asked))
    headers.append(("Vary", _VARY))
    return headers
