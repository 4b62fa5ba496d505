"""The fake PostHog capture service as a WSGI application: request in, PostHog's answer out.

One application serves every way the harness reaches PostHog: pytest-httpserver over loopback
(:mod:`.server`), ``httpx.WSGITransport`` in-process, and ``ctph serve``. It owns no validation
rule: :func:`.wire.decode`/:func:`.wire.classify` turn bytes into events and the shared
:func:`.checker.check` says which request PostHog refuses, so the server and the payload checker
cannot drift apart. What an accepted request leaves behind is :class:`.project.Project`'s
business (persons, merges, groups, ingestion warnings).

Why the pieces look as they do:

* **One lock** guards the project, the journal and the fault queue. Decoding and checking run
  outside it (they are pure), so concurrent clients only serialise on the cheap part.
* **State before response**: the events are ingested and the request journalled before the
  WSGI response is returned, so a client that saw 200 can assert at once.
* **Nothing is silent**: unknown paths, wrong methods and exceptions inside the handler are
  answered (404/405/500) *and* recorded as problems that :meth:`CaptureApp.problems` returns; the
  pytest fixture turns them into a test failure at teardown (pytest-httpserver's
  "silent 500" pitfall, research/anchors.md §4).
* **The journal is bounded** (a ``deque`` with ``maxlen``) and stores raw references; key
  redaction happens when an entry is read, keeping the hot path cheap.

Only the standard library and werkzeug (imported where the WSGI entry point needs it) are used.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..contract import facts
from ..findings import Finding
from ..redact import redact_text
from .checker import check
from .project import Event, Group, IngestionWarning, Person, Project
from .wire import Batch, Decoded, WireError, classify, decode, effective_sent_at

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

__all__ = [
    "CaptureApp",
    "Clock",
    "Fault",
    "InjectedDrop",
    "JournalEntry",
    "utc_now",
]

Clock = Callable[[], datetime]
"""The server clock: PostHog's ``now`` for clock-skew correction and arrival time."""

OK_BODY = '{"status":"Ok"}'
ENFORCE_BODY = "API key is not valid: not a known project API key"
"""Upstream (``known_tokens.rs``, enforce mode) is only pinned by a test asserting the body
contains "project API key"; the rest of the wording is ours."""

FAULT_BODIES = {429: "rate limited", 503: "transient error, please retry"}
"""The bodies capture sends with its rate-limit and retryable-sink errors (research §6)."""

_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"
_METHODS = ("GET", "POST", "OPTIONS")
_STATUS_ROUTES = {"/": "capture", "/_readiness": "capture", "/_liveness": "ok"}
_BODY_PREVIEW = 4096  # characters of an undecodable body kept in the journal
_RESPONSE_KEPT = 2048  # characters of a response kept (inspection answers can be large)


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(timezone.utc)


class InjectedDrop(ConnectionResetError):
    """Raised into the in-process transport when a dropped connection was injected.

    Over a socket the connection is shut down instead; in-process there is no socket, so the
    client sees this exception, a ``ConnectionResetError`` like a reset socket would give.
    """


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour (see :meth:`CaptureApp.inject`).

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
    fault: Fault
    remaining: int | None


