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

Export: ``format=json`` (the default) or ``format=ndjson`` (one result a line) on
``/_ctph/events``, ``/_ctph/requests``, ``/_ctph/persons``, ``/_ctph/groups`` and
``/_ctph/warnings``: the inspector's Export button downloads the view it shows, with its
filters (``/_ctph/persons`` takes ``person``, ``distinct_id`` and ``q``: see
:mod:`.inspection_filters`). Without ``format`` these three answer exactly as before. An
unknown parameter on any of these routes, ``/_ctph/recordings`` and ``/_ctph/counts`` is a
400 naming it (all but events and requests ignored every parameter before, and nothing
documented passed one): a typo must not silently answer everything.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

from ..redact import clipped, printable
from .answer import JSON, OK_BODY, TEXT, Answer
from .event_links import NO_LINK, Link
from .exchange import Incoming
from .flag_inspection import flag_route
from .flags import Flag
from .inspection_filters import (
    EVENT_PARAMS,
    NO_PARAMS,
    PERSON_PARAMS,
    RECORDING_PARAMS,
    REQUEST_PARAMS,
    VIEW_PARAMS,
    BadFilter,
    Filters,
    parse_filters,
    refuse_unknown,
)
from .journal import JournalEntry, JournalPage, Record
from .project import Event, Group, IngestionWarning, Person
from .replay import Recording
from .routes import INSPECTION_PREFIX
from .serialise import dumps, iso

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_WAIT", "NDJSON", "PREFIX", "State", "inspect"]

PREFIX = INSPECTION_PREFIX
DEFAULT_LIMIT = 100
"""Page size when only ``cursor`` is given."""
MAX_LIMIT = 10_000
"""The largest page: large enough to page 100,000 events in ten requests, small enough that
one page is never the multi-second, 30 MB answer the whole list can be."""
MAX_WAIT = 30.0
"""The longest ``?wait=`` (seconds): a waiting request holds one of the server's threads."""
NDJSON = "application/x-ndjson"
NO_FILTERS = Filters()


class State(Protocol):
    """What the inspection routes read (and reset); :class:`.app.CaptureApp` provides it."""

    def persons(self) -> list[Person]: ...

    def groups(self) -> list[Group]: ...

    def warnings(self) -> list[IngestionWarning]: ...

    def recordings(self, session_id: str | None = None) -> list[Recording]: ...

    def journal(self) -> list[JournalEntry]: ...

    def journal_page(self, after: int, limit: int) -> JournalPage: ...

    def journal_records(self) -> list[tuple[Record, list[tuple[Event, Link | None]]]]: ...

    def request_record(self, seq: int) -> tuple[Record, list[tuple[Event, Link | None]]] | None: ...

    def linked_events(self) -> tuple[list[Event], Callable[[Event], Link | None]]: ...

    def person_ids(self, ident: str) -> frozenset[str]: ...

    def counts(self) -> dict[str, int]: ...

    def change_version(self) -> int: ...

    def wait_for_change(self, version: int, timeout: float) -> int: ...

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


@dataclass(frozen=True)
class _Found:
    """A list route's answer before it is written: JSON-ready ``data`` (a list, or a page's
    envelope), whether it holds no result (what ``?wait=`` waits past), and its format."""

    data: Any
    empty: bool


