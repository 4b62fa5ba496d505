"""Profile generation: every edge case of a plan first, then random users.

Named ``generation`` rather than ``generate`` so the submodule never shadows the ``generate``
function the package re-exports.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, TypeAlias

from ...errors import UsageError
from .kinds import Kind, ListKind, ObjectKind, ProfileDraw, TakenValues
from .plan import ProfilePlan, profile_plan
from .pools import Pools, Rng, derive_seed, index_seed, pools_for
from .spec import NO_SPECS, Path, Profile, PropertySpec

__all__ = ["generate"]


class _Missing:
    """Marks "delete this property" in an edge definition; never appears in a Profile."""

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Final = _Missing()

# Personas, by index: 0 known user (60 %), 1 anonymous (25 %), 2 patchy profile (15 %); a
# kind's presence gives its probability per persona.
_PERSONA_CUTS: Final = (0.6, 0.85)

# (kind label, namespace, path below the namespace, value or _MISSING); ns None = all missing
_EdgeDef: TypeAlias = "tuple[str, str | None, Path, Any]"


def _display(ns: str, rest: Path) -> str:
    text = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in rest)[1:]
    return text if ns == "Profile" else f"{ns}.{text}"


@lru_cache(maxsize=64)
def _edge_defs(plan: ProfilePlan, seed: int) -> tuple[_EdgeDef, ...]:
    pools = pools_for(seed)
    out: list[_EdgeDef] = []
    slots = [("Profile", k, kind) for k, kind in plan.profile]
    slots += [("Event", k, kind) for k, kind in plan.event]
    if any(not kind.always for _, _, kind in slots):
        out.append(("edge:all-missing", None, (), _MISSING))

    def walk(ns: str, rest: Path, kind: Kind) -> None:
        label = _display(ns, rest)
        if not kind.always:
            out.append((f"edge:missing:{label}", ns, rest, _MISSING))
        for name, value in kind.edges(pools):
            out.append((f"edge:{name}:{label}", ns, rest, value))
        if isinstance(kind, ObjectKind):
            for key, child in kind.children:
                walk(ns, (*rest, key), child)
        elif isinstance(kind, ListKind):
            for i in kind.indexes:
                walk(ns, (*rest, i), kind.element)

    for ns, key, kind in slots:
        walk(ns, (key,), kind)
    return tuple(out)


def _rng(seed: int, index: int) -> Rng:
    return Rng(index_seed(_profile_key(seed), index))


@lru_cache(maxsize=64)
def _profile_key(seed: int) -> int:
    return derive_seed(seed, "profile")


def _persona(rng: Rng) -> int:
    r = rng.random()
    return 0 if r < _PERSONA_CUTS[0] else 1 if r < _PERSONA_CUTS[1] else 2


def _random_profile(
    plan: ProfilePlan, pools: Pools, seed: int, index: int, taken: TakenValues
) -> Profile:
    rng = _rng(seed, index)
    persona = _persona(rng)
    g = ProfileDraw(rng, pools, index, persona, clean=False, taken=taken)
    rand = rng.random
    fields = {
        k: kind.sample(g)
        for k, kind in plan.profile
        if kind.always or rand() < kind.presence[persona]
    }
    event = {
        k: kind.sample(g)
        for k, kind in plan.event
        if kind.always or rand() < kind.presence[persona]
    }
    return Profile(index=index, kind="random", fields=fields, event=event)


def _set_at(root: dict[str, Any], rest: Path, value: Any) -> None:
    node: Any = root
    for seg in rest[:-1]:
        try:
            node = node[seg]
        except (KeyError, IndexError, TypeError):
            return  # the clean base has no such element: nothing to replace
    last = rest[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if value is _MISSING:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if value is _MISSING:
            del node[last:]
        else:
            node[last] = copy.deepcopy(value)


def _edge_profile(
    plan: ProfilePlan, pools: Pools, seed: int, index: int, edge: _EdgeDef, taken: TakenValues
) -> Profile:
    label, ns, rest, value = edge
    rng = _rng(seed, index)
    g = ProfileDraw(rng, pools, index, 0, clean=True, taken=taken)
    fields = {k: kind.sample(g) for k, kind in plan.profile}
    event = {k: kind.sample(g) for k, kind in plan.event}
    if ns is None:
        fields = {k: v for k, v in fields.items() if dict(plan.profile)[k].always}
        event = {k: v for k, v in event.items() if dict(plan.event)[k].always}
    else:
        _set_at(fields if ns == "Profile" else event, rest, value)
    return Profile(index=index, kind=label, fields=fields, event=event)


def generate(
    reads: Iterable[Sequence[str | int]],
    n: int,
    seed: int,
    specs: Mapping[str, PropertySpec] = NO_SPECS,
) -> list[Profile]:
    """Profiles for a template that reads ``reads``: every edge case first, then random users.

    Returns ``max(n, number of edge cases)`` profiles; profile ``i`` depends only on
    ``(seed, i, reads, specs)`` (and the shipped corpus, never on the installed faker), never on
    the process, the
    order of ``reads`` or ``PYTHONHASHSEED``. ``specs`` maps a property name (``"Tier"``,
    ``"Profile.Tier"``, ``"Event.Amount"``) to what the account declares about it.

    Profiles are made in index order because a ``unique`` property's value must differ from
    every earlier profile's; that keeps profile ``i`` a function of the same inputs, and a
    shorter run a prefix of a longer one. Raises :class:`UsageError` when a ``unique``
    declaration runs out of values.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise UsageError(f"the number of profiles must be a non-negative integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError(f"the seed must be an integer, got {seed!r}")
    plan = profile_plan(reads, specs)
    pools = pools_for(seed)
    edges = _edge_defs(plan, seed)
    taken: TakenValues = {}
    out = [_edge_profile(plan, pools, seed, i, edge, taken) for i, edge in enumerate(edges)]
    out.extend(
        _random_profile(plan, pools, seed, i, taken) for i in range(len(edges), max(n, len(edges)))
    )
    return out
