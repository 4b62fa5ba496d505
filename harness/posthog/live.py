"""``GET /_ctph/stream``: the journal as Server-Sent Events, for the inspector's live view.

One SSE message per journalled request (``id:`` its journal number, ``event: request``), plus
``event: reset`` after a reset, ``event: warning`` for each new ingestion warning and
``event: gap`` when a resuming client asked for records the journal no longer holds. A
``: ping`` comment every :data:`HEARTBEAT` seconds keeps proxies from closing an idle stream
and lets the server notice a client that went away (its write fails).

Why it looks as it does:

* **No per-stream queue**: a stream is a cursor (the last journal number it sent) over the
  journal itself, which is already bounded. An open page costs one thread and a few integers,
  however much traffic arrives; a slow reader simply reads further behind, and one that fell
  behind the journal's bounds is told how much it missed (``gap``).
* **No sleep loop**: streams sleep on the app's condition variable, notified when a request is
  journalled or the state reset, with a timeout for the heartbeat; reads are paced
  (:data:`PACE`) so a burst is read in batches rather than once per request.
* **Bounded**: at most :data:`MAX_STREAMS` streams at once (each holds a server thread); the
  next is answered 503 saying so and pointing at polling (``/_ctph/requests?cursor=``).
  Disconnecting frees the slot (WSGI calls ``close()``), and stopping the server ends every
  stream at its next wake-up, which the stop itself triggers.
* The inspector's own reads (``inspect`` records) are not streamed: they would echo the page's
  every click back to it.

The message shapes are the HTTP contract the UI is built against (issue 16); every string in
them passes through :func:`ctph_harness.redact.printable`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..redact import clipped, printable
from .event_links import Link
from .exchange import Incoming
from .journal import Record
from .project import Event, IngestionWarning
from .serialise import dumps, iso

__all__ = [
    "HEARTBEAT",
    "MAX_STREAMS",
    "STREAM_HEADERS",
    "LiveRead",
    "LiveSource",
    "Stream",
    "StreamSlots",
    "event_summary",
    "full_message",
    "stream_since",
]

HEARTBEAT = 15.0
"""Seconds between ``: ping`` comments on an idle stream (tests lower it)."""
MAX_STREAMS = 16
"""Streams open at once; each holds one of the threaded server's threads."""
BATCH = 200
"""Journal records read under the lock at a time (a reader far behind catches up in steps)."""
PACE = 0.05
"""Seconds a stream leaves at least between two reads of the journal. An idle stream answers
a new request at once; under a burst each of 16 open streams would otherwise wake, lock and
encode once per request, taking the CPU the capture requests need (2 cores: capture fell to
0.4x with 16 streams open). Waiting this long lets it take the burst in one read."""
RETRY_MS = 1000
"""The ``retry:`` a browser's ``EventSource`` waits before reconnecting."""
STREAM_HEADERS = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache"),
    ("X-Accel-Buffering", "no"),  # nginx: do not buffer the stream
)
FULL_TEXT = (
    "ctph: {cap} inspector streams are open already (the cap, each holds a server thread); "
    "close one, or poll /_ctph/requests?cursor=... (add wait=SECONDS to wait for news)"
)


@dataclass(frozen=True)
class LiveRead:
    """What a stream reads under the lock in one go: journal records after its cursor (the
    inspector's own left out) with the events each stored, whether more follow, warnings
    after the ones it has seen, the reset count, the counters, and the change version it
    can wait on."""

    records: Sequence[tuple[Record, Sequence[tuple[Event, Link | None]]]]
    more: bool
    warnings: Sequence[IngestionWarning]
    resets: int
    missing: int
    """Records after the cursor the journal no longer holds (evicted or reset)."""
    counts: dict[str, int]
    version: int
    closed: bool
    newest: int
    """The newest journal number given out (where a stream "from now on" starts)."""
    scanned: int
    """The last journal number this read looked at (inspector records included): the
    stream's next cursor."""


class LiveSource(Protocol):
    """What a stream reads; :class:`.app.CaptureApp` provides it."""

    def live_read(self, after: int, warnings_seen: int, resets: int, limit: int) -> LiveRead: ...

    def wait_for_change(self, version: int, timeout: float) -> int: ...


class StreamSlots:
    """A counting gate for open streams (thread-safe)."""

    def __init__(self, cap: int | None = None) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self.cap = cap

    @property
    def open(self) -> int:
        """Streams open now."""
        return self._open

    def acquire(self) -> bool:
        """Take a slot; ``False`` when all :data:`MAX_STREAMS` (or ``cap``) are taken."""
        cap = self.cap if self.cap is not None else MAX_STREAMS
        with self._lock:
            if self._open >= cap:
                return False
            self._open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._open -= 1