def inspect(state: State, incoming: Incoming) -> Answer:
    """Answer one ``/_ctph/...`` request; unknown routes and methods are problems."""
    route = incoming.path.removeprefix(PREFIX).rstrip("/")
    method = incoming.method
    if method == "POST":
        refused = cross_origin(incoming)
        if refused is not None:
            return Answer(403, f"ctph: {refused}", TEXT, kind="inspect")
    if method == "POST" and route == "reset":
        state.reset()
        return Answer(200, OK_BODY, JSON, kind="inspect")
    if route == "flags":  # feature flags: GET to read, POST a {key: definition} to set
        return flag_route(state, incoming)
    if method != "GET":
        return Answer(405, "", kind="unexpected")
    if route == "stream":  # only over a streaming connection (app.py answers it there)
        return Answer(400, NO_STREAM, TEXT, kind="inspect")
    args = incoming.args()
    try:
        if route in ("events", "requests"):
            return _listed(state, route, args)
        if route in ("persons", "groups", "warnings"):
            return _written(_state_list(state, route, args), _format(args.get("format")))
        data = _view(state, route, args)
    except (_BadQuery, BadFilter) as exc:
        return Answer(400, f"ctph: {exc}", TEXT, kind="inspect")
    if data is None:
        if route.startswith(("events/", "requests/")):  # an id that is not (or no longer) here
            text = dumps({"error": f"no {printable(route[:80])!r} here (evicted, reset or never)"})
            return Answer(404, text, JSON, kind="inspect")
        return Answer(404, "", kind="unexpected")
    return Answer(200, printable(dumps(data)), JSON, kind="inspect")


NO_STREAM = "ctph: /_ctph/stream needs a streaming HTTP connection; poll /_ctph/requests?cursor="


def cross_origin(incoming: Incoming) -> str | None:
    """Why a state-changing request is refused as cross-site (``None``: it is not).

    A request with no ``Origin`` (an SDK, a test client, curl) is allowed; a browser's must
    come from the server's own origin: a page elsewhere must not reset the fake or replace
    its flags (CSRF). The own origin is the address the server is bound to, its loopback
    names, or the ``Host`` when that is an IP literal (a name could be DNS-rebound)."""
    if (incoming.header("Sec-Fetch-Site") or "").lower() == "cross-site":
        return "refused: a cross-site request (Sec-Fetch-Site: cross-site) cannot change state"
    origin = incoming.header("Origin")
    if origin is None:
        return None
    environ = incoming.environ
    port = str(environ.get("SERVER_PORT", ""))
    names = {str(environ.get("SERVER_NAME", "")), "localhost", "127.0.0.1", "[::1]"}
    host = incoming.header("Host") or ""
    name = host.rpartition(":")[0] if host.rpartition(":")[2].isdigit() else host
    if _is_ip_literal(name):
        names.add(name)
    allowed = {f"http://{n}:{port}" for n in names}
    if origin.rstrip("/") in allowed:
        return None
    return (
        f"refused: Origin {clipped(origin)!r} is not this server's own; "
        "state changes are same-origin"
    )


