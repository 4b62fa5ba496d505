"""The fake PostHog capture service as a WSGI application: request in, PostHog's answer out.

One application serves every way the harness reaches PostHog: pytest-httpserver over loopback
(:mod:`.server`), ``httpx.WSGITransport`` in-process, and ``ctph serve``. This module only wires
the pieces, each in its own module:

* :mod:`.exchange`: the request read straight from the WSGI environ, the answer written back
  (no werkzeug objects on the in-process path);
* :mod:`.capture`: PostHog's pipeline (:mod:`.wire` decoding, :mod:`.batch` shapes and token,
  :func:`.checker.check`, and :mod:`.rejection` choosing the refusal capture answers first); it
  owns no rule itself;
* :mod:`.faults`: injected 429/503/delay/drop; :mod:`.inspection`: the ``/_ctph/...`` API;
* :mod:`.journal`: the bounded request journal, redacted on read; :mod:`.cors`: CORS headers.

What an accepted request leaves behind is :class:`.project.Project`'s business.

Why the wiring looks as it does:

* **One lock** guards the project, the journal and the fault queue. Decoding and checking run
  outside it (they are pure), so concurrent clients only serialise on the cheap part.
* **State before response**: the events are ingested and the request journalled before the
  WSGI response is returned, so a client that saw 200 can assert at once.
* **Nothing is silent**: unknown paths, wrong methods and exceptions inside the handler are
  answered (404/405/500) *and* recorded as problems that :meth:`CaptureApp.problems` returns; the
  pytest fixture turns them into a test failure at teardown (pytest-httpserver's
  "silent 500" pitfall, research/anchors.md §4).
"""

from __future__ import annotations

import io
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..contract import capture_paths
from ..contract import limit as contract_limit
from . import memos
from .answer import Answer
from .capture import capture
from .event_links import Link, Links, Runs
from .exchange import Incoming, Outgoing, UnreadableBody, has_body, outgoing, status_line
from .faults import FAULT_BODIES, Fault, FaultQueue, InjectedDrop, drop_connection
from .journal import (
    INSPECTOR_HEADER,
    JOURNAL_BYTES,
    RAW_KEPT,
    RESPONSE_KEPT,
    Journal,
    JournalEntry,
    JournalPage,
    Record,
    journaled,
    preview,
)
from .live import STREAM_HEADERS, LiveRead, Stream, StreamSlots, full_message, stream_since
from .methods import AI_ALLOW, CAPTURE_ALLOW, GET_METHODS, STATUS_ALLOW, not_allowed
from .project import Event, Group, IngestionWarning, Person, Project
from .replay import Recording, RecordingStore, snapshot_message
from .routes import (
    AI_BATCH_PATHS,
    AI_PATHS,
    INSPECTION_PREFIX,
    OTEL_PATHS,
    RECORDING_PATHS,
    STREAM_PATH,
    UI_PATH,
    V1_PATHS,
    is_remote_route,
)

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from .flags import Context, Flag
    from .flags_request import FlagRequest

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

_CAPTURE_METHODS = frozenset({"GET", "HEAD", "POST"})  # HEAD: axum runs GET's handler
_STATUS_ROUTES = {"/": "capture", "/_readiness": "capture", "/_liveness": "ok"}
_LOCALHOST = "127.0.0.1"
_REFUSABLE = frozenset({"capture", "recording", "fault"})
"""Journal kinds whose 4xx/5xx answers count as refused deliveries (the inspector's counter)."""


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(timezone.utc)


def _parsed_flags(flags: Mapping[str, Any]) -> tuple[Flag, ...]:
    from .flags import parse_flags

    return parse_flags(flags)


