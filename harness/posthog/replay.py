"""Session replay: capture's recording route ``/s/`` and the recordings it leaves behind.

posthog-js sends its rrweb snapshots as ``$snapshot`` events to ``/s/`` (gzip in the query's
``compression``), a route of its own with its own rules (PostHog/posthog, files of the stored
index read 2026-12):

* ``rust/capture/src/router.rs``: ``/s`` and ``/s/``, ``post(recording).get(recording)``, wire
  body cap ``RECORDING_BODY_SIZE`` = 25 MiB; the recordings deployment decompresses to at most
  ``KAFKA_PRODUCER_MESSAGE_MAX_BYTES`` (1,000,000; research/posthog-capture.md §5);
* ``rust/capture/src/payload/recordings.rs`` ``handle_recording_payload``: the body decoded as
  for events, then read as one ``RawRecording`` or a list of them (no ``{"batch": ...}`` form),
  an empty list refused, the token taken from the *first* event only and not shape-checked;
  ``sent_at`` only from the query;
* ``rust/capture/src/events/recordings.rs`` ``process_replay_events``: the first event gives the
  uuid, distinct id, ``$session_id`` (required; a string of at most 70 ``[A-Za-z0-9-]``),
  ``$window_id`` (default: the session id), ``$snapshot_source`` (default ``web``), ``$lib`` and
  the timestamp; every event's ``$snapshot_data`` (an array is spread, an object kept, anything
  else refused) joins one ``$snapshot_items`` message, sent to the replay topic, never to the
  analytics events.

What PostHog then shows is a *recording*: one per session id, its snapshot items in arrival
order. :class:`RecordingStore` keeps exactly that (and each request's message), apart from the
analytics :class:`.project.Project`: a ``$snapshot`` never becomes an event or touches a person.
Not modelled: replay quota limits (``quota_limited: ["recordings"]``), event restrictions,
the blob storage and the recording's metadata PostHog computes later (duration, activity, URLs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .answer import JSON, NO_EVENT, NO_KEY, OK_BODY, Answer
from .exchange import Incoming, UnreadableBody
from .ids import resolve_distinct_id
from .journal import preview
from .keys import TOKEN_KEYS
from .project import uuid7
from .rejection import ENFORCE_BODY
from .routes import RECORDING_PATHS
from .serde import duplicate_field, parse_uuid
from .timestamps import future_tolerance, parse_timestamp
from .wire import WireError, decode

__all__ = [
    "RECORDING_PATHS",
    "Recording",
    "RecordingStore",
    "SnapshotMessage",
    "capture_recording",
]

RECORDING_BODY_MAX_BYTES = 25 * 1024 * 1024  # router.rs RECORDING_BODY_SIZE
RECORDING_DECOMPRESSED_MAX_BYTES = 1_000_000  # recordings mode: KAFKA_PRODUCER_MESSAGE_MAX_BYTES

NO_VARIANT = (
    "failed to parse request: data did not match any variant of untagged enum RecordingPayload"
)
NO_DISTINCT_ID = "event submitted without a distinct_id"
NO_SESSION = "replay event submitted without session id"
BAD_SESSION = "replay event has invalid session id"
NO_SNAPSHOT = "replay event submitted without snapshot data"

_RECORDING_FIELDS: tuple[tuple[str, ...], ...] = (
    ("uuid",),
    ("event",),
    ("distinct_id", "$distinct_id"),
    ("token", "$token", "api_key"),
    ("timestamp",),
    ("offset",),
    ("properties",),
)
_PROPERTY_FIELDS: tuple[tuple[str, ...], ...] = tuple(
    (name,)
    for name in (
        "$session_id",
        "$window_id",
        "$snapshot_data",
        "$snapshot_source",
        "$lib",
        "$cookieless_mode",
        "$ignore_sent_at",
        "distinct_id",
        "token",
    )
)
_I64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class SnapshotMessage:
    """One accepted ``/s/`` request: the ``$snapshot_items`` message capture sends to Kafka."""

    uuid: str
    distinct_id: str
    session_id: str
    window_id: Any
    snapshot_source: Any
    lib: str
    items: tuple[Any, ...]
    timestamp: datetime
    token: str


@dataclass(frozen=True, slots=True)
class Recording:
    """A session recording as PostHog lists it: every snapshot item of one ``$session_id``, in
    arrival order, with the distinct ids and windows that sent them."""

    session_id: str
    distinct_id: str
    token: str
    snapshots: tuple[Any, ...]
    window_ids: tuple[Any, ...]
    start: datetime
    end: datetime
    messages: int
    snapshot_source: Any
    lib: str


class RecordingStore:
    """The project's recordings, in memory, keyed by session id (not thread-safe by itself: the
    app mutates it under its lock, as it does the project)."""

    def __init__(self) -> None:
        self._messages: list[SnapshotMessage] = []

    def reset(self) -> None:
        """Forget every recording."""
        self._messages = []

    def add(self, message: SnapshotMessage) -> None:
        """Store one request's message."""
        self._messages.append(message)

    def messages(self) -> list[SnapshotMessage]:
        """Every ``$snapshot_items`` message, in arrival order."""
        return list(self._messages)

    def recordings(self, session_id: str | None = None) -> list[Recording]:
        """One :class:`Recording` per session id (first seen first), optionally just one."""
        sessions: dict[str, list[SnapshotMessage]] = {}
        for message in self._messages:
            if session_id is None or message.session_id == session_id:
                sessions.setdefault(message.session_id, []).append(message)
        return [_recording(session, parts) for session, parts in sessions.items()]


