"""CTPH181: a template reads a profile property the account does not have.

Only meaningful when the settings list the account's properties completely
(``properties_complete = true``, which ``ctph infer --write`` sets): then a read of any other
``Profile`` key, not one of CleverTap's system properties either, is a typo or a property of
another account, and every profile renders it missing. The suggestion is the closest known
name, case-insensitively first (``Profile.email`` -> ``Email``), then by ``difflib``'s ratio
(``Profile.Emial`` -> ``Email``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from ..findings import Finding, finding
from .analysis import TemplateFacts
from .profiles.guess import STANDARD_FIELDS

__all__ = ["known_names", "suggestion", "unknown_property_findings"]


def known_names(declared: Iterable[str]) -> frozenset[str]:
    """The profile keys an account has: declared names (unqualified, or ``Profile.``-qualified;
    ``Event.`` ones are event properties) and CleverTap's system properties."""
    names = set(STANDARD_FIELDS)
    for name in declared:
        if name.startswith("Event."):
            continue
        names.add(name.removeprefix("Profile.").split(".")[0])
    return frozenset(names)


def suggestion(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` most likely means, or None."""
    by_lower = {k.lower(): k for k in sorted(known)}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def unknown_property_findings(facts: TemplateFacts, known: frozenset[str]) -> Iterator[Finding]:
    """One CTPH181 per read of an unknown ``Profile`` key, at the read's line and column."""
    for read in facts.reads:
        if read.root != "Profile" or len(read.segments) < 2:
            continue
        key = read.segments[1]
        if not isinstance(key, str) or key in known:
            continue
        close = suggestion(key, known)
        hint = f"; did you mean `Profile.{close}`?" if close else ""
        yield finding(
            "CTPH181",
            f"`{read.display}` at line {read.line} col {read.column} reads profile property "
            f"`{key}`, which the account does not have (its [properties] are complete){hint}",
            line=read.line,
            column=read.column,
        )
