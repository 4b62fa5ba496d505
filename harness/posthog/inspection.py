"""The ``/_ctph/...`` inspection API: the fake's state as JSON, for clients in other processes.

``ctph serve`` users and SDK tests in other languages cannot call :class:`.app.CaptureApp`'s
methods, so the same views are served over HTTP: ``GET /_ctph/events`` (``?event=``,
``?distinct_id=``), ``/_ctph/persons``, ``/_ctph/groups``, ``/_ctph/warnings``,
``/_ctph/recordings`` (session replay, ``?session_id=``),
``/_ctph/requests`` (the redacted journal), ``POST /_ctph/reset`` and ``/_ctph/flags``
(:mod:`.flag_inspection`). These routes are never
faulted and never ingest anything.

Paging (``/_ctph/events`` and ``/_ctph/requests``): without ``limit`` or ``cursor`` the answer
is the whole JSON list, as it always was. With either, it is one page in an envelope,
``{"results": [...], "cursor": "...", "has_more": bool}`` (``/_ctph/requests`` adds
``dropped``, the records the journal's bounds evicted since the last reset). ``limit`` is 1 to
:data:`MAX_LIMIT` (default :data:`DEFAULT_LIMIT`); ``cursor`` is the previous page's, passed
back unchanged to get what followed it. A cursor marks a place in an append-only sequence
(stored events in ingestion order, or the journal's request numbers, which never restart), so
pages neither skip nor repeat while new events arrive, and the last page's cursor later
returns only what arrived since: a client can tail the server. Filters combine with paging
(pass the same ones with the cursor). Bad values answer 400 saying what was wrong.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

from .answer import JSON, OK_BODY, TEXT, Answer
from .exchange import Incoming
from .flag_inspection import flag_route
from .flags import Flag
from .journal import JournalEntry, JournalPage
from .project import Event, Group, IngestionWarning, Person
from .replay import Recording
from .routes import INSPECTION_PREFIX
from .serialise import dumps, iso

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "PREFIX", "State", "inspect"]

PREFIX = INSPECTION_PREFIX
DEFAULT_LIMIT = 100
"""Page size when only ``cursor`` is given."""
MAX_LIMIT = 10_000
"""The largest page: large enough to page 100,000 events in ten requests, small enough that
one page is never the multi-second, 30 MB answer the whole list can be."""


class State(Protocol):
    """What the inspection routes read (and reset); :class:`.app.CaptureApp` provides it."""

    def events(self, name: str | None = None, distinct_id: str | None = None) -> list[Event]: ...

    def persons(self) -> list[Person]: ...

    def groups(self) -> list[Group]: ...

    def warnings(self) -> list[IngestionWarning]: ...

    def recordings(self, session_id: str | None = None) -> list[Recording]: ...

    def journal(self) -> list[JournalEntry]: ...

    def journal_page(self, after: int, limit: int) -> JournalPage: ...

    def reset(self) -> None: ...

    def flag_definitions(self) -> tuple[Flag, ...]: ...

    def set_flags(self, flags: Mapping[str, Any]) -> tuple[Flag, ...]: ...


class _BadQuery(ValueError):
    """A paging parameter the route cannot use; its text is the 400's body."""


@dataclass(frozen=True)
class _Paging:
    """``limit`` and the decoded ``cursor`` of a paged request: ``position`` (events stored
    before the page, or the last journal ``seq`` seen) and, for events, the uuid of the event
    just before it, which proves the cursor still describes the same list."""

    limit: int
    position: int = 0
    last_uuid: str = ""


def inspect(state: State, incoming: Incoming) -> Answer:
    """Answer one ``/_ctph/...`` request; unknown routes and methods are problems."""
    route = incoming.path.removeprefix(PREFIX).rstrip("/")
    method = incoming.method
    if method == "POST" and route == "reset":
        state.reset()
        return Answer(200, OK_BODY, JSON, kind="inspect")
    if route == "flags":  # feature flags: GET to read, POST a {key: definition} to set
        return flag_route(state, incoming)
    if method != "GET":
        return Answer(405, "", kind="unexpected")
    try:
        data = _view(state, route, incoming.args())
    except _BadQuery as exc:
        return Answer(400, f"ctph: {exc}", TEXT, kind="inspect")
    if data is None:
        return Answer(404, "", kind="unexpected")
    return Answer(200, dumps(data), JSON, kind="inspect")