def _recording(session_id: str, parts: Sequence[SnapshotMessage]) -> Recording:
    first = parts[0]
    windows: list[Any] = []
    for part in parts:
        if part.window_id not in windows:
            windows.append(part.window_id)
    return Recording(
        session_id=session_id,
        distinct_id=first.distinct_id,
        token=first.token,
        snapshots=tuple(item for part in parts for item in part.items),
        window_ids=tuple(windows),
        start=min(part.timestamp for part in parts),
        end=max(part.timestamp for part in parts),
        messages=len(parts),
        snapshot_source=first.snapshot_source,
        lib=first.lib,
    )


# --------------------------------------------------------------------------------------------
# the route


def capture_recording(incoming: Incoming, keys: frozenset[str] | None) -> Answer:
    """Capture's answer to one ``/s/`` request; when 200, ``events`` holds the validated
    ``RawRecording`` objects and ``sent_at`` the query's, for :func:`snapshot_message`."""
    try:
        body = incoming.body(RECORDING_BODY_MAX_BYTES)
    except UnreadableBody as exc:
        return Answer(400, str(exc), payload=preview(exc.partial))
    try:
        decoded = decode(
            incoming.method,
            incoming.path,
            incoming.args(),
            dict(incoming.headers),
            body,
            request_max_bytes=RECORDING_BODY_MAX_BYTES,
            decompressed_max_bytes=RECORDING_DECOMPRESSED_MAX_BYTES,
        )
    except WireError as exc:
        return Answer(exc.status, exc.body, payload=preview(body))
    refused = _refusal(decoded.payload, keys)
    if refused is not None:
        return Answer(refused[0], refused[1], payload=decoded.text, decoded=True, kind="recording")
    events = decoded.payload if isinstance(decoded.payload, list) else [decoded.payload]
    return Answer(
        200,
        OK_BODY,
        JSON,
        kind="recording",
        events=tuple(events),
        token=_token(events[0]),
        sent_at=decoded.sent_at,
        payload=decoded.text,
        decoded=True,
    )


def _refusal(payload: Any, keys: frozenset[str] | None) -> tuple[int, str] | None:
    """The first refusal of ``handle_recording_payload`` and ``process_replay_events``."""
    items = payload if isinstance(payload, list) else [payload]
    if not all(_is_recording(item) for item in items):
        return 400, NO_VARIANT
    if not items:
        return 400, NO_EVENT
    token = _token(items[0])
    if token is None:
        return 401, NO_KEY
    if keys is not None and token.strip() not in keys:
        return 401, ENFORCE_BODY  # the fake's enforce mode, as on the event routes
    first = items[0]
    if resolve_distinct_id(first) is None:
        return 400, NO_DISTINCT_ID
    session = (first.get("properties") or {}).get("$session_id")
    if session is None:
        return 400, NO_SESSION
    if not (
        isinstance(session, str)
        and len(session) <= 70
        and all(c.isascii() and (c.isalnum() or c == "-") for c in session)
    ):
        return 400, BAD_SESSION
    for item in items:
        data = (item.get("properties") or {}).get("$snapshot_data")
        if not isinstance(data, (list, dict)):
            return 400, NO_SNAPSHOT
    return None