def stream_since(incoming: Incoming) -> int | str:
    """Where a stream starts: after the ``Last-Event-ID`` header's journal number (a
    reconnecting ``EventSource`` sends it), else after ``?since=N``, else from now on (-1).
    A problem's text when neither is a whole number, or another parameter was passed."""
    args = incoming.args()
    unknown = sorted(set(args) - {"since"})
    if unknown:
        return f"unknown parameter {clipped(unknown[0])!r} for /_ctph/stream (it takes since=N)"
    text = incoming.header("Last-Event-ID") or args.get("since")
    if text is None or not text.strip():
        return -1
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit() and len(stripped) <= 18):
        return (
            f"since (or Last-Event-ID) must be a journal number (0 or more), got {clipped(text)!r}"
        )
    return int(stripped)


def full_message() -> str:
    """The 503's text when every slot is taken."""
    return FULL_TEXT.format(cap=MAX_STREAMS)


def event_summary(event: Event) -> dict[str, Any]:
    """An event as the live table shows it (PostHog's live-events columns)."""
    props = event.properties
    url = props.get("$current_url")
    if url is None:
        url = props.get("$screen_name")
    return {
        "uuid": event.uuid,
        "event": event.event,
        "distinct_id": event.distinct_id,
        "timestamp": iso(event.timestamp),
        "url": url,
        "lib": props.get("$lib"),
        "lib_version": props.get("$lib_version"),
    }


def request_message(
    record: Record, events: Sequence[tuple[Event, Link | None]], counts: dict[str, int]
) -> dict[str, Any]:
    """One journal record as the stream's ``request`` message."""
    return {
        "number": record.seq,
        "time": iso_ms(record),
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "message": record.response if record.status >= 400 else None,
        "test": record.test,
        "events": [event_summary(event) for event, _ in events],
        "counts": counts,
    }


def iso_ms(record: Record) -> str:
    """The record's arrival, ISO-8601 in UTC to the millisecond."""
    return _ms(iso(record.received_at))


def _ms(text: str) -> str:
    """``2026-12-07T05:50:57.123456Z`` -> ``...57.123Z`` (and ``...57Z`` -> ``...57.000Z``)."""
    stamp = text.removesuffix("Z")
    head, dot, fraction = stamp.partition(".")
    return f"{head}.{(fraction + '000')[:3]}Z" if dot else f"{stamp}.000Z"


def _sse(kind: str, data: Any, number: int | None = None) -> bytes:
    lines = f"id: {number}\n" if number is not None else ""
    return f"{lines}event: {kind}\ndata: {printable(dumps(data))}\n\n".encode()


class Stream:
    """The WSGI body of one open stream: an iterator of SSE chunks whose ``close()`` (called by
    the server when the client goes away, or by WSGI after the last chunk) frees the slot,
    whether or not iteration ever started."""

    def __init__(self, source: LiveSource, slots: StreamSlots, since: int) -> None:
        self._slots = slots
        self._released = False
        self._chunks = _chunks(source, since)

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()
        if not self._released:
            self._released = True
            self._slots.release()


def _chunks(source: LiveSource, since: int) -> Generator[bytes, None, None]:
    """The stream's chunks: records after ``since`` (``-1``: only what arrives from now on),
    then whatever arrives, until the server closes."""
    first = source.live_read(max(since, 0), 0, -1, 0)
    resets = first.resets
    warnings_seen = len(first.warnings)  # warnings are not replayed: /_ctph/warnings has them
    cursor = first.newest if since < 0 else since  # -1: from now on
    yield f"retry: {RETRY_MS}\n: ctph stream\n\n".encode()
    if cursor > first.newest:  # a number this server never gave: it restarted since
        cursor = 0
        yield _sse("reset", {"resets": resets})
    last_write = last_read = time.monotonic()
    while True:
        early = PACE - (time.monotonic() - last_read)
        if early > 0:
            time.sleep(early)
        last_read = time.monotonic()
        read = source.live_read(cursor, warnings_seen, resets, BATCH)
        if read.closed:
            return
        out: list[bytes] = []
        if read.resets != resets:
            resets = read.resets
            warnings_seen = 0
            out.append(_sse("reset", {"resets": resets}))
        elif read.missing:  # a reader that fell behind the journal's bounds is told so
            out.append(_sse("gap", {"dropped": read.missing}))
        for record, events in read.records:
            out.append(_sse("request", request_message(record, events, read.counts), record.seq))
        for warning in read.warnings:
            out.append(_sse("warning", {"type": warning.type, "details": warning.details}))
        warnings_seen += len(read.warnings)
        cursor = max(cursor, read.scanned)
        if out:
            yield b"".join(out)
            last_write = time.monotonic()
            if read.more:
                continue
        idle = time.monotonic() - last_write
        if idle >= HEARTBEAT:
            yield b": ping\n\n"
            last_write = time.monotonic()
            continue
        source.wait_for_change(read.version, HEARTBEAT - idle)
