"""Capture's v1 analytics endpoint, ``POST /i/v1/analytics/events``: request in, answer out.

posthog-python 7.x (``capture_mode="v1"``), posthog-node 5.x (``POSTHOG_CAPTURE_MODE=v1``) and
the Go and Rust SDKs send here. The route has its own contract, unlike the v0 routes'
(PostHog/posthog ``rust/capture/src/v1/``):

* the key comes from ``Authorization: Bearer <key>``, never from the body (``v1/context.rs``);
* ``PostHog-Sdk-Info``, ``PostHog-Attempt``, ``PostHog-Request-Id``,
  ``PostHog-Request-Timestamp``, ``Content-Type`` and ``User-Agent`` are required
  (``v1/constants.rs`` ``REQUIRED_HEADERS``), each validated (``v1/context.rs``);
* refusals are JSON ``{"error", "error_description", "error_uri"}`` (``v1/error.rs``);
* the batch is refused whole only for envelope faults (empty, bad ``created_at``, an unreadable
  or repeated uuid); a bad *event* is answered per event, ``{"result": "drop", "details":
  <tag>}``, next to the others' ``{"result": "ok"}`` (``v1/analytics/process.rs``,
  ``response.rs``).

Pure like :func:`.capture.capture`: the app ingests the accepted events (in v0's shape, so
persons, groups and the journal treat them exactly as v0's) under its lock.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..contract import limit as contract_limit
from .answer import JSON, Answer
from .exchange import Incoming, UnreadableBody
from .journal import preview
from .keys import token_problem
from .routes import V1_PATHS
from .serde import parse_uuid, read
from .wire import gunzip

__all__ = ["V1_PATHS", "capture_v1"]


_REQUIRED_HEADERS = (
    "PostHog-Sdk-Info",
    "PostHog-Attempt",
    "PostHog-Request-Id",
    "PostHog-Request-Timestamp",
    "content-type",
    "user-agent",
)
"""``v1/constants.rs`` ``REQUIRED_HEADERS``, in its order (the refusal lists them so)."""

_ENCODINGS = ("gzip", "deflate", "br", "zstd")
"""``v1/constants.rs`` ``SUPPORTED_ENCODINGS``."""

_MAX_COMPRESSED_BYTES = 10 * 1024 * 1024
"""The compressed-body limit (``capture_v1_max_compressed_body_bytes``, 10 MiB by default per
the research notes; the exact deployment value is configuration)."""

_MAX_NAME_BYTES = 200
"""``CAPTURE_V1_MAX_EVENT_NAME_LENGTH``: Rust ``len()``, so UTF-8 bytes."""
_MAX_DISTINCT_ID_BYTES = 200
"""``CAPTURE_V1_DISTINCT_ID_MAX_SIZE``."""

ILLEGAL_DISTINCT_IDS = frozenset(
    {
        "0",
        "00000000-0000-0000-0000-000000000000",
        "[object object]",
        "anonymous",
        "anonymous-user",
        "backend",
        "distinct_id",
        "distinctid",
        "email",
        "false",
        "guest",
        "id",
        "nan",
        "none",
        "not_authenticated",
        "null",
        "system",
        "true",
        "undefined",
        "user",
    }
)
"""``v1/analytics/constants.rs`` ``ILLEGAL_DISTINCT_IDS``: compared case-insensitively (ASCII)
after trimming, a deliberate simplification over Node's two lists."""

