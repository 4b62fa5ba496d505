"""``GET /_ctph/ui/...``: the inspector's static page, served from the package folder
``ctph_harness/posthog/ui/`` (package data: plain HTML, CSS and JavaScript, no build step and
nothing fetched at run time).

Why it looks as it does:

* **Only names in the folder**: the requested name must be one of the folder's own file names
  (listed through :mod:`importlib.resources`, so it works from a wheel or a zip too); nothing
  is joined onto a path, so ``..``, encoded slashes or absolute paths cannot reach anything
  else.
* **A strict Content-Security-Policy** on every file (:data:`SECURITY_HEADERS`): scripts and
  styles only from the page's own origin, no inline script, no framing; together with the UI
  writing request values as text this keeps an event named ``<img onerror=...>`` inert.
* Bytes, not text: the answer is written outside :class:`.answer.Answer` (whose body is text)
  and is not journalled: loading the page is not traffic the user sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.abc import Traversable  # importlib.resources.abc from 3.11 only

from .routes import UI_PATH

__all__ = [
    "CONTENT_TYPES",
    "CSP",
    "SECURITY_HEADERS",
    "UI_PATH",
    "StaticFile",
    "static_file",
]

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
NO_PAGE = (
    "ctph: the inspector's page is not installed (no index.html in ctph_harness/posthog/ui/); "
    "the JSON API under /_ctph/ works without it"
)


@dataclass(frozen=True)
class StaticFile:
    """One answer: status, content type, extra headers, bytes."""

    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def static_file(path: str) -> StaticFile:
    """The answer to ``GET`` of ``path`` (which starts with :data:`UI_PATH`)."""
    rest = path.removeprefix(UI_PATH)
    if rest == "":  # /_ctph/ui -> /_ctph/ui/ (relative links in the page need the slash)
        return StaticFile(308, "text/plain; charset=utf-8", (("Location", UI_PATH + "/"),), b"")
    name = rest.removeprefix("/") or "index.html"
    names = _names()
    if name not in names:
        text = NO_PAGE if name == "index.html" else f"ctph: no file {name[:80]!r} in the inspector"
        return StaticFile(404, "text/plain; charset=utf-8", SECURITY_HEADERS, text.encode())
    suffix = "." + name.rpartition(".")[2] if "." in name else ""
    kind = CONTENT_TYPES.get(suffix.lower(), "application/octet-stream")
    return StaticFile(200, kind, (*SECURITY_HEADERS, ("Cache-Control", "no-cache")), _read(name))


def _folder() -> Traversable:
    """The UI folder inside the installed package (a wheel, a zip or the source tree)."""
    return files("ctph_harness.posthog").joinpath("ui")


def _names() -> frozenset[str]:
    """The file names the UI folder holds now (a folder that is missing holds none)."""
    try:
        return frozenset(
            item.name
            for item in _folder().iterdir()
            if item.is_file() and not item.name.startswith((".", "_"))
        )
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()


def _read(name: str) -> bytes:
    return _folder().joinpath(name).read_bytes()
