"""Masking of PostHog keys, used by every message, report and journal entry.

A project key (``phc_``) is half-public, so enough is kept to tell two keys apart
(``phc_Tq7…2xZ4a``). A personal key (``phx_``) is a secret: only its last four characters stay.
"""

from __future__ import annotations

import re

__all__ = ["PERSONAL_KEY", "printable", "redact", "redact_text"]

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


def redact_text(text: str) -> str:
    """Mask every PostHog-looking key inside free text (request bodies, headers, messages)."""
    return _KEYLIKE.sub(lambda m: redact(m.group(0)), text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """Everything shown to a user passes through here: keys masked, and lone UTF-16 surrogates
    (half an emoji, which CleverTap profiles can hold) written as ``\\udXXX`` so the text can be
    encoded at all."""
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", redact_text(text))
