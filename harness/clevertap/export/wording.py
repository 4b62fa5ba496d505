"""Error wording that quotes no input: parsers' own messages are reduced to their fixed part.

``json.JSONDecodeError.msg`` is a fixed phrase from the C scanner ("Expecting ',' delimiter"),
but the pure-Python scanner appends the offending escape (``Invalid \\escape: 'x'``), and the
full ``str()`` of the error carries positions only; anything after a colon is dropped here so
neither can ever carry a character of the input. (CPython Lib/json/decoder.py, py_scanstring.)
"""

from __future__ import annotations

import json

__all__ = ["json_error", "json_phrase"]


def json_phrase(error: json.JSONDecodeError) -> str:
    """The fixed phrase alone (a streamed document's line and column would be the chunk's)."""
    return error.msg.split(":", 1)[0].strip()


def json_error(error: json.JSONDecodeError) -> str:
    """The phrase and where, for text decoded whole (an NDJSON line)."""
    return f"{json_phrase(error)} (line {error.lineno}, column {error.colno})"