@dataclass(frozen=True)
class JournalEntry:
    """One request as the fake server saw and answered it; keys in it are redacted.

    ``kind`` says how it was routed: ``capture`` (a capture route), ``fault`` (an injected
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
        return self.kind in ("unexpected", "error")

    def describe(self) -> str:
        """A multi-line rendering for failure messages."""
        target = self.path + (f"?{self.query}" if self.query else "")
        body = self.body if isinstance(self.body, str) else _dumps(self.body)
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
        out["received_at"] = _iso(self.received_at)
        out["headers"] = dict(self.headers)
        return out


@dataclass
class _Record:
    """The journal's raw, unredacted record; turned into a :class:`JournalEntry` on read."""

    seq: int
    received_at: datetime
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: Any
    decoded: bool
    status: int
    response: str
    kind: str
    stored: int = 0
    error: str | None = None

    def entry(self) -> JournalEntry:
        return JournalEntry(
            seq=self.seq,
            received_at=self.received_at,
            method=self.method,
            path=self.path,
            query=redact_text(self.query),
            headers={k: redact_text(v) for k, v in self.headers},
            body=_redact_json(self.body) if self.decoded else redact_text(self.body),
            status=self.status,
            response=redact_text(self.response),
            kind=self.kind,
            stored=self.stored,
            error=self.error,
        )


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    content_type: str = _TEXT
    kind: str = "capture"
    events: Sequence[Mapping[str, Any]] = ()
    token: str | None = None
    sent_at: datetime | None = None
    payload: Any = None
    decoded: bool = False
    extra_headers: Mapping[str, str] = field(default_factory=dict)


