"""Capture's LLM-analytics routes: ``/i/v0/ai/batch``, ``/i/v0/ai`` (multipart), ``/i/v0/ai/otel``.

Sources (PostHog/posthog, stored index, read 2026-12):

* ``rust/capture/tests/integration_ai_route_surface.rs``: ``/i/v0/ai/batch[/]`` takes a
  ``/batch``-shaped body and answers 200 (it "carries the same handler and the same cap" as
  ``/batch``: ``v0_endpoint::event``); ``/i/v0/ai`` and ``/i/v0/ai/otel`` read the project token
  from ``Authorization: Bearer`` and answer 401 to that same JSON body, so their auth step comes
  before anything the body could fail;
* ``rust/capture/src/ai_endpoint.rs@bb3f43d`` (``ai_handler``): the multipart rules, messages
  and the ``{"accepted_parts": [...]}`` answer; blob parts become
  ``s3://PLACEHOLDER/TEAM_ID/<uuid>?range=a-b`` properties in that version;
* ``rust/capture/src/otel_endpoint.rs@4ddcb8f`` (``otel_handler``): empty body, content type
  (``application/x-protobuf`` or ``application/json``), then the Bearer token; ``{}`` on success.

What is not modelled (said in the README): newer capture-ai refuses a ``/i/v0/ai/batch`` batch
holding a non-AI event with a 400 whose text was not found, so the fake takes any events there;
the multipart endpoint's blob upload to S3 (the placeholders of the version read are stored);
``ai_max_sum_of_parts_bytes`` (deployment config); the OTel body is checked as JSON only
(protobuf is accepted unread) and no ``$ai_*`` events are derived from spans: an accepted OTel
request is journalled, not stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .answer import INVALID_KEY, JSON, NO_KEY, Answer
from .exchange import Incoming, UnreadableBody
from .journal import preview
from .keys import token_problem, trimmed
from .rejection import ENFORCE_BODY
from .routes import AI_BATCH_PATHS, AI_PATHS, OTEL_PATHS
from .serde import parse_uuid, read
from .timestamps import parse_sent_at
from .wire import WireError, gunzip

__all__ = [
    "AI_BATCH_PATHS",
    "AI_PATHS",
    "OTEL_PATHS",
    "ai_multipart",
    "ai_otel",
]


EMPTY = "request missing data payload"  # CaptureError::EmptyPayload, text as on the v0 routes
DECODE = "failed to decode request: {}"
PARSE = "failed to parse request: {}"
TOO_BIG = "maximum event size exceeded: {}"
AI_EVENTS = (
    "$ai_generation",
    "$ai_trace",
    "$ai_span",
    "$ai_embedding",
    "$ai_metric",
    "$ai_feedback",
)
_MAX_EVENT = 32 * 1024
_MAX_COMBINED = 1024 * 1024 - 64 * 1024
_BODY_CAP = 25 * 1024 * 1024  # the fake's read cap; upstream's is 110% of a deployment setting
_OTEL_CAP = 4 * 1024 * 1024
_BLOB_TYPES = ("application/octet-stream", "application/json", "text/plain")


class _Refused(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(body)
        self.status, self.body = status, body


def _parsing(detail: str) -> _Refused:
    return _Refused(400, PARSE.format(detail))


def _bearer(incoming: Incoming, keys: frozenset[str] | None) -> str:
    """The project token of ``Authorization: Bearer <token>``, shape-checked, or the 401."""
    header = incoming.header("Authorization") or ""
    if not header.startswith("Bearer "):
        raise _Refused(401, NO_KEY)
    token = header[7:]
    reason = token_problem(token)
    if reason is not None:
        raise _Refused(401, INVALID_KEY.format(reason))
    if keys is not None and trimmed(token) not in keys:
        raise _Refused(401, ENFORCE_BODY)
    return trimmed(token)


# --------------------------------------------------------------------------------------------
# /i/v0/ai: one AI event as multipart/form-data


@dataclass(frozen=True, slots=True)
class _Part:
    name: str
    data: bytes
    content_type: str | None
    content_encoding: str | None

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "length": len(self.data),
            "content-type": self.content_type,
            "content-encoding": self.content_encoding,
        }


def ai_multipart(incoming: Incoming, keys: frozenset[str] | None) -> Answer:
    """``ai_handler``'s answer; when 200 the one event to ingest."""
    try:
        body = incoming.body(_BODY_CAP)
    except UnreadableBody as exc:
        return Answer(400, str(exc), payload=preview(exc.partial))
    try:
        token = _bearer(incoming, keys)
        if len(body) > _BODY_CAP:  # the text of the fake's other body caps (wire.py)
            raise _Refused(413, TOO_BIG.format(f"Request body exceeds limit of {_BODY_CAP} bytes"))
        event, accepted = _multipart_event(incoming, body)
    except _Refused as exc:
        return Answer(exc.status, exc.body, payload=preview(body))
    sent_at = event.get("sent_at")
    return Answer(
        200,
        json.dumps({"accepted_parts": accepted}, separators=(",", ":"), ensure_ascii=False),
        JSON,
        events=(event,),
        token=token,
        sent_at=parse_sent_at(sent_at) if isinstance(sent_at, str) else None,
        payload=preview(body),
    )


