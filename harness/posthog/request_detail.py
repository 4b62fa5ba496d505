"""``GET /_ctph/requests/<n>``: one journalled request in full, as the inspector's detail tabs
show it: what arrived, how the fake decoded it, what it answered, and the contract's verdict.

Why it looks as it does:

* **The body as received**: the journal keeps up to :data:`.journal.RAW_KEPT` bytes of the
  raw body beside the decoded text; it is shown as text when it is UTF-8, else as base64
  (``body_encoding``), with ``body_truncated`` when more arrived than was kept.
* **Decoding re-traced, not re-invented**: the steps are what the fake's own decoder
  (:func:`.wire.decode`, run again on the kept bytes with ``trace``) reports it undid (query,
  base64, form, gzip/lz64, the legacy second base64), so they cannot disagree with what
  capture did; a body cut by ``RAW_KEPT`` shows only the decoded JSON the journal kept.
* **The verdict is ``ctph check``'s**: :func:`.checker.check` on the decoded payload for the
  path it was sent to, the same findings (codes, pointers, hints) the command line gives.
* Every string passes through :func:`ctph_harness.redact.printable` (base64 text too: a key
  inside base64 is masked whole).
* **Keys are looked for at every depth**: masking the encoded text cannot see a key inside
  gzip, lz64, base64 of base64, or spelt with JSON (``phx\\u005f``) or URL (``phx%5F``)
  escapes. So when a decoding stage's text, or the parsed payload re-serialised, holds a key,
  the encoded ``body``/``query`` is replaced by :data:`HIDDEN_NOTE` (the payload is shown
  decoded and masked in the ``json`` step), and a step whose text spells a key with escapes
  shows the re-serialised payload, masked, instead.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..redact import printable, redact_text
from .event_links import Link
from .journal import Record
from .project import Event
from .serialise import iso

__all__ = ["HIDDEN_NOTE", "TEXT_KEPT", "decoding_steps", "request_detail", "verdict"]

HIDDEN_NOTE = "…(encoded text holding a key: shown decoded, masked, in the decoding steps)"
"""What ``body`` or ``query`` says in place of encoded text that holds a key masking misses."""

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
    steps, revealed, source = _traced(record)
    hidden = any(_holds_key(text) for text in revealed)
    shown_body = printable(body)
    if (hidden and source == "body") or _escapes_key(shown_body):
        shown_body = HIDDEN_NOTE
    shown_query = printable(record.query)
    if (hidden and source == "query") or _escapes_key(shown_query):
        shown_query = HIDDEN_NOTE
    return {
        "number": record.seq,
        "time": iso(record.received_at),
        "method": printable(record.method),
        "path": printable(record.path),
        "query": shown_query,
        "headers": headers,
        "kind": record.kind,
        "test": printable(record.test) if record.test is not None else None,
        "body": shown_body,
        "body_encoding": encoding,
        "body_size": record.raw_size,
        "body_truncated": record.raw_size > len(raw),
        "decoding": steps,
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
    return _traced(record)[0]


def _traced(record: Record) -> tuple[list[dict[str, Any]], list[str], str]:
    """The steps, the texts decoding revealed beyond the encoded text (each stage's output
    and the parsed payload re-serialised), and where the payload came from (``body`` or
    ``query``)."""
    raw = record.received()
    if record.kind not in _CHECKED_KINDS or not (raw or record.decoded):
        return [], [], "body"
    if record.raw_size > len(raw):  # cut: only the decoded text the journal kept
        steps: list[dict[str, Any]] = [{"step": "received", "bytes": record.raw_size}]
        revealed: list[str] = []
        if record.decoded:
            steps.append(_text_step("json", record.body))
            if not record.body.startswith(raw.decode("utf-8", "replace")):  # it was encoded
                revealed = [record.body, *_reserialised(record.body)]
        return steps, revealed, "body"
    return _trace(record, raw)


def _trace(record: Record, raw: bytes) -> tuple[list[dict[str, Any]], list[str], str]:
    from .exchange import Incoming
    from .wire import WireError, decode

    query = Incoming({"QUERY_STRING": record.query}).args()  # as capture read it
    trace: list[tuple[str, bytes]] = []  # what decode() undid, step by step
    try:
        decoded = decode(record.method, record.path, query, dict(record.headers), raw, trace=trace)
    except WireError as exc:
        decoded, refusal = None, exc.body
    steps: list[dict[str, Any]] = [{"step": "received", "bytes": len(raw)}]
    steps += [{"step": step, "bytes": len(output)} for step, output in trace]
    # each stage's output, one character a byte (latin-1), so a key in it survives to be found
    revealed = [output.decode("latin-1") for _, output in trace]
    if decoded is not None:
        if trace:
            revealed += [decoded.text, *_reserialised(decoded.text)]
        steps.append(_text_step("json", decoded.text))
    else:
        if trace:  # what the last step gave, as text where it is (gzip of text that is not
            step, output = trace[-1]  # JSON was shown only as the received base64)
            try:
                text = output.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                steps[-1] = {**_text_step(step, text), "bytes": len(output)}
        steps.append({"step": "error", "bytes": 0, "text": printable(refusal)})
    return steps, revealed, "query" if trace and trace[0][0] == "query" else "body"


def _text_step(step: str, text: str) -> dict[str, Any]:
    shown = printable(text[:TEXT_KEPT])
    if _escapes_key(shown):  # a key spelt with escapes: show the payload as parsed, masked
        shown = next((printable(again[:TEXT_KEPT]) for again in _reserialised(text)), "")
        if _escapes_key(shown):  # pragma: no cover - re-serialised JSON escapes no key character
            shown = HIDDEN_NOTE
    return {
        "step": step,
        "bytes": len(text.encode("utf-8", errors="replace")),
        "text": shown,
        "text_truncated": len(text) > TEXT_KEPT,
    }


# A JSON ``\uXXXX`` escape or a URL ``%XX`` escape of a character a key is made of.
_KEY_CHAR_HEX = "(?:3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa]|5[Ff]|2[Dd])"
_KEY_CHAR_ESCAPE = re.compile(rf"\\u00{_KEY_CHAR_HEX}|%{_KEY_CHAR_HEX}")


def _unescaped(text: str) -> str:
    """``text`` with every escaped key character written plainly (an escaped backslash before
    ``u`` is read as an escape too: a false alarm, never a miss)."""
    return _KEY_CHAR_ESCAPE.sub(lambda m: chr(int(m.group(0)[-2:], 16)), text)


def _escapes_key(shown: str) -> bool:
    """Whether text already masked still spells a key once its escapes are undone."""
    return _holds_key(_unescaped(shown))


def _holds_key(text: str) -> bool:
    return redact_text(text) != text


def _reserialised(text: str) -> Iterable[str]:
    """The JSON in ``text`` parsed and written again without ASCII escapes, where every key
    stands plainly for masking to find; nothing when ``text`` is not JSON."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return ()
    return (json.dumps(parsed, ensure_ascii=False),)


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
