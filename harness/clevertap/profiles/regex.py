"""Strings matching a ``pattern`` property's regex, without Hypothesis.

Spec validation and the ``pattern`` value kind need a handful of matching strings; walking the sre
parse tree produces them deterministically and far more cheaply than ``st.from_regex``.
"""

from __future__ import annotations

import importlib
import random
import re
import string
import sys
from functools import lru_cache
from typing import Any, Final

from .limits import MAX_VALUE_CHARS
from .pools import _derive

_REGEX_ALPHABET: Final = string.ascii_letters + string.digits + string.punctuation + " "
_REPEAT_SLACK: Final = 6


class _RegexUnsupported(Exception):
    pass


@lru_cache(maxsize=64)
def _regex_tree(pattern: str) -> Any:
    """The sre parse tree; ``re._parser`` is private but stable enough to walk, and far cheaper
    than importing Hypothesis just to produce a handful of matching strings."""
    name = "re._parser" if sys.version_info >= (3, 11) else "sre_parse"
    return importlib.import_module(name).parse(pattern)


def _in_class(items: Any, ch: str) -> bool:
    negate = False
    hit = False
    for op, av in items:
        kind = str(op)
        if kind == "NEGATE":
            negate = True
        elif kind == "LITERAL":
            hit = hit or ch == chr(av)
        elif kind == "RANGE":
            hit = hit or av[0] <= ord(ch) <= av[1]
        elif kind == "CATEGORY":
            cat = str(av)
            if cat.endswith("_DIGIT"):
                ok = ch.isdigit()
            elif cat.endswith("_SPACE"):
                ok = ch.isspace()
            elif cat.endswith("_WORD"):
                ok = ch.isalnum() or ch == "_"
            else:
                raise _RegexUnsupported(cat)
            hit = hit or (ok != ("_NOT_" in cat))
        else:
            raise _RegexUnsupported(kind)
    return hit != negate


def _emit_regex(
    items: Any, rng: random.Random, mode: str, out: list[str], groups: dict[int, str]
) -> None:
    for op, av in items:
        kind = str(op)
        if kind == "LITERAL":
            out.append(chr(av))
        elif kind == "NOT_LITERAL":
            out.append(rng.choice([c for c in _REGEX_ALPHABET if c != chr(av)]))
        elif kind == "ANY":
            out.append("a" if mode == "min" else rng.choice(_REGEX_ALPHABET))
        elif kind == "IN":
            simple = all(str(o) in ("LITERAL", "RANGE") for o, _ in av)
            if simple:
                o, a = av[0] if mode == "min" else rng.choice(av)
                lo, hi = (a, a) if str(o) == "LITERAL" else a
                out.append(chr(lo if mode == "min" else rng.randint(lo, hi)))
            else:
                allowed = [c for c in _REGEX_ALPHABET if _in_class(av, c)]
                if not allowed:
                    raise _RegexUnsupported("empty class")
                out.append(allowed[0] if mode == "min" else rng.choice(allowed))
        elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            hi = min(hi, lo + _REPEAT_SLACK)
            count = lo if mode == "min" else hi if mode == "max" else rng.randint(lo, hi)
            for _ in range(count):
                _emit_regex(sub, rng, mode, out, groups)
        elif kind == "SUBPATTERN":
            group, sub = av[0], av[-1]
            start = len(out)
            _emit_regex(sub, rng, mode, out, groups)
            if group:
                groups[group] = "".join(out[start:])
        elif kind == "ATOMIC_GROUP":
            _emit_regex(av, rng, mode, out, groups)
        elif kind == "BRANCH":
            alts = av[1]
            alt = alts[0] if mode == "min" else alts[-1] if mode == "max" else rng.choice(alts)
            _emit_regex(alt, rng, mode, out, groups)
        elif kind == "GROUPREF":
            out.append(groups.get(av, ""))
        elif kind == "GROUPREF_EXISTS":
            group, yes, no = av
            branch = yes if group in groups else no
            if branch is not None:
                _emit_regex(branch, rng, mode, out, groups)
        elif kind in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        else:
            raise _RegexUnsupported(kind)


def _regex_sample(pattern: str, rng: random.Random, mode: str) -> str | None:
    """One string fully matching ``pattern`` (shortest for ``mode="min"``), or None."""
    try:
        tree = _regex_tree(pattern)
        for attempt in range(20):
            out: list[str] = []
            _emit_regex(tree, rng, mode if attempt == 0 else "random", out, {})
            text = "".join(out)
            if len(text) <= MAX_VALUE_CHARS and re.fullmatch(pattern, text):
                return text
    except (_RegexUnsupported, RecursionError, TypeError, ValueError):
        return None
    return None


@lru_cache(maxsize=256)
def _pattern_edges(pattern: str) -> tuple[tuple[str, str], ...]:
    """Deterministic edge values for a pattern: its shortest and longest generated match."""
    rng = random.Random(_derive(0, "pattern-edges", pattern))
    out: list[tuple[str, str]] = []
    for label, mode in (("shortest", "min"), ("longest", "max")):
        text = _regex_sample(pattern, rng, mode)
        if text is not None and text not in [v for _, v in out]:
            out.append((label, text))
    return tuple(out)
