"""Which request stored each event, and which events each request stored.

The inspector shows an event beside the request that brought it (its journal number, path and
status) and the pytest test that was running, and a request beside its events. Events are
PostHog's rows (:class:`.project.Event`) and stay as they are; the link is kept beside them
here, keyed by the stored event object itself (its ``id``: uuids are the client's and may
repeat), so nothing is copied per event and a request's many events share one :class:`Link`.

Not thread-safe on its own: the app writes it under the lock that guards ingestion, and clears
it on reset together with the events it points at (so an ``id`` is never reused while held).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .project import Event

__all__ = ["NO_LINK", "Link", "Links"]


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


class Links:
    """Event -> :class:`Link` and request number -> stored events."""

    __slots__ = ("_by_event", "_by_request")

    def __init__(self) -> None:
        self._by_event: dict[int, Link] = {}
        self._by_request: dict[int, tuple[Event, ...]] = {}

    def add(self, link: Link, events: Sequence[Event]) -> None:
        """Remember that ``link``'s request stored ``events`` (in order)."""
        by_event = self._by_event
        for event in events:
            by_event[id(event)] = link
        self._by_request[link.request] = tuple(events)

    def of(self, event: Event) -> Link | None:
        """The link of a stored event (``None``: not stored through a request)."""
        return self._by_event.get(id(event))

    def events_of(self, request: int) -> tuple[Event, ...]:
        """The events request number ``request`` stored (empty: none, or reset since)."""
        return self._by_request.get(request, ())

    def clear(self) -> None:
        """Forget every link (on reset, with the events)."""
        self._by_event.clear()
        self._by_request.clear()
