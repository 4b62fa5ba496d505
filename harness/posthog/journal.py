"""The request journal: what the fake server saw and answered, bounded and redacted on read.

Why it looks as it does:

* **Bounded**: a ``deque`` with ``maxlen``, so 100,000 requests do not pile up; problems
  (unknown routes, handler errors) are kept apart and never evicted, since they fail the test.
* **Cheap to write**: the hot path stores a raw :class:`Record` (a tuple holding references to
  what the request already produced); key redaction and copying happen only when an entry is
  read, which is rare next to requests.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ..redact import redact_text
from .serialise import dumps, iso

__all__ = ["BODY_PREVIEW", "RESPONSE_KEPT", "Journal", "JournalEntry", "Record", "preview"]

BODY_PREVIEW = 4096
"""Characters of an undecodable body kept in the journal."""
RESPONSE_KEPT = 2048
"""Characters of a response kept (inspection answers can be large)."""
PROBLEM_KINDS = frozenset({"unexpected", "error"})


@dataclass(frozen=True)
class JournalEntry:
    """One request as the fake server saw and answered it; keys in it are redacted.

    ``kind`` says how it was routed: ``capture`` (a capture route), ``preflight`` (an OPTIONS,
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
        """JSON-ready form (``/_ctph/requests``)."""
        out = asdict(self)
        out["received_at"] = iso(self.received_at)
        out["headers"] = dict(self.headers)
        return out


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

    def entry(self) -> JournalEntry:
        """The redacted, read-side form."""
        return JournalEntry(
            seq=self.seq,
            received_at=self.received_at,
            method=self.method,
            path=self.path,
            query=redact_text(self.query),
            headers={k: redact_text(v) for k, v in self.headers},
            body=_redact_json(json.loads(self.body)) if self.decoded else redact_text(self.body),
            status=self.status,
            response=redact_text(self.response),
            kind=self.kind,
            stored=self.stored,
            error=self.error,
        )


class Journal:
    """The bounded journal plus the never-evicted problems; not thread-safe on its own (the
    app appends under the lock that also guards ingestion)."""

    def __init__(self, size: int | None) -> None:
        self._records: deque[Record] = deque(maxlen=size)
        self._problems: list[Record] = []
        self._seq = 0

    def next_seq(self) -> int:
        """The sequence number of the request being recorded (1, 2, ...; never reset)."""
        self._seq += 1
        return self._seq

    def append(self, record: Record) -> None:
        self._records.append(record)
        if record.kind in PROBLEM_KINDS:
            self._problems.append(record)

    def records(self) -> list[Record]:
        """A snapshot of the kept records, oldest first (redact them outside the lock)."""
        return list(self._records)

    def problem_records(self) -> list[Record]:
        """A snapshot of the problems since the last :meth:`clear`."""
        return list(self._problems)

    def clear(self) -> None:
        """Forget records and problems (the sequence keeps counting)."""
        self._records.clear()
        self._problems.clear()


def preview(body: bytes) -> str:
    """A text preview of raw bytes for the journal (long bodies cut, their size noted)."""
    text = body[:BODY_PREVIEW].decode("utf-8", errors="replace")
    return text + (f"… ({len(body)} bytes)" if len(body) > BODY_PREVIEW else "")


def _redact_json(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value) if "ph" in value else value
    if isinstance(value, dict):
        return {k: _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value
