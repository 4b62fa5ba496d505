"""``FakePostHog``: the capture application served over loopback, plus the test-facing API.

The server is pytest-httpserver's documented extension seam, a subclass of ``HTTPServerBase``
whose ``dispatch()`` hands every request to one :class:`.app.CaptureApp`, rather than
a catch-all ``expect_request`` handler. Why:

* a catch-all handler still goes through the matcher table, whose "no handler" path is the
  silent-500 pitfall this harness exists to avoid (research/anchors.md §4);
* ``HTTPServer`` keeps every ``(Request, Response)`` in an unbounded ``log``; the fake must hold
  100,000 events in bounded memory, so its own journal (bounded) replaces that log;
* the base class gives the lifecycle (ephemeral port, daemon thread, ``threaded=True`` for
  concurrent clients) without any of the expectation machinery.

The same ``CaptureApp`` is reachable without a socket through :meth:`FakePostHog.transport`
(``httpx.WSGITransport``), so a test can pick speed or realism and see the same state.

This module imports pytest-httpserver and werkzeug at the top; the pytest plugin only imports
it inside fixtures, so loading the plugin stays cheap.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_httpserver.httpserver import HTTPServerBase
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from ..redact import printable
from .app import CaptureApp, Clock, Fault, JournalEntry, utc_now
from .journal import JOURNAL_BYTES
from .project import Event, Group, IngestionWarning, Person
from .replay import Recording

if TYPE_CHECKING:
    import httpx

__all__ = ["FakePostHog", "is_loopback"]

_MISSING = object()


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_BACKLOG = 4096
"""Pending connections the listening socket holds (werkzeug's is 128; the kernel clamps it to
``net.core.somaxconn``). A burst of connects beyond it has SYNs dropped, and each dropped client
waits out TCP's retransmission back-off (1 s, then 3 s, 7 s ...) before it is even accepted:
2,000 connects took 15 s to open with 128, 0.06 s with this."""
_READ_TIMEOUT = 30.0
"""Seconds a connection may go without sending a byte of its request before it is dropped
(hyper's ``header_read_timeout`` is 30 s too): an idle or stalled client holds a thread and a
socket only that long. A read that times out in a body is an unreadable body (400)."""


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler, less the per-request access log line (the journal has it), with a
    read timeout, and dropping a request whose header block the client never finished."""

    timeout = _READ_TIMEOUT

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    _dated = True

    def send_response(self, code: int, message: str | None = None) -> None:
        """``http.server``'s, less its ``Date``: :meth:`end_headers` adds one only when the
        answer set none, so a route that sets its own (v1's ``v1_common_headers``) sends one
        ``Date``, as hyper does, not two."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        self._dated = False

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "date":
            self._dated = True
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        if not self._dated:
            self.send_header("Date", self.date_time_string())
        super().end_headers()

    def parse_request(self) -> bool:
        """``http.server`` reads headers until a blank line *or end of input*, so a client that
        sent half a header block and closed its side got a whole request dispatched. hyper
        answers nothing to such a connection, and nothing is dispatched here: released together,
        2,000 such half requests each ran through the app (and the journal) at once, and a good
        request sent right after waited 21 s behind them."""
        watched = _LastLine(self.rfile)
        self.rfile = watched  # type: ignore[assignment]
        try:
            parsed = super().parse_request()
        finally:
            self.rfile = watched.file
        if parsed and watched.last == b"":
            self.close_connection = True
            return False
        return parsed


class _LastLine:
    """A read file that remembers the last line read (``b""``: end of input)."""

    __slots__ = ("file", "last")

    def __init__(self, file: Any) -> None:
        self.file = file
        self.last = b"\r\n"

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self.file.readline(limit)
        self.last = line
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)


class _Redacted(logging.Filter):
    """Every record of werkzeug's logger rendered once and passed through :func:`printable`:
    its request lines, ``Request timed out`` notes and tracebacks quote request paths, queries
    and exception messages, where a client puts project and personal keys."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = printable(record.getMessage())
        record.args = None
        return True


def _redact_werkzeug_log() -> None:
    """Install :class:`_Redacted` on werkzeug's logger, once per process."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, _Redacted) for f in logger.filters):
        logger.addFilter(_Redacted())


class _CaptureServer(HTTPServerBase):
    """pytest-httpserver's base server, dispatching straight to a :class:`CaptureApp`."""

    def __init__(self, app: CaptureApp, host: str, port: int) -> None:
        super().__init__(host, port, threaded=True)
        self._app = app

    def start(self) -> None:
        _redact_werkzeug_log()
        super().start()
        # make_server() takes no handler class through HTTPServerBase.start(); swapping it
        # before the first request arrives keeps werkzeug from printing one line per request.
        assert self.server is not None
        self.server.RequestHandlerClass = _QuietHandler
        # nor a backlog: listen() again on the bound socket raises it (Linux and macOS
        # adjust a listening socket's queue in place)
        self.server.socket.listen(_BACKLOG)

    def dispatch(self, request: Request) -> Response:
        return self._app.handle(request)

    def thread_target(self) -> None:
        """Serve with a 10 ms poll instead of socketserver's 0.5 s: stopping waits for the next
        poll, and every ``ctph verify`` and pytest session (each xdist worker too) stops one of
        these at its end (a 50 ms poll cost a run 25 ms on average; an idle poll is one
        ``select`` call). (``thread_target`` is pytest-httpserver's documented override
        point.)"""
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)

    def application(self, *args: Any) -> Any:
        """Every request straight to the app. The base class also appends each (request,
        response) to an unbounded ``log``; the app's bounded journal is the record here.

        pytest-httpserver 1.2 calls this with a werkzeug ``Request``; 1.1 serves it as the
        WSGI callable itself (``environ, start_response``), so that form is adapted here."""
        if len(args) == 2:
            from werkzeug.wrappers import Request as WerkzeugRequest

            return WerkzeugRequest.application(self.dispatch)(*args)
        return self.dispatch(args[0])


