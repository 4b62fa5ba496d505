"""Decode a capture request's bytes exactly as PostHog's capture service does, without any HTTP
server.

The fake capture server must answer the same bytes with the same status and body as the real
service, so this module re-implements the first half of PostHog's request pipeline step by step,
in PostHog's order (research/posthog-capture.md §1, §6). Each step cites the upstream file it
mirrors:

* ``PostHog/posthog rust/capture/src/payload/common.rs`` ``extract_payload_bytes``: payload source,
  whole-payload base64 sniff, form decoding, compression hint;
* ``rust/capture/src/payload/decompression.rs`` ``decompress_payload``: gzip (hint or magic),
  lz64 (hint only, codec in :mod:`.lzstring`), UTF-8 check, size caps, the legacy second base64
  unwrap;
* ``rust/capture/src/utils.rs``: ``is_likely_base64``, ``is_likely_urlencoded_form``,
  ``extract_compression``;
* ``rust/capture/src/payload/types.rs``: query parameters (``EventQuery``), ``Compression``;
* ``rust/capture/src/api.rs``: the error texts and their status codes.

One pure entry point, :func:`decode`, turns method/path/query/headers/body into JSON (read by
:func:`.serde.read`); :func:`.batch.classify` takes it from there. Both raise
:class:`WireError` carrying PostHog's exact ``(status, body)``.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import unquote_to_bytes

from ..contract import facts
from ..contract import limit as contract_limit
from .answer import BAD_UTF8
from .lzstring import OutputTooLarge, decompress_from_base64
from .serde import NotSerdeJson, read
from .timestamps import sent_at_from_millis

__all__ = ["Decoded", "WireError", "decode", "gunzip"]

FORM_MIME_TYPE = "application/x-www-form-urlencoded"
"""Compared with the whole Content-Type header: ``; charset=...`` means "not a form" upstream."""

_MAX_CHARS_TO_CHECK = 128  # utils.rs MAX_CHARS_TO_CHECK: how far the sniffers look
_GZIP_MAGIC = b"\x1f\x8b\x08"
_GZIP_CHUNK = 8192  # decompression.rs reads gzip output 8 KiB at a time
_B64_STRICT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_B64_LOOSE = _B64_STRICT | {ord(" ")}
# utils.rs is_likely_urlencoded_form: these keys at the start or after '&' in the first 128 bytes.
_FORM_KEYS = (b"data=", b"_=", b"ip=", b"compression=")
_FORM_KEY_AT = re.compile(b"(?:^|&)(?:" + b"|".join(map(re.escape, _FORM_KEYS)) + b")")

_COMPRESSIONS = {
    "gzip": "gzip",
    "gzip-js": "gzip",
    "lz64": "lz64",
    "lz-string": "lz64",
    "base64": "base64",
    "b64": "base64",
}

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1


class WireError(Exception):
    """PostHog's answer to a request it refuses: ``status`` and the plain-text ``body``.

    Capture answers errors as ``text/plain`` bodies holding the error's display text
    (``api.rs`` ``IntoResponse for CaptureError``); the fake server sends ``body`` verbatim.
    """

    def __init__(self, status: int, body: str) -> None:
        super().__init__(status, body)
        self._status = status
        self._body = body

    @property
    def status(self) -> int:
        """HTTP status PostHog answers (400, 401 or 413 here)."""
        return self._status

    @property
    def body(self) -> str:
        """The exact response body text."""
        return self._body

    def __str__(self) -> str:
        return f"{self._status} {self._body}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WireError):
            return NotImplemented
        return (self._status, self._body) == (other._status, other._body)

    def __hash__(self) -> int:
        return hash((self._status, self._body))


def _decoding(detail: str) -> WireError:
    return WireError(400, f"failed to decode request: {detail}")


def _too_big(detail: str) -> WireError:
    # Newer api.rs maps EventTooBig(String) to 413 "maximum event size exceeded: <detail>".
    return WireError(413, f"maximum event size exceeded: {detail}")


@dataclass(frozen=True)
class Decoded:
    """A decoded request body plus the request metadata PostHog reads from the query string.

    ``sent_at`` is the query ``sent_at``/``_`` in milliseconds, kept only when its year is after
    2020 (older SDKs sent seconds); a batch body's own ``sent_at`` wins over it, see
    :func:`.batch.effective_sent_at`. ``compression_hint`` is the hint PostHog settled on
    (``gzip``/``lz64``/``base64``/``unsupported``); ``compression`` is what was actually undone
    (``gzip``, ``lz64`` or ``none``), since gzip is also sniffed from its magic bytes.
    """

    payload: Any
    sent_at: datetime | None
    lib_version: str | None
    beacon: bool
    compression_hint: str
    compression: str
    base64_unwrapped: bool = False
    text: str = ""
    """The JSON text ``payload`` was parsed from (what the journal keeps: one string, not a
    tree of containers for the garbage collector to walk on every full collection)."""


def decode(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    request_max_bytes: int | None = None,
    decompressed_max_bytes: int | None = None,
    trace: list[tuple[str, bytes]] | None = None,
) -> Decoded:
    """Decode one capture request into parsed JSON, or raise :class:`WireError`.

    ``path`` is the route path without the query string (the legacy unwrap and the engage rule
    look at it); ``query`` holds already percent-decoded parameters; header names are matched
    case-insensitively. The size caps default to the contract's ``request_max_bytes`` and
    ``decompressed_max_bytes``; tests pass small ones. ``method`` is accepted for symmetry with
    the route table: PostHog treats GET and POST alike (a GET simply carries ``data`` in the
    query), and still says "POST" in the form error text.

    ``trace``, when given, receives ``(step, output)`` for each encoding undone (``query``,
    ``base64``, ``form``, ``gzip``/``lz64``), in order, also when a later step refuses: the
    inspector's request detail shows them, and naming them here keeps it from re-deriving this
    function's sniffing rules. Capture itself passes none, so its path pays nothing.
    """
    del method  # PostHog's pipeline does not branch on it (common.rs only logs it)
    wire_cap = request_max_bytes or contract_limit("request_max_bytes")
    cap = decompressed_max_bytes or contract_limit("decompressed_max_bytes")
    lowered = {k.lower(): v for k, v in headers.items()}

    # axum's Query extractor runs before the body is streamed, so its errors come first.
    data_param, query_hint, sent_at, beacon, lib_version = _read_query(query)

    # extractors.rs extract_body_with_timeout: streamed with a cap.
    if len(body) > wire_cap:
        raise _too_big(f"Request body exceeds limit of {wire_cap} bytes")

    # 1. payload source (common.rs extract_payload_bytes)
    if data_param:
        raw = data_param.encode("utf-8")
        if trace is not None:
            trace.append(("query", raw))
    elif body:
        raw = bytes(body)
    else:
        raise WireError(400, "request missing data payload")

    # 2. whole-payload base64 sniff; keep the original bytes when decoding fails
    payload = raw
    if not _looks_like_form(raw) and _looks_like_base64(raw, _B64_STRICT):
        unwrapped = _b64decode(raw)
        if unwrapped is not None:
            payload = unwrapped
            if trace is not None:
                trace.append(("base64", payload))

    # 3. form decoding, only for the exact form content type
    form_data: str | None = None
    form_hint: str | None = None
    if lowered.get("content-type") == FORM_MIME_TYPE:
        if not _looks_like_form(payload):
            raise _decoding("expected form data in POST request payload")
        form_data, form_hint = _read_form(payload)
        if form_data is not None and _looks_like_base64(form_data.encode("utf-8"), _B64_LOOSE):
            # the form decoder turned '+' into ' '; base64 needs them back
            form_data = form_data.replace(" ", "+")

    # 4. compression hint: query, then form, then Content-Encoding (exact, case-sensitive)
    hint = _hint(query_hint, form_hint, lowered.get("content-encoding"))
    data = form_data.encode("utf-8") if form_data is not None else payload
    if trace is not None and form_data is not None:
        trace.append(("form", data))

    # 5. decompression
    if hint == "gzip" or data.startswith(_GZIP_MAGIC):
        try:
            text = gunzip(data, cap).decode("utf-8")
        except UnicodeDecodeError:
            raise _decoding("invalid gzip data") from None
        used = "gzip"
    elif hint == "lz64":
        text = _lz64_to_text(data, cap)
        used = "lz64"
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise WireError(400, BAD_UTF8) from None
        if len(data) > cap:
            raise _too_big(f"Uncompressed payload size limit {cap} exceeded: {len(data)}")
        used = "none"
    if trace is not None and used != "none":
        trace.append((used, text.encode("utf-8")))

    # 6. legacy second base64 unwrap (decompression.rs; path_is_legacy_endpoint)
    unwrapped_twice = False
    if _is_legacy_path(path):
        encoded = text.encode("utf-8")
        if _looks_like_base64(encoded, _B64_STRICT):
            inner = _b64decode(encoded)
            if inner is not None:
                try:
                    inner_text = inner.decode("utf-8")
                except UnicodeDecodeError:
                    inner_text = None
                if inner_text is not None:
                    if len(inner) > cap:
                        raise _too_big(
                            "decompress_payload: payload size limit "
                            f"{cap} exceeded after post-decode base64 unwrap: {len(inner)}"
                        )
                    text = inner_text
                    unwrapped_twice = True
                    if trace is not None:
                        trace.append(("base64", inner))

    # 7. JSON
    return Decoded(
        payload=_parse_json(text),
        sent_at=sent_at,
        lib_version=lib_version,
        beacon=beacon,
        compression_hint=hint,
        compression=used,
        base64_unwrapped=unwrapped_twice,
        text=text,
    )


def _read_query(
    query: Mapping[str, str],
) -> tuple[str | None, str | None, datetime | None, bool, str | None]:
    """EventQuery (types.rs): ``data``, ``compression``, ``sent_at``/``_`` (i64 ms), ``beacon``.

    Bad integers are rejected by axum's Query extractor with its own 400 text; ``sent_at`` and
    ``_`` together are a serde duplicate-field error. ``lib_version``/``ver`` is read for the
    record only (older EventQuery versions had it; it never fails a request).
    """
    if "sent_at" in query and "_" in query:
        raise _query_error("duplicate field `sent_at`")
    raw_sent = query.get("sent_at", query.get("_"))
    sent_at: datetime | None = None
    if raw_sent is not None:
        millis = _rust_int(raw_sent, _I64_MIN, _I64_MAX)
        sent_at = sent_at_from_millis(millis)
    beacon = False
    if "beacon" in query:
        beacon = _rust_int(query["beacon"], _I32_MIN, _I32_MAX) == 1
    hint = _compression_name(query["compression"]) if "compression" in query else None
    lib_version = query.get("lib_version", query.get("ver"))
    return query.get("data"), hint, sent_at, beacon, lib_version


def _query_error(detail: str) -> WireError:
    return WireError(400, f"Failed to deserialize query string: {detail}")


def _rust_int(text: str, low: int, high: int) -> int:
    """``str::parse::<iN>`` with Rust's error texts (what serde_urlencoded reports)."""
    if text == "":
        raise _query_error("cannot parse integer from empty string")
    if not re.fullmatch(r"[+-]?[0-9]+", text, re.ASCII) or text in ("+", "-"):
        raise _query_error("invalid digit found in string")
    value = int(text)
    if value > high:
        raise _query_error("number too large to fit in target type")
    if value < low:
        raise _query_error("number too small to fit in target type")
    return value


