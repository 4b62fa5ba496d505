"""Plans: the reads compiled once into a tree of kinds.

Compiling is cached per (reads, specs), so a template pays for it once, not once per profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias, cast

from ...errors import UsageError
from .guess import CHARGED_ITEM, STANDARD_FIELDS, find_spec, leaf_kind
from .kinds import (
    ALWAYS_PRESENCE,
    CUSTOM_PRESENCE,
    EVENT_PRESENCE,
    NESTED_PRESENCE,
    Kind,
    ListKind,
    ObjectKind,
)
from .limits import MAX_PATH_DEPTH
from .spec import NAMESPACES, Path, PropertySpec

__all__ = ["ProfilePlan", "profile_plan"]


def _path_key(path: Path) -> tuple[tuple[int, str, int], ...]:
    return tuple((1, "", s) if isinstance(s, int) else (0, s, 0) for s in path)


@dataclass(frozen=True, eq=False)
class ProfilePlan:
    profile: tuple[tuple[str, Kind], ...]
    event: tuple[tuple[str, Kind], ...]


_Shape: TypeAlias = "dict[str | int, _Shape]"


def _compile(ns: str, rest: Path, shape: _Shape, specs: Mapping[str, PropertySpec]) -> Kind:
    if not shape:
        return leaf_kind(ns, rest, specs)
    keys = [k for k in rest if isinstance(k, str)]
    spec = find_spec(ns, keys, specs)
    nested = len(rest) > 1
    presence = NESTED_PRESENCE if nested else EVENT_PRESENCE if ns == "Event" else CUSTOM_PRESENCE
    if spec is not None and spec.always:
        presence = ALWAYS_PRESENCE
    indexes = sorted(k for k in shape if isinstance(k, int))
    kind: Kind
    if indexes:
        merged: _Shape = {}
        for i in indexes:
            _merge(merged, shape[i])
        element: Kind
        if not merged and ns == "Event" and rest[-1] == "Items":
            element = CHARGED_ITEM
        else:
            element = _compile(ns, (*rest, 0), merged, specs)
        kind = ListKind(element, tuple(indexes), presence)
    else:
        str_keys = sorted(k for k in shape if isinstance(k, str))
        children = tuple((k, _compile(ns, (*rest, k), shape[k], specs)) for k in str_keys)
        kind = ObjectKind(children, presence)
    kind.always = bool(spec and spec.always)
    return kind


def _merge(into: _Shape, other: _Shape) -> None:
    for k, sub in other.items():
        _merge(into.setdefault(k, {}), sub)


def _canonical_reads(reads: Iterable[Sequence[str | int]]) -> tuple[Path, ...]:
    out: dict[Path, None] = {}
    for read in reads:
        if isinstance(read, str):
            raise UsageError(f"a read path is a tuple such as ('Profile', 'Email'), got {read!r}")
        path = tuple(read)
        if not path or path[0] not in NAMESPACES:
            continue  # Linked/Catalog/Campaign are not profile data
        if len(path) > 1 + MAX_PATH_DEPTH:
            continue  # no CleverTap data lies that deep: every profile lacks it (limits.py)
        if any(isinstance(s, bool) or not isinstance(s, (str, int)) for s in path):
            raise UsageError(f"a read path holds only keys and indexes, got {path!r}")
        out[path] = None
    return tuple(sorted(out, key=_path_key))


@lru_cache(maxsize=256)
def _plan(reads: tuple[Path, ...], specs: tuple[tuple[str, PropertySpec], ...]) -> ProfilePlan:
    spec_map = dict(specs)
    shapes: dict[str, _Shape] = {ns: {} for ns in NAMESPACES}
    for ns, *rest in reads:
        node = shapes[cast(str, ns)]
        if not rest:  # the whole object is read (`{{ Profile }}`): every standard field
            if ns == "Profile":
                for name in STANDARD_FIELDS:
                    node.setdefault(name, {})
            continue
        for seg in rest:
            node = node.setdefault(seg, {})
    sections = []
    for ns in NAMESPACES:
        top = shapes[ns]
        keys = [k for k in top if isinstance(k, str)]
        keys.sort()
        sections.append(tuple((k, _compile(ns, (k,), top[k], spec_map)) for k in keys))
    return ProfilePlan(profile=sections[0], event=sections[1])


def profile_plan(
    reads: Iterable[Sequence[str | int]], specs: Mapping[str, PropertySpec]
) -> ProfilePlan:
    for name, spec in specs.items():
        if not isinstance(spec, PropertySpec):
            raise UsageError(f"[tool.ctph.properties] {name!r}: not a PropertySpec")
    return _plan(_canonical_reads(reads), tuple(sorted(specs.items())))
