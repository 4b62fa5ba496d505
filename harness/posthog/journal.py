"""The request journal: what the fake server saw and answered, bounded and redacted on read.

Why it looks as it does:

* **Bounded by count and by bytes**: at most ``size`` records (default 10,000) and at most
  ``budget`` bytes of the text they hold (default :data:`JOURNAL_BYTES`, 64 MiB: bodies,
  responses, headers, paths and queries). The oldest records go first; the newest one always
  stays, so a single body larger than the budget is still shown. Twenty accepted 19 MB batches
  otherwise kept 380 MB of request text alive. :attr:`Journal.dropped` counts what was
  evicted since the last :meth:`Journal.clear`, so a user can tell a short journal from a quiet
  server (``/_ctph/requests?limit=`` reports it as ``dropped``).
* **Problems kept apart**: unknown routes and handler errors fail the test, so newer requests
  never evict them; the first :data:`PROBLEMS_KEPT` are kept (each holds at most a
  :data:`BODY_PREVIEW` of its body; the first failure is the telling one), so a client
  hammering a wrong route cannot grow the server without bound either.
* **Cheap to write**: the hot path stores a raw :class:`Record` (a tuple holding references to
  what the request already produced); key redaction and copying happen only when an entry is
  read, which is rare next to requests.
* **Redacted on every string**: method, path, query, header names and values, every key and
  string of a decoded body at any depth, body previews, responses and handler errors all pass
  through :func:`ctph_harness.redact.printable`: a key used as a property *name* or as a path
  segment is still a key.
* **No recursion that input controls**: a decoded body is copied by an explicit stack, and a
  container nested deeper than serde's limit (:data:`.serde.MAX_DEPTH`, which capture refuses
  anyway) is shown as :data:`TOO_DEEP`, so the JSON encoder of the inspection answer never
  meets more depth than that either.
"""

from __future__ import annotations

import json
import sys
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ..redact import printable
from .serde import MAX_DEPTH
from .serialise import dumps, iso

__all__ = [
    "BODY_PREVIEW",
    "INSPECTOR_HEADER",
    "JOURNAL_BYTES",
    "PROBLEMS_KEPT",
    "RAW_KEPT",
    "RESPONSE_KEPT",
    "TOO_DEEP",
    "Journal",
    "JournalEntry",
    "JournalPage",
    "Record",
    "journaled",
    "preview",
]

BODY_PREVIEW = 4096
"""Characters of an undecodable body kept in the journal."""
RAW_KEPT = 64 * 1024
"""Bytes of a request's body as received kept for the inspector's request detail."""
RESPONSE_KEPT = 2048
"""Characters of a response kept (inspection answers can be large)."""
JOURNAL_BYTES = 64 * 1024 * 1024
"""The journal's default byte budget: 64 MiB of stored request text, three of capture's
largest (20 MiB) bodies, or thousands of ordinary ones."""
PROBLEMS_KEPT = 1000
"""Problems (unknown routes, handler errors) kept apart from eviction; later ones are in the
bounded journal only."""
TOO_DEEP = f"… (nested deeper than {MAX_DEPTH} levels)"
"""What the journal shows in place of a container nested beyond serde's limit."""
PROBLEM_KINDS = frozenset({"unexpected", "error"})
INSPECTOR_HEADER = "X-Ctph-Inspector"
"""The header the inspector page (``ui/dom.js`` ``getJSON``) sends with its own reads, which
the journal then leaves out (see :func:`journaled`)."""


def journaled(kind: str, method: str, marker: str | None) -> bool:
    """Whether a request is journaled: all are, except the inspector page's own reads.

    A page left open polls ``/_ctph/requests`` once a second and reads ``/_ctph/counts`` and
    ``/_ctph/events`` as requests arrive; journaled, those ``inspect`` records would evict the
    capture requests the page is there to show (10,000 records: under three hours of polling
    alone). Only a ``GET`` that the inspection routes answered (``inspect``)
    *and* that carries :data:`INSPECTOR_HEADER` is left out: a user's own ``curl`` or test
    calls to ``/_ctph/...`` are journaled as before, and so are the page's reset (a ``POST``)
    and unknown routes (problems, whoever asks).

    Why a header, not a cookie or the ``Referer``: a cookie is sent with *every* request from
    the browser to this origin, so a ``/_ctph/events`` URL the user opens in a tab (the page's
    "copy API query") would vanish from the journal too; a ``Referer`` is also sent when the
    user follows a link from the page, and referrer policies or proxies may strip it. A custom
    header is sent only where the page's fetch helper adds it. (Anyone may send it on purpose:
    all it does is keep that read out of the journal, which changes no state.)
    """
    return not (kind == "inspect" and method == "GET" and marker == "1")