class CaptureApp:
    """PostHog's capture service, in memory, as a WSGI callable.

    :param project_keys: enforce mode: only these project keys are accepted (others get a 401
        whose body contains "project API key"); ``None`` accepts any well-formed key, as
        PostHog does by default.
    :param clock: returns "now"; pin it to replay recorded traffic (see :meth:`set_clock`).
    :param journal_size: how many requests the journal keeps (oldest dropped first); ``None``
        keeps all.
    :param journal_bytes: how many bytes of request text (bodies, headers, responses) the
        journal keeps, oldest dropped first (default :data:`.journal.JOURNAL_BYTES`, 64 MiB);
        ``None``: no byte bound. The newest request is always kept.
    """

    def __init__(
        self,
        *,
        project_keys: Iterable[str] | None = None,
        clock: Clock = utc_now,
        journal_size: int | None = 10_000,
        journal_bytes: int | None = JOURNAL_BYTES,
        flags: Mapping[str, Any] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        # notified (under the lock) when a request is journalled, a warning raised or the
        # state reset: ``?wait=`` answers and the inspector's streams sleep on it (live.py)
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._resets = 0
        self._closed = False
        self._test: str | None = None
        self._refused = 0
        self._links = Links()
        self.streams = StreamSlots()
        # feature flags (:mod:`.flags`): ``flags`` is the start state reset() returns to
        self._start_flags = _parsed_flags(flags) if flags else ()
        self._flags = self._start_flags
        self._project = Project()
        self._recordings = RecordingStore()  # replay: kept apart from analytics events
        self._journal = Journal(journal_size, journal_bytes)
        self._faults = FaultQueue()
        self._clock = clock
        self._keys = frozenset(k.strip() for k in project_keys) if project_keys else None
        self._capture_paths = capture_paths()

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
        with self._lock:
            self._faults.add(fault, seed)
        return fault

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget events, persons, groups, warnings, the journal, problems and faults, and
        empty the process-wide memos that hold request text (timestamps, keys), so what the
        requests carried can be freed."""
        with self._lock:
            self._project.reset()
            self._recordings.reset()
            self._journal.clear()
            self._faults.clear()
            self._flags = self._start_flags
            self._links.clear()
            self._resets += 1
            self._refused = 0
            self._version += 1
            self._changed.notify_all()
        memos.forget()

    # -- feature flags (evaluation and routes: :mod:`.flags`, :mod:`.remote_config`) ----------

    def set_flags(self, flags: Mapping[str, Any]) -> tuple[Flag, ...]:
        """Replace the flags ``/flags`` evaluates (see :func:`.flags.parse_flags`); ``reset()``
        returns to the flags the app was created with."""
        parsed = _parsed_flags(flags)
        with self._lock:
            self._flags = parsed
        return parsed

    def flag_definitions(self) -> tuple[Flag, ...]:
        """The flags defined now."""
        return self._flags

    def flag_context(self, request: FlagRequest) -> Context:
        """What one flags request evaluates against (stored person and groups, overridden)."""
        from .remote_config import context_for

        with self._lock:
            return context_for(self._project, request)

    def accepts_token(self, token: str) -> bool:
        """Whether a project key names a project here (any key, unless enforced)."""
        keys = self._keys
        return keys is None or token.strip() in keys

    # -- inspection ---------------------------------------------------------------------------

    def events(self, name: str | None = None, distinct_id: str | None = None) -> list[Event]:
        """Stored events, in ingestion order, optionally filtered."""
        with self._lock:
            return self._project.events(name=name, distinct_id=distinct_id)

    def event_count(self) -> int:
        """How many events are stored (without copying them)."""
        with self._lock:
            return self._project.event_count()

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
            records = self._journal.records()
        return [record.entry() for record in records]

    def journal_page(self, after: int = 0, limit: int = 100) -> JournalPage:
        """Up to ``limit`` journal entries after request number ``after``, oldest first, with
        whether more followed and how many requests the journal's bounds dropped."""
        with self._lock:
            records, has_more = self._journal.page(after, limit)
            dropped = self._journal.dropped
        return JournalPage([record.entry() for record in records], has_more, dropped)

    def recordings(self, session_id: str | None = None) -> list[Recording]:
        """Session recordings sent to ``/s/``, one per ``$session_id`` (see :mod:`.replay`)."""
        with self._lock:
            return self._recordings.recordings(session_id)

    def recording_count(self) -> int:
        """How many session recordings exist."""
        with self._lock:
            return len(self._recordings.recordings())

    def problems(self) -> list[JournalEntry]:
        """Unexpected requests and handler errors since the last reset (never evicted)."""
        with self._lock:
            records = self._journal.problem_records()
        return [record.entry() for record in records]

    # -- the inspector (live.py, request_detail.py, inspection_filters.py) -------------------

    def set_test(self, node_id: str | None) -> None:
        """Tag requests from now on with the pytest test ``node_id`` (``None``: no test); the
        pytest plugin sets it around each test."""
        self._test = node_id

    @property
    def current_test(self) -> str | None:
        """The test id requests are tagged with now."""
        return self._test

    def linked_events(self) -> tuple[list[Event], Callable[[Event], Link | None]]:
        """Every stored event in ingestion order, and how to find the request that stored
        one (looked up only for the events a view shows or filters by request: with 100,000
        stored, linking them all cost a first page 200 ms)."""
        with self._lock:
            events = self._project.events()
            return events, self._links.view().locator(events)

    def person_ids(self, ident: str) -> frozenset[str]:
        """The distinct ids of the person ``ident`` names (one of its distinct ids, or its
        uuid); empty when none does."""
        with self._lock:
            person = self._project.person_for(ident)
            if person is None:
                person = next((p for p in self._project.persons() if p.id == ident), None)
        return frozenset(person.distinct_ids) if person is not None else frozenset()

    def request_record(self, seq: int) -> tuple[Record, list[tuple[Event, Link | None]]] | None:
        """Journal record ``seq`` (raw: redact on the way out) and the events it stored."""
        with self._lock:
            record = self._journal.find(seq)
            if record is None:
                return None
            return record, self._stored_by(self._links.view(), seq)

    def journal_records(self) -> list[tuple[Record, list[tuple[Event, Link | None]]]]:
        """Every kept journal record (raw) with the events it stored, oldest first."""
        with self._lock:
            runs = self._links.view()
            return [
                (record, self._stored_by(runs, record.seq)) for record in self._journal.records()
            ]

    def _stored_by(self, runs: Runs, seq: int) -> list[tuple[Event, Link | None]]:
        """The events request ``seq`` stored, each with its link (call under the lock)."""
        start, stop = runs.span(seq)
        if start == stop:
            return []
        link = runs.at(start)
        return [(event, link) for event in self._project.events_between(start, stop)]

    def counts(self) -> dict[str, int]:
        """The inspector's header counters: events accepted (stored), capture requests
        refused (4xx/5xx) and ingestion warnings, since the last reset."""
        with self._lock:
            return self._counts()

    def _counts(self) -> dict[str, int]:
        project = self._project
        return {
            "accepted": project.event_count(),
            "refused": self._refused,
            "warnings": project.warning_count(),
        }

    def change_version(self) -> int:
        """A number that grows on every journalled request (not the inspector's own) and
        reset: wait on it with :meth:`wait_for_change`."""
        return self._version

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Sleep until the change version differs from ``version``, the server stops or
        ``timeout`` seconds pass; the version then."""
        with self._changed:
            if self._version == version and not self._closed:
                self._changed.wait_for(
                    lambda: self._version != version or self._closed, timeout=timeout
                )
            return self._version

    def live_read(self, after: int, warnings_seen: int, resets: int, limit: int) -> LiveRead:
        """What a stream reads in one go (see :class:`.live.LiveRead`)."""
        with self._lock:
            journal, project = self._journal, self._project
            if resets != self._resets:
                warnings_seen = 0  # a reset since the caller's last read: warnings restart
            found, more = journal.page(after, limit) if limit else ([], False)
            newest = journal.issued
            # an empty journal (reset, or all evicted) holds nothing up to the newest number
            scanned = found[-1].seq if found else (after if journal.first_seq else newest)
            runs = self._links.view()
            records = [
                (record, self._stored_by(runs, record.seq))
                for record in found
                if record.kind != "inspect"
            ]
            first = journal.first_seq
            missing = (first - 1 - after) if first else (newest - after)
            return LiveRead(
                records=records,
                more=more,
                warnings=project.warnings_since(warnings_seen),
                resets=self._resets,
                missing=max(missing, 0),
                counts=self._counts(),
                version=self._version,
                closed=self._closed,
                newest=newest,
                scanned=scanned,
            )

    def open_streams(self) -> None:
        """Let streams run (the server calls it when it starts)."""
        self._closed = False

    def close_streams(self) -> None:
        """End every open stream and ``?wait=`` promptly (the server calls it when it stops,
        so its shutdown never waits on a browser)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _special(self, incoming: Incoming) -> Outgoing | Stream | None:
        """The inspector's stream and static page, answered outside the journal (``None``:
        any other request)."""
        path = incoming.path
        if not path.startswith(INSPECTION_PREFIX) or incoming.method not in GET_METHODS:
            return None
        if path == STREAM_PATH and incoming.method == "GET":
            return self._stream(incoming)
        if path == UI_PATH or path.startswith(UI_PATH + "/"):
            from .ui_static import static_file

            found = static_file(path)
            headers = [("Content-Type", found.content_type)]
            headers += [("Content-Length", str(len(found.body))), *found.headers]
            status = status_line(found.status)
            body = found.body if incoming.method == "GET" else b""
            return Outgoing(status, headers, body)
        return None

    def _stream(self, incoming: Incoming) -> Outgoing | Stream:
        """``GET /_ctph/stream``: a :class:`.live.Stream`, or the answer refusing one."""
        since = stream_since(incoming)
        if isinstance(since, str):
            return outgoing(incoming, Answer(400, f"ctph: {since}", kind="inspect"))
        if not self.streams.acquire():
            return outgoing(
                incoming,
                Answer(503, full_message(), kind="inspect", headers=(("Retry-After", "5"),)),
            )
        return Stream(self, self.streams, since)

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The WSGI entry point (no werkzeug ``Request``/``Response`` on this path)."""
        incoming = Incoming(environ)
        special = self._special(incoming)
        if isinstance(special, Stream):
            start_response("200 OK", list(STREAM_HEADERS))
            return special
        answer = special if special is not None else self._answer(incoming)
        start_response(answer.status, answer.headers)
        return [answer.body]

    def call(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str]:
        """One request in process, without WSGI's ``start_response`` round trip or an HTTP
        client (whose machinery costs more than the handler): ``(status, body text)``. The
        environ is what a WSGI server would pass, so every rule sees the same request."""
        path_info, _, query = path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "SERVER_NAME": "fake-posthog.invalid",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": _LOCALHOST,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ["HTTP_" + key] = value
        answer = self._decide(Incoming(environ, body=body))
        return answer.status, answer.body if has_body(answer.status, method.upper()) else ""

    def handle(self, request: Request) -> Response:
        """Answer one werkzeug request (what pytest-httpserver's ``dispatch`` calls)."""
        from werkzeug.datastructures import Headers
        from werkzeug.wrappers import Response

        incoming = Incoming(request.environ, request)
        special = self._special(incoming)
        if isinstance(special, Stream):
            return Response(
                special, status=200, headers=list(STREAM_HEADERS), direct_passthrough=True
            )
        answer = special if special is not None else self._answer(incoming)
        response = Response(answer.body, status=answer.status)
        response.headers = Headers(answer.headers)
        return response

    def _answer(self, incoming: Incoming) -> Outgoing:
        """Route, ingest and journal one request; the answer to write back."""
        return outgoing(incoming, self._decide(incoming))

    def _decide(self, incoming: Incoming) -> Answer:
        """Route, ingest and journal one request; what to answer."""
        now = self._clock()
        try:
            answer = self._route(incoming, now)
            if journaled(answer.kind, incoming.method, incoming.header(INSPECTOR_HEADER)):
                self._record(incoming, now, answer, None)
        except InjectedDrop:
            raise
        except Exception:
            answer = Answer(
                500, "ctph: the fake PostHog failed on this request; see its check()", kind="error"
            )
            self._record(incoming, now, answer, traceback.format_exc())
        return answer

    def _route(self, incoming: Incoming, now: datetime) -> Answer:
        path, method = incoming.path, incoming.method
        # handlers other than v0 capture are imported when their route is first asked for
        # (routes.py): a run that only captures never loads them
        if method == "OPTIONS":
            from .route_cors import cors_methods

            # capture's CorsLayer wraps the whole router and answers every OPTIONS itself
            # (200, empty body) before any route or handler sees it: router.rs, tower-http
            # cors/mod.rs. Routes' own options handlers never run. v1 and the flags service
            # have their own layers, allowing other methods (route_cors.py).
            return Answer(200, "", "", kind="preflight", cors_methods=cors_methods(path))
        if path in self._capture_paths and method in _CAPTURE_METHODS:
            return self._capture_or_fault(incoming, now)
        if path in AI_BATCH_PATHS:  # the /batch handler and cap (integration_ai_route_surface.rs)
            if method in _CAPTURE_METHODS:
                return self._capture_or_fault(incoming, now)
            return not_allowed(CAPTURE_ALLOW)
        if path in AI_PATHS or path in OTEL_PATHS:  # Bearer-authenticated, POST only
            from .ai import ai_multipart, ai_otel

            if method != "POST":
                return not_allowed(AI_ALLOW)
            handler = ai_multipart if path in AI_PATHS else ai_otel
            return self._capture_or_fault(incoming, now, handler)
        if path in RECORDING_PATHS:  # router.rs: post(recording).get(recording)
            from .replay import capture_recording

            if method in _CAPTURE_METHODS:
                return self._capture_or_fault(incoming, now, capture_recording)
            return not_allowed(CAPTURE_ALLOW)
        if path in V1_PATHS:  # v1 analytics (rust/capture/src/v1/router.rs): POST only
            from .v1 import capture_v1
            from .v1_headers import V1_ALLOW, with_v1_headers

            if method != "POST":
                return with_v1_headers(not_allowed(V1_ALLOW), incoming, now)
            return with_v1_headers(self._capture_or_fault(incoming, now, capture_v1), incoming, now)
        if path.startswith(INSPECTION_PREFIX):
            from .inspection import inspect

            return inspect(self, incoming)
        if path in _STATUS_ROUTES:  # get(index): HEAD too, else axum's 405 with Allow
            if method in GET_METHODS:
                return Answer(200, _STATUS_ROUTES[path], kind="status")
            return not_allowed(STATUS_ALLOW)
        if is_remote_route(path):
            from .remote_config import remote_answer

            return remote_answer(self, incoming)
        if path in self._capture_paths:
            return not_allowed(CAPTURE_ALLOW)
        return Answer(404, "", kind="unexpected")

    def _capture_or_fault(
        self,
        incoming: Incoming,
        now: datetime,
        pipeline: Callable[[Incoming, frozenset[str] | None], Answer] | None = None,
    ) -> Answer:
        fault = self._take_fault()
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                self._record(incoming, now, Answer(0, "", kind="fault"), None)
                drop_connection(incoming.environ)
            if fault.status is not None:
                return Answer(fault.status, FAULT_BODIES[fault.status], kind="fault")
        return (pipeline or capture)(incoming, self._keys)  # looked up per call: v0 by default

    def _take_fault(self) -> Fault | None:
        if not self._faults:  # unlocked peek: the common case never waits for the lock
            return None
        with self._lock:
            return self._faults.take()

    # -- journal ------------------------------------------------------------------------------

    def _record(self, incoming: Incoming, now: datetime, answer: Answer, error: str | None) -> None:
        """Ingest what the answer accepted and journal the request, atomically."""
        ip = incoming.client_ip
        headers = tuple(incoming.headers)
        body = answer.payload
        if body is None:
            body = _body_preview(incoming) if answer.kind != "inspect" else ""
        stored = 0
        raw = incoming.received if answer.kind != "inspect" else None
        test = self._test
        kept_events: list[Event] = []
        with self._lock, self._project.atomic():
            first = self._project.event_count()  # where this request's events will start
            # all or nothing, journal entry included: a request answered 500 leaves no event
            if answer.kind == "recording" and answer.events and answer.token is not None:
                agent = incoming.header("User-Agent")  # replay never becomes an analytics event
                message = snapshot_message(answer.events, answer.token, now, answer.sent_at, agent)
                self._recordings.add(message)
                stored = 1
            elif answer.events and answer.token is not None:
                ingest = self._project.ingest
                for event in answer.events:
                    kept = ingest(event, answer.token, now, answer.sent_at, _event_ip(event, ip))
                    if kept is not None:
                        kept_events.append(kept)
                stored = len(kept_events)
            seq = self._journal.next_seq()
            record = Record(
                seq,
                now,
                incoming.method,
                incoming.path,
                incoming.query,
                headers,
                body,
                answer.decoded,
                answer.status,
                answer.body[:RESPONSE_KEPT],
                answer.kind,
                stored,
                error,
                test,
                _kept_raw(raw, body, answer.decoded),
                len(raw) if raw else 0,
                _response_headers(answer),
            )
            self._journal.append(record)
            if kept_events:
                link = Link(seq, incoming.path, answer.status, test)
                self._links.add(link, first, len(kept_events))
            if answer.kind in _REFUSABLE and answer.status >= 400:
                self._refused += 1
            if answer.kind != "inspect":  # the inspector's own reads wake no one
                self._version += 1
                self._changed.notify_all()


def _kept_raw(raw: bytes | None, body: str, decoded: bool) -> bytes | None:
    """What the journal keeps of the body as received: nothing when it is the decoded text
    itself (``None``, the common plain-JSON case), else its first :data:`RAW_KEPT` bytes."""
    if not raw:
        return b""
    if decoded and len(raw) == len(body) and raw.isascii() and raw == body.encode("ascii"):
        return None
    if decoded and len(raw) >= len(body) and raw == body.encode("utf-8"):
        return None
    return raw[:RAW_KEPT]


def _response_headers(answer: Answer) -> tuple[tuple[str, str], ...]:
    """The headers of an answer the journal keeps for the inspector's request detail."""
    if not answer.content_type:
        return answer.headers
    return (("Content-Type", answer.content_type), *answer.headers)


def _body_preview(incoming: Incoming) -> str:
    """The journal's preview of a body no capture step read (unknown routes, faults, status
    checks): read within capture's own cap, and whatever arrived when it cannot be read."""
    try:
        return preview(incoming.body(contract_limit("request_max_bytes")))
    except UnreadableBody as exc:
        return preview(exc.partial)


def _event_ip(event: Mapping[str, Any], ip: str | None) -> str | None:
    """analytics.rs: a ``capture_internal`` property makes the recorded IP ``127.0.0.1``."""
    props = event.get("properties")
    if isinstance(props, Mapping) and "capture_internal" in props:
        return _LOCALHOST
    return ip
