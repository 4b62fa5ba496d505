"""A ``/flags`` request body read as PostHog's flags service reads it.

Upstream: ``rust/feature-flags/src/handler/decoding.rs`` (PostHog/posthog) ``decode_request``:
the base content type picks the path; JSON (or ``text/plain``, or no type) is gunzipped when
``?compression=gzip``/``gzip-js``, ``Content-Encoding`` containing ``gzip`` or the gzip magic
say so, then parsed as JSON or, failing that, as (percent-encoded) base64 of JSON; a form body
is ``data=<base64>`` (posthog-js's ``compression=base64``). The errors carry the service's
texts (``rust/feature-flags/src/api/errors.rs``, ``IntoResponse for FlagError``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from .serde import read
from .wire import WireError, gunzip

FLAGS_BODY_CAP = 10 * 1024 * 1024
"""The flags service's body limit is larger than any SDK request; the fake reads (and
inflates) at most this."""

__all__ = ["FLAGS_BODY_CAP", "FlagRequest", "FlagsError", "read_flag_request"]

_DECODE = "Failed to decode request: {}. Please check your request format and try again."
_MISSING_ID = (
    "The distinct_id field is missing from the request. Please include a valid identifier."
)
_NO_TOKEN = {
    "type": "authentication_error",
    "code": "not_authenticated",
    "detail": "No API token provided. Please include a valid API token in your request.",
    "attr": None,
}
_BAD_TOKEN = {
    "type": "authentication_error",
    "code": "authentication_failed",
    "detail": (
        "The provided API key is invalid or has expired. Please check your API key and try again."
    ),
    "attr": None,
}


class FlagsError(Exception):
    """A refusal: PostHog's status, body and content type."""

    def __init__(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8"):
        super().__init__(body)
        self.status = status
        self.body = body
        self.content_type = content_type

    @classmethod
    def decoding(cls, detail: str) -> FlagsError:
        return cls(400, _DECODE.format(detail))

    @classmethod
    def no_token(cls) -> FlagsError:
        return cls(401, json.dumps(_NO_TOKEN, separators=(",", ":")), "application/json")

    @classmethod
    def bad_token(cls) -> FlagsError:
        return cls(401, json.dumps(_BAD_TOKEN, separators=(",", ":")), "application/json")


@dataclass(frozen=True)
class FlagRequest:
    """What the evaluation reads (``flags/flag_request.rs`` ``FlagRequest``)."""

    token: str
    distinct_id: str
    groups: Mapping[str, str] = field(default_factory=dict)
    person_properties: Mapping[str, Any] = field(default_factory=dict)
    group_properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    flag_keys: tuple[str, ...] | None = None


def read_flag_request(
    body: bytes, content_type: str | None, content_encoding: str | None, compression: str | None
) -> FlagRequest:
    """Decode and validate one body, or raise :class:`FlagsError`."""
    base = (content_type or "application/json").split(";")[0].strip()
    hint = (compression or "").lower() or None
    if hint not in (None, "gzip", "gzip-js", "base64"):
        raise FlagsError.decoding("Unsupported compression type")
    if base in ("application/json", "text/plain"):
        data = body
        if (
            hint in ("gzip", "gzip-js")
            or "gzip" in (content_encoding or "")
            or body[:2] == b"\x1f\x8b"
        ):
            data = _gunzip(body)
        parsed = _json(data)
        if parsed is None:
            decoded = _base64(data)
            parsed = _json(decoded) if decoded is not None else None
        if parsed is None:
            raise FlagsError.decoding("invalid JSON")
    elif base == "application/x-www-form-urlencoded":
        if hint in ("gzip", "gzip-js"):
            raise FlagsError.decoding("Gzip compression not supported for form-urlencoded data")
        text = unquote_to_bytes(body).decode("utf-8", "replace")
        b64 = text.split("=")[1] if text.startswith("data=") else text
        decoded = _base64(b64.encode())
        if decoded is None:
            raise FlagsError.decoding("Base64 decoding error")
        parsed = _json(decoded.decode("utf-8", "replace").encode())
        if parsed is None:
            raise FlagsError.decoding("invalid JSON structure")
    else:
        raise FlagsError.decoding(f"unsupported content type: {content_type}")
    return _request(parsed)


def _gunzip(data: bytes) -> bytes:
    try:
        return gunzip(data, FLAGS_BODY_CAP)
    except WireError as exc:
        raise FlagsError.decoding(f"gzip decompression failed: {exc}") from None


def _json(data: bytes) -> Any:
    try:
        value = read(data.decode("utf-8"))
    except ValueError:  # not UTF-8, or not JSON (nesting depth included)
        return None
    return value if isinstance(value, dict) else None


def _base64(data: bytes) -> bytes | None:
    cleaned = unquote_to_bytes(data).replace(b" ", b"")
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        return None


def _request(body: Mapping[str, Any]) -> FlagRequest:
    token = next(
        (body[k] for k in ("token", "api_key", "$token") if isinstance(body.get(k), str)), ""
    )
    if not token:
        raise FlagsError.no_token()
    distinct_id = body.get("distinct_id")
    if distinct_id is None or distinct_id == "":
        raise FlagsError(400, _MISSING_ID)
    if not isinstance(distinct_id, str):
        distinct_id = json.dumps(distinct_id)
    groups = body.get("groups") if isinstance(body.get("groups"), Mapping) else {}
    person = body.get("person_properties")
    group_props = body.get("group_properties")
    keys = body.get("flag_keys_to_evaluate", body.get("flag_keys"))
    return FlagRequest(
        token=token,
        distinct_id=distinct_id,
        groups={str(k): str(v) for k, v in (groups or {}).items()},
        person_properties=dict(person) if isinstance(person, Mapping) else {},
        group_properties={
            str(k): dict(v)
            for k, v in (group_props.items() if isinstance(group_props, Mapping) else ())
            if isinstance(v, Mapping)
        },
        flag_keys=tuple(str(k) for k in keys) if isinstance(keys, list) else None,
    )
