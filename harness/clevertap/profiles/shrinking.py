"""Hypothesis: the generator's value space as a strategy, and shrinking a failing profile.

Hypothesis is imported inside the functions only: the pytest plugin imports this package in every
run, and most runs never shrink. Named ``shrinking`` so the submodule never shadows ``shrink``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from .guess import leaf_kind
from .kinds import ALWAYS_PRESENCE, Kind, ListKind, ObjectKind, generic_candidates
from .plan import profile_plan
from .pools import pools_for
from .spec import NO_SPECS, Profile, PropertySpec

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["profile_strategy", "shrink"]


def profile_strategy(
    reads: Iterable[Sequence[str | int]],
    specs: Mapping[str, PropertySpec] = NO_SPECS,
) -> SearchStrategy[Profile]:
    """A Hypothesis strategy over profiles for a template reading ``reads``.

    It draws from the generator's value space (faker pools, edge values, plus Hypothesis's own
    text and numbers for free-form properties), honouring ``always``, enums and patterns, so a
    property-based test explores beyond the fixed edge cases without inventing profiles
    CleverTap could not hold. Drawn profiles have ``kind="hypothesis"``.
    """
    from hypothesis import strategies as st

    plan = profile_plan(reads, specs)
    pools = pools_for(0)

    def section(slots: tuple[tuple[str, Kind], ...]) -> SearchStrategy[dict[str, Any]]:
        return ObjectKind(slots, ALWAYS_PRESENCE).strategy(pools)

    return st.builds(
        lambda f, e: Profile(index=0, kind="hypothesis", fields=f, event=e),
        section(plan.profile),
        section(plan.event),
    )


def _rebuild_dict(keys: list[Any], values: tuple[Any, ...]) -> dict[Any, Any]:
    return {k: v for k, v in zip(keys, values, strict=True) if v is not _DROP}


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


_DROP: Final = _Drop()
_SHRINK_EXAMPLES: Final = 150


def _size(profile: Profile) -> tuple[int, int]:
    """Shrink order: fewer properties first, then shorter JSON."""

    def count(v: Any) -> int:
        if isinstance(v, dict):
            return sum(1 + count(x) for x in v.values())
        if isinstance(v, list):
            return sum(1 + count(x) for x in v)
        return 0

    text = json.dumps([profile.fields, profile.event], default=repr)
    return (count(dict(profile.fields)) + count(dict(profile.event)), len(text))


def _sub_strategy(kind: Kind | None, value: Any) -> SearchStrategy[Any]:
    """Values "no bigger" than ``value``: containers with members dropped or simplified,
    scalars replaced by the kind's simpler candidates (ordered so Hypothesis shrinks towards
    the simplest)."""
    from hypothesis import strategies as st

    if isinstance(value, dict) and value:
        keys = list(value)
        parts = []
        for k in keys:
            child = kind.child(k) if isinstance(kind, (ObjectKind, ListKind)) else None
            sub = _sub_strategy(child, value[k])
            parts.append(
                sub if child is not None and child.always else st.one_of(st.just(_DROP), sub)
            )
        return st.tuples(*parts).map(partial(_rebuild_dict, keys))
    if isinstance(value, list) and value and len(value) <= 64:
        child = kind.child(0) if isinstance(kind, ListKind) else None
        parts = [st.one_of(st.just(_DROP), _sub_strategy(child, v)) for v in value]
        return st.tuples(*parts).map(lambda vs: [v for v in vs if v is not _DROP])
    cands = kind.candidates(value) if kind is not None else generic_candidates(value)
    return st.sampled_from(cands)


def shrink(
    profile: Profile,
    still_fails: Callable[[Profile], bool],
    reads: Iterable[Sequence[str | int]] = (),
    specs: Mapping[str, PropertySpec] = NO_SPECS,
) -> Profile:
    """The smallest profile derived from ``profile`` for which ``still_fails`` is still true.

    Two steps, both deterministic: a greedy pass drops every top-level property whose removal
    keeps the failure (cheap, and guarantees a failing starting point), then Hypothesis's
    shrinker (``find`` with ``derandomize=True`` and no database) searches sub-profiles of that
    result - members dropped, values replaced by simpler ones such as the single offending
    character - so ``{"Name": 'Ana "Jo" Lee', ...40 fields}`` becomes ``{"Name": '"'}``.
    ``reads``/``specs`` say which values are valid (``always`` properties stay, an Email stays
    an email). Exceptions from ``still_fails`` count as "does not fail"; if ``profile`` itself
    does not fail, it is returned unchanged.
    """
    if not profile.fields and not profile.event:
        return profile  # already the smallest: nothing to drop, and no Hypothesis to import
    plan = profile_plan(reads, specs)
    spec_map = dict(specs)

    def fails(candidate: Profile) -> bool:
        try:
            return bool(still_fails(candidate))
        except Exception:
            return False

    if not fails(profile):
        return profile

    def kind_of(ns: str, key: str) -> Kind:
        slots = plan.profile if ns == "Profile" else plan.event
        found = next((kind for k, kind in slots if k == key), None)
        return found if found is not None else leaf_kind(ns, (key,), spec_map)

    def rebuild(fields: Mapping[str, Any], event: Mapping[str, Any]) -> Profile:
        return Profile(profile.index, profile.kind, dict(fields), dict(event))

    fields, event = dict(profile.fields), dict(profile.event)
    for ns, key in [("Profile", k) for k in list(fields)] + [("Event", k) for k in list(event)]:
        if kind_of(ns, key).always:
            continue
        target = fields if ns == "Profile" else event
        trial = {k: v for k, v in target.items() if k != key}
        candidate = rebuild(trial, event) if ns == "Profile" else rebuild(fields, trial)
        if fails(candidate):
            target.pop(key)
    best = rebuild(fields, event)

    found = _hypothesis_shrink(best, fails, kind_of)
    if found is None:  # Hypothesis cannot run here (e.g. called inside a @given test)
        found = _simplify_values(best, fails, kind_of)
    if _size(found) < _size(best) and fails(found):
        best = found
    return best


def _simplify_values(
    start: Profile, fails: Callable[[Profile], bool], kind_of: Callable[[str, str], Kind]
) -> Profile:
    """Fallback value pass: each top-level value becomes its simplest still-failing candidate."""
    fields, event = dict(start.fields), dict(start.event)
    for ns, target in (("Profile", fields), ("Event", event)):
        for key in list(target):
            for candidate in kind_of(ns, key).candidates(target[key])[:-1]:
                trial = {**target, key: candidate}
                built = (
                    Profile(start.index, start.kind, trial, event)
                    if ns == "Profile"
                    else Profile(start.index, start.kind, fields, trial)
                )
                if fails(built):
                    target[key] = candidate
                    break
    return Profile(start.index, start.kind, fields, event)


def _hypothesis_shrink(
    start: Profile, fails: Callable[[Profile], bool], kind_of: Callable[[str, str], Kind]
) -> Profile | None:
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException

    def section(ns: str, values: Mapping[str, Any]) -> SearchStrategy[dict[str, Any]]:
        keys = list(values)
        parts = []
        for k in keys:
            kind = kind_of(ns, k)
            sub = _sub_strategy(kind, values[k])
            parts.append(sub if kind.always else st.one_of(st.just(_DROP), sub))
        return st.tuples(*parts).map(partial(_rebuild_dict, keys))

    strategy = st.builds(
        lambda f, e: Profile(start.index, start.kind, f, e),
        section("Profile", start.fields),
        section("Event", start.event),
    )
    config = settings(
        derandomize=True,
        database=None,
        max_examples=_SHRINK_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )
    try:
        return find(strategy, fails, settings=config)
    except HypothesisException:
        return None
