"""What PostHog's ingestion pipeline makes of accepted events: one in-memory project.

Capture (:mod:`.capture`) decides the HTTP answer; this module models what happens afterwards in
the Node ingestion pipeline, so a test can ask "which persons exist now, and was that merge
refused?"
(research/posthog-capture.md §4 timestamps, §7 persons/merges/groups, §8 illegal ids, §9 drops).
Upstream files mirrored, all in ``PostHog/posthog``:

* ``nodejs/src/worker/ingestion/timestamps.ts`` (``parseEventTimestamp``): skew, offset, clamp;
* ``nodejs/src/worker/ingestion/persons/person-merge-service.ts``: ``$identify``/alias merges,
  ``isDistinctIdIllegal``;
* ``nodejs/src/worker/ingestion/persons/person-update.ts``: ``$set``/``$set_once``/``$unset``;
* ``nodejs/src/utils/event.ts`` (``normalizeEvent``, ``normalizeProcessPerson``);
* ``nodejs/src/ingestion/event-preprocessing/validate-event-properties.ts``: group key length,
  non-string ``$anon_distinct_id``/``alias``;
* ``nodejs/src/utils/db/utils.ts`` (``sanitizeEventName``).

The state is plain Python data behind one object with no I/O and no threads; every accessor
returns frozen snapshots, so a server may wrap :meth:`Project.ingest` in a lock and hand the
snapshots out freely. The clock is a parameter of :meth:`Project.ingest`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any

from ..contract import facts, merge_events
from ..contract import limit as contract_limit
from ..schemas import json_type
from .ids import is_illegal, resolve_distinct_id
from .person_props import lifted, should_write
from .serde import PERFORMANCE_EVENT, parse_uuid
from .serialise import iso
from .timestamps import future_tolerance, parse_timestamp

__all__ = [
    "Event",
    "Group",
    "IngestionWarning",
    "Person",
    "Project",
    "uuid7",
]

_NO_PERSON_UPDATE = ("$exception", "$$heatmap")  # person-update.ts: never touch persons
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SHARED_TEXTS = 10_000
"""How many distinct event names and distinct ids a project shares between its events (the
first ones seen until a reset; later ones are stored as they came)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One ingested event as PostHog stores it.

    ``properties`` already holds the top-level ``$set``/``$set_once`` merged over
    ``properties.$set``/``$set_once`` (top level wins, ``normalizeEvent``), ``$ip`` filled from the
    request when absent and ``$sent_at`` when the request had one. ``person_id`` is ``None`` for
    personless events (``$process_person_profile: false``).
    """

    uuid: str
    event: str
    distinct_id: str
    properties: Mapping[str, Any]
    timestamp: datetime
    person_id: str | None
    token: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    """A person row: its ids, properties and the bookkeeping PostHog keeps for merges."""

    id: str
    distinct_ids: tuple[str, ...]
    properties: Mapping[str, Any]
    is_identified: bool
    created_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class Group:
    """A group written by ``$groupidentify``; ``index`` is its group type's slot (0-4)."""

    type: str
    key: str
    properties: Mapping[str, Any]
    index: int = 0


@dataclass(frozen=True, slots=True)
class IngestionWarning:
    """An ingestion warning as PostHog names it (``type``), with its ``details`` payload."""

    type: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _PersonRow:
    id: str
    distinct_ids: list[str]
    properties: dict[str, Any]
    is_identified: bool
    created_at: datetime
    version: int = 0

    def copy(self) -> _PersonRow:
        """A copy to restore: the lists and dicts are new, their values shared (updates
        replace property values, never change them in place)."""
        return _PersonRow(
            self.id,
            list(self.distinct_ids),
            dict(self.properties),
            self.is_identified,
            self.created_at,
            self.version,
        )

    def freeze(self) -> Person:
        return Person(
            self.id,
            tuple(self.distinct_ids),
            _json_copy(self.properties),
            self.is_identified,
            self.created_at,
            self.version,
        )


# --------------------------------------------------------------------------------------------
# helpers


_UUID_RANDOM = random.Random(os.urandom(16))
"""Unique, not secret: a fake server's event ids need no cryptographic randomness, and reading
os.urandom per event was a measurable share of ingestion."""