def _compression_name(value: str) -> str:
    """types.rs ``Compression`` deserialisation: case-insensitive, anything else unsupported."""
    return _COMPRESSIONS.get(value.lower(), "unsupported")


def _hint(query_hint: str | None, form_hint: str | None, content_encoding: str | None) -> str:
    """utils.rs ``extract_compression``: the first hint that is not "unsupported" wins."""
    if query_hint is not None and query_hint != "unsupported":
        return query_hint
    if form_hint is not None and form_hint != "unsupported":
        return form_hint
    if content_encoding is not None:
        return _COMPRESSIONS.get(content_encoding, "unsupported")  # header match is exact
    return "unsupported"


def _looks_like_base64(payload: bytes, alphabet: frozenset[int]) -> bool:
    """utils.rs ``is_likely_base64``: first 128 bytes in the alphabet and length % 4 == 0."""
    if not payload:
        return False
    return all(b in alphabet for b in payload[:_MAX_CHARS_TO_CHECK]) and len(payload) % 4 == 0


def _looks_like_form(payload: bytes) -> bool:
    """utils.rs ``is_likely_urlencoded_form``: a known key at the start or after ``&``."""
    prefix = payload[:_MAX_CHARS_TO_CHECK]
    return b"=" in prefix and _FORM_KEY_AT.search(prefix) is not None  # "in" is a fast scan


