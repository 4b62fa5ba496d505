"""Masking of PostHog keys, used by every message, report and journal entry.

A project key (``phc_``) is half-public, so enough is kept to tell two keys apart
(``phc_Tq7…2xZ4a``). A personal key (``phx_``) is a secret: only its last four characters stay.

A key is found wherever it stands in the text (glued to a word, after an escape or URL
encoding) and inside base64, as PostHog SDKs send payloads (``data=eyJ…``, posthog-js's
``compression=base64``): a base64 run whose decoded bytes hold a key is masked whole. Keys
inside compressed payloads (gzip, lz64) are not looked for; the fake server's journal shows
those bodies decoded.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote

__all__ = ["PERSONAL_KEY", "clipped", "escape_controls", "printable", "redact", "redact_text"]

# No word boundary before the prefix: a key glued to a word (`user_phc_…`), to an escape
# (`\\nphx_…`) or to URL encoding (`%3Dphx_…`) is still a key.
_KEY_TAIL = r"[A-Za-z0-9_\-]{6,}"
_KEYLIKE = re.compile(r"ph[cxs]_" + _KEY_TAIL)
PERSONAL_KEY = re.compile(r"phx_" + _KEY_TAIL)
"""A personal API key, as the redaction finds it: the checker reports one (CTPH103) wherever
it finds what every output would mask."""


def redact(key: str) -> str:
    """Mask one key; short or unrecognised values are masked entirely but their length hinted."""
    if key.startswith(("phx_", "phs_")):
        return f"{key[:4]}…{key[-4:]}" if len(key) > 12 else f"{key[:4]}…"
    if key.startswith("phc_") and len(key) >= 16:
        return f"{key[:7]}…{key[-5:]}"
    if len(key) >= 16:
        return f"{key[:3]}…{key[-3:]}"
    return "…" if key else ""


def _encoded_prefixes() -> re.Pattern[str]:
    """What a key prefix looks like inside base64, at each of the three byte alignments: the
    characters that only the prefix's bytes determine (``phx_`` at offset 0 is ``cGh4X``
    whatever surrounds it). Text holding none of them holds no base64-encoded key, so the
    costlier decode runs only on text that might."""
    shapes = set()
    for prefix in (b"phc_", b"phx_", b"phs_"):
        for offset in range(3):
            low = base64.b64encode(b"\x00" * offset + prefix + b"\x00" * 3).decode()
            high = base64.b64encode(b"\xff" * offset + prefix + b"\xff" * 3).decode()
            fixed = "".join(a if a == b else " " for a, b in zip(low, high, strict=True))
            shapes.add(max(fixed.split(), key=len))
    return re.compile("|".join(sorted(shapes)))


_ENCODED_PREFIX = _encoded_prefixes()
# A run of base64 (standard or URL-safe alphabet, ``+``, ``/`` and ``=`` possibly
# percent-encoded), long enough to hold a key: 3 bytes per 4 characters, prefix and 6 more.
_BASE64_RUN = re.compile(r"(?:[A-Za-z0-9+/_-]|%2[BbFf]){14,}(?:=|%3[Dd]){0,2}")


def redact_text(text: str) -> str:
    """Mask every PostHog-looking key inside free text (request bodies, headers, messages),
    plain or base64-encoded."""
    masked = _KEYLIKE.sub(lambda m: redact(m.group(0)), text)
    return _BASE64_RUN.sub(_mask_encoded, masked) if _ENCODED_PREFIX.search(masked) else masked


def _mask_encoded(match: re.Match[str]) -> str:
    """The run itself, or a note in its place when its base64 decodes to bytes holding a key."""
    run = match.group(0)
    decoded = _base64_text(unquote(run) if "%" in run else run)
    if decoded is None or not _KEYLIKE.search(decoded):
        return run
    return f"…(base64 holding a key, {len(run)} characters)"


def _base64_text(run: str) -> str | None:
    """The bytes a base64 run decodes to, as Latin-1 text (one character a byte, so a key's
    ASCII survives whatever surrounds it); ``None`` when it is not base64 after all."""
    body = run.rstrip("=").replace("-", "+").replace("_", "/")
    body = body[: len(body) - len(body) % 4] if len(body) % 4 == 1 else body
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("latin-1")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """Everything shown to a user passes through here: keys masked, and lone UTF-16 surrogates
    (half an emoji, which CleverTap profiles can hold) written as ``\\udXXX`` so the text can be
    encoded at all."""
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", redact_text(text))


def clipped(text: str, limit: int = 80) -> str:
    """A value a message echoes back (a query parameter's name or value): :func:`printable`,
    then cut to ``limit`` characters with ``…``. Masked before it is cut, so a key is never
    cut short of what masking recognises; the input is first cut to a few times ``limit`` so
    a huge value costs little."""
    shown = printable(text[: limit * 4])
    return shown if len(shown) <= limit and len(text) <= limit * 4 else shown[: limit - 1] + "…"


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str, keep: str = "") -> str:
    """C0 and C1 control characters written as ``\\xNN``, except those in ``keep``: from a
    template, a profile or a path they could move a terminal's cursor, recolour it, forge a
    line of a report or end a CI log command."""
    return _CONTROLS.sub(
        lambda m: m.group(0) if m.group(0) in keep else f"\\x{ord(m.group(0)):02x}", text
    )