class CaptureApp:
    """PostHog's capture service, in memory, as a WSGI callable.

    :param project_keys: enforce mode: only these project keys are accepted (others get a 401
        whose body contains "project API key"); ``None`` accepts any well-formed key, as
        PostHog does by default.
    :param clock: returns "now"; pin it to replay recorded traffic (see :meth:`set_clock`).
    :param journal_size: how many requests the journal keeps (oldest dropped first); ``None``
        keeps all.
    """

    def __init__(
        self,
        *,
        project_keys: Iterable[str] | None = None,
        clock: Clock = utc_now,
        journal_size: int | None = 10_000,
    ) -> None:
        self._lock = threading.Lock()
        self._project = Project()
        self._journal: deque[_Record] = deque(maxlen=journal_size)
        self._problems: list[_Record] = []
        self._faults: list[_ActiveFault] = []
        self._random = random.Random()
        self._seq = 0
        self._clock = clock
        self._keys = frozenset(k.strip() for k in project_keys) if project_keys else None
        paths = facts()["capture_paths"]
        bases = [*paths["event"], *paths["batch"]]
        self._capture_paths = frozenset([*bases, *(p + "/" for p in bases)])

    # -- configuration ------------------------------------------------------------------------

    def set_clock(self, clock: Clock) -> None:
        """Replace the clock (conformance replays pin it to each recorded request's ``now``)."""
        self._clock = clock

    def enforce(self, project_keys: Iterable[str] | None) -> None:
        """Accept only ``project_keys`` from now on (``None``: any well-formed key)."""
        with self._lock:
            self._keys = frozenset(k.strip() for k in project_keys) if project_keys else None

    def inject(
        self,
        *,
        status: int | None = None,
        count: int | None = None,
        fraction: float | None = None,
        delay: float = 0.0,
        drop: bool = False,
        seed: int | None = None,
    ) -> Fault:
        """Make upcoming capture requests misbehave; nothing they carry is stored.

        Without ``count`` and ``fraction`` the fault hits the next request only. A
        ``fraction`` fault without ``count`` stays until :meth:`clear_faults`. ``seed`` makes
        the fraction's coin flips repeatable. Faults queue: the oldest active one applies.
        Inspection routes are never faulted.
        """
        fault = Fault(status=status, count=count, fraction=fraction, delay=delay, drop=drop)
        remaining = count if count is not None else (None if fraction is not None else 1)
        with self._lock:
            if seed is not None:
                self._random.seed(seed)
            self._faults.append(_ActiveFault(fault, remaining))
        return fault

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget events, persons, groups, warnings, the journal, problems and faults."""
        with self._lock:
            self._project.reset()
            self._journal.clear()
            self._problems.clear()
            self._faults.clear()

    # -- inspection ---------------------------------------------------------------------------

    def events(self, name: str | None = None, distinct_id: str | None = None) -> list[Event]:
        """Stored events, in ingestion order, optionally filtered."""
        with self._lock:
            return self._project.events(name=name, distinct_id=distinct_id)

    def persons(self) -> list[Person]:
        """Every person, in creation order."""
        with self._lock:
            return self._project.persons()

    def person(self, distinct_id: str) -> Person | None:
        """The person owning ``distinct_id`` now (after merges), or ``None``."""
        with self._lock:
            return self._project.person_for(distinct_id)

    def groups(self) -> list[Group]:
        """Every group written by ``$groupidentify``."""
        with self._lock:
            return self._project.groups()

    def warnings(self) -> list[IngestionWarning]:
        """Ingestion warnings, in order."""
        with self._lock:
            return self._project.warnings()

    def journal(self) -> list[JournalEntry]:
        """The requests still in the (bounded) journal, oldest first, keys redacted."""
        with self._lock:
            records = list(self._journal)
        return [record.entry() for record in records]

    def problems(self) -> list[JournalEntry]:
        """Unexpected requests and handler errors since the last reset (never evicted)."""
        with self._lock:
            records = list(self._problems)
        return [record.entry() for record in records]

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The WSGI entry point."""
        from werkzeug.wrappers import Request

        response = self.handle(Request(environ))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Answer one werkzeug request (what pytest-httpserver's ``dispatch`` calls)."""
        from werkzeug.wrappers import Response

        now = self._clock()
        method = request.method.upper()
        path = request.path
        try:
            answer = self._route(request, method, path, now)
            self._record(request, method, path, now, answer, None)
        except InjectedDrop:
            raise
        except Exception:
            answer = _Answer(
                500, "ctph: the fake PostHog failed on this request; see its check()", kind="error"
            )
            self._record(request, method, path, now, answer, traceback.format_exc())
        response = Response(answer.body, status=answer.status, content_type=answer.content_type)
        if answer.status == 204:
            response.headers.pop("Content-Type", None)
        _cors(request, response)
        for name, value in answer.extra_headers.items():
            response.headers[name] = value
        return response

    def _route(self, request: Request, method: str, path: str, now: datetime) -> _Answer:
        if path in self._capture_paths and method in _METHODS:
            return self._capture_or_fault(request, method, path, now)
        if path.startswith("/_ctph/"):
            return self._inspect(request, method, path)
        if path in _STATUS_ROUTES and method == "GET":
            return _Answer(200, _STATUS_ROUTES[path], kind="status")
        return _Answer(405 if path in self._capture_paths else 404, "", kind="unexpected")

    # -- capture ------------------------------------------------------------------------------

    def _capture_or_fault(self, request: Request, method: str, path: str, now: datetime) -> _Answer:
        fault = self._take_fault() if method != "OPTIONS" else None
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                self._record(request, method, path, now, _Answer(0, "", kind="fault"), None)
                _drop(request)
            if fault.status is not None:
                return _Answer(fault.status, FAULT_BODIES[fault.status], kind="fault")
        if method == "OPTIONS":
            return _Answer(200, OK_BODY, _JSON)
        return self._capture(request, method, path, now)

    def _take_fault(self) -> Fault | None:
        with self._lock:
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

    def _capture(self, request: Request, method: str, path: str, now: datetime) -> _Answer:
        """PostHog's pipeline: decode, shape and token, checker verdict, then ingestion."""
        body = _read_body(request)
        try:
            decoded = decode(
                method, path, request.args.to_dict(), dict(request.headers.items()), body
            )
        except WireError as exc:
            return _Answer(exc.status, exc.body, payload=_preview(body))
        try:
            batch: Batch | None = classify(decoded.payload, path)
            shape_error: WireError | None = None
        except WireError as exc:
            if exc.status != 401:
                return _Answer(exc.status, exc.body, payload=decoded.payload, decoded=True)
            batch, shape_error = None, exc
        findings = check(decoded.payload, endpoint=path, now=now)
        rejection = _rejection(findings, batch, shape_error, self._keys, decoded)
        if rejection is not None:
            status, text = rejection
            return _Answer(status, text, payload=decoded.payload, decoded=True)
        assert batch is not None
        return _Answer(
            204 if decoded.beacon else 200,
            "" if decoded.beacon else OK_BODY,
            _JSON,
            events=batch.events,
            token=batch.token,
            sent_at=effective_sent_at(decoded, batch),
            payload=decoded.payload,
            decoded=True,
        )

    # -- inspection routes --------------------------------------------------------------------

    def _inspect(self, request: Request, method: str, path: str) -> _Answer:
        route = path.removeprefix("/_ctph/").rstrip("/")
        if method == "POST" and route == "reset":
            self.reset()
            return _Answer(200, OK_BODY, _JSON, kind="inspect")
        if method != "GET":
            return _Answer(405, "", kind="unexpected")
        data: Any
        if route == "events":
            args = request.args
            found = self.events(name=args.get("event"), distinct_id=args.get("distinct_id"))
            data = [_event_dict(e) for e in found]
        elif route == "persons":
            data = [_person_dict(p) for p in self.persons()]
        elif route == "groups":
            data = [asdict(g) for g in self.groups()]
        elif route == "warnings":
            data = [asdict(w) for w in self.warnings()]
        elif route == "requests":
            data = [e.to_dict() for e in self.journal()]
        else:
            return _Answer(404, "", kind="unexpected")
        return _Answer(200, _dumps(data), _JSON, kind="inspect")

    # -- journal ------------------------------------------------------------------------------

    def _record(
        self,
        request: Request,
        method: str,
        path: str,
        now: datetime,
        answer: _Answer,
        error: str | None,
    ) -> int:
        """Ingest what the answer accepted and journal the request, atomically."""
        query = request.query_string.decode("latin-1")
        headers = list(request.headers.items())
        ip = _client_ip(request)
        with self._lock:
            stored = 0
            if answer.events and answer.token is not None:
                for event in answer.events:
                    kept = self._project.ingest(
                        event, answer.token, now, answer.sent_at, _event_ip(event, ip)
                    )
                    stored += kept is not None
            self._seq += 1
            body = answer.payload
            if body is None and not answer.decoded:
                body = _preview(request.get_data(cache=True)) if answer.kind != "inspect" else ""
            record = _Record(
                seq=self._seq,
                received_at=now,
                method=method,
                path=path,
                query=query,
                headers=headers,
                body=body,
                decoded=answer.decoded,
                status=answer.status,
                response=answer.body[:_RESPONSE_KEPT],
                kind=answer.kind,
                stored=stored,
                error=error,
            )
            self._journal.append(record)
            if answer.kind in ("unexpected", "error"):
                self._problems.append(record)
        return stored


# --------------------------------------------------------------------------------------------
# the decision


def _phase(rejection: tuple[int, str]) -> int:
    """PostHog's order of refusals: request parsing, then the key, then each event in turn,
    then the size check at the Kafka send (research §3-§6)."""
    status, body = rejection
    if body.startswith(("failed to", "request ")):
        return 0
    if status == 401:
        return 1
    return 3 if status == 413 else 2


_EVENT_CHECK_ORDER = (
    "event submitted with an empty event name",
    "event submitted without a distinct_id",
    "event submitted with invalid cookieless mode",
)
"""``process_single_event``'s order within one event."""


def _event_index(pointer: str) -> int:
    """Which event a finding points into: ``/3/…`` or ``/batch/3/…``; ``""`` is event 0."""
    parts = pointer.split("/")
    if len(parts) > 2 and parts[1] == "batch" and parts[2].isdigit():
        return int(parts[2])
    if len(parts) > 1 and parts[1].isdigit():
        return int(parts[1])
    return 0


def _filtered_indexes(payload: Any) -> frozenset[int]:
    """Indexes of ``$performance_event`` events, which capture drops before checking them."""
    items = payload.get("batch") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        items = [payload]
    return frozenset(
        i
        for i, item in enumerate(items)
        if isinstance(item, dict) and item.get("event") == "$performance_event"
    )


def _rejection(
    findings: Sequence[Finding],
    batch: Batch | None,
    shape_error: WireError | None,
    keys: frozenset[str] | None,
    decoded: Decoded,
) -> tuple[int, str] | None:
    """The one ``(status, body)`` PostHog answers, or ``None`` for 200.

    Parse-level refusals come first whatever else is wrong (serde fails before any token is
    looked at); then the key, whose verdict is :func:`.wire.classify`'s (it resolved the
    token the way capture does); then enforce mode; then per-event refusals in event order;
    then the per-event size check. Events capture filters out (``$performance_event``) are
    not checked after parsing.
    """
    ranked = [f for f in findings if f.rejection is not None]
    parse = [f.rejection for f in ranked if f.rejection is not None and _phase(f.rejection) == 0]
    if parse:
        return parse[0]
    if shape_error is not None:
        return shape_error.status, shape_error.body
    assert batch is not None
    if not batch.events:
        return None  # every event was a $performance_event: 200, nothing checked
    if keys is not None and batch.token not in keys:
        return 401, ENFORCE_BODY
    skipped = _filtered_indexes(decoded.payload) if batch.filtered else frozenset()
    later: list[tuple[int, int, int, tuple[int, str]]] = []
    for order, item in enumerate(ranked):
        rejection = item.rejection
        assert rejection is not None
        phase = _phase(rejection)
        if phase < 2:
            continue  # 401s: classify already resolved and validated the token
        index = _event_index(item.pointer)
        if index in skipped:
            continue
        rank = (
            _EVENT_CHECK_ORDER.index(rejection[1])
            if rejection[1] in _EVENT_CHECK_ORDER
            else len(_EVENT_CHECK_ORDER) + order
        )
        later.append((phase, index, rank, rejection))
    return min(later)[3] if later else None


# --------------------------------------------------------------------------------------------
# helpers


def _read_body(request: Request) -> bytes:
    """The body, read at most one byte past the wire cap (enough to answer 413)."""
    cap = int(facts()["limits"]["request_max_bytes"])
    length = request.content_length
    if length is not None and length <= cap:
        return request.get_data(cache=True)
    data = request.stream.read(cap + 1)
    request.stream.read()  # drain, so the connection stays usable for the answer
    return data


def _client_ip(request: Request) -> str | None:
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.remote_addr


def _event_ip(event: Mapping[str, Any], ip: str | None) -> str | None:
    """analytics.rs: a ``capture_internal`` property makes the recorded IP ``127.0.0.1``."""
    props = event.get("properties")
    if isinstance(props, Mapping) and "capture_internal" in props:
        return "127.0.0.1"
    return ip


def _drop(request: Request) -> None:
    """Close the client connection without an answer (or raise, in-process)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise InjectedDrop("ctph: injected dropped connection")


def _cors(request: Request, response: Response) -> None:
    """tower-http's CorsLayer as capture configures it: origin and headers mirrored,
    credentials allowed, GET/POST/OPTIONS."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
    if request.method.upper() == "OPTIONS":
        headers["Access-Control-Allow-Methods"] = "GET,POST,OPTIONS"
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:
            headers["Access-Control-Allow-Headers"] = asked
    headers["Vary"] = "origin, access-control-request-method, access-control-request-headers"


def _preview(body: bytes) -> str:
    text = body[:_BODY_PREVIEW].decode("utf-8", errors="replace")
    return text + (f"… ({len(body)} bytes)" if len(body) > _BODY_PREVIEW else "")


def _redact_json(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value) if "ph" in value else value
    if isinstance(value, dict):
        return {k: _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, frozenset, set)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False)


def _event_dict(event: Event) -> dict[str, Any]:
    out = asdict(event)
    out["timestamp"] = _iso(event.timestamp)
    return out


def _person_dict(person: Person) -> dict[str, Any]:
    out = asdict(person)
    out["created_at"] = _iso(person.created_at)
    return out
