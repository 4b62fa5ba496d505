"""Which request stored each event, and which events each request stored.

The inspector shows an event beside the request that brought it (its journal number, path and
status) and the pytest test that was running, and a request beside its events. Events are
PostHog's rows (:class:`.project.Event`) and stay as they are; the links are kept beside them
here, as runs: a request's events are stored one after another (the app ingests a request
under one lock), so the request is known by where its events start in the project's
ingestion-ordered list and how many it stored. That is a few machine integers per *request*
and nothing per event: with 100,000 stored events, a map from each event to its link held
8.4 MB (issue 13's RSS budget; ``bench/bench_server.py``), the runs a few kilobytes.

An event is found by its position in that list: a reader gets the list from the project and
:meth:`Runs.locator` finds each event's position by identity, starting next to the one it
found last, since views walk the list in order (forward or newest first): a whole walk costs
O(n) without a per-event map. The path, status and test a request shares with others are
stored once (``(route, status, test)`` is memoised), and a :class:`Link` is made when read.

Not thread-safe on its own: the app writes it under the lock that guards ingestion, and clears
it on reset together with the events it points at. A reader takes a :meth:`Links.view` under
that lock and may use it after releasing it: the arrays a view holds are only ever appended
to; a reset, or dropping runs a rollback undid, starts new arrays instead of changing those.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from .project import Event

__all__ = ["NO_LINK", "Link", "Links", "Locator", "Runs"]


@dataclass(frozen=True, slots=True)
class Link:
    """The request that stored an event: its journal number, path, status and the test id
    (pytest node id) running when it arrived, or ``None``."""

    request: int
    route: str
    status: int
    test: str | None

    def fields(self) -> dict[str, object]:
        """The additive fields an event's JSON gains (``/_ctph/events``)."""
        return {
            "request": self.request,
            "route": self.route,
            "status": self.status,
            "test": self.test,
        }


NO_LINK = Link(0, "", 0, None)
"""What an event stored without a request (none today) is shown with."""

_Kind = tuple[str, int, "str | None"]
"""What requests share: route, status, test."""


@dataclass(frozen=True, slots=True)
class Runs:
    """The runs as they were when :meth:`Links.view` was called (the first ``size`` of them).

    ``starts``/``stops`` are positions in the project's ingestion-ordered event list, ascending;
    ``requests`` are journal numbers, ascending (both grow with every request that stored
    events)."""

    starts: array[int]
    stops: array[int]
    requests: array[int]
    kinds: list[_Kind]
    size: int

    def at(self, position: int) -> Link | None:
        """The link of the event stored at ``position`` (``None``: no request stored it)."""
        return self.run_at(position)[0]

    def run_at(self, position: int) -> tuple[Link | None, int, int]:
        """The link of the event at ``position`` and ``(start, stop)`` of the events sharing
        it (``(None, position, position + 1)``: no request stored it)."""
        run = bisect_right(self.starts, position, 0, self.size) - 1
        if run < 0 or position >= self.stops[run]:
            return None, position, position + 1
        return Link(self.requests[run], *self.kinds[run]), self.starts[run], self.stops[run]

    def span(self, request: int) -> tuple[int, int]:
        """``(start, stop)`` of the events request number ``request`` stored (an empty span:
        none, or reset since)."""
        run = bisect_left(self.requests, request, 0, self.size)
        if run < self.size and self.requests[run] == request:
            return self.starts[run], self.stops[run]
        return 0, 0

    def locator(self, events: Sequence[Event]) -> Locator:
        """How to find the link of any of ``events`` (the project's stored events, in
        ingestion order, from position 0)."""
        return Locator(self, events)


class Locator:
    """An event's link, found through its position in ``events`` (see the module docstring).

    The position is searched by identity (uuids are the client's and may repeat, and equal
    events are distinct rows) outwards from the last one found: a view walking the list in
    either direction finds each event in a step or two, one skipping events (a filter) in as
    many steps as it skipped; a single lookup (``/_ctph/events/<uuid>``) scans like the search
    that found the event did."""

    __slots__ = ("_events", "_last", "_link", "_runs", "_start", "_stop")

    def __init__(self, runs: Runs, events: Sequence[Event]) -> None:
        self._runs = runs
        self._events = events
        self._last = -1
        self._link: Link | None = None  # the last run's link, for the events it covers
        self._start = self._stop = 0

    def __call__(self, event: Event) -> Link | None:
        # the common step first: a walk over every event (a filter) asks for the next one,
        # which shares the link found last (a run is one request's events)
        position = self._last + 1
        events = self._events
        if not (position < len(events) and events[position] is event):
            position = self._search(event)
            if position < 0:
                return None
        self._last = position
        if not self._start <= position < self._stop:
            self._link, self._start, self._stop = self._runs.run_at(position)
        return self._link

    def position(self, event: Event) -> int:
        """Where ``event`` is in the list (``-1``: not in it)."""
        found = self._search(event)
        if found >= 0:
            self._last = found
        return found

    def _search(self, event: Event) -> int:
        events, last = self._events, self._last
        size = len(events)
        if last < 0:  # the first lookup: from both ends inwards (walks start at one or other)
            low, high = 0, size - 1
            while low <= high:
                if events[low] is event:
                    return low
                if events[high] is event:
                    return high
                low += 1
                high -= 1
            return -1
        ahead, behind = last + 1, last
        while ahead < size or behind >= 0:
            if ahead < size:
                if events[ahead] is event:
                    return ahead
                ahead += 1
            if behind >= 0:
                if events[behind] is event:
                    return behind
                behind -= 1
        return -1


class Links:
    """The runs of stored events, one per request that stored any (see the module docstring)."""

    __slots__ = ("_kinds", "_memo", "_requests", "_starts", "_stops")
    _starts: array[int]
    _stops: array[int]
    _requests: array[int]
    _kinds: list[_Kind]
    _memo: dict[_Kind, _Kind]

    def __init__(self) -> None:
        self.clear()

    def add(self, link: Link, start: int, count: int) -> None:
        """Remember that ``link``'s request stored ``count`` events from position ``start``.

        Runs at or after ``start`` are dropped first: their events were undone (a request
        rolled back after it was linked) and ``start`` is where the list now ends. They are
        dropped by starting shorter copies, never by shrinking the arrays in place, which views
        taken earlier may be reading outside the lock (appending is safe: a view reads only its
        first ``size``)."""
        kept = bisect_left(self._starts, start)
        if kept < len(self._starts):
            self._starts = self._starts[:kept]
            self._stops = self._stops[:kept]
            self._requests = self._requests[:kept]
            self._kinds = self._kinds[:kept]
        if count <= 0:
            return
        kind = (link.route, link.status, link.test)
        starts = self._starts
        starts.append(start)
        self._stops.append(start + count)
        self._requests.append(link.request)
        self._kinds.append(self._memo.setdefault(kind, kind))

    def view(self) -> Runs:
        """The runs as they are now, readable after the lock is released."""
        return Runs(self._starts, self._stops, self._requests, self._kinds, len(self._starts))

    def clear(self) -> None:
        """Forget every link (on reset, with the events); views taken before keep theirs."""
        self._starts = array("q")
        self._stops = array("q")
        self._requests = array("q")
        self._kinds = []
        self._memo = {}