@dataclass(frozen=True)
class JournalEntry:
    """One request as the fake server saw and answered it; keys in it are redacted.

    ``kind`` says how it was routed: ``capture`` (a capture route), ``recording`` (a ``/s/``
    request that capture's replay rules judged; ``stored`` is 1 when it was kept),
    ``preflight`` (an OPTIONS,
    which capture's CORS layer answers on any path), ``fault`` (an injected
    fault answered it), ``inspect`` (``/_ctph/...``), ``status`` (``/``, ``/_readiness``),
    ``unexpected`` (no such route or method) or ``error`` (the handler raised; ``error`` holds
    the traceback). ``body`` is the decoded JSON when the capture pipeline could decode it,
    else a text preview of the raw bytes. ``stored`` counts the events the project kept.
    """

    seq: int
    received_at: datetime
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: Any
    status: int
    response: str
    kind: str
    stored: int = 0
    error: str | None = None
    test: str | None = None
    """The pytest node id running when the request arrived (``None``: outside a test)."""

    @property
    def is_problem(self) -> bool:
        """True for requests that should fail the test (unknown route, handler error)."""
        return self.kind in PROBLEM_KINDS

    def describe(self) -> str:
        """A multi-line rendering for failure messages."""
        target = self.path + (f"?{self.query}" if self.query else "")
        body = self.body if isinstance(self.body, str) else dumps(self.body)
        if len(body) > 600:
            body = body[:600] + f"… ({len(body)} characters)"
        lines = [
            f"#{self.seq} {self.method} {target} -> {self.status} {self.response[:200]!r}",
            "  headers: " + ", ".join(f"{k}: {v}" for k, v in self.headers.items()),
            f"  body: {body}",
        ]
        if self.error:
            lines.append("  handler error:\n    " + self.error.strip().replace("\n", "\n    "))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``/_ctph/requests``). Shallow: ``asdict`` would deep-copy the body
        by recursion, and the body is already the journal's own redacted copy."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["received_at"] = iso(self.received_at)
        out["headers"] = dict(self.headers)
        return out


@dataclass(frozen=True)
class JournalPage:
    """A page of the journal: ``entries`` (redacted, oldest first), whether newer records
    followed them when the page was read (``has_more``), and how many records the bounds
    evicted since the last reset (``dropped``)."""

    entries: list[JournalEntry]
    has_more: bool
    dropped: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``results``' dicts are built here, shallowly (see
        :meth:`JournalEntry.to_dict`)."""
        return {
            "results": [entry.to_dict() for entry in self.entries],
            "has_more": self.has_more,
            "dropped": self.dropped,
        }


class Record(NamedTuple):
    """The journal's raw, unredacted record; turned into a :class:`JournalEntry` on read.

    A tuple rather than a dataclass: one is built per request, and a tuple is the cheapest
    immutable record to build and to keep 10,000 of. Decoded bodies are kept as their JSON text
    and parsed on read: holding only atomic values, a record is soon untracked by the garbage
    collector, whose full collections otherwise walked every journalled body."""

    seq: int
    received_at: datetime
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: str
    decoded: bool
    status: int
    response: str
    kind: str
    stored: int = 0
    error: str | None = None
    test: str | None = None
    raw: bytes | None = b""
    """The body as received, at most :data:`RAW_KEPT` bytes of it (the inspector's request
    detail shows it and re-traces its decoding); ``None`` when it is ``body``'s text itself
    (a plain JSON body: not kept twice). ``raw_size`` is its whole length."""
    raw_size: int = 0
    response_headers: tuple[tuple[str, str], ...] = ()
    """The answer's ``Content-Type`` and extra headers (CORS ones, which follow the request's
    ``Origin``, are not kept)."""

    def entry(self) -> JournalEntry:
        """The redacted, read-side form: every string it shows passes through ``printable``."""
        return JournalEntry(
            seq=self.seq,
            received_at=self.received_at,
            method=printable(self.method),
            path=printable(self.path),
            query=printable(self.query),
            headers={printable(k): printable(v) for k, v in self.headers},
            body=_shown_body(self.body) if self.decoded else printable(self.body),
            status=self.status,
            response=printable(self.response),
            kind=self.kind,
            stored=self.stored,
            error=printable(self.error) if self.error is not None else None,
            test=printable(self.test) if self.test is not None else None,
        )

    def received(self) -> bytes:
        """The kept bytes of the body as received."""
        return self.raw if self.raw is not None else self.body.encode("utf-8")

    def weight(self) -> int:
        """The bytes of request text this record keeps alive: the body's real size (a Python
        string of non-ASCII text takes 2 or 4 bytes a character) and the length of the rest."""
        held = sys.getsizeof(self.body) + len(self.response) + len(self.path) + len(self.query)
        held += len(self.raw) if self.raw is not None else 0
        for name, value in self.headers:
            held += len(name) + len(value)
        return held + (len(self.error) if self.error is not None else 0)


class Journal:
    """The bounded journal plus the kept-apart problems; not thread-safe on its own (the app
    appends under the lock that also guards ingestion).

    :param size: records kept (``None``: no count bound).
    :param budget: bytes of request text kept (``None``: no byte bound); see
        :data:`JOURNAL_BYTES`.
    """

    def __init__(self, size: int | None = 10_000, budget: int | None = JOURNAL_BYTES) -> None:
        self.size = size
        self.budget = budget
        self._records: deque[Record] = deque()
        self._weights: deque[int] = deque()
        self._held = 0
        self._dropped = 0
        self._problems: list[Record] = []
        self._seq = 0

    def next_seq(self) -> int:
        """The sequence number of the request being recorded (1, 2, ...; never reset)."""
        self._seq += 1
        return self._seq

    def append(self, record: Record) -> None:
        weight = record.weight()
        records, weights = self._records, self._weights
        records.append(record)
        weights.append(weight)
        self._held += weight
        size, budget = self.size, self.budget
        while records and (
            (size is not None and len(records) > size)
            or (budget is not None and self._held > budget and len(records) > 1)
        ):
            records.popleft()
            self._held -= weights.popleft()
            self._dropped += 1
        if record.kind in PROBLEM_KINDS and len(self._problems) < PROBLEMS_KEPT:
            self._problems.append(record)

    @property
    def dropped(self) -> int:
        """Records either bound evicted since the last :meth:`clear`."""
        return self._dropped

    @property
    def held(self) -> int:
        """Bytes of request text the kept records hold (what ``budget`` bounds)."""
        return self._held

    def records(self) -> list[Record]:
        """A snapshot of the kept records, oldest first (redact them outside the lock)."""
        return list(self._records)

    def page(self, after: int, limit: int) -> tuple[list[Record], bool]:
        """Up to ``limit`` records whose ``seq`` is above ``after``, oldest first, and whether
        more followed. Sequence numbers never restart, so ``after`` stays meaningful across
        evictions and resets: evicted records are simply gone (see :attr:`dropped`)."""
        records = self._records
        start = bisect_right(records, after, key=_seq_of)
        stop = min(len(records), start + limit)
        return [records[i] for i in range(start, stop)], stop < len(records)

    def find(self, seq: int) -> Record | None:
        """The kept record numbered ``seq`` (``None``: evicted, cleared or never made)."""
        records = self._records
        index = bisect_right(records, seq, key=_seq_of) - 1
        if index >= 0 and records[index].seq == seq:
            return records[index]
        return None

    @property
    def issued(self) -> int:
        """The newest request number given out (0: none yet)."""
        return self._seq

    @property
    def first_seq(self) -> int:
        """The oldest kept record's number (0: none kept)."""
        return self._records[0].seq if self._records else 0

    def problem_records(self) -> list[Record]:
        """A snapshot of the problems since the last :meth:`clear`."""
        return list(self._problems)

    def clear(self) -> None:
        """Forget records, problems and the dropped count (the sequence keeps counting)."""
        self._records.clear()
        self._weights.clear()
        self._held = 0
        self._dropped = 0
        self._problems.clear()


