"""The ``/_ctph/...`` inspection API: the fake's state as JSON, for clients in other processes.

``ctph serve`` users and SDK tests in other languages cannot call :class:`.app.CaptureApp`'s
methods, so the same views are served over HTTP: ``GET /_ctph/events`` (``?event=``,
``?distinct_id=``), ``/_ctph/persons``, ``/_ctph/groups``, ``/_ctph/warnings``,
``/_ctph/requests`` (the redacted journal) and ``POST /_ctph/reset``. These routes are never
faulted and never ingest anything.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from .answer import JSON, OK_BODY, Answer
from .exchange import Incoming
from .journal import JournalEntry
from .project import Event, Group, IngestionWarning, Person
from .serialise import dumps, iso

__all__ = ["PREFIX", "State", "inspect"]

PREFIX = "/_ctph/"


class State(Protocol):
    """What the inspection routes read (and reset); :class:`.app.CaptureApp` provides it."""

    def events(self, name: str | None = None, distinct_id: str | None = None) -> list[Event]: ...

    def persons(self) -> list[Person]: ...

    def groups(self) -> list[Group]: ...

    def warnings(self) -> list[IngestionWarning]: ...

    def journal(self) -> list[JournalEntry]: ...

    def reset(self) -> None: ...


def inspect(state: State, incoming: Incoming) -> Answer:
    """Answer one ``/_ctph/...`` request; unknown routes and methods are problems."""
    route = incoming.path.removeprefix(PREFIX).rstrip("/")
    method = incoming.method
    if method == "POST" and route == "reset":
        state.reset()
        return Answer(200, OK_BODY, JSON, kind="inspect")
    if method != "GET":
        return Answer(405, "", kind="unexpected")
    data: Any
    if route == "events":
        args = incoming.args()
        found = state.events(name=args.get("event"), distinct_id=args.get("distinct_id"))
        data = [_event_dict(e) for e in found]
    elif route == "persons":
        data = [_person_dict(p) for p in state.persons()]
    elif route == "groups":
        data = [asdict(g) for g in state.groups()]
    elif route == "warnings":
        data = [asdict(w) for w in state.warnings()]
    elif route == "requests":
        data = [e.to_dict() for e in state.journal()]
    else:
        return Answer(404, "", kind="unexpected")
    return Answer(200, dumps(data), JSON, kind="inspect")


def _event_dict(event: Event) -> dict[str, Any]:
    out = asdict(event)
    out["timestamp"] = iso(event.timestamp)
    return out


def _person_dict(person: Person) -> dict[str, Any]:
    out = asdict(person)
    out["created_at"] = iso(person.created_at)
    return out