_ERROR_URI = "https://posthog.com/docs/api"

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One ``v1::Error``: its status, its tag and its ``error_description``."""

    status: int
    tag: str
    description: str

    def answer(self, payload: str | None = None, decoded: bool = False) -> Answer:
        """``IntoResponse for Error``: ``(status, Json(ErrorResponse))``."""
        body = json.dumps(
            {"error": self.tag, "error_description": self.description, "error_uri": _ERROR_URI},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return Answer(self.status, body, JSON, kind="capture", payload=payload, decoded=decoded)


def _bad_header(detail: str) -> Refusal:
    return Refusal(400, "invalid_header_value", f"invalid header value: {detail}")


_INVALID_TOKEN = Refusal(401, "invalid_api_token", "The provided API token is not valid.")
_DECODING = Refusal(400, "request_decoding_error", "Failed to decode request body.")
_PARSING = Refusal(400, "request_parsing_error", "Failed to parse request body.")


@dataclass(frozen=True, slots=True)
class Context:
    """What ``RequestContext::new`` keeps of the headers."""

    token: str
    encoding: str | None
    sdk_info: str
    sent_at: datetime


def capture_v1(incoming: Incoming, keys: frozenset[str] | None) -> Answer:
    """PostHog's answer to one v1 request, with the accepted events in v0's shape."""
    context = _context(incoming, keys)
    if isinstance(context, Refusal):
        return context.answer()
    try:
        raw = incoming.body(_MAX_COMPRESSED_BYTES + 1)
    except UnreadableBody as exc:
        return _DECODING.answer(preview(exc.partial))
    if len(raw) > _MAX_COMPRESSED_BYTES:
        return Refusal(413, "payload_too_large", f"payload too large: {len(raw)} bytes").answer(
            preview(raw[:4096])
        )
    if not raw:
        return Refusal(400, "empty_body", "request body is empty").answer()
    payload = _decompress(context.encoding, raw, contract_limit("request_max_bytes"))
    if payload is None:
        return _DECODING.answer(preview(raw))
    text = payload.decode("utf-8", "replace")
    outcome = _process(payload, context)
    if isinstance(outcome, Refusal):
        return outcome.answer(text, decoded=True)
    results, events = outcome
    body = json.dumps({"results": results}, separators=(",", ":"), ensure_ascii=False)
    return Answer(
        200,
        body,
        JSON,
        events=events,
        token=context.token,
        sent_at=context.sent_at,
        payload=text,
        decoded=True,
    )


def _context(incoming: Incoming, keys: frozenset[str] | None) -> Context | Refusal:
    """``v1/context.rs`` ``RequestContext::new``: the checks in upstream's order."""
    auth = incoming.header("Authorization")
    if auth is None:
        # The newest handler test answers a missing Authorization 401 (checked before the
        # other required headers); its exact error tag is not in the files read, so it is
        # answered as the invalid-token refusal.
        return _INVALID_TOKEN
    missing = [name for name in _REQUIRED_HEADERS if incoming.header(name) is None]
    if missing:
        listed = ", ".join(json.dumps(name) for name in missing)
        return Refusal(
            400, "missing_required_headers", f"request is missing required headers: [{listed}]"
        )
    if len(auth) > 7 and auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
    else:
        return _bad_header("Authorization must use Bearer scheme")
    if token_problem(token) is not None or (keys is not None and token not in keys):
        return _INVALID_TOKEN
    content_type = incoming.header("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return Refusal(415, "unsupported_content_type", f"unsupported content type: {content_type}")
    encoding_raw = incoming.header("content-encoding")
    encoding = None
    if encoding_raw is not None:
        encoding = encoding_raw.lower()
        if encoding not in _ENCODINGS:
            return Refusal(
                415, "unsupported_encoding", f"unsupported content encoding: {encoding_raw}"
            )
    request_id = incoming.header("PostHog-Request-Id") or ""
    if not _is_uuid(request_id):
        return _bad_header(f"PostHog-Request-Id is not a valid UUID: {request_id}")
    attempt = incoming.header("PostHog-Attempt") or ""
    if not (attempt.isascii() and attempt.isdigit() and 1 <= int(attempt) <= 0xFFFFFFFF):
        return _bad_header(f"PostHog-Attempt must be a positive integer: {attempt}")
    stamp = incoming.header("PostHog-Request-Timestamp") or ""
    sent_at = rfc3339(stamp)
    if sent_at is None:
        return _bad_header(f"PostHog-Request-Timestamp is not valid RFC 3339: {stamp}")
    return Context(token, encoding, incoming.header("PostHog-Sdk-Info") or "", sent_at)


def _is_uuid(text: str) -> bool:
    """``Uuid::parse_str``: hyphenated, simple, braced or urn form (Python's ``uuid.UUID`` is
    laxer: it strips a lone brace and ignores where the hyphens are)."""
    return parse_uuid(text) is not None


def rfc3339(text: str) -> datetime | None:
    """chrono's ``DateTime::parse_from_rfc3339`` (a zone is required), in UTC."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone_text = match.group(7), match.group(8)
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if zone_text in ("Z", "z"):
        offset = timedelta(0)
    else:
        sign = -1 if zone_text[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone_text[1:3]), minutes=int(zone_text[4:6]))
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), micros)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)


def _decompress(encoding: str | None, raw: bytes, cap: int) -> bytes | None:
    """``v1/util.rs`` ``decompress_payload``; ``None`` when the body does not decode."""
    try:
        if encoding is None:
            return raw
        if encoding == "gzip":
            data = gunzip(raw, cap)
        elif encoding == "deflate":
            data = zlib.decompressobj().decompress(raw, cap + 1)
        elif encoding == "zstd":
            data = _zstd_decompress(raw, cap)
        else:  # br: no decoder in the standard library; brotli is not a dependency
            return None
    except Exception:
        return None
    return data if len(data) <= cap else None


def _zstd_decompress(raw: bytes, cap: int) -> bytes:
    """zstd from the standard library where Python has it (3.14+), else ``zstandard``."""
    try:
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        import zstandard  # type: ignore[import-not-found,unused-ignore]

        data: bytes = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        return data
    result: bytes = zstd.decompress(raw)
    return result


def _process(
    payload: bytes, context: Context
) -> Refusal | tuple[dict[str, dict[str, str]], list[dict[str, Any]]]:
    """``handler.rs`` (serde into ``Batch``) and ``process.rs`` (``validate_batch``,
    ``validate_events``): the per-event results and the events to store."""
    try:
        batch = read(payload.decode("utf-8"))
    except ValueError:  # not UTF-8, or not JSON serde reads (depth, surrogates included)
        return _PARSING
    if not _is_batch(batch):
        return _PARSING
    events: Sequence[Mapping[str, Any]] = batch["batch"]
    if not events:
        return Refusal(400, "empty_batch", "request batch is empty")
    created_at = batch["created_at"]
    if rfc3339(created_at) is None:
        return Refusal(
            400, "invalid_batch", f"invalid batch: created_at is not valid RFC 3339: {created_at}"
        )
    results: dict[str, dict[str, str]] = {}
    accepted: list[dict[str, Any]] = []
    for event in events:
        uuid_text = event["uuid"].strip()
        key = parse_uuid(uuid_text)
        if key is None:
            return Refusal(400, "missing_event_uuid", "event submitted without a uuid")
        if key in results:
            return Refusal(400, "duplicate_event_uuid", f"duplicate event uuid: {uuid_text}")
        problem = _event_problem(event)
        if problem is None:
            results[key] = {"result": "ok"}
            accepted.append(_v0_event(event, key, context))
        else:
            results[key] = {"result": "drop", "details": problem}
    return results, accepted


def _is_batch(value: Any) -> bool:
    """serde's ``Batch``/``Event`` shape: the required strings, the optional ones, and
    ``historical_migration``/``capture_internal`` as booleans."""
    if not isinstance(value, dict) or not isinstance(value.get("created_at"), str):
        return False
    if not isinstance(value.get("batch"), list):
        return False
    if not isinstance(value.get("historical_migration", False), bool):
        return False
    if value.get("capture_internal") is not None and not isinstance(
        value["capture_internal"], bool
    ):
        return False
    return all(_is_event(event) for event in value["batch"])


def _is_event(event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    if not all(
        isinstance(event.get(k), str) for k in ("event", "uuid", "distinct_id", "timestamp")
    ):
        return False
    return all(
        event.get(k) is None or isinstance(event[k], str) for k in ("session_id", "window_id")
    )


def _event_problem(event: Mapping[str, Any]) -> str | None:
    """``process.rs`` ``validate_event`` and ``RawOptions::validate``: the drop detail tag."""
    name: str = event["event"]
    distinct_id: str = event["distinct_id"].strip()
    if name == "$performance_event":
        return "dropped_performance_event"
    if not name:
        return "missing_event_name"
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        return "event_name_too_long"
    if not distinct_id:
        return "missing_distinct_id"
    if len(distinct_id.encode("utf-8")) > _MAX_DISTINCT_ID_BYTES:
        return "distinct_id_too_large"
    if _ascii_lower(distinct_id) in ILLEGAL_DISTINCT_IDS:
        return "invalid_distinct_id"
    if rfc3339(event["timestamp"]) is None:
        return "invalid_event_timestamp"
    if not isinstance(event.get("properties", {}), dict):
        return "malformed_event_properties"
    if _options(event.get("options")) is None:
        return "invalid_options"
    return None


def _ascii_lower(text: str) -> str:
    """Rust's ``eq_ignore_ascii_case``: only ASCII letters fold."""
    return "".join(c.lower() if c.isascii() else c for c in text)


_OPTION_PROPERTIES = (
    ("cookieless_mode", "$cookieless_mode", "bool"),
    ("disable_skew_correction", "$ignore_sent_at", "bool"),
    ("product_tour_id", "$product_tour_id", "str"),
    ("process_person_profile", "$process_person_profile", "bool"),
)
"""``types.rs`` ``Options`` and the property each is injected as
(``build_property_injections``)."""


def _options(raw: Any) -> dict[str, Any] | None:
    """``RawOptions::validate``: the injected properties, or ``None`` (drop ``invalid_options``)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return None
    injected: dict[str, Any] = {}
    for field, prop, kind in _OPTION_PROPERTIES:
        value = raw.get(field)
        if value is None:
            continue
        coerced = _coerce_bool(value) if kind == "bool" else _coerce_str(value)
        if coerced is None:
            return None
        injected[prop] = coerced
    return injected


def _coerce_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower())
    if isinstance(value, (int, float)):
        return value != 0
    return None


def _coerce_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _v0_event(event: Mapping[str, Any], key: str, context: Context) -> dict[str, Any]:
    """The event as ingestion receives it (``WrappedEvent::serialize``): properties with
    ``$session_id``, ``$window_id``, the options and ``$lib``/``$lib_version`` (from
    ``PostHog-Sdk-Info``, split at its last ``/``) appended, so they win."""
    properties = dict(event.get("properties") or {})
    for field, prop in (("session_id", "$session_id"), ("window_id", "$window_id")):
        if event.get(field) is not None:
            properties[prop] = event[field]
    properties.update(_options(event.get("options")) or {})
    lib = _sdk_lib_and_version(context.sdk_info)
    if lib is not None:
        properties["$lib"], properties["$lib_version"] = lib
    return {
        "event": event["event"],
        "distinct_id": event["distinct_id"].strip(),
        "uuid": key,
        "timestamp": event["timestamp"],
        "properties": properties,
    }


def _sdk_lib_and_version(sdk_info: str) -> tuple[str, str] | None:
    """``RequestContext::sdk_lib_and_version``: at most 200 bytes, split at the last ``/``."""
    if len(sdk_info.encode("utf-8")) > 200 or "/" not in sdk_info:
        return None
    lib, _, version = sdk_info.rpartition("/")
    lib, version = lib.strip(), version.strip()
    return (lib, version) if lib and version else None