class _Mismatch(AssertionError):
    """An assertion helper's failure. Its text quotes stored events, where posthog-js puts the
    project key (``properties.token``) and a careless template a personal one, so it passes
    through the one redaction every output uses."""

    def __init__(self, text: str) -> None:
        super().__init__(printable(text))


class FakePostHog:
    """A PostHog capture service for tests: real HTTP on loopback, or in-process.

    :param host: interface to bind; loopback unless ``allow_remote=True``.
    :param port: ``0`` (default) picks a free port, so each xdist worker gets its own.
    :param project_keys: enforce mode, see :class:`.app.CaptureApp`.
    :param clock: the server's "now"; pin it to replay recorded traffic.
    :param journal_size: requests kept in the journal (``None``: unbounded).
    :param journal_bytes: bytes of request text kept in the journal (default 64 MiB;
        ``None``: unbounded), see :class:`.app.CaptureApp`.
    :param allow_remote: required to bind anything but loopback; the fake has no auth.
    :param flags: the feature flags it starts with and :meth:`reset` returns to (see
        :meth:`set_flags`; ``ctph serve`` passes the settings file's ``[flags]``).

    The socket is opened lazily, on the first :attr:`url`/:meth:`start`, so tests that only use
    :meth:`transport` never bind a port.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        project_keys: Iterable[str] | None = None,
        clock: Clock = utc_now,
        journal_size: int | None = 10_000,
        journal_bytes: int | None = JOURNAL_BYTES,
        allow_remote: bool = False,
        flags: Mapping[str, Any] | None = None,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"refusing to bind {host!r}: the fake PostHog accepts anything from anyone; "
                "bind a loopback address or pass allow_remote=True"
            )
        self._host = host
        self._port = port
        self.app = CaptureApp(
            project_keys=project_keys,
            clock=clock,
            journal_size=journal_size,
            journal_bytes=journal_bytes,
            flags=flags,
        )
        self._server: _CaptureServer | None = None
        self._client: httpx.Client | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and serve in a daemon thread (idempotent)."""
        if self._server is None:
            self.app.open_streams()
            server = _CaptureServer(self.app, self._host, self._port)
            server.start()
            self._server = server

    def stop(self) -> None:
        """Stop serving (within ~10 ms); state is kept. No-op when not started."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            self.app.close_streams()  # open inspector streams end now, not at their next ping
            self._server.stop()
            self._server = None

    def client(self) -> httpx.Client:
        """An httpx client for this server over loopback HTTP, made once and kept: creating
        one loads the system CA bundle (tens of milliseconds), which plain loopback HTTP does
        not need."""
        if self._client is None:
            import httpx

            self._client = httpx.Client(base_url=self.url, verify=False)
        return self._client

    @property
    def is_running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FakePostHog:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not started"
        return f"<FakePostHog {where}>"

    # -- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT``), what an SDK takes as ``host``; starts the
        server on first use."""
        self.start()
        assert self._server is not None
        host = self._server.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self._server.port}"

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` it listens on, for a client that takes them apart (``http.client``);
        starts the server on first use."""
        self.start()
        assert self._server is not None
        return self._server.host, self._server.port

    def capture_url(self, path: str = "/i/v0/e/") -> str:
        """Full URL of one capture route (``/i/v0/e/``, ``/batch/``, ``/e`` ...)."""
        return self.url + (path if path.startswith("/") else "/" + path)

    def transport(self) -> httpx.WSGITransport:
        """An httpx transport into the same app with no socket (same state, same answers).

        Use ``httpx.Client(transport=server.transport(), base_url="http://posthog")``.
        An injected dropped connection raises :class:`.app.InjectedDrop` from the transport.
        """
        import httpx

        return httpx.WSGITransport(app=self.app)

    def call(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str]:
        """One request into the same app, in process and without an HTTP client:
        ``(status, body text)`` (see :meth:`.app.CaptureApp.call`). The campaign pipeline
        delivers every profile through this."""
        return self.app.call(method, path, body, headers)

    # -- state --------------------------------------------------------------------------------

    def events(self, name: str | None = None, distinct_id: str | None = None) -> list[Event]:
        """Stored events, optionally filtered by name and distinct id."""
        return self.app.events(name=name, distinct_id=distinct_id)

    def event_count(self) -> int:
        """How many events are stored (without copying them)."""
        return self.app.event_count()

    def persons(self) -> list[Person]:
        return self.app.persons()

    def person(self, distinct_id: str) -> Person | None:
        """The person owning ``distinct_id`` after merges, or ``None``."""
        return self.app.person(distinct_id)

    def groups(self) -> list[Group]:
        return self.app.groups()

    def warnings(self) -> list[IngestionWarning]:
        return self.app.warnings()

    def recordings(self, session_id: str | None = None) -> list[Recording]:
        """Session recordings sent to ``/s/``, one per ``$session_id``, apart from events."""
        return self.app.recordings(session_id)

    def recording_count(self) -> int:
        return self.app.recording_count()

    def journal(self) -> list[JournalEntry]:
        """Every request still in the bounded journal, keys redacted (all requests are
        journaled but the inspector page's own reads: :func:`.journal.journaled`)."""
        return self.app.journal()

    def reset(self) -> None:
        """Forget state, journal, problems and faults, and put the flags back to the ones the
        server started with (the server keeps running)."""
        self.app.reset()

    def set_flags(self, flags: Mapping[str, Any]) -> None:
        """Define the feature flags ``/flags`` evaluates, replacing any set before: ``{key:
        True | False | "variant" | {...}}`` (see :func:`.flags.parse_flags`; ``ValueError``
        names a definition the fake cannot evaluate). ``reset()`` clears them."""
        self.app.set_flags(flags)

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
        """Make upcoming capture requests answer 429/503, wait, or drop the connection.

        See :meth:`.app.CaptureApp.inject`.
        """
        return self.app.inject(
            status=status, count=count, fraction=fraction, delay=delay, drop=drop, seed=seed
        )

    def clear_faults(self) -> None:
        self.app.clear_faults()

    # -- assertions ---------------------------------------------------------------------------

    def check(self) -> None:
        """Raise ``AssertionError`` showing each unexpected request and handler error."""
        __tracebackhide__ = True  # pytest shows the test's line and this message, not ours
        problems = self.app.problems()
        if not problems:
            return
        unexpected = sum(p.kind == "unexpected" for p in problems)
        errors = len(problems) - unexpected
        head = (
            f"the fake PostHog got {unexpected} unexpected request(s) and had "
            f"{errors} handler error(s):"
        )
        raise _Mismatch("\n".join([head, *(p.describe() for p in problems)]))

    def assert_event(
        self,
        name: str,
        distinct_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
        count: int | None = None,
    ) -> list[Event]:
        """Assert stored events named ``name`` (with ``distinct_id``, whose properties include
        ``properties``, nested dicts matched as subsets) exist: at least one, or exactly
        ``count``. Returns the matches. On failure the message shows the closest near-miss
        event and a field-by-field diff.
        """
        __tracebackhide__ = True  # pytest shows the test's line and the near-miss diff
        every = self.events()
        expected = _Expectation(name, distinct_id, dict(properties or {}))
        matches = [e for e in every if not expected.diff(e)]
        if (count is None and matches) or (count is not None and len(matches) == count):
            return matches
        wanted = "at least 1" if count is None else f"exactly {count}"
        lines = [
            f"expected {wanted} event(s) matching {expected}; found {len(matches)}.",
            _inventory(every),
        ]
        if count is not None and len(matches) > count:
            lines.append("matching events:")
            lines += [f"  {_event_line(e)}" for e in matches[:10]]
        else:
            near = min((e for e in every if e not in matches), key=expected.distance, default=None)
            if near is not None:
                lines.append(f"closest event: {_event_line(near)}")
                lines += [f"  {line}" for line in expected.diff(near)]
        raise _Mismatch("\n".join(lines))

    def assert_person(
        self, distinct_id: str, properties: Mapping[str, Any] | None = None
    ) -> Person:
        """Assert a person owns ``distinct_id`` and its properties include ``properties``.

        Returns the person; on failure shows the nearest distinct ids or a property diff.
        """
        __tracebackhide__ = True
        person = self.person(distinct_id)
        if person is None:
            known = [d for p in self.persons() for d in p.distinct_ids]
            close = difflib.get_close_matches(distinct_id, known, n=3, cutoff=0.5)
            hint = f" closest distinct ids: {close}" if close else ""
            raise _Mismatch(
                f"no person owns distinct_id {distinct_id!r} ({len(self.persons())} person(s), "
                f"{len(known)} distinct id(s) known).{hint}"
            )
        diff = _subset_diff(dict(properties or {}), person.properties, "properties")
        if diff:
            raise _Mismatch(
                "\n".join(
                    [
                        f"person {person.id} (distinct ids {list(person.distinct_ids)}) does "
                        "not have the expected properties:",
                        *(f"  {line}" for line in diff),
                        f"  its properties: {_short(person.properties, 400)}",
                    ]
                )
            )
        return person


# --------------------------------------------------------------------------------------------
# near-miss diffs


class _Expectation:
    """What :meth:`FakePostHog.assert_event` looks for, and how far an event is from it."""

    def __init__(self, name: str, distinct_id: str | None, properties: dict[str, Any]) -> None:
        self.name = name
        self.distinct_id = distinct_id
        self.properties = properties

    def __str__(self) -> str:
        parts = [f"name={self.name!r}"]
        if self.distinct_id is not None:
            parts.append(f"distinct_id={self.distinct_id!r}")
        if self.properties:
            parts.append(f"properties ⊇ {_short(self.properties, 300)}")
        return ", ".join(parts)

    def diff(self, event: Event) -> list[str]:
        lines = []
        if event.event != self.name:
            lines.append(f"event: expected {self.name!r}, got {event.event!r}")
        if self.distinct_id is not None and event.distinct_id != self.distinct_id:
            lines.append(f"distinct_id: expected {self.distinct_id!r}, got {event.distinct_id!r}")
        lines += _subset_diff(self.properties, event.properties, "properties")
        return lines

    def distance(self, event: Event) -> tuple[int, float]:
        """Fewest differing fields first, then the most similar name (a typo is close)."""
        similarity = difflib.SequenceMatcher(None, self.name, event.event).ratio()
        return len(self.diff(event)) + (event.event != self.name), -similarity


def _subset_diff(expected: Mapping[str, Any], actual: Any, where: str) -> list[str]:
    """Lines saying how ``actual`` fails to include ``expected`` (dicts recursively)."""
    if not isinstance(actual, Mapping):
        return [f"{where}: expected an object, got {_short(actual)}"]
    lines: list[str] = []
    for key, want in expected.items():
        path = f"{where}.{key}"
        got = actual.get(key, _MISSING)
        if got is _MISSING:
            lines.append(f"{path}: missing (expected {_short(want)})")
        elif isinstance(want, Mapping) and isinstance(got, Mapping):
            lines += _subset_diff(want, got, path)
        elif got != want or type(got) is not type(want):
            lines.append(f"{path}: expected {_short(want)}, got {_short(got)}")
    return lines


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _event_line(event: Event) -> str:
    return (
        f"{event.event!r} distinct_id={event.distinct_id!r} uuid={event.uuid} "
        f"properties={_short(event.properties, 200)}"
    )


def _inventory(events: Sequence[Event]) -> str:
    if not events:
        return "no events are stored."
    names: dict[str, int] = {}
    for event in events:
        names[event.event] = names.get(event.event, 0) + 1
    listed = ", ".join(f"{n} × {name!r}" for name, n in list(names.items())[:10])
    return f"{len(events)} event(s) stored: {listed}."
