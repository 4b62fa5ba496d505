"""Injected misbehaviour: the 429s, 503s, delays and dropped connections a test asks for.

Kept apart from the capture pipeline because a fault replaces PostHog's answer wholesale:
nothing the faulted request carries is decoded, checked or stored. :class:`FaultQueue` is not
thread-safe on its own; :class:`.app.CaptureApp` calls it under the lock that also guards the
project and the journal, so a fault and the request it hits are decided atomically.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FAULT_BODIES", "Fault", "FaultQueue", "InjectedDrop", "drop_connection"]

FAULT_BODIES = {429: "rate limited", 503: "transient error, please retry"}
"""The bodies capture sends with its rate-limit and retryable-sink errors (research §6)."""


class InjectedDrop(ConnectionResetError):
    """Raised into the in-process transport when a dropped connection was injected.

    Over a socket the connection is shut down instead; in-process there is no socket, so the
    client sees this exception, a ``ConnectionResetError`` like a reset socket would give.
    """


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour (see :meth:`.app.CaptureApp.inject`).

    ``status`` answers 429 or 503 with PostHog's body instead of capturing; ``drop`` closes the
    connection without an answer; ``delay`` (seconds) waits before either, or before a normal
    answer when neither is set. It hits the next ``count`` capture requests, or each with
    probability ``fraction`` (then ``count``, when given, caps how many it hits).
    """

    status: int | None = None
    count: int | None = None
    fraction: float | None = None
    delay: float = 0.0
    drop: bool = False

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in FAULT_BODIES:
            raise ValueError(f"status must be one of {sorted(FAULT_BODIES)}, not {self.status}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if self.fraction is not None and not 0.0 < self.fraction <= 1.0:
            raise ValueError("fraction must be in (0, 1]")
        if self.delay < 0:
            raise ValueError("delay must not be negative")
        if self.status is not None and self.drop:
            raise ValueError("a fault either answers a status or drops the connection")


@dataclass
class _ActiveFault:
    """A queued fault and how many more requests it may hit (``None``: until cleared).

    Mutable because each hit counts down ``remaining`` in place."""

    fault: Fault
    remaining: int | None


class FaultQueue:
    """The injected faults, oldest first; the oldest active one applies to the next request."""

    def __init__(self) -> None:
        self._faults: list[_ActiveFault] = []
        self._random = random.Random()

    def __bool__(self) -> bool:
        return bool(self._faults)

    def add(self, fault: Fault, seed: int | None = None) -> None:
        """Queue ``fault``: without ``count`` and ``fraction`` it hits the next request only; a
        ``fraction`` fault without ``count`` stays until :meth:`clear`. ``seed`` makes the
        fraction's coin flips repeatable."""
        if fault.count is not None:
            remaining: int | None = fault.count
        else:
            remaining = None if fault.fraction is not None else 1
        if seed is not None:
            self._random.seed(seed)
        self._faults.append(_ActiveFault(fault, remaining))

    def take(self) -> Fault | None:
        """The fault hitting this request, if any (counting it down)."""
        while self._faults:
            active = self._faults[0]
            fraction = active.fault.fraction
            if fraction is not None and self._random.random() >= fraction:
                return None
            if active.remaining is not None:
                active.remaining -= 1
                if active.remaining <= 0:
                    self._faults.pop(0)
            return active.fault
        return None

    def clear(self) -> None:
        """Forget every queued fault."""
        self._faults.clear()


def drop_connection(environ: Mapping[str, Any]) -> None:
    """Close the client connection without an answer (or raise, in-process)."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise InjectedDrop("ctph: injected dropped connection")