def _seq_of(record: Record) -> int:
    return record.seq


def preview(body: bytes) -> str:
    """A text preview of raw bytes for the journal (long bodies cut, their size noted)."""
    text = body[:BODY_PREVIEW].decode("utf-8", errors="replace")
    return text + (f"… ({len(body)} bytes)" if len(body) > BODY_PREVIEW else "")


def _shown_body(text: str) -> Any:
    """A decoded body as the journal shows it. The text was decoded once already, but a body
    capture refused may hold more nesting than ``json.loads`` (recursive C) can take: then
    the text itself is shown, redacted."""
    try:
        value = json.loads(text)
    except (RecursionError, ValueError):
        return printable(_cut(text))
    return _redacted(value)


def _cut(text: str) -> str:
    return text[:BODY_PREVIEW] + (f"… ({len(text)} characters)" if len(text) > BODY_PREVIEW else "")


def _redacted(value: Any) -> Any:
    """A copy of decoded JSON with every key and string passed through ``printable`` and any
    container deeper than :data:`MAX_DEPTH` replaced by :data:`TOO_DEEP`.

    Iterative (an explicit stack of *(source, target, slot, depth)*), so the input's depth
    never becomes Python recursion. Containers are created in place, then filled, which keeps
    object key order."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]
    while stack:
        source, target, slot, depth = stack.pop()
        if isinstance(source, str):
            target[slot] = printable(source)
        elif isinstance(source, (dict, list)):
            if depth >= MAX_DEPTH:
                target[slot] = TOO_DEEP
            elif isinstance(source, dict):
                copy: dict[str, Any] = {}
                target[slot] = copy
                for key, item in source.items():
                    shown = printable(key)
                    copy[shown] = None
                    stack.append((item, copy, shown, depth + 1))
            else:
                items: list[Any] = [None] * len(source)
                target[slot] = items
                stack.extend((item, items, i, depth + 1) for i, item in enumerate(source))
        else:
            target[slot] = source
    return root[0]
