"""Which paths each of the fake's routes answers, apart from the code that answers them.

The app needs every path to route a request, but a run of ``ctph verify`` or a pytest session
that only captures never needs the AI, replay, v1, flags or inspection handlers; keeping their
paths here lets :mod:`.app` import a handler the first time its route is asked for (a tenth of
``ctph verify``'s start-up went to importing routes it never used). Each handler module
re-exports its own paths from here.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "AI_BATCH_PATHS",
    "AI_PATHS",
    "FLAGS_PATHS",
    "INSPECTION_PREFIX",
    "OTEL_PATHS",
    "RECORDING_PATHS",
    "STREAM_PATH",
    "UI_PATH",
    "V1_PATHS",
    "is_remote_route",
]

# LLM analytics: rust/capture/tests/integration_ai_route_surface.rs
AI_BATCH_PATHS: Final = frozenset({"/i/v0/ai/batch", "/i/v0/ai/batch/"})
AI_PATHS: Final = frozenset({"/i/v0/ai", "/i/v0/ai/"})
OTEL_PATHS: Final = frozenset({"/i/v0/ai/otel", "/i/v0/ai/otel/"})

RECORDING_PATHS: Final = frozenset({"/s", "/s/"})
"""Session replay (router.rs: ``post(recording).get(recording)``)."""

V1_PATHS: Final = frozenset({"/i/v1/analytics/events", "/i/v1/analytics/events/"})
"""``v1/analytics/constants.rs`` ``CAPTURE_V1_PATH`` and its trailing-slash twin (POST only).
``/i/v1/ai/events`` is served only by capture's AI deployment (``CaptureMode::Ai``), so not
here."""

FLAGS_PATHS: Final = frozenset({"/flags", "/flags/", "/decide", "/decide/"})
_CONFIG: Final = re.compile(r"/array/([^/]*)/(config|config\.js)")

INSPECTION_PREFIX: Final = "/_ctph/"
STREAM_PATH: Final = "/_ctph/stream"
"""The inspector's Server-Sent Events stream (:mod:`.live`), answered outside the journal."""
UI_PATH: Final = "/_ctph/ui"
"""The inspector's static page (:mod:`.ui_static`), answered outside the journal."""


def is_remote_route(path: str) -> bool:
    """Whether ``path`` is a remote-config or flags route (:mod:`.remote_config`)."""
    return path in FLAGS_PATHS or _CONFIG.fullmatch(path) is not None


def config_token(path: str) -> re.Match[str] | None:
    """``/array/<token>/config(.js)`` parsed, or ``None``."""
    return _CONFIG.fullmatch(path)
