"""CleverTap's size limits and accepted formats (A3).

A leaf module on purpose: specs, the regex sampler and the value kinds all enforce these limits,
and spec validation needs the regex sampler, so the limits cannot live with the specs without an
import cycle.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "E164_RE",
    "EMAIL_RE",
    "MAX_KEY_CHARS",
    "MAX_LIST_ITEMS",
    "MAX_PATH_DEPTH",
    "MAX_VALUE_CHARS",
]

MAX_VALUE_CHARS: Final = 512
"""CleverTap's limit for a scalar property value and for each multi-value item (A3)."""
MAX_KEY_CHARS: Final = 120
"""CleverTap's limit for a custom property key (A3)."""
MAX_LIST_ITEMS: Final = 100
"""CleverTap keeps at most 100 items in a multi-value property (A3)."""
MAX_PATH_DEPTH: Final = 16
"""The deepest read (keys and indexes after ``Profile``/``Event``) that profiles are generated
for. CleverTap's profile properties are flat (a scalar or a list of strings) and its deepest
event data is a few levels (``Event.Items[0].Category``), so nothing CleverTap holds sits past
this; a deeper read always renders blank there, as it does here. Every step of planning,
generation and shrinking nests once per level (Hypothesis's strategies too), so the cap also
keeps a 200-segment path from exhausting the recursion limit."""

EMAIL_RE: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
E164_RE: Final = re.compile(r"\+[1-9][0-9]{6,14}")
