"""Which event properties become person properties, and which changes are worth a person write.

Two rules of PostHog's Node ingestion that a test of "what does my user's person look like?" sees:

* **Lifting** (``personInitialAndUTMProperties``, PostHog/posthog ``nodejs/src/utils/db/utils.ts``,
  called by ``normalizeEvent`` in ``nodejs/src/utils/event.ts`` for every event but ``$snapshot``
  and ``$performance_event``): each of the known device, page and campaign properties the event
  carries goes into its ``$set`` (unless ``$set`` already names it) and, when not null, into
  ``$set_once`` as ``$initial_<name>``; events with ``$is_server: true`` (server SDKs stamp the
  host's OS) keep ``$os``/``$os_version`` off the person; ``$os_name`` is an alias of ``$os``.
  The lists are ``contracts/posthog.json`` ``person_properties`` (from
  ``nodejs/src/common/persons/person-property-utils.ts``).
* **Filtering** (``computeEventPropertyUpdates`` in
  ``nodejs/src/worker/ingestion/persons/person-update.ts`` and ``getPersonUpdateOutcome`` in
  ``batch-writing-person-store.ts``): a person is written only when the event changes something
  that matters. A changed value of a ``FILTERED_PERSON_UPDATE_PROPERTIES`` key (``$browser``,
  ``$current_url``, ...) that the person already has does not, on its own, cause a write; a new
  key, any other changed key, an ``$unset`` of a present key, or a person event (``$identify``,
  ``$set``, ...) does, and then every change of the event is written together.

Pure functions over plain dicts; :mod:`.project` owns the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from ..contract import facts

__all__ = ["lift", "lifted", "should_write"]

_MISSING = object()
_CONTAINERS = (dict, list)
_NUMBERS = (int, float)  # not bool: JavaScript's true is not 1


@cache
def _lists() -> tuple[
    tuple[tuple[str, str], ...], frozenset[str], frozenset[str], frozenset[str], frozenset[str]
]:
    """((lifted key, its ``$initial_`` key) in upstream order, events not lifted, server host-OS
    keys, filtered keys, events that always write)."""
    data = facts()["person_properties"]
    return (
        tuple((key, _initial(key)) for key in (*data["event_to_person"], *data["campaign"])),
        frozenset(data["not_lifted_events"]),
        frozenset(data["server_host_os"]),
        frozenset(data["filtered_update"]),
        frozenset(data["force_update_events"]),
    )


def _initial(key: str) -> str:
    """``$initial_${key.replace('$', '')}``: JavaScript's ``replace`` drops the first ``$`` only."""
    return "$initial_" + key.replace("$", "", 1)


@cache
def _liftable() -> frozenset[str]:
    return frozenset(key for key, _ in _lists()[0])


def lifted(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """``properties`` as the person step sees them after :func:`lift`: a copy when anything is
    lifted (the event's own ``$set``/``$set_once`` dicts are not touched), else the same
    object, so events without device or campaign properties cost nothing here."""
    if _liftable().isdisjoint(properties):
        return properties
    view = dict(properties)
    for key in ("$set", "$set_once"):
        inner = view.get(key)
        if isinstance(inner, dict):
            view[key] = dict(inner)
    lift(name, view)
    return view


def lift(name: str, properties: dict[str, Any]) -> None:
    """``normalizeEvent``'s call of ``personInitialAndUTMProperties``, in place on the event's
    ``properties`` (its ``$set``/``$set_once`` already merged from the top level)."""
    keys, not_lifted, host_os, _, _ = _lists()
    if name in not_lifted:
        return
    skip_host_os = properties.get("$is_server") is True
    if "$os_name" in properties and "$os" not in properties:
        # normalizeOsAlias (upstream of this step) fills the event's own $os from $os_name
        properties["$os"] = properties["$os_name"]
    to_set: dict[str, Any] | None = None
    to_set_once: dict[str, Any] = {}
    for key, initial in keys:
        if key not in properties or (skip_host_os and key in host_os):
            continue
        value = properties[key]
        if to_set is None:  # a malformed $set/$set_once (a string, null) is replaced
            existing = properties.get("$set")
            existing_once = properties.get("$set_once")
            to_set = existing if isinstance(existing, dict) else {}
            to_set_once = existing_once if isinstance(existing_once, dict) else {}
        if key not in to_set:
            to_set[key] = value
        if value is not None and initial not in to_set_once:
            to_set_once[initial] = value
    if to_set is None:
        return
    os_name = properties.get("$os_name", _MISSING)
    if os_name is not _MISSING and not skip_host_os:
        if os_name is not None and "$initial_os" not in to_set_once:
            to_set_once["$initial_os"] = os_name
        to_set.pop("$os_name", None)
        to_set_once.pop("$initial_os_name", None)
    properties["$set"] = to_set
    properties["$set_once"] = to_set_once


def _same(a: Any, b: Any) -> bool:
    """JavaScript ``a === b`` for JSON values: objects and arrays are never equal to a copy
    (a ``$set`` of an object always counts as a change), ``true`` is not ``1``."""
    kind = type(a)
    if kind is type(b):  # _MISSING is only ever the same object as itself
        return kind not in _CONTAINERS and bool(a == b)
    return kind in _NUMBERS and type(b) in _NUMBERS and bool(a == b)


def should_write(name: str, person: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    """Whether this event's ``$set``/``$set_once``/``$unset`` lead to a person write (the
    ``changed`` outcome); ``False`` for no change and for changes of filtered keys alone."""
    _, _, _, filtered, force = _lists()
    set_once = properties.get("$set_once")
    to_set = properties.get("$set")
    unset = properties.get("$unset")
    changed: list[str] = []
    if isinstance(set_once, Mapping):
        changed += [key for key in set_once if key not in person]
    if isinstance(to_set, Mapping):
        changed += [
            key for key, value in to_set.items() if not _same(person.get(key, _MISSING), value)
        ]
    unset_keys = (
        unset if isinstance(unset, list) else list(unset) if isinstance(unset, Mapping) else []
    )
    if any(isinstance(key, str) and key in person for key in unset_keys):
        return True
    if not changed:
        return False
    if name in force:
        return True
    return any(key not in person or key not in filtered for key in changed)
