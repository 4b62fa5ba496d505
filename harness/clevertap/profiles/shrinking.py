"""Shrinking a failing profile, and the generator's value space as a Hypothesis strategy.

The shrinker is ctph's own (see :func:`_simplify` for why it is not Hypothesis'), so Hypothesis
is not a runtime dependency: only :func:`profile_strategy`, for users' own property-based tests,
needs it (the ``hypothesis`` extra), and imports it when called. Named ``shrinking`` so the
submodule never shadows ``shrink``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    CleverTap could not hold. Drawn profiles have ``kind="hypothesis"``. Needs Hypothesis
    (``pip install 'ctph-harness[hypothesis]'``), which a property-based test has anyway.
    """
    try:
        from hypothesis import strategies as st
    except ImportError as error:  # pragma: no cover - the test extra installs hypothesis
        raise ImportError(
            "profile_strategy() needs Hypothesis: pip install 'ctph-harness[hypothesis]'"
        ) from error

    plan = profile_plan(reads, specs)
    pools = pools_for(0)

    def section(slots: tuple[tuple[str, Kind], ...]) -> SearchStrategy[dict[str, Any]]:
        return ObjectKind(slots, ALWAYS_PRESENCE).strategy(pools)

    return st.builds(
        lambda f, e: Profile(index=0, kind="hypothesis", fields=f, event=e),
        section(plan.profile),
        section(plan.event),
    )


_SHRINK_TRIES: Final = 400
"""Calls of the predicate one shrink may spend after the greedy drop (each is a render and a
check). Hypothesis' ``find`` spent 150 examples plus its shrink passes; a profile that reaches
the value pass has a handful of properties left, so this is rarely reached."""


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


def shrink(
    profile: Profile,
    still_fails: Callable[[Profile], bool],
    reads: Iterable[Sequence[str | int]] = (),
    specs: Mapping[str, PropertySpec] = NO_SPECS,
) -> Profile:
    """The smallest profile derived from ``profile`` for which ``still_fails`` is still true.

    Two steps, both deterministic: a greedy pass drops every top-level property whose removal
    keeps the failure (cheap, and guarantees a failing starting point), then a value pass
    (:func:`_simplify`) searches sub-profiles of that result - members dropped, values replaced
    by simpler ones such as the single offending character - so
    ``{"Name": 'Ana "Jo" Lee', ...40 fields}`` becomes ``{"Name": '"'}``.
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

    found = _simplify(best, fails, kind_of)
    if _size(found) < _size(best) and fails(found):
        best = found
    return best


class _Budget:
    """Counts the predicate calls a shrink has left (:data:`_SHRINK_TRIES`)."""

    def __init__(self, tries: int) -> None:
        self.left = tries

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _simplify(
    start: Profile, fails: Callable[[Profile], bool], kind_of: Callable[[str, str], Kind]
) -> Profile:
    """The value pass: every value, and every member of a nested value, in turn becomes the
    simplest candidate that keeps the failure (a member is dropped first when the kind allows
    it), repeated until a pass changes nothing.

    This is the search Hypothesis' shrinker ran over the same space (a choice per member: drop
    it or one of :meth:`Kind.candidates`, simplest first), done greedily by hand: Hypothesis'
    pytest plugin imports Hypothesis at the end of every pytest run wherever it is installed,
    which was most of what installing ctph cost a pytest start (issue 13), and a
    coordinate-wise pass over a finite, ordered space needs no random search to find the same
    minimum (``{"Name": '"'}``). Deterministic, and bounded by :data:`_SHRINK_TRIES` calls.
    """
    budget = _Budget(_SHRINK_TRIES)
    fields, event = dict(start.fields), dict(start.event)

    def section_pass(ns: str) -> bool:
        changed = False
        for key in list(fields if ns == "Profile" else event):

            def still(value: Any, key: str = key) -> bool:
                if not budget.spend():
                    return False
                if ns == "Profile":
                    return fails(Profile(start.index, start.kind, {**fields, key: value}, event))
                return fails(Profile(start.index, start.kind, fields, {**event, key: value}))

            target = fields if ns == "Profile" else event
            smaller = _smallest(kind_of(ns, key), target[key], still)
            if smaller is not target[key]:
                target[key] = smaller
                changed = True
        return changed

    for _ in range(3):
        changed = section_pass("Profile")
        changed = section_pass("Event") or changed
        if not changed or budget.left <= 0:
            break
    return Profile(start.index, start.kind, fields, event)


def _smallest(kind: Kind | None, value: Any, still: Callable[[Any], bool]) -> Any:
    """``value`` made as simple as ``still`` allows: a container member by member (dropped if
    its kind is not ``always``, else simplified), a scalar replaced by the first of its kind's
    candidates that still fails. Returns ``value`` itself when nothing simpler fails."""
    if isinstance(value, dict) and value:
        current = value
        for k in list(value):
            child = kind.child(k) if isinstance(kind, (ObjectKind, ListKind)) else None
            if child is None or not child.always:
                dropped = {m: v for m, v in current.items() if m != k}
                if still(dropped):
                    current = dropped
                    continue
            here = current

            def member(v: Any, k: str = k, here: dict[str, Any] = here) -> bool:
                return still({**here, k: v})

            sub = _smallest(child, current[k], member)
            if sub is not current[k]:
                current = {**current, k: sub}
        return current
    if isinstance(value, list) and value and len(value) <= 64:
        child = kind.child(0) if isinstance(kind, ListKind) else None
        items = list(value)
        changed = False
        i = 0
        while i < len(items):
            fewer = items[:i] + items[i + 1 :]
            if still(fewer):
                items, changed = fewer, True
                continue

            def element(v: Any, i: int = i, items: list[Any] = items) -> bool:
                return still([*items[:i], v, *items[i + 1 :]])

            sub = _smallest(child, items[i], element)
            if sub is not items[i]:
                items, changed = [*items[:i], sub, *items[i + 1 :]], True
            i += 1
        return items if changed else value
    cands = kind.candidates(value) if kind is not None else generic_candidates(value)
    for candidate in cands[:-1]:
        if still(candidate):
            return candidate
    return value