def _view(state: State, route: str, args: dict[str, str]) -> Any:
    """The JSON-ready answer for ``route``, or ``None`` when there is no such route."""
    if route == "events":
        found = state.events(name=args.get("event"), distinct_id=args.get("distinct_id"))
        paging = _paging(args, "e")
        if paging is None:
            return [_event_dict(e) for e in found]
        return _event_page(found, paging)
    if route == "requests":
        paging = _paging(args, "r")
        if paging is None:
            return [e.to_dict() for e in state.journal()]
        page = state.journal_page(paging.position, paging.limit)
        last = page.entries[-1].seq if page.entries else paging.position
        return {**page.to_dict(), "cursor": _encode("r", last)}
    if route == "persons":
        return [_person_dict(p) for p in state.persons()]
    if route == "groups":
        return [asdict(g) for g in state.groups()]
    if route == "warnings":
        return [asdict(w) for w in state.warnings()]
    if route == "recordings":  # session replay (/s/), ?session_id= for one
        return [_recording_dict(r) for r in state.recordings(args.get("session_id"))]
    return None


def _paging(args: dict[str, str], kind: str) -> _Paging | None:
    """The paging a request asks for (``None``: the whole list, unpaged)."""
    if "limit" not in args and "cursor" not in args:
        return None
    limit = _limit(args.get("limit"))
    cursor = args.get("cursor", "")
    if not cursor:
        return _Paging(limit)
    position, last_uuid = _decode(cursor, kind)
    return _Paging(limit, position, last_uuid)


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit() and len(stripped) <= 6):
        raise _BadQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {text[:40]!r}")
    limit = int(stripped)
    if not 1 <= limit <= MAX_LIMIT:
        raise _BadQuery(f"limit must be from 1 to {MAX_LIMIT}, got {limit}")
    return limit


def _encode(kind: str, position: int, last_uuid: str = "") -> str:
    """An opaque cursor: URL-safe base64 of ``kind``, position and (events) the last uuid."""
    raw = f"{kind}{position}:{last_uuid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, kind: str) -> tuple[int, str]:
    refused = _BadQuery(
        f"cursor {cursor[:40]!r} is not one this route issued; pass back the 'cursor' of a "
        "previous page unchanged, or leave it out to start from the first"
    )
    if len(cursor) > 200:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        raise refused from None
    head, sep, last_uuid = raw.partition(":")
    digits = head[1:]
    if not (sep and head[:1] == kind and digits.isascii() and digits.isdigit()):
        raise refused
    return int(digits), last_uuid


def _event_page(found: list[Event], paging: _Paging) -> dict[str, Any]:
    """One page of ``found`` (stored events in ingestion order, filtered). The list only grows
    until a reset, so a position in it stays valid; the uuid of the event before the position
    tells a cursor from before a reset (or from other filters) from a current one."""
    start = paging.position
    if start > len(found) or (start and found[start - 1].uuid != paging.last_uuid):
        raise _BadQuery(
            "cursor no longer matches the stored events (the fake was reset, or the filters "
            "differ from the ones it was issued with); start again without a cursor"
        )
    stop = min(len(found), start + paging.limit)
    last_uuid = found[stop - 1].uuid if stop else ""
    return {
        "results": [_event_dict(e) for e in found[start:stop]],
        "cursor": _encode("e", stop, last_uuid),
        "has_more": stop < len(found),
    }


_EVENT_FIELDS = tuple(f.name for f in fields(Event))


def _event_dict(event: Event) -> dict[str, Any]:
    """Shallow: ``asdict`` deep-copied every property by recursion only for ``dumps`` to walk
    them again (most of the whole list's cost)."""
    out = {name: getattr(event, name) for name in _EVENT_FIELDS}
    out["timestamp"] = iso(event.timestamp)
    return out


def _recording_dict(recording: Recording) -> dict[str, Any]:
    out = asdict(recording)
    out["start"] = iso(recording.start)
    out["end"] = iso(recording.end)
    return out


def _person_dict(person: Person) -> dict[str, Any]:
    out = asdict(person)
    out["created_at"] = iso(person.created_at)
    return out