def uuid7(moment: datetime) -> str:
    """A UUIDv7 whose time part is ``moment`` (capture ``utils.rs`` ``uuid_v7``)."""
    millis = max(0, int((moment - _EPOCH) / timedelta(milliseconds=1)))
    rand = _UUID_RANDOM.getrandbits(80)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return _uuid_text(value)


def _uuid4() -> str:
    """A random (version 4) UUID for a new person, from the same non-secret generator."""
    value = _UUID_RANDOM.getrandbits(128)
    value = (value & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    return _uuid_text(value)


def _uuid_text(value: int) -> str:
    """``str(uuid.UUID(int=value))`` without building the object."""
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


_ATOMS = frozenset({str, int, float, bool, type(None)})


def _json_copy(value: Any) -> Any:
    """A deep copy of JSON data, several times cheaper than ``copy.deepcopy`` (no memo: JSON
    has no cycles). Stored events and persons own their values, so a test that edits what it
    got back, or a client that reuses its dicts, cannot change the project behind its back."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {key: _json_copy(item) for key, item in value.items()}
    if kind is list:
        return [_json_copy(item) for item in value]
    return copy.deepcopy(value)


def _js_string(value: Any) -> str:
    """JavaScript ``String(value)``, which the merge service applies to the other id."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return ",".join("" if v is None else _js_string(v) for v in value)
    return "[object Object]"


def _lifted(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """The properties the person step reads: ``normalizeEvent``'s
    ``personInitialAndUTMProperties`` (:func:`.person_props.lifted`).

    PostHog writes the lifted ``$set``/``$set_once`` into the stored event too; the fake keeps
    its stored events as the client sent them (plus ``$ip``/``$sent_at``), which the conformance
    corpus asserts, and lets only the person see the lifted keys. ``$groupidentify`` events lose
    their ``$set`` (``normalizeProcessPerson``) before any person work, so they lift nothing.
    """
    if name == "$groupidentify":
        return properties
    return lifted(name, properties)


def _utc(moment: datetime) -> datetime:
    return (
        moment.replace(tzinfo=timezone.utc)
        if moment.tzinfo is None
        else moment.astimezone(timezone.utc)
    )


@dataclass(slots=True)
class _Undo:
    """What one request's ingestion changed, enough to put the project back as it was: the
    lengths of the append-only lists, and the prior value of every person row, distinct-id
    owner and group it touched (``None``: it did not exist)."""

    events: int
    warnings: int
    group_types: int
    rows: dict[str, _PersonRow | None] = field(default_factory=dict)
    owners: dict[str, str | None] = field(default_factory=dict)
    groups: dict[tuple[str, str], Group | None] = field(default_factory=dict)
    order: list[str] | None = None
    """The persons' ids in creation order, saved before a merge first deletes one."""


class _Atomic:
    """:meth:`Project.atomic`'s block (a class, not a generator: it runs once per request)."""

    __slots__ = ("_project",)

    def __init__(self, project: Project) -> None:
        self._project = project

    def __enter__(self) -> None:
        project = self._project
        project._undo = _Undo(
            len(project._events), len(project._warnings), len(project._group_types)
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        project = self._project
        undo, project._undo = project._undo, None
        if exc_type is not None and undo is not None:
            project._roll_back(undo)


# --------------------------------------------------------------------------------------------
# the project


class Project:
    """One PostHog project's events, persons, groups and ingestion warnings, in memory.

    Not thread-safe by itself; all mutation goes through :meth:`ingest` and :meth:`reset`, so one
    lock around those two (and the accessors) is enough.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything (between tests)."""
        self._undo: _Undo | None = None
        self._events: list[Event] = []
        self._persons: dict[str, _PersonRow] = {}
        self._owner: dict[str, str] = {}  # distinct_id -> person id
        self._groups: dict[tuple[str, str], Group] = {}
        self._group_types: list[str] = []
        self._warnings: list[IngestionWarning] = []
        self._texts: dict[str, str] = {}  # _share's memo

    # -- accessors ----------------------------------------------------------------------------

    def events(self, name: str | None = None, distinct_id: str | None = None) -> list[Event]:
        """Stored events in ingestion order, optionally filtered by name and distinct id."""
        return [
            event
            for event in self._events
            if (name is None or event.event == name)
            and (distinct_id is None or event.distinct_id == distinct_id)
        ]

    def events_between(self, start: int, stop: int) -> list[Event]:
        """Stored events ``start`` to ``stop`` (positions in ingestion order), without copying
        the whole list: how the app reads one request's events (:mod:`.event_links`)."""
        return self._events[start:stop]

    def event_count(self) -> int:
        """How many events are stored."""
        return len(self._events)

    def persons(self) -> list[Person]:
        """Every person, in creation order."""
        return [row.freeze() for row in self._persons.values()]

    def person_for(self, distinct_id: str) -> Person | None:
        """The person that owns ``distinct_id`` now (after merges), or ``None``."""
        person_id = self._owner.get(distinct_id)
        return self._persons[person_id].freeze() if person_id is not None else None

    def groups(self) -> list[Group]:
        """Every group written so far."""
        return list(self._groups.values())

    def group_types(self) -> tuple[str, ...]:
        """Group types in index order (at most the contract's ``max_group_types``)."""
        return tuple(self._group_types)

    def warnings(self) -> list[IngestionWarning]:
        """Ingestion warnings in the order they were raised."""
        return list(self._warnings)

    def warnings_since(self, seen: int) -> list[IngestionWarning]:
        """The warnings after the first ``seen``: what a live stream has not sent yet (it
        reads every 50 ms; copying all of them each time grew with the run)."""
        return self._warnings[seen:]

    def warning_count(self) -> int:
        return len(self._warnings)

    # -- ingestion ----------------------------------------------------------------------------

    def atomic(self) -> _Atomic:
        """A ``with`` block whose ingestion is kept only if the block completes: if it raises,
        everything its :meth:`ingest` calls did is undone before the error propagates.

        Capture hands a request's events to Kafka in one ``send_batch`` and answers the request
        by its outcome (PostHog/posthog rust/capture/src/v0_endpoint.rs ``process_events``), so
        a client that saw an error retries the whole request: the fake ingests each request in
        one of these blocks, so the retry cannot store the first events twice. Not reentrant.
        """
        return _Atomic(self)

    def _roll_back(self, undo: _Undo) -> None:
        """Put back what :class:`_Undo` saved."""
        del self._events[undo.events :]
        del self._warnings[undo.warnings :]
        del self._group_types[undo.group_types :]
        for person_id, row in undo.rows.items():
            if row is None:
                self._persons.pop(person_id, None)
            else:
                self._persons[person_id] = row
        if undo.order is not None:  # a restored row goes back to its place, not the end
            persons = self._persons  # (rows the request created are gone again)
            self._persons = {pid: persons[pid] for pid in undo.order if pid in persons}
        for distinct_id, owner in undo.owners.items():
            if owner is None:
                self._owner.pop(distinct_id, None)
            else:
                self._owner[distinct_id] = owner
        for key, group in undo.groups.items():
            if group is None:
                self._groups.pop(key, None)
            else:
                self._groups[key] = group

    def ingest(
        self,
        event_dict: Mapping[str, Any],
        token: str,
        now: datetime,
        sent_at: datetime | None = None,
        ip: str | None = None,
    ) -> Event | None:
        """Run one accepted event through ingestion; return what was stored (``None``: dropped).

        ``event_dict`` is one of :func:`.batch.classify`'s events (or any client event object);
        ``now`` is the server clock when the request arrived and ``sent_at`` the request's
        effective ``sent_at``. Capture already refused events without a distinct id, so one here
        is a caller bug (``ValueError``).
        """
        now = _utc(now)
        name = self._share(self._event_name(event_dict.get("event")))
        if name == PERFORMANCE_EVENT:
            return None  # capture drops these before anything else
        distinct_id = resolve_distinct_id(event_dict)
        if distinct_id is not None:
            distinct_id = self._share(distinct_id)
        if distinct_id is None:
            raise ValueError("event has no distinct_id; capture answers 400 for it")
        raw_props = event_dict.get("properties")
        properties: dict[str, Any] = (
            {
                key: value if type(value) in _ATOMS else _json_copy(value)
                for key, value in raw_props.items()
            }
            if raw_props
            else {}
        )

        uuid_text = self._event_uuid(event_dict.get("uuid"), now)
        if uuid_text is None:
            self._warn(
                "skipping_event_invalid_uuid",
                eventUuid=event_dict.get("uuid"),
                event=name,
                distinctId=distinct_id,
            )
            return None

        # normalizeEvent: top-level $set/$set_once over the ones in properties
        for key in ("$set", "$set_once"):
            top = event_dict.get(key)
            if isinstance(top, Mapping):
                inner = properties.get(key)
                merged = dict(inner) if isinstance(inner, Mapping) else {}
                merged.update({key: _json_copy(value) for key, value in top.items()})
                properties[key] = merged
        if ip is not None and not properties.get("$ip"):
            properties["$ip"] = ip
        if sent_at is not None:
            properties["$sent_at"] = iso(_utc(sent_at))

        timestamp = self._timestamp(event_dict, properties, now, sent_at, uuid_text, name)
        base = {"eventUuid": uuid_text, "event": name, "distinctId": distinct_id}

        # validate-event-properties.ts
        if name == "$groupidentify":
            group_key = properties.get("$group_key")
            if group_key and len(_js_string(group_key)) > contract_limit("group_key_max_chars"):
                self._warn(
                    "group_key_too_long",
                    **base,
                    groupKey=group_key,
                    groupKeyLength=len(_js_string(group_key)),
                    maxLength=contract_limit("group_key_max_chars"),
                )
                return None
        if name in merge_events():
            for prop, warning in (
                ("$anon_distinct_id", "invalid_anon_distinct_id"),
                ("alias", "invalid_alias"),
            ):
                value = properties.get(prop)
                if value is not None and not isinstance(value, str):
                    # Node reports an array as such, anything else by its typeof (never null here)
                    self._warn(warning, **base, receivedType=json_type(value))
                    return None

        # normalizeProcessPerson
        process_person = True
        flag = properties.get("$process_person_profile", True)
        if flag is False:
            process_person = False
        elif flag is not True:
            self._warn(
                "invalid_process_person_profile",
                **base,
                **{"$process_person_profile": flag},
                message="Only a boolean value is valid for the $process_person_profile property",
            )
        if not process_person:
            if name in facts()["person_events"]:
                self._warn("invalid_event_when_process_person_profile_is_false", **base)
                return None
            for key in ("$set", "$set_once", "$unset"):
                properties.pop(key, None)

        if name == "$groupidentify":
            if not self._group_identify(properties, base):
                return None
            for key in ("$set", "$set_once", "$unset"):
                properties.pop(key, None)

        person_id: str | None = None
        if process_person:
            person_id = self._persons_step(
                name, distinct_id, _lifted(name, properties), timestamp, uuid_text
            )

        stored = Event(
            uuid=uuid_text,
            event=name,
            distinct_id=distinct_id,
            properties=properties,
            timestamp=timestamp,
            person_id=person_id,
            token=token,
        )
        self._events.append(stored)
        return stored

    # -- steps --------------------------------------------------------------------------------

    def _share(self, text: str) -> str:
        """The one copy of ``text`` this project's events hold. JSON decoding makes a new
        string for every value, so 100,000 events of a few names and users held 200,000
        strings (10.6 MB; tracemalloc, bench/bench_server.py's RSS row). Bounded: a run of
        ever-new ids stops adding after :data:`_SHARED_TEXTS` (what sharing would not save)."""
        texts = self._texts
        shared = texts.get(text)
        if shared is not None:
            return shared
        if len(texts) < _SHARED_TEXTS:
            texts[text] = text
        return text

    @staticmethod
    def _event_name(value: Any) -> str:
        """sanitizeEventName: non-strings JSON-stringified, then cut to 200 characters."""
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return text[: contract_limit("event_name_max_chars")]

    @staticmethod
    def _event_uuid(value: Any, now: datetime) -> str | None:
        """Capture generates a UUIDv7 for a missing or empty uuid; Node drops invalid ones."""
        if value is None or value == "":
            return uuid7(now)
        return parse_uuid(value) if isinstance(value, str) else None

    def _timestamp(
        self,
        event: Mapping[str, Any],
        properties: Mapping[str, Any],
        now: datetime,
        sent_at: datetime | None,
        event_uuid: str,
        name: str,
    ) -> datetime:
        """timestamps.ts ``parseEventTimestamp``: offset, else skew-corrected timestamp, else now.

        ``$ignore_sent_at: true`` disables the skew correction; a result over the contract's
        ``future_tolerance_ms`` ahead of ``now`` is clamped to ``now`` with a warning; an
        unparseable timestamp falls back to ``now`` with ``ignored_invalid_timestamp``.
        """
        if properties.get("$ignore_sent_at") is True:
            sent_at = None
        offset = event.get("offset")
        raw = event.get("timestamp")
        result: datetime | None
        if isinstance(offset, int) and not isinstance(offset, bool) and offset:
            try:
                result = now - timedelta(milliseconds=offset)
            except OverflowError:  # timestamp.rs: a year outside 0-9999 becomes the epoch
                result = _EPOCH
        elif isinstance(raw, str):
            parsed = parse_timestamp(raw)
            if parsed is None:
                self._warn(
                    "ignored_invalid_timestamp",
                    eventUuid=event_uuid,
                    field="timestamp",
                    value=raw,
                    reason="invalid input",
                )
                return now
            result = now + (parsed - _utc(sent_at)) if sent_at is not None else parsed
        else:
            result = now
        tolerance = future_tolerance()
        if result - now > tolerance:
            self._warn(
                "event_timestamp_in_future",
                timestamp=raw,
                sentAt=iso(sent_at) if sent_at is not None else None,
                offset=offset,
                now=iso(now),
                result=iso(result),
                eventUuid=event_uuid,
                eventName=name,
            )
            return now
        return result

    def _group_identify(self, properties: Mapping[str, Any], base: Mapping[str, Any]) -> bool:
        """Upsert the group of a ``$groupidentify``; ``False`` when the event is dropped."""
        group_type = properties.get("$group_type")
        group_key = properties.get("$group_key")
        if group_key is not None and not isinstance(group_key, str):
            self._warn("invalid_group_key", **base, groupKey=group_key)
            return False
        if group_type is not None and not isinstance(group_type, str):
            self._warn("invalid_group_type", **base, groupType=group_type)
            return False
        if not group_type or not group_key:
            return True  # nothing to write; the event itself is kept
        if group_type not in self._group_types:
            if len(self._group_types) >= contract_limit("max_group_types"):
                return True  # no index left: the group is not written, the event is kept
            self._group_types.append(group_type)
        existing = self._groups.get((group_type, group_key))
        if self._undo is not None:
            self._undo.groups.setdefault((group_type, group_key), existing)
        merged = dict(existing.properties) if existing else {}
        group_set = properties.get("$group_set")
        if isinstance(group_set, Mapping):
            merged.update({key: _json_copy(value) for key, value in group_set.items()})
        self._groups[(group_type, group_key)] = Group(
            group_type, group_key, merged, self._group_types.index(group_type)
        )
        return True

    def _persons_step(
        self,
        name: str,
        distinct_id: str,
        properties: dict[str, Any],
        timestamp: datetime,
        event_uuid: str,
    ) -> str:
        """Merge (for merge events) and then apply ``$set``/``$set_once``/``$unset``."""
        merged_now = False
        other: Any = None
        if name in ("$create_alias", "$merge_dangerously") and properties.get("alias"):
            other = properties["alias"]
        elif name == "$identify" and "$anon_distinct_id" in properties:
            other = properties["$anon_distinct_id"]
        if other is not None or (name == "$identify" and "$anon_distinct_id" in properties):
            merged_now = self._merge(
                _js_string(other),
                distinct_id,
                properties,
                timestamp,
                event_uuid,
                dangerously=name == "$merge_dangerously",
            )
        row = self._row(distinct_id)
        if row is None:
            row = self._create([distinct_id], properties, timestamp, identified=False)
        elif (
            name not in _NO_PERSON_UPDATE
            and not merged_now
            and should_write(name, row.properties, properties)
        ):
            # a write (version + 1) only for changes that count: FILTERED_PERSON_UPDATE_
            # PROPERTIES alone leave the person as it was (person_props.should_write)
            self._apply_updates(row, properties)
            row.version += 1
        return row.id

    def _merge(
        self,
        other_id: str,
        into_id: str,
        properties: dict[str, Any],
        timestamp: datetime,
        event_uuid: str,
        *,
        dangerously: bool,
    ) -> bool:
        """person-merge-service.ts ``merge``; ``True`` when this call already applied updates."""
        if other_id == into_id:
            return False
        for illegal, legal in ((into_id, other_id), (other_id, into_id)):
            if is_illegal(illegal):
                self._warn(
                    "cannot_merge_with_illegal_distinct_id",
                    illegalDistinctId=illegal,
                    otherDistinctId=legal,
                    eventUuid=event_uuid,
                )
                return False
        other = self._row(other_id)
        into = self._row(into_id)
        if other is None and into is None:
            self._create([into_id, other_id], properties, timestamp, identified=True)
            return True
        if other is not None and into is None:
            self._attach(other, into_id)
            return self._identify(other, properties)
        if other is None and into is not None:
            self._attach(into, other_id)
            return self._identify(into, properties)
        assert other is not None and into is not None
        if other.id == into.id:
            return self._identify(into, properties)
        if other.is_identified and not dangerously:
            self._warn(
                "cannot_merge_already_identified",
                sourcePersonDistinctId=other_id,
                targetPersonDistinctId=into_id,
                eventUuid=event_uuid,
            )
            # mergePeople returns the target with needsPersonUpdate and mergeDistinctIds has
            # set updateIsIdentified: the target is marked identified all the same
            return self._identify(into, properties)
        into.properties = {**other.properties, **into.properties}
        self._apply_updates(into, properties)
        into.is_identified = True
        into.created_at = min(into.created_at, other.created_at)
        into.version = max(into.version, other.version) + 1
        for moved in other.distinct_ids:
            self._attach(into, moved)
        if self._undo is not None and self._undo.order is None:
            self._undo.order = list(self._persons)
        del self._persons[other.id]
        return True

    def _identify(self, row: _PersonRow, properties: Mapping[str, Any]) -> bool:
        changed = self._apply_updates(row, properties)
        if changed or not row.is_identified:
            row.is_identified = True
            row.version += 1
        return True

    def _row(self, distinct_id: str) -> _PersonRow | None:
        """The row owning ``distinct_id``; every row the steps change is reached through here
        (or made by :meth:`_create`), so this is where a request's undo saves it."""
        person_id = self._owner.get(distinct_id)
        if person_id is None:
            return None
        row = self._persons[person_id]
        if self._undo is not None and person_id not in self._undo.rows:
            self._undo.rows[person_id] = row.copy()
        return row

    def _attach(self, row: _PersonRow, distinct_id: str) -> None:
        if self._undo is not None and distinct_id not in self._undo.owners:
            self._undo.owners[distinct_id] = self._owner.get(distinct_id)
        if distinct_id not in row.distinct_ids:
            row.distinct_ids.append(distinct_id)
        self._owner[distinct_id] = row.id

    def _create(
        self,
        distinct_ids: list[str],
        properties: Mapping[str, Any],
        timestamp: datetime,
        *,
        identified: bool,
    ) -> _PersonRow:
        row = _PersonRow(_uuid4(), [], {}, identified, timestamp)
        if self._undo is not None:
            self._undo.rows.setdefault(row.id, None)
        self._apply_updates(row, properties)
        self._persons[row.id] = row
        for distinct_id in distinct_ids:
            self._attach(row, distinct_id)
        return row

    @staticmethod
    def _apply_updates(row: _PersonRow, properties: Mapping[str, Any]) -> bool:
        """person-update.ts: ``$set_once`` only where absent, ``$set`` overwrites, ``$unset``
        (a list of keys or an object whose keys count) removes. ``True`` if anything changed."""
        before = dict(row.properties)  # values are replaced, never changed in place
        set_once = properties.get("$set_once")
        if isinstance(set_once, Mapping):
            for key, value in set_once.items():
                row.properties.setdefault(key, _json_copy(value))
        to_set = properties.get("$set")
        if isinstance(to_set, Mapping):
            for key, value in to_set.items():
                row.properties[key] = _json_copy(value)
        unset = properties.get("$unset")
        keys: Iterable[Any] = ()
        if isinstance(unset, list):
            keys = unset
        elif isinstance(unset, Mapping):
            keys = unset.keys()
        for key in keys:
            if isinstance(key, str):
                row.properties.pop(key, None)
        return row.properties != before

    def _warn(self, kind: str, **details: Any) -> None:
        self._warnings.append(IngestionWarning(kind, details))