def _b64decode(payload: bytes) -> bytes | None:
    """The ``base64`` crate's STANDARD engine: canonical padding, no stray trailing bits."""
    try:
        out = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    return out if base64.b64encode(out) == payload else None


def _form_unquote(raw: bytes) -> str:
    """``form_urlencoded``: '+' is a space, %XX decoded, invalid UTF-8 replaced."""
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", errors="replace")


def _read_form(payload: bytes) -> tuple[str | None, str | None]:
    """serde_urlencoded into ``EventFormData {data, compression}``; other keys are ignored.

    A repeated ``data`` or ``compression`` key is a serde duplicate-field error, which
    utils.rs ``decode_form`` reports as "invalid urlencoded form data".
    """
    fields: dict[str, str] = {}
    for pair in payload.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = _form_unquote(raw_name)
        if name not in ("data", "compression"):
            continue
        if name in fields:
            raise _decoding("invalid urlencoded form data")
        fields[name] = _form_unquote(raw_value)
    hint = _compression_name(fields["compression"]) if "compression" in fields else None
    return fields.get("data"), hint


def gunzip(data: bytes, cap: int) -> bytes:
    """flate2 ``GzDecoder`` over one gzip member, read 8 KiB at a time against ``cap``: the
    one gzip reader of the fake's routes, so no body inflates past its cap in memory. Raises
    :class:`WireError` (invalid data, or more than ``cap`` bytes)."""
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    pending = data
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, _GZIP_CHUNK)
            progressed = bool(chunk) or len(inflater.unconsumed_tail) != len(pending)
            pending = inflater.unconsumed_tail
            if chunk:
                if len(out) + len(chunk) > cap:
                    raise _too_big(
                        f"Decompressed payload would exceed {cap} bytes "
                        f"(got {len(out) + len(chunk)} bytes)"
                    )
                out += chunk
            if not progressed or (not pending and not chunk):
                break
    except zlib.error:
        raise _decoding("invalid GZIP data") from None
    if not inflater.eof:  # truncated stream: flate2 reports an I/O error
        raise _decoding("invalid GZIP data")
    return bytes(out)