def _multipart_event(
    incoming: Incoming, body: bytes
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not body:
        raise _Refused(400, EMPTY)
    if (incoming.header("Content-Encoding") or "").lower() == "gzip":
        try:
            body = gunzip(body, _BODY_CAP)
        except WireError as exc:
            raise _Refused(400, DECODE.format(f"Failed to decompress gzip body: {exc}")) from None
    content_type = incoming.header("Content-Type") or ""
    if not content_type.startswith("multipart/form-data"):
        raise _Refused(400, DECODE.format("Content-Type must be multipart/form-data"))
    boundary = _boundary(content_type)
    parts = _parts(body, boundary)

    event: Any = None
    properties: Any = None
    blobs: list[_Part] = []
    accepted: list[dict[str, Any]] = []
    seen: set[str] = set()
    event_size = properties_size = 0
    for index, part in enumerate(parts):
        if index == 0 and part.name != "event":
            raise _parsing(f"First part must be 'event', got '{part.name}'")
        if part.name == "event":
            event_size = len(part.data)
            if event_size > _MAX_EVENT:
                raise _Refused(
                    413,
                    TOO_BIG.format(
                        f"Event part size ({event_size} bytes) exceeds maximum allowed size "
                        f"({_MAX_EVENT} bytes)"
                    ),
                )
            event = _json_part(part.data, "Event")
        elif part.name == "event.properties":
            properties_size = len(part.data)
            properties = _json_part(part.data, "Properties")
        elif part.name.startswith("event.properties."):
            _check_blob(part, seen)
            seen.add(part.name)
            blobs.append(part)
        else:
            raise _parsing(
                f"Unknown multipart field: '{part.name}'. Expected 'event', 'event.properties', "
                "or 'event.properties.<property_name>'"
            )
        accepted.append(part.info())
    if event is None:
        raise _parsing("Missing required 'event' part in multipart data")
    combined = event_size + properties_size
    if combined > _MAX_COMBINED:
        raise _Refused(
            413,
            TOO_BIG.format(
                f"Combined event and properties size ({combined} bytes) exceeds maximum allowed "
                f"size ({_MAX_COMBINED} bytes)"
            ),
        )
    embedded = isinstance(event, dict) and "properties" in event
    if embedded and properties is not None:
        raise _parsing(
            "Event cannot have both embedded properties and a separate 'event.properties' part"
        )
    if not isinstance(event, dict):
        raise _parsing("Event must be a JSON object")
    if properties is None:
        properties = event.get("properties", {})
    event = {**event, "properties": properties}
    uuid = _validate(event)
    props = dict(event["properties"])
    offset = 0
    for blob in blobs:
        size = len(blob.data)
        name = blob.name.removeprefix("event.properties.")
        props[name] = f"s3://PLACEHOLDER/TEAM_ID/{uuid}?range={offset}-{offset + size - 1}"
        offset += size
    event["properties"] = props
    event["uuid"] = uuid
    return event, accepted


def _boundary(content_type: str) -> str:
    """multer ``parse_boundary``: the ``boundary`` parameter of the media type."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip():
            return value.strip().strip('"')
    raise _Refused(
        400,
        DECODE.format(
            "Invalid boundary in Content-Type: multipart boundary not found in Content-Type"
        ),
    )


def _parts(body: bytes, boundary: str) -> list[_Part]:
    """The form's parts (RFC 7578): what multer reads; a malformed stream is a decode error."""
    delimiter = b"--" + boundary.encode("latin-1")
    failed = _Refused(400, DECODE.format("Multipart parsing failed: incomplete multipart stream"))
    start = body.find(delimiter)
    if start < 0:
        raise failed
    parts: list[_Part] = []
    rest = body[start + len(delimiter) :]
    while True:
        if rest.startswith(b"--"):
            return parts
        if not rest.startswith(b"\r\n"):
            raise failed
        end = rest.find(b"\r\n" + delimiter)
        if end < 0:
            raise failed
        raw, rest = rest[2:end], rest[end + 2 + len(delimiter) :]
        head, sep, data = raw.partition(b"\r\n\r\n")
        if not sep:
            raise failed
        headers = _headers(head)
        name = _disposition_name(headers.get("content-disposition", ""))
        parts.append(
            _Part(
                name if name is not None else "unknown",
                data,
                headers.get("content-type"),
                headers.get("content-encoding"),
            )
        )


def _headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def _disposition_name(value: str) -> str | None:
    for param in value.split(";")[1:]:
        key, _, raw = param.strip().partition("=")
        if key.strip().lower() == "name":
            return raw.strip().strip('"')
    return None


def _json_part(data: bytes, what: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _parsing(f"{what} part must be valid UTF-8") from None
    try:
        return read(text)
    except ValueError:
        raise _parsing(f"{what} part must be valid JSON") from None


def _check_blob(part: _Part, seen: set[str]) -> None:
    name = part.name
    if "." in name.removeprefix("event.properties."):
        raise _parsing(
            f"Blob property '{name}' contains nested properties (dots). Only top-level "
            "properties are allowed."
        )
    if name in seen:
        raise _parsing(f"Duplicate blob property: {name}")
    if part.content_type is None:
        raise _parsing(f"Missing required Content-Type header for blob part '{name}'")
    lowered = part.content_type.lower()
    if lowered not in _BLOB_TYPES and not lowered.startswith("text/plain;"):
        raise _parsing(
            f"Unsupported content type for blob part '{name}': '{part.content_type}'. "
            "Supported types: application/octet-stream, application/json, text/plain"
        )
    if not part.data:
        raise _parsing(f"Blob part '{name}' cannot be empty (0 bytes)")


def _validate(event: Mapping[str, Any]) -> str:
    """``validate_event_structure`` then the uuid: the event's canonical uuid."""
    name = event.get("event")
    if not isinstance(name, str):
        raise _parsing("Event missing 'event' field")
    if not name:
        raise _parsing("Event name cannot be empty")
    if name not in AI_EVENTS:
        raise _parsing(f"Event name must be one of: {', '.join(AI_EVENTS)}, got '{name}'")
    distinct_id = event.get("distinct_id")
    if not isinstance(distinct_id, str):
        raise _parsing("Event missing 'distinct_id' field")
    if not distinct_id:
        raise _parsing("distinct_id cannot be empty")
    props = event.get("properties")
    if not isinstance(props, dict):
        raise _parsing("Event missing 'properties' field")
    if "$ai_model" not in props:
        raise _parsing("Event properties must contain '$ai_model'")
    model = props["$ai_model"]
    if not isinstance(model, str):
        raise _parsing("$ai_model must be a string")
    if not model:
        raise _parsing("$ai_model cannot be empty")
    raw_uuid = event.get("uuid")
    if not isinstance(raw_uuid, str):
        raise _parsing("Event UUID is required")
    uuid = parse_uuid(raw_uuid)
    if uuid is None:
        raise _parsing(f"Invalid UUID format: {raw_uuid}")
    return uuid


# --------------------------------------------------------------------------------------------
# /i/v0/ai/otel


def ai_otel(incoming: Incoming, keys: frozenset[str] | None) -> Answer:
    """``otel_handler``'s checks and its ``{}``; nothing is stored (see the module doc)."""
    try:
        body = incoming.body(_OTEL_CAP)
    except UnreadableBody as exc:
        return Answer(400, str(exc), payload=preview(exc.partial))
    try:
        if len(body) > _OTEL_CAP:
            raise _Refused(413, TOO_BIG.format(f"Request body exceeds limit of {_OTEL_CAP} bytes"))
        if not body:
            raise _Refused(400, EMPTY)
        content_type = incoming.header("Content-Type") or ""
        is_json = content_type.startswith("application/json")
        if not is_json and not content_type.startswith("application/x-protobuf"):
            raise _Refused(
                400,
                DECODE.format("Content-Type must be application/x-protobuf or application/json"),
            )
        _bearer(incoming, keys)
        if is_json:
            try:
                read(body.decode("utf-8"))
            except ValueError as exc:  # not UTF-8, or not JSON (nesting depth included)
                raise _parsing(f"Invalid JSON: {exc}") from None
    except _Refused as exc:
        return Answer(exc.status, exc.body, payload=preview(body))
    return Answer(200, "{}", JSON, payload=preview(body))
