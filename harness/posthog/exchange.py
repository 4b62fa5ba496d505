"""One HTTP exchange read straight from the WSGI environ, and the answer written back.

Wrapping every request in a werkzeug ``Request`` and every answer in a werkzeug ``Response``
was a large share of the in-process (``httpx.WSGITransport``) handler's cost.
:class:`Incoming` reads only what the pipeline uses, computes each piece once, and reproduces
werkzeug's readings exactly (header names, path decoding, query parsing, the capped and
length-limited body), because the journal and the wire rules see those values.
:func:`outgoing` produces the status line and headers werkzeug's ``Response`` would have sent,
so the in-process path can call ``start_response`` directly and the loopback path (which must
hand pytest-httpserver a ``Response``) sends the very same headers.
"""

from __future__ import annotations

import io
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl

from .answer import Answer
from .cors import cors_headers
from .memos import request_memo

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

__all__ = [
    "BODY_UNREADABLE",
    "Incoming",
    "Outgoing",
    "UnreadableBody",
    "has_body",
    "outgoing",
    "status_line",
]

_ENTITY_KEYS = ("CONTENT_TYPE", "CONTENT_LENGTH")
_NOT_HEADERS = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})
_PIECE = 64 * 1024
"""Bytes read from a socket body at a time. werkzeug's ``DechunkedInput.readinto`` shrinks a
``bytearray`` it was handed when the client's bytes end inside a chunk, yet reports the full
length, so ``stream.read(n)`` (which hands it one) copied ``n`` bytes out of the shrunk buffer:
with a declared chunk of 20 MiB and a short body the process died with SIGSEGV. Reading into a
fixed ``memoryview`` piece turns that short read into a ``ValueError`` instead (a memoryview
cannot change size), and bounds what any one read allocates."""

BODY_UNREADABLE = (
    "failed to decode request: Error reading request body: error reading a body from connection"
)
"""Capture's answer (400) when the body cannot be read: malformed chunked framing or a body cut
short. Capture streams the body itself (PostHog/posthog rust/capture/src/extractors.rs
``extract_body_with_timeout``): a failed chunk is ``RequestDecodingError("Error reading request
body: {e}")``, which api.rs answers 400 ``failed to decode request: ...``; ``e`` is axum's body
error showing hyper's, and hyper reports every body read failure as ``Kind::Body``, "error
reading a body from connection" (hyperium/hyper src/error.rs)."""


class UnreadableBody(Exception):
    """The request body could not be read whole; ``partial`` is what arrived before it broke
    (for the journal)."""

    def __init__(self, partial: bytes) -> None:
        super().__init__(BODY_UNREADABLE)
        self.partial = partial


@request_memo(maxsize=1024)
def _header_name(key: str) -> str:
    """werkzeug's ``EnvironHeaders`` spelling of an environ key (``HTTP_X_FOO`` -> ``X-Foo``)."""
    return key.removeprefix("HTTP_").replace("_", "-").title()


class Incoming:
    """The parts of one request the app reads, each computed at most once.

    ``request`` is the werkzeug ``Request`` when the caller already built one (the loopback
    server): the body is then read through its stream, in bounded pieces. ``body`` is the
    whole body when an in-process caller has it (its ``Content-Length`` must match). Mutable
    only to cache lazily read values.
    """

    __slots__ = ("_body", "_broken", "_headers", "_request", "environ", "method", "path", "query")

    def __init__(
        self, environ: dict[str, Any], request: Request | None = None, *, body: bytes | None = None
    ) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        raw_path = environ.get("PATH_INFO") or ""
        if not raw_path.isascii():
            raw_path = raw_path.encode("latin1").decode(errors="replace")
        self.path: str = "/" + raw_path.lstrip("/")
        self.query: str = environ.get("QUERY_STRING", "")
        """The raw query string (latin-1 text, as the WSGI server passed it)."""
        self._request = request
        self._headers: list[tuple[str, str]] | None = None
        self._body = body
        self._broken: UnreadableBody | None = None

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The request headers in werkzeug's ``EnvironHeaders`` order and spelling."""
        if self._headers is None:
            self._headers = [
                (_header_name(key), value)
                for key, value in self.environ.items()
                if (key[:5] == "HTTP_" and key not in _NOT_HEADERS)
                or (key in _ENTITY_KEYS and value)
            ]
        return self._headers

    def header(self, name: str) -> str | None:
        """One header by name, case-insensitively (``EnvironHeaders.get``)."""
        key = name.upper().replace("-", "_")
        if key in _ENTITY_KEYS:
            value: str | None = self.environ.get(key)
        else:
            value = self.environ.get("HTTP_" + key)
        return value

    def args(self) -> dict[str, str]:
        """The query parameters, first value of each (``request.args.to_dict()``)."""
        if not self.query:
            return {}
        import werkzeug.urls  # noqa: F401  registers the "werkzeug.url_quote" error handler

        found: dict[str, str] = {}
        pairs = parse_qsl(
            self.query.encode("latin1").decode(),
            keep_blank_values=True,
            errors="werkzeug.url_quote",
        )
        for key, value in pairs:
            found.setdefault(key, value)
        return found

    @property
    def client_ip(self) -> str | None:
        """The first ``X-Forwarded-For`` hop, else the peer address."""
        forwarded = self.environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded:
            return str(forwarded).split(",")[0].strip()
        addr: str | None = self.environ.get("REMOTE_ADDR")
        return addr

    def body(self, cap: int) -> bytes:
        """The body, read at most one byte past ``cap`` (enough to answer 413); a longer body
        is drained so the connection stays usable for the answer, and is not cached.

        Raises :class:`UnreadableBody` when the body cannot be read whole: malformed chunked
        framing, a body cut short by the client, or a read timeout. Asked again, it raises the
        same error (the stream is spent)."""
        if self._body is not None:
            return self._body if len(self._body) <= cap else self._body[: cap + 1]
        if self._broken is not None:
            raise self._broken
        declared = self.environ.get("CONTENT_LENGTH")
        if isinstance(declared, str) and declared.isdigit() and int(declared) <= cap:
            fast = self._in_memory_body()
            if fast is not None:
                self._body = fast
                return fast
        try:
            stream = self._werkzeug().stream
            data = _read_capped(stream, cap + 1)
            if len(data) > cap:
                _drain(stream)
            else:
                self._body = data
        except UnreadableBody as exc:
            self._broken = exc
            raise
        return data

    @property
    def received(self) -> bytes | None:
        """The body as far as it was read whole (``None``: not read, too long or broken); the
        inspector's request detail shows it."""
        return self._body

    def _in_memory_body(self) -> bytes | None:
        """The body straight from an in-memory ``wsgi.input`` (``httpx.WSGITransport``), when
        it holds the whole declared ``Content-Length``: then werkzeug's length-limited stream
        would return exactly these bytes. Anything else (chunked, a socket, a short or odd
        length) returns ``None`` and goes through werkzeug."""
        environ = self.environ
        stream = environ.get("wsgi.input")
        declared = environ.get("CONTENT_LENGTH")
        if (
            self._request is not None
            or type(stream) is not io.BytesIO
            or not isinstance(declared, str)
            or not (declared.isascii() and declared.isdigit())
            or "wsgi.input_terminated" in environ
            or "HTTP_TRANSFER_ENCODING" in environ
        ):
            return None
        length = int(declared)
        with stream.getbuffer() as view:
            available = view.nbytes - stream.tell()
        if available < length:
            return None
        return stream.read(length)

    def _werkzeug(self) -> Request:
        """The werkzeug request, built only when the body is read: its length-limited stream
        handling (chunked input, short bodies, disconnects) is kept rather than re-done."""
        if self._request is None:
            from werkzeug.wrappers import Request

            self._request = Request(self.environ, populate_request=False)
        return self._request


