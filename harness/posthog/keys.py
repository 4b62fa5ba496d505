"""Project keys: where PostHog finds one, and what it refuses.

Capture resolves one token per request (``rust/capture/src/utils.rs``, ``token.rs``): a batch's own
``token``/``api_key`` first, else each event's ``token``/``$token``/``api_key``, else
``properties.token`` when it is a string. The shape check runs on the trimmed value in a fixed
order, and its reason is what the 401 body names. Placeholder detection is ours: PostHog accepts
``<ph_project_api_key>`` and silently drops the events later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..contract import limit as contract_limit

__all__ = ["TOKEN_KEYS", "event_token", "is_placeholder", "token_problem", "trimmed"]

# RawEvent.token and its serde aliases, in capture's order of preference.
TOKEN_KEYS = ("token", "$token", "api_key")

_PLACEHOLDER = re.compile(
    r"""<.*>|\{\{|\}\}|\[.*\]|^your[_\- ]|project[_\- ]?api[_\- ]?key|api[_\- ]?key[_\- ]?here
    |^phc_(x{3,}|\.{3}|\*{3,}|your|test|key|example|placeholder|0{8,})|^(test|key|token|xxx+|changeme)$""",
    re.IGNORECASE | re.VERBOSE,
)


def event_token(event: Mapping[str, Any]) -> tuple[str, Any] | None:
    """``(json pointer, token)`` of the key one event carries: aliases first, then a string
    ``properties.token``; ``None`` when it carries none."""
    for key in TOKEN_KEYS:
        value = event.get(key)
        if value is not None:
            return "/" + key, value
    props = event.get("properties")
    if isinstance(props, Mapping):
        token = props.get("token")
        if isinstance(token, str):
            return "/properties/token", token
    return None


# Rust's `str::trim` removes Unicode White_Space; Python's `str.strip()` also removes
# U+001C-U+001F, which PostHog keeps (and then accepts).
RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def trimmed(token: str) -> str:
    """The key as capture goes on with it (``token.rs``: ``trim()``)."""
    return token.strip(RUST_WHITESPACE)


def token_problem(token: str) -> str | None:
    """PostHog's ``validate_token`` reason for a key it refuses with 401, else ``None``."""
    trimmed_token = trimmed(token)
    if not trimmed_token:
        return "empty"
    if len(trimmed_token.encode("utf-8")) > contract_limit("key_max_bytes"):
        return "too_long"
    if not trimmed_token.isascii():
        return "not_ascii"
    if trimmed_token.startswith("phx_"):
        return "personal_api_key"
    if "\0" in trimmed_token:
        return "null_byte"
    return None


def is_placeholder(token: str) -> bool:
    """True for keys that are obviously not a real project key (template text, ``YOUR_KEY``)."""
    inner = trimmed(token)
    return bool(_PLACEHOLDER.search(inner)) or any(c.isspace() for c in inner)
