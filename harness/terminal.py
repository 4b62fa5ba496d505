"""What the terminal ``ctph`` writes to can show, decided once at the edge.

The text report is pure (:func:`ctph_harness.reports.text.to_text` takes a
:class:`~ctph_harness.reports.text.TextStyle`); this module looks at the real stream and the
environment: colour only on a terminal (or when ``FORCE_COLOR`` asks), never with ``NO_COLOR``
(https://no-color.org) or ``TERM=dumb``; the report's marks in ASCII when the stream's encoding
cannot hold them (a cp1252 pipe on a Windows runner, ``PYTHONIOENCODING=ascii``). And whatever a
template brings that the encoding cannot hold is written escaped rather than raising.
"""

from __future__ import annotations

import codecs
import contextlib
import os
from collections.abc import Mapping
from typing import TextIO

from .reports.text import TextStyle

__all__ = ["protect", "style_for"]

_MARKS = "✗·…"


def _can_encode(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None)
    if not encoding:  # io.StringIO and friends hold str, not bytes
        return True
    try:
        codecs.lookup(encoding)
        text.encode(encoding)
    except (LookupError, UnicodeError):
        return False
    return True


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed, detached or not a real file
        return False


def style_for(stream: TextIO, environ: Mapping[str, str] | None = None) -> TextStyle:
    """The style for the text report on ``stream``. ``NO_COLOR`` (any non-empty value) wins
    over ``FORCE_COLOR``, as the two conventions and pytest agree; ``FORCE_COLOR=0`` or empty
    forces nothing."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        colour = False
    elif env.get("FORCE_COLOR", "") not in ("", "0"):
        colour = True
    else:
        colour = _isatty(stream) and env.get("TERM") != "dumb"
    return TextStyle(unicode=_can_encode(stream, _MARKS), colour=colour)


def protect(stream: TextIO) -> None:
    """Make ``stream`` write what its encoding cannot hold as escapes (``\\u2713``) instead of
    raising ``UnicodeEncodeError`` mid-report. Streams that cannot be reconfigured (already
    wrapped, or not a text file) are left as they are."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is None:
        return
    with contextlib.suppress(ValueError, OSError, TypeError):  # a detached or odd stream
        reconfigure(errors="backslashreplace")