class Outgoing(NamedTuple):
    """A written answer: WSGI status line, header list, body bytes."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


@cache
def _status_line(status: int) -> str:
    """werkzeug's status line for a code (``204 NO CONTENT``)."""
    from werkzeug.http import HTTP_STATUS_CODES

    reason = HTTP_STATUS_CODES.get(status)
    return f"{status} {reason.upper()}" if reason is not None else f"{status} UNKNOWN"


def status_line(status: int) -> str:
    """The WSGI status line werkzeug writes for ``status`` (``404 NOT FOUND``)."""
    return _status_line(status)


def outgoing(incoming: Incoming, answer: Answer) -> Outgoing:
    """What werkzeug's ``Response(body, status, content_type)`` would send, plus the CORS
    headers: ``Content-Type`` then ``Content-Length``, neither on a 204, no body on a 204 or
    to a HEAD."""
    body = answer.body.encode("utf-8")
    status = answer.status
    headers: list[tuple[str, str]]
    if status == 204:
        headers = []
    elif not answer.content_type:  # an empty answer with no type (the CORS preflight)
        headers = [("Content-Length", str(len(body)))]
    else:
        headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(body)))]
    headers += answer.headers
    headers += cors_headers(
        incoming.method,
        incoming.header("Origin"),
        incoming.header("Access-Control-Request-Headers"),
        answer.cors_methods,
    )
    if not has_body(status, incoming.method):
        body = b""
    return Outgoing(_status_line(status), headers, body)


def has_body(status: int, method: str) -> bool:
    """Whether an answer carries its body: not on 1xx, 204 or 304, nor to a HEAD."""
    return not (status == 204 or (100 <= status < 200) or status == 304 or method == "HEAD")


def _read_capped(stream: Any, limit: int) -> bytes:
    """At most ``limit`` bytes of ``stream``, read in :data:`_PIECE` pieces (see there for
    why); :class:`UnreadableBody` when the stream breaks (bad chunk framing, a body cut short,
    a read timeout)."""
    from werkzeug.exceptions import ClientDisconnected

    parts: list[bytes] = []
    total = 0
    piece = memoryview(bytearray(_PIECE))
    try:
        while total < limit:
            view = piece[: min(_PIECE, limit - total)]
            count = stream.readinto(view)
            if not count:
                break
            parts.append(bytes(view[:count]))
            total += count
    except (OSError, ValueError, ClientDisconnected) as exc:
        raise UnreadableBody(b"".join(parts)) from exc
    return b"".join(parts)


def _drain(stream: Any) -> None:
    """Read the rest of an over-long body into one scratch piece (never all of it into memory),
    so the client gets its 413 instead of a reset; a stream that breaks meanwhile ends it (the
    answer is a 413 either way: capture refuses the length before it reads the rest)."""
    from werkzeug.exceptions import ClientDisconnected

    piece = memoryview(bytearray(_PIECE))
    try:
        while stream.readinto(piece):
            pass
    except (OSError, ValueError, ClientDisconnected):
        pass