def _lz64_to_text(data: bytes, cap: int) -> str:
    """decompression.rs ``decompress_lz64_to_string`` with its caps and error texts."""
    try:
        units = decompress_from_base64(data.decode("utf-8", errors="replace"), max_units=cap)
    except OutputTooLarge:
        raise _too_big(f"Decompressed LZ64 payload would exceed {cap} bytes") from None
    if units is None:
        raise _decoding("decompress_lz64: failed decompress to UTF16")
    try:
        text = units.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise _decoding("decompress_lz64: failed UTF16 to UTF8 conversion") from None
    if len(text.encode("utf-8")) > cap:
        raise _too_big("lz64 request payload size limit exceeded")
    return text


def _is_legacy_path(path: str) -> bool:
    """v0_request.rs ``path_is_legacy_endpoint``, from the contract's path lists."""
    exact, prefixes = _legacy_paths()
    return path in exact or path.startswith(prefixes)


@cache
def _legacy_paths() -> tuple[frozenset[str], tuple[str, ...]]:
    legacy = facts()["legacy_path_prefixes"]
    return frozenset(legacy["exact"]), tuple(legacy["prefix"])


def _parse_json(text: str) -> Any:
    try:
        return read(text)
    except NotSerdeJson as exc:
        raise WireError(400, f"failed to parse request: {exc.detail}") from None
