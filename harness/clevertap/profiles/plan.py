"""Plans: the reads compiled once into a tree of kinds.

Compiling is cached per (reads, specs), so a template pays for it once, not once per profile.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, TypeAlias, cast

from ...errors import UsageError
from .guess import _EVENT, STANDARD_FIELDS, _find_spec, _leaf_kind
from .kinds import _P_ALWAYS, _P_CUSTOM, _P_EVENT, _P_NESTED, _Kind, _List, _Object
from .limits import MAX_PATH_DEPTH
from .spec import _NAMESPACES, Path, PropertySpec

_NO_SPECS: Final[Mapping[str, PropertySpec]] = types.MappingProxyType({})


def _path_key(path: Path) -> tuple[tuple[int, str, int], ...]:
    return tuple((1, "", s) if isinstance(s, int) else (0, s, 0) for s in path)


@dataclass(frozen=True, eq=False)
class _Plan:
    profile: tuple[tuple[str, _Kind], ...]
    event: tuple[tuple[str, _Kind], ...]


_Shape: TypeAlias = "dict[str | int, _Shape]"


def _compile(ns: str, rest: Path, shape: _Shape, specs: Mapping[str, PropertySpec]) -> _Kind:
    if not shape:
        return _leaf_kind(ns, rest, specs)
    keys = [k for k in rest if isinstance(k, str)]
    spec = _find_spec(ns, keys, specs)
    nested = len(rest) > 1
    presence = _P_NESTED if nested else _P_EVENT if ns == "Event" else _P_CUSTOM
    if spec is not None and spec.always:
        presence = _P_ALWAYS
    indexes = sorted(k for k in shape if isinstance(k, int))
    kind: _Kind
    if indexes:
        merged: _Shape = {}
        for i in indexes:
            _merge(merged, shape[i])
        if not merged and ns == "Event" and rest[-1] == "Items":
            element = cast(_List, _EVENT["Items"]).element
        else:
            element = _compile(ns, (*rest, 0), merged, specs)
        kind = _List(element, tuple(indexes), presence)
    else:
        str_keys = sorted(k for k in shape if isinstance(k, str))
        children = tuple((k, _compile(ns, (*rest, k), shape[k], specs)) for k in str_keys)
        kind = _Object(children, presence)
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
        if not path or path[0] not in _NAMESPACES:
            continue  # Linked/Catalog/Campaign are not profile data
        if len(path) > 1 + MAX_PATH_DEPTH:
            continue  # no CleverTap data lies that deep: every profile lacks it (limits.py)
        if any(isinstance(s, bool) or not isinstance(s, (str, int)) for s in path):
            raise UsageError(f"a read path holds only keys and indexes, got {path!r}")
        out[path] = None
    return tuple(sorted(out, key=_path_key))


@lru_cache(maxsize=256)
def _plan(reads: tuple[Path, ...], specs: tuple[tuple[str, PropertySpec], ...]) -> _Plan:
    spec_map = dict(specs)
    shapes: dict[str, _Shape] = {ns: {} for ns in _NAMESPACES}
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
    for ns in _NAMESPACES:
        top = shapes[ns]
        keys = [k for k in top if isinstance(k, str)]
        keys.sort()
        sections.append(tuple((k, _compile(ns, (k,), top[k], spec_map)) for k in keys))
    return _Plan(profile=sections[0], event=sections[1])


def _plan_for(reads: Iterable[Sequence[str | int]], specs: Mapping[str, PropertySpec]) -> _Plan:
    for name, spec in specs.items():
        if not isinstance(spec, PropertySpec):
            raise UsageError(f"[tool.ctph.properties] {name!r}: not a PropertySpec")
    return _plan(_canonical_reads(reads), tuple(sorted(specs.items())))
