"""``GET /_ctph/requests/<n>``: one journalled request in full, as the inspector's detail tabs
show it: what arrived, how the fake decoded it, what it answered, and the contract's verdict.

Why it looks as it does:

* **The body as received**: the journal keeps up to :data:`.journal.RAW_KEPT` bytes of the
  raw body beside the decoded text; it is shown as text when it is UTF-8, else as base64
  (``body_encoding``), with ``body_truncated`` when more arrived than was kept.
* **Decoding re-traced, not re-invented**: the steps are found by running the fake's own
  decoder (:func:`.wire.decode`) again on the kept bytes and reading its sniffing rules
  (base64, form, gzip/lz64, the legacy second base64), so they cannot disagree with what
  capture did; a body cut by ``RAW_KEPT`` shows only the decoded JSON the journal kept.
* **The verdict is ``ctph check``'s**: :func:`.checker.check` on the decoded payload for the
  path it was sent to, the same findings (codes, pointers, hints) the command line gives.
* Every string passes through :func:`ctph_harness.redact.printable` (base64 text too: a key
  inside base64 is masked whole).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from ..redact import printable
from .event_links import Link
from .journal import Record
from .project import Event
from .serialise import iso

__all__ = ["TEXT_KEPT", "decoding_steps", "request_detail", "verdict"]

TEXT_KEPT = 64 * 1024
"""Characters of the decoded text a decoding step shows."""
_CHECKED_KINDS = frozenset({"capture", "recording"})


def request_detail(record: Record, events: Sequence[tuple[Event, Link | None]]) -> dict[str, Any]:
    """The JSON of ``GET /_ctph/requests/<n>``."""
    raw = record.received()
    try:
        body: str = raw.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    headers = {printable(name): printable(value) for name, value in record.headers}
    return {
        "number": record.seq,
        "time": iso(record.received_at),
        "method": printable(record.method),
        "path": printable(record.path),
        "query": printable(record.query),
        "headers": headers,
        "kind": record.kind,
        "test": printable(record.test) if record.test is not None else None,
        "body": printable(body),
        "body_encoding": encoding,
        "body_size": record.raw_size,
        "body_truncated": record.raw_size > len(raw),
        "decoding": decoding_steps(record),
        "response": {
            "status": record.status,
            "headers": {name: printable(value) for name, value in record.response_headers},
            "body": printable(record.response),
        },
        "stored": record.stored,
        "events": [event.uuid for event, _ in events],
        "verdict": verdict(record),
        "error": printable(record.error) if record.error is not None else None,
    }


def decoding_steps(record: Record) -> list[dict[str, Any]]:
    """How the fake decoded the body: ``{"step", "bytes", "text"?}`` for each stage, ending
    in ``json`` (the text parsed) or ``error`` (capture's refusal of the encoding)."""
    raw = record.received()
    if record.kind not in _CHECKED_KINDS or not (raw or record.decoded):
        return []
    if record.raw_size > len(raw):  # cut: only the decoded text the journal kept
        steps: list[dict[str, Any]] = [{"step": "received", "bytes": record.raw_size}]
        if record.decoded:
            steps.append(_text_step("json", record.body))
        return steps
    return _trace(record, raw)


def _trace(record: Record, raw: bytes) -> list[dict[str, Any]]:
    from .exchange import Incoming
    from .wire import (
        _B64_STRICT,
        FORM_MIME_TYPE,
        WireError,
        _b64decode,
        _looks_like_base64,
        _looks_like_form,
        _read_form,
        decode,
    )

    headers = dict(record.headers)
    query = Incoming({"QUERY_STRING": record.query}).args()  # as capture read it
    steps: list[dict[str, Any]] = [{"step": "received", "bytes": len(raw)}]
    try:
        decoded = decode(record.method, record.path, query, headers, raw)
    except WireError as exc:
        decoded = None
        refusal: str | None = exc.body
    else:
        refusal = None
    # the same sniffing decode() does, to name its steps (wire.py 1-5)
    data = query.get("data")
    payload = data.encode("utf-8") if data else raw
    if data:
        steps.append({"step": "query", "bytes": len(payload)})
    if not _looks_like_form(payload) and _looks_like_base64(payload, _B64_STRICT):
        unwrapped = _b64decode(payload)
        if unwrapped is not None:
            payload = unwrapped
            steps.append({"step": "base64", "bytes": len(payload)})
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("content-type") == FORM_MIME_TYPE and _looks_like_form(payload):
        try:
            form_data, _ = _read_form(payload)
        except WireError:
            form_data = None
        if form_data is not None:
            steps.append({"step": "form", "bytes": len(form_data.encode("utf-8"))})
    if decoded is not None:
        text = decoded.text
        if decoded.compression != "none":
            steps.append({"step": decoded.compression, "bytes": len(text.encode("utf-8"))})
        if decoded.base64_unwrapped:
            steps.append({"step": "base64", "bytes": len(text.encode("utf-8"))})
        steps.append(_text_step("json", text))
    elif refusal is not None:
        steps.append({"step": "error", "bytes": 0, "text": printable(refusal)})
    return steps


def _text_step(step: str, text: str) -> dict[str, Any]:
    shown = text[:TEXT_KEPT]
    return {
        "step": step,
        "bytes": len(text.encode("utf-8", errors="replace")),
        "text": printable(shown),
        "text_truncated": len(text) > TEXT_KEPT,
    }


def verdict(record: Record) -> list[dict[str, Any]]:
    """``ctph check``'s findings for the request's decoded payload (capture routes only)."""
    if record.kind not in _CHECKED_KINDS:
        return []
    from .checker import check

    payload = record.body if record.decoded else record.received().decode("utf-8", "replace")
    if not payload:
        return []
    findings = check(payload, endpoint=record.path)
    return [_finding(f.to_dict()) for f in findings]


def _finding(found: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": found["code"],
        "severity": found["severity"],
        "pointer": printable(str(found.get("pointer") or "")),
        "message": printable(str(found["message"])),
        "hint": printable(str(found.get("hint") or "")),
    }