def _is_ip_literal(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _listed(state: State, route: str, args: dict[str, str]) -> Answer:
    """``/_ctph/events`` and ``/_ctph/requests``: filtered, paged, exported, waited on."""
    allowed = EVENT_PARAMS if route == "events" else REQUEST_PARAMS
    filters = parse_filters(args, allowed, state.person_ids)
    export = _format(args.get("format"))
    wait = _wait(args.get("wait"))
    newest = _newest_first(args.get("order"))
    kind = "e" if route == "events" else "r"
    paging = _paging(args, kind.upper() if newest else kind)

    def find() -> _Found:
        if route == "events":
            return _events(state, filters, paging, newest)
        if newest:
            return _newest_requests(state, filters, paging)
        return _requests(state, filters, paging)

    found = find()
    if wait:
        deadline = time.monotonic() + wait
        while found.empty:
            version = state.change_version()
            found = find()  # again after reading the version: nothing slips between
            remaining = deadline - time.monotonic()
            if not found.empty or remaining <= 0:
                break
            if state.wait_for_change(version, remaining) == version:
                found = find()
                break  # time is up, or the server is stopping
    return _written(found.data, export)


def _written(data: Any, export: str) -> Answer:
    """JSON (the default) or NDJSON (one result a line; a page's cursor and ``has_more`` in
    ``X-Ctph-Cursor`` / ``X-Ctph-Has-More`` headers); keys redacted in the text."""
    if export == "json":
        return Answer(200, printable(dumps(data)), JSON, kind="inspect")
    results = data["results"] if isinstance(data, dict) else data
    text = "".join(printable(dumps(item)) + "\n" for item in results)
    headers: tuple[tuple[str, str], ...] = ()
    if isinstance(data, dict):
        headers = (
            ("X-Ctph-Cursor", data["cursor"]),
            ("X-Ctph-Has-More", "true" if data["has_more"] else "false"),
        )
    return Answer(200, text, NDJSON, kind="inspect", headers=headers)


def _format(text: str | None) -> str:
    if text is None or text in ("json", "ndjson"):
        return text or "json"
    raise _BadQuery(f"format must be json or ndjson, got {clipped(text)!r}")


def _wait(text: str | None) -> float:
    if text is None:
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_WAIT:  # NaN fails too
        raise _BadQuery(
            f"wait must be seconds, more than 0 and at most {MAX_WAIT}, got {clipped(text)!r}"
        )
    return seconds


def _events(state: State, filters: Filters, paging: _Paging | None, newest: bool = False) -> _Found:
    found, link = state.linked_events()
    if filters != NO_FILTERS:
        matches = filters.event_matches
        found = [event for event in found if matches(event, link)]
    if paging is None:
        shown = reversed(found) if newest else found
        return _Found([_event_dict(e, link(e)) for e in shown], not found)
    page = _newest_page(found, link, paging) if newest else _event_page(found, link, paging)
    return _Found(page, not page["results"])


def _newest_first(text: str | None) -> bool:
    """``order``: ``asc`` (ingestion order, the default) or ``desc`` (newest first, as the
    inspector's live table shows them: its first page is the newest, never the whole list)."""
    if text is None or text == "asc":
        return False
    if text == "desc":
        return True
    raise _BadQuery(f"order must be asc or desc, got {clipped(text)!r}")


def _newest_page(
    found: list[Event], link: Callable[[Event], Link | None], paging: _Paging
) -> dict[str, Any]:
    """``order=desc``: a page of the newest events first. Its cursor names the oldest event
    shown by its index in ingestion order (a list that only grows until a reset) and uuid, so
    the next page is what came just before it, however many events arrived since."""
    stop = len(found)
    if paging.last_uuid:
        stop = paging.position
        if stop >= len(found) or found[stop].uuid != paging.last_uuid:
            raise _BadQuery(
                "cursor no longer matches the stored events (the fake was reset, or the "
                "filters differ from the ones it was issued with); start again without a cursor"
            )
    start = max(0, stop - paging.limit)
    oldest = found[start].uuid if start < len(found) else ""
    return {
        "results": [_event_dict(e, link(e)) for e in reversed(found[start:stop])],
        "cursor": _encode("E", start, oldest),
        "has_more": start > 0,
        "total": len(found),
    }


def _newest_requests(state: State, filters: Filters, paging: _Paging | None) -> _Found:
    """``/_ctph/requests?order=desc``: journal records newest first; the cursor is the number
    of the oldest record shown (the next page holds older ones); ``total`` counts the matching
    records the journal holds."""
    kept = [
        (r, ev)
        for r, ev in state.journal_records()
        if filters == NO_FILTERS or filters.request_matches(r, ev)
    ]
    if paging is None:
        entries = [_request_dict(r, ev) for r, ev in reversed(kept)]
        return _Found(entries, not entries)
    before = [(r, ev) for r, ev in kept if not paging.position or r.seq < paging.position]
    shown = before[::-1][: paging.limit]
    last = shown[-1][0].seq if shown else paging.position
    data = {
        "results": [_request_dict(r, ev) for r, ev in shown],
        "has_more": len(before) > len(shown),
        "dropped": state.journal_page(0, 1).dropped,
        "cursor": _encode("R", last),
        "total": len(kept),
    }
    return _Found(data, not shown)


def _requests(state: State, filters: Filters, paging: _Paging | None) -> _Found:
    if filters == NO_FILTERS:  # the journal's own paging, as before
        if paging is None:
            entries = [_request_dict(r, ev) for r, ev in state.journal_records()]
            return _Found(entries, not entries)
        page = state.journal_page(paging.position, paging.limit)
        last = page.entries[-1].seq if page.entries else paging.position
        data = {**page.to_dict(), "cursor": _encode("r", last)}
        return _Found(data, not page.entries)
    matches = filters.request_matches
    kept = [(r, ev) for r, ev in state.journal_records() if matches(r, ev)]
    if paging is None:
        entries = [_request_dict(r, ev) for r, ev in kept]
        return _Found(entries, not entries)
    after = [(r, ev) for r, ev in kept if r.seq > paging.position]
    shown = after[: paging.limit]
    last = shown[-1][0].seq if shown else paging.position
    dropped = state.journal_page(0, 1).dropped
    data = {
        "results": [_request_dict(r, ev) for r, ev in shown],
        "has_more": len(after) > len(shown),
        "dropped": dropped,
        "cursor": _encode("r", last),
    }
    return _Found(data, not shown)


def _request_dict(record: Record, events: list[tuple[Event, Link | None]]) -> dict[str, Any]:
    out = record.entry().to_dict()
    out["events"] = [event.uuid for event, _ in events]
    return out


def _view(state: State, route: str, args: dict[str, str]) -> Any:
    """The JSON-ready answer for ``route``, or ``None`` when there is no such route."""
    if route.startswith("events/"):
        uuid = route.removeprefix("events/")
        events, link = state.linked_events()
        for event in events:
            if event.uuid == uuid:
                return _event_dict(event, link(event))
        return None
    if route.startswith("requests/"):
        number = route.removeprefix("requests/")
        if not (number.isascii() and number.isdigit() and len(number) <= 18):
            return None
        found = state.request_record(int(number))
        if found is None:
            return None
        from .request_detail import request_detail

        return request_detail(*found)
    if route == "counts":  # the inspector's header: the numbers the stream's messages carry
        refuse_unknown(args, NO_PARAMS)
        return state.counts()
    if route == "recordings":  # session replay (/s/), ?session_id= for one
        refuse_unknown(args, RECORDING_PARAMS)
        return [_recording_dict(r) for r in state.recordings(args.get("session_id"))]
    return None


def _state_list(state: State, route: str, args: dict[str, str]) -> list[Any]:
    """``/_ctph/persons`` (filtered), ``/_ctph/groups`` or ``/_ctph/warnings``, JSON-ready."""
    allowed = PERSON_PARAMS if route == "persons" else VIEW_PARAMS
    filters = parse_filters(args, allowed, state.person_ids)
    if route == "persons":
        shown = [_person_dict(p) for p in state.persons()]
        if filters == NO_FILTERS:
            return shown
        return [p for p in shown if filters.person_matches(p)]
    if route == "groups":
        return [asdict(g) for g in state.groups()]
    return [asdict(w) for w in state.warnings()]


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
        raise _BadQuery(
            f"limit must be a whole number from 1 to {MAX_LIMIT}, got {clipped(text)!r}"
        )
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
        f"cursor {clipped(cursor)!r} is not one this route issued; pass back the 'cursor' of a "
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


def _event_page(
    found: list[Event], link: Callable[[Event], Link | None], paging: _Paging
) -> dict[str, Any]:
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
        "results": [_event_dict(e, link(e)) for e in found[start:stop]],
        "cursor": _encode("e", stop, last_uuid),
        "has_more": stop < len(found),
        "total": len(found),
    }


_EVENT_FIELDS = tuple(f.name for f in fields(Event))


def _event_dict(event: Event, link: Link | None) -> dict[str, Any]:
    """Shallow: ``asdict`` deep-copied every property by recursion only for ``dumps`` to walk
    them again (most of the whole list's cost). The request that stored it is added:
    ``request`` (journal number), ``route``, ``status`` and ``test``."""
    out = {name: getattr(event, name) for name in _EVENT_FIELDS}
    out["timestamp"] = iso(event.timestamp)
    out.update((link or NO_LINK).fields())
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
