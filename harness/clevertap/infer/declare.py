"""From counters to ``[properties]`` declarations, by the rules of issue 17.

PII-safe by construction: the only strings of the input that can reach a declaration are
property names and enum values seen on at least ``k`` distinct profiles (and a pattern's
literal prefix, only when at least 95 % of at least ``k`` values share it). Every other part of
a declaration is a type, a class-and-length shape, a count-free flag, or a bound rounded outward
to a 1-2-5 step past the real extreme, so no single profile's exact value is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ...errors import UsageError
from ..export.records import in_range
from ..profiles.limits import MAX_KEY_CHARS, MAX_LIST_ITEMS, MAX_VALUE_CHARS
from ..profiles.regex import pattern_problem
from ..profiles.spec import FORBIDDEN_KEY_CHARS, PropertySpec
from .accumulate import Accumulator, PropertyStats
from .shapes import personal_by_name

__all__ = ["DEFAULT_K", "Declaration", "Inference", "declare"]

DEFAULT_K: Final = 10
"""``--k``: an enum value (or a pattern's literal prefix) is written only when seen on at least
this many distinct profiles."""
_PREFIX_SHARE: Final = 0.95
_SHAPE_SHARE: Final = 0.5
"""Personal data by value shape: at least this share of a property's strings have the shape."""
_LENGTH_BUCKETS: Final = (8, 16, 32, 64, 128, 256, MAX_VALUE_CHARS)
_ITEM_BUCKETS: Final = (2, 5, 10, 20, 50, MAX_LIST_ITEMS)


@dataclass(frozen=True)
class Declaration:
    """One inferred ``[properties]`` entry: ``table`` is what the TOML holds for ``name``."""

    name: str
    table: Mapping[str, Any]
    personal: str | None = None
    held_back: int = 0


@dataclass(frozen=True)
class Inference:
    """What ``ctph infer`` learned: declarations in name order, warnings (names and counts
    only), and the counts of the closing summary."""

    profiles: int
    declarations: tuple[Declaration, ...] = ()
    warnings: tuple[str, ...] = ()
    held_back: int = field(default=0)
    personal: int = field(default=0)


def _nice_above(x: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten strictly above ``x`` (> 0)."""
    exponent = math.floor(math.log10(x))
    for step in (1, 2, 5, 10):
        candidate = step * 10.0**exponent
        if candidate > x:
            return candidate
    return 10.0 ** (exponent + 1) * 2  # pragma: no cover - float rounding only


def outward(lo: float, hi: float) -> tuple[float, float]:
    """``[lo, hi]`` widened to round bounds strictly beyond both extremes; a non-negative
    minimum becomes 0 (a natural floor, not a profile's value) and a non-positive maximum 0."""
    low = 0.0 if lo >= 0 else -_nice_above(-lo)
    high = 0.0 if hi < 0 else _nice_above(hi) if hi > 0 else 1.0
    return low, high


def _encodable(text: str) -> bool:
    """False for a string holding a lone surrogate (JSON's ``"\\ud800"``): it cannot be
    written as UTF-8, so TOML holding it is invalid and ``--write`` would fail."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bucket(n: int, buckets: tuple[int, ...]) -> int:
    return next((b for b in buckets if b > n), buckets[-1])


def _types(stats: PropertyStats) -> dict[str, int]:
    seen = {
        "string": stats.strings,
        "integer": stats.ints,
        "float": stats.floats,
        "boolean": stats.bools,
        "date": stats.dates,
        "list": stats.lists,
    }
    return {name: count for name, count in seen.items() if count}


def _group(shape: str) -> tuple[tuple[str, int], ...]:
    """``aa_999999`` -> (("a", 2), ("_", 1), ("9", 6)): runs of one class."""
    return tuple((m.group()[0], len(m.group())) for m in re.finditer(r"(.)\1*", shape))


_CLASS_RE: Final = {"9": "[0-9]", "a": "[a-z]", "A": "[A-Z]"}


def _run(classes: Mapping[str, str], cls: str, lo: int, hi: int) -> str:
    unit = classes.get(cls, "\\" + cls if cls in ".+" else cls)  # the separators of ID_CHARS
    if lo == hi:
        return unit if lo == 1 else f"{unit}{{{lo}}}"
    return f"{unit}{{{lo},{hi}}}"


def _uuid_pattern(classes: str) -> str:
    """A UUID v4 pattern in the letter case the values had (``shapes.UUID4_RE`` recognises
    either, so upper-case ids must not get a lower-case pattern they fail)."""
    letters = ("a-f" if "a" in classes else "") + ("A-F" if "A" in classes else "")
    variant = ("ab" if "a" in classes else "") + ("AB" if "A" in classes else "")
    hexes = f"[0-9{letters}]"
    return f"^{hexes}{{8}}-{hexes}{{4}}-4{hexes}{{3}}-[89{variant}]{hexes}{{3}}-{hexes}{{12}}$"


def _pattern(stats: PropertyStats, k: int) -> str | None:
    """An id pattern from the values' shapes, or None when they have no common one."""
    if not stats.idlike or stats.strings < k or "9" not in stats.classes:
        return None  # letters only: a word or a code, not an id
    if stats.uuid4:
        return _uuid_pattern(stats.classes)
    if stats.shapes:
        exact = _from_shapes(stats.shapes, stats, k, _CLASS_RE)
        if exact is not None:
            return exact
    if stats.hex and stats.folded is not None and len(stats.folded) == 1:
        return f"^[0-9a-f]{{{len(next(iter(stats.folded)))}}}$"
    if stats.folded:
        union = "".join(_CLASS_RE[c][1:-1] for c in "9aA" if c in stats.classes)
        return _from_shapes(dict.fromkeys(stats.folded, 1), stats, k, {"x": f"[{union}]"})
    return None


def _from_shapes(
    shapes: Mapping[str, int], stats: PropertyStats, k: int, classes: Mapping[str, str]
) -> str | None:
    """One pattern for shapes with the same runs of classes (lengths may differ), else None."""
    groups: dict[tuple[str, ...], list[tuple[tuple[str, int], ...]]] = {}
    for shape in shapes:
        runs = _group(shape)
        groups.setdefault(tuple(cls for cls, _ in runs), []).append(runs)
    if len(groups) != 1:
        return None
    ((kinds, members),) = groups.items()
    parts = [
        _run(classes, cls, min(m[i][1] for m in members), max(m[i][1] for m in members))
        for i, cls in enumerate(kinds)
    ]
    prefix = _prefix(stats, k)
    leading = {m[0][1] for m in members}
    if prefix is not None and kinds[0] in "aAx" and leading == {len(prefix)}:
        parts[0] = prefix  # letters only: nothing to escape
    return "^" + "".join(parts) + "$"


def _prefix(stats: PropertyStats, k: int) -> str | None:
    """The leading letters at least 95 % of at least ``k`` values share, else None."""
    head, count = stats.prefix, stats.prefixed
    if head and count >= k and count >= _PREFIX_SHARE * stats.strings:
        return head
    return None


def _personal(name: str, stats: PropertyStats) -> str | None:
    """Personal data by the key's name and the values' shape together: either one flags it."""
    by_name = personal_by_name(name)
    n = stats.checked  # the shapes are counted on a property's first values
    if n:
        for kind, count in (
            ("email", stats.emails),
            ("card_number", stats.cards),
            ("phone", stats.phones),
        ):
            if count >= _SHAPE_SHARE * n:
                # a name's "date of birth" beats a shape, which a number may fake
                return by_name if by_name in ("date_of_birth", "card_number") else kind
    return by_name


def _declare_one(
    name: str, stats: PropertyStats, profiles: int, k: int, standard: frozenset[str]
) -> tuple[Declaration | None, str | None]:
    types = _types(stats)
    if not types:
        return None, f"{name!r}: only empty values seen ({stats.nulls} profiles); not declared"
    always = stats.present >= profiles and stats.nulls == 0
    if name in standard:  # the dialect knows its shape: say only what the account adds
        return (Declaration(name, {"always": True}) if always else None), None
    kinds = set(types)
    if kinds <= {"integer", "float"}:
        kind = "integer" if kinds == {"integer"} else "number"
    elif len(kinds) == 1:
        kind = next(iter(kinds))
    else:
        seen = ", ".join(f"{t} {c}" for t, c in sorted(types.items()))
        return None, f"{name!r}: mixed types ({seen}); not declared"
    table: dict[str, Any] = {"type": kind}
    personal = _personal(name, stats) if kind in ("string", "date") else None
    if kind == "date" and personal != "date_of_birth":
        personal = None  # a date is personal only as a birth date
    held = 0
    warning = None
    if personal is not None:
        table["format"] = personal
    elif kind in ("integer", "number"):
        assert stats.num_min is not None and stats.num_max is not None
        if not (in_range(stats.num_min) and in_range(stats.num_max)):  # readers drop these
            return None, f"{name!r}: numbers out of range; not declared"
        low, high = outward(stats.num_min, stats.num_max)
        table["min"], table["max"] = (
            (int(low), int(high)) if kind == "integer" else (float(low), float(high))
        )
        if kind == "integer" and stats.unique and stats.ints >= max(k, 2):
            table["unique"] = True
    elif kind == "list":
        table["max_length"] = _bucket(stats.max_items, _ITEM_BUCKETS)
    elif kind == "string":
        table, held, unwritable = _declare_string(stats, k, table)
        if unwritable:
            warning = f"{name!r}: {unwritable} enum values that are not valid Unicode were left out"
    if always:
        table["always"] = True
    return Declaration(name, table, personal, held), warning


def _declare_string(
    stats: PropertyStats, k: int, table: dict[str, Any]
) -> tuple[dict[str, Any], int, int]:
    """The table, the values held back by the k rule, and those left out as unwritable."""
    values = stats.values
    n = stats.strings
    if values is not None and len(values) <= n / 2:
        frequent = [v for v, count in values.items() if count >= k and isinstance(v, str)]
        passed = sorted(filter(_encodable, frequent))
        unwritable = len(frequent) - len(passed)
        held = len(values) - len(frequent)
        if passed:
            enum: dict[str, Any] = {"type": "enum", "values": passed}
            if held or unwritable:
                enum["open"] = True
            return enum, held, unwritable
        table["max_length"] = _bucket(stats.max_len, _LENGTH_BUCKETS)
        return table, held, unwritable
    pattern = _pattern(stats, k)
    if pattern is not None and pattern_problem(pattern) is None:
        table = {"type": "pattern", "pattern": pattern}
        if stats.unique and n >= k:
            table["unique"] = True
        return table, 0, 0
    table["max_length"] = _bucket(stats.max_len, _LENGTH_BUCKETS)
    return table, 0, 0


def _name_problem(name: str) -> str | None:
    if not name.strip():
        return "an empty property name"
    if len(name) > MAX_KEY_CHARS:
        return f"a name over {MAX_KEY_CHARS} characters"
    if not _encodable(name):
        return "a name that is not valid Unicode (a lone surrogate)"
    if set(name) & FORBIDDEN_KEY_CHARS:
        return "a name with characters CleverTap forbids in keys"
    return None


def declare(
    acc: Accumulator, *, k: int = DEFAULT_K, standard: frozenset[str] = frozenset()
) -> Inference:
    """Apply the rules to everything ``acc`` counted. ``standard`` holds CleverTap's system
    field names (declared only when the account guarantees them: ``always``)."""
    declarations: list[Declaration] = []
    warnings: list[str] = []
    stats = acc.stats
    for name in sorted(stats):
        problem = _name_problem(name)
        if problem is not None:
            warnings.append(f"a property with {problem} was skipped")
            continue
        declaration, warning = _declare_one(name, stats[name], acc.profiles, k, standard)
        if warning:
            warnings.append(warning)
        if declaration is None:
            continue
        try:  # what infer writes must load: a declaration ctph refuses is a bug here
            PropertySpec.from_config(name, dict(declaration.table))
        except UsageError:
            warnings.append(f"{name!r}: no declaration ctph accepts was found; not declared")
            continue
        declarations.append(declaration)
    return Inference(
        profiles=acc.profiles,
        declarations=tuple(declarations),
        warnings=tuple(warnings),
        held_back=sum(d.held_back for d in declarations),
        personal=sum(d.personal is not None for d in declarations),
    )
