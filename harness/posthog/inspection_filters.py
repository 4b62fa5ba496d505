"""The inspection API's filters: one meaning on ``/_ctph/events``, ``/_ctph/requests``,
``/_ctph/persons`` and the inspector page (whose URL keeps the same parameters, so "copy API
query" is the page's own, and its Export button downloads exactly the view it shows).

==============  ====================================================================
``event``       the event name, exactly
``distinct_id`` the event's distinct id, exactly
``person``      any distinct id of a person, or the person's uuid: all that person's
                events (every distinct id merged into it now)
``status``      the HTTP status of the request that brought it: ``2xx``/``4xx``/``5xx``
                (any of ``1xx``..``5xx``) or one code (``400``)
``route``       that request's path, exactly (``/batch/``)
``lib``         the event's ``$lib`` property, exactly (``posthog-python``)
``test``        the pytest node id running when the request arrived: exact, or a prefix
                when the value ends in ``::`` or ``/`` (``tests/test_a.py::`` is every test
                in that file, ``tests/`` every test under the folder)
``q``           case-insensitive substring of the event name, the distinct id or the
                properties' JSON text (requests: of the method, path, query, body and
                response)
``kind``        requests only: the journal's routing label (``capture``, ``inspect``...)
==============  ====================================================================

On ``/_ctph/requests`` the event-level filters (``event``, ``distinct_id``, ``person``,
``lib``) keep a request when any event it stored matches them, so a refused request (no
events) is never kept by them.

``/_ctph/persons`` takes the three that describe a person, with the same meaning: ``person``
(the person that distinct id or uuid names, after merges), ``distinct_id`` (the person has
it) and ``q`` (case-insensitive substring of the person's JSON as the API shows it: keys
masked, so, as for events, a search cannot confirm a key's hidden characters one guess at a
time). ``/_ctph/groups`` and ``/_ctph/warnings`` take no filter. All three take ``format``.

An unknown parameter, or a value a filter cannot use, is a 400 naming it: a typo must not
silently show everything. (``/_ctph/persons``, ``groups`` and ``warnings`` ignored every
parameter until they took ``format``; nothing documented or tested passed them one, so they
now refuse unknown ones like the other lists.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..redact import clipped, redact_text
from .event_links import Link
from .journal import Record
from .project import Event
from .serialise import dumps

__all__ = [
    "EVENT_PARAMS",
    "NO_PARAMS",
    "PERSON_PARAMS",
    "RECORDING_PARAMS",
    "REQUEST_PARAMS",
    "VIEW_PARAMS",
    "BadFilter",
    "Filters",
    "parse_filters",
    "refuse_unknown",
]

_FILTERS = ("event", "distinct_id", "person", "status", "route", "lib", "test", "q")
_CONTROL = ("limit", "cursor", "format", "wait", "order")
EVENT_PARAMS = frozenset((*_FILTERS, *_CONTROL))
"""What ``/_ctph/events`` takes."""
REQUEST_PARAMS = frozenset((*_FILTERS, *_CONTROL, "kind"))
"""What ``/_ctph/requests`` takes."""
PERSON_PARAMS = frozenset(("person", "distinct_id", "q", "format"))
"""What ``/_ctph/persons`` takes: the filters that describe a person (no paging: persons are
few next to events)."""
VIEW_PARAMS = frozenset(("format",))
"""What ``/_ctph/groups`` and ``/_ctph/warnings`` take."""
RECORDING_PARAMS = frozenset(("session_id",))
"""What ``/_ctph/recordings`` takes."""
NO_PARAMS: frozenset[str] = frozenset()
"""What ``/_ctph/counts`` takes."""
_CLASSES = {"1xx": (100, 199), "2xx": (200, 299), "3xx": (300, 399), "4xx": (400, 499)}
_CLASSES["5xx"] = (500, 599)


class BadFilter(ValueError):
    """A parameter the route cannot use; the text names it (the 400's body)."""


@dataclass(frozen=True)
class Filters:
    """Parsed filters; ``None`` (or empty) means "not filtered by this"."""

    event: str | None = None
    distinct_id: str | None = None
    person: frozenset[str] | None = None
    """The distinct ids of the person asked for (empty: no such person, nothing matches)."""
    status: tuple[int, int] | None = None
    route: str | None = None
    lib: str | None = None
    test: str | None = None
    q: str | None = None
    """Lowercased."""
    kind: str | None = None

    @property
    def on_events(self) -> bool:
        """Whether any event-level filter is set."""
        return any(
            v is not None for v in (self.event, self.distinct_id, self.person, self.lib, self.q)
        )

    def event_matches(self, event: Event, link: Callable[[Event], Link | None]) -> bool:
        """Whether a stored event passes every filter (``link`` finds the request that
        stored it, asked only when a request-level filter is set)."""
        if self.event is not None and event.event != self.event:
            return False
        if self.distinct_id is not None and event.distinct_id != self.distinct_id:
            return False
        if self.person is not None and event.distinct_id not in self.person:
            return False
        if self.lib is not None and event.properties.get("$lib") != self.lib:
            return False
        if self.status is not None or self.route is not None or self.test is not None:
            found = link(event)
            if found is None or not self._request_matches(found.status, found.route, found.test):
                return False
        return self.q is None or _event_has(event, self.q)

    def request_matches(self, record: Record, events: Sequence[tuple[Event, Link | None]]) -> bool:
        """Whether a journal record passes: its own filters on it, the event-level ones on
        any of its events (see the module's docstring)."""
        if self.kind is not None and record.kind != self.kind:
            return False
        if not self._request_matches(record.status, record.path, record.test):
            return False
        if self.q is not None and not _request_has(record, self.q):
            return False
        if all(v is None for v in (self.event, self.distinct_id, self.person, self.lib)):
            return True
        only_events = Filters(
            event=self.event, distinct_id=self.distinct_id, person=self.person, lib=self.lib
        )
        return any(only_events.event_matches(event, _no_link) for event, _ in events)

    def person_matches(self, shown: Mapping[str, Any]) -> bool:
        """Whether a person passes ``person``, ``distinct_id`` and ``q``; ``shown`` is the
        person as the API writes it (``id``, ``distinct_ids``, ``properties``...), so ``q``
        searches exactly the text a client receives, keys masked."""
        ids = shown["distinct_ids"]
        if self.person is not None and self.person.isdisjoint(ids):
            return False
        if self.distinct_id is not None and self.distinct_id not in ids:
            return False
        return self.q is None or self.q in redact_text(dumps(shown)).lower()

    def _request_matches(self, status: int | None, route: str | None, test: str | None) -> bool:
        if self.status is not None:
            low, high = self.status
            if status is None or not low <= status <= high:
                return False
        if self.route is not None and route != self.route:
            return False
        return self.test is None or (test is not None and test_matches(self.test, test))


def _no_link(event: Event) -> Link | None:
    del event
    return None


def test_matches(wanted: str, test: str) -> bool:
    """``test`` filter: exact, or a prefix when ``wanted`` ends in ``::`` or ``/``."""
    if wanted.endswith(("::", "/")):
        return test.startswith(wanted)
    return test == wanted


def _event_has(event: Event, needle: str) -> bool:
    """Searched as the API shows the event: keys masked, so a search cannot confirm a key's
    hidden characters one guess at a time."""
    if needle in redact_text(event.event).lower():
        return True
    if needle in redact_text(event.distinct_id).lower():
        return True
    return needle in redact_text(dumps(event.properties)).lower()


def _request_has(record: Record, needle: str) -> bool:
    for text in (record.method, record.path, record.query, record.body, record.response):
        if needle in redact_text(text).lower():  # as shown: see _event_has
            return True
    return False


def parse_filters(
    args: dict[str, str], allowed: frozenset[str], person_ids: Callable[[str], frozenset[str]]
) -> Filters:
    """The filters in a request's query parameters; :class:`BadFilter` names a problem.

    ``person_ids`` resolves a ``person`` value (a distinct id or a person uuid) to the
    person's distinct ids."""
    refuse_unknown(args, allowed)
    values: dict[str, Any] = {}
    for name in ("event", "distinct_id", "route", "lib", "test", "kind"):
        if name in args:
            values[name] = _nonblank(args, name)
    if "person" in args:
        values["person"] = person_ids(_nonblank(args, "person"))
    if "status" in args:
        values["status"] = _status(args["status"])
    if "q" in args:
        values["q"] = _nonblank(args, "q").lower()
    return Filters(**values)


def refuse_unknown(args: dict[str, str], allowed: frozenset[str]) -> None:
    """:class:`BadFilter` naming the first parameter ``allowed`` lacks: on every
    ``/_ctph/`` list and view, a typo (``sesion_id``) must not silently answer everything."""
    unknown = sorted(set(args) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) if allowed else "no parameters"
        raise BadFilter(f"unknown parameter {clipped(unknown[0])!r}; this route takes {takes}")


def _nonblank(args: dict[str, str], name: str) -> str:
    value = args[name]
    if not value:
        raise BadFilter(f"{name} must not be empty (leave it out to not filter by it)")
    return value


def _status(text: str) -> tuple[int, int]:
    value = text.strip().lower()
    if value in _CLASSES:
        return _CLASSES[value]
    if value.isascii() and value.isdigit() and len(value) == 3 and 100 <= int(value) <= 599:
        return int(value), int(value)
    raise BadFilter(f"status must be 1xx..5xx or a code from 100 to 599, got {clipped(text)!r}")