def _is_recording(obj: Any) -> bool:
    """Whether serde reads ``obj`` as a ``RawRecording`` (typed fields, no field twice)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
        return False
    if duplicate_field(obj, _RECORDING_FIELDS) is not None:
        return False
    if not all(obj.get(k) is None or isinstance(obj[k], str) for k in TOKEN_KEYS):
        return False
    uuid = obj.get("uuid")
    if uuid is not None and not (isinstance(uuid, str) and parse_uuid(uuid) is not None):
        return False
    if obj.get("timestamp") is not None and not isinstance(obj["timestamp"], str):
        return False
    offset = obj.get("offset")
    if offset is not None and _millis(offset) is None:
        return False
    if "properties" not in obj:
        return True
    props = obj["properties"]
    if not isinstance(props, dict) or duplicate_field(props, _PROPERTY_FIELDS) is not None:
        return False
    return all(
        props.get(k) is None or isinstance(props[k], str) for k in ("$lib", "token")
    ) and all(
        props.get(k) is None or isinstance(props[k], bool)
        for k in ("$cookieless_mode", "$ignore_sent_at")
    )


def _millis(value: Any) -> int | None:
    """An ``i64`` offset as the event routes read one (an integral JSON number), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    number = int(value)
    return number if _I64[0] <= number <= _I64[1] else None


def _token(event: Mapping[str, Any]) -> str | None:
    """``RawRecording::extract_token``: the root token (or alias), else ``properties.token``."""
    for key in TOKEN_KEYS:
        value = event.get(key)
        if isinstance(value, str):
            return value
    props = event.get("properties")
    token = props.get("token") if isinstance(props, Mapping) else None
    return token if isinstance(token, str) else None


def snapshot_message(
    events: Sequence[Mapping[str, Any]],
    token: str,
    now: datetime,
    sent_at: datetime | None,
    user_agent: str | None,
) -> SnapshotMessage:
    """``process_replay_events``: the one message an accepted request becomes."""
    first = events[0]
    props: Mapping[str, Any] = first.get("properties") or {}
    items: list[Any] = []
    for event in events:
        data = (event.get("properties") or {})["$snapshot_data"]
        if isinstance(data, list):
            items.extend(data)
        else:
            items.append(data)
    raw_uuid = first.get("uuid")
    session = props["$session_id"]
    window = props.get("$window_id")
    source = props.get("$snapshot_source")
    lib = props.get("$lib")
    return SnapshotMessage(
        uuid=(parse_uuid(raw_uuid) if isinstance(raw_uuid, str) else None) or uuid7(now),
        distinct_id=resolve_distinct_id(first) or "",
        session_id=session,
        window_id=window if window is not None else session,
        snapshot_source=source if source is not None else "web",
        lib=lib if isinstance(lib, str) else _lib_from(user_agent),
        items=tuple(items),
        timestamp=_timestamp(first, props, now, sent_at),
        token=token,
    )


def _lib_from(user_agent: str | None) -> str:
    """``snapshot_library_fallback_from``: the user agent's product when it names posthog."""
    head = (user_agent or "").split("/")[0]
    return head if "posthog" in head else "web"


def _timestamp(
    event: Mapping[str, Any], props: Mapping[str, Any], now: datetime, sent_at: datetime | None
) -> datetime:
    """``parse_event_timestamp`` for the first event (no ingestion warnings on this path)."""
    if props.get("$ignore_sent_at") is True:
        sent_at = None
    offset = _millis(event.get("offset"))
    raw = event.get("timestamp")
    result = now
    if offset:
        try:
            result = now - timedelta(milliseconds=offset)
        except OverflowError:
            result = datetime(1970, 1, 1, tzinfo=timezone.utc)
    elif isinstance(raw, str):
        parsed = parse_timestamp(raw)
        if parsed is not None:
            result = now + (parsed - sent_at) if sent_at is not None else parsed
    return now if result - now > future_tolerance() else result
