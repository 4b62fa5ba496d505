"""How capture's serde reads a body: what JSON it accepts, which body shape it picks, and what
an event looks like once capture writes it out again.

Capture parses every body with ``serde_json::from_str::<RawRequest>``
(``PostHog/posthog rust/capture/src/v0_request.rs``). Two parts of that differ from Python's
``json`` and decide whether PostHog answers 400:

* **what is JSON at all**: serde_json refuses ``NaN``/``Infinity``, numbers out of ``f64`` range,
  a byte-order mark and lone surrogate escapes, all of which Python accepts;
* **which struct the object is**: ``RawRequest`` is an untagged enum (``Array``, ``Batch``,
  ``One``, ``Engage``) tried in that order, each variant a derived struct
  (``rust/common/types/src/event.rs`` ``RawEvent``, ``RawEngageEvent``; ``BatchedRequest``).
  A derived struct refuses a field given twice, literally or under two of its alias names
  (serde's ``duplicate field``), while a map (``properties``, ``$set``) keeps the last value, as
  Python does. When no variant fits, the answer is ``data did not match any variant``.

Capture then forwards each event re-serialised from its ``RawEvent`` struct
(:func:`raw_event`): only the struct's fields survive, and its ``uuid`` is the ``uuid`` crate's
canonical text (:func:`parse_uuid`).

The checker, which predicts PostHog's answer, and the fake server, which gives it, both read
bodies here, so they cannot disagree about either part.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .ids import DISTINCT_KEYS
from .keys import TOKEN_KEYS

__all__ = [
    "BATCH_FIELDS",
    "BATCH_TOKEN_KEYS",
    "ENGAGE_FIELDS",
    "EVENT_FIELDS",
    "MAX_DEPTH",
    "PERFORMANCE_EVENT",
    "NotSerdeJson",
    "Repeated",
    "duplicate_field",
    "is_batch",
    "is_engage",
    "is_event",
    "parse_uuid",
    "raw_event",
    "read",
    "repeated_field",
    "variant",
]

Fields = tuple[tuple[str, ...], ...]
"""A derived struct's fields, each as its name followed by its serde aliases."""

EVENT_FIELDS: Final[Fields] = (
    TOKEN_KEYS,
    DISTINCT_KEYS,
    ("uuid",),
    ("event",),
    ("properties",),
    ("timestamp",),
    ("offset",),
    ("$set",),
    ("$set_once",),
)
ENGAGE_FIELDS: Final[Fields] = tuple(f for f in EVENT_FIELDS if f != ("event",))
"""``RawEngageEvent``: ``RawEvent`` without the event name, which /engage fills in."""
BATCH_TOKEN_KEYS: Final = ("token", "api_key")
"""``BatchedRequest.token`` and its alias."""
BATCH_FIELDS: Final[Fields] = (
    BATCH_TOKEN_KEYS,
    ("historical_migration",),
    ("sent_at",),
    ("batch",),
)
PERFORMANCE_EVENT: Final = "$performance_event"
"""``RawRequest::events`` drops these right after parsing: serde reads them, nothing checks them."""


class NotSerdeJson(ValueError):
    """A body serde_json refuses. ``detail`` is serde's message, as capture puts it after
    ``failed to parse request: ``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Repeated(dict[str, Any]):
    """A JSON object that names a key more than once: the value is the last one (as serde_json's
    map and Python keep it), and ``repeated`` names the keys given twice, which a derived struct
    refuses. Only such objects get this type, so every other object stays a plain ``dict``."""

    __slots__ = ("repeated",)

    def __init__(self, pairs: Sequence[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        counts = Counter(key for key, _ in pairs)
        self.repeated = frozenset(key for key, n in counts.items() if n > 1)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else Repeated(pairs)


class _Refused(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise _Refused("expected value")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused("number out of range")
    return value


_I64_MIN: Final = -(2**63)
_U64_MAX: Final = 2**64 - 1


def _integer(text: str) -> int | float:
    """serde_json reads an integer as ``u64``/``i64``, and one out of their range as ``f64``,
    refusing it past f64's range (309 digits on). Python would keep any integer exactly and
    refuse one of 4,300 digits with a ``ValueError`` of its own."""
    if len(text) < 19:  # the common case: within i64, no conversion
        return int(text)
    if len(text) > 320:  # past f64's range whatever the digits (and before int()'s limit)
        raise _Refused("number out of range")
    value = int(text)
    return value if _I64_MIN <= value <= _U64_MAX else _finite_float(text)


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_object,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
    parse_int=_integer,
)
"""Built once: ``json.loads`` with hooks builds a decoder (and its scanner) on every call."""

_SERDE_MESSAGES: Final = (
    ("Expecting value", "expected value"),
    ("Extra data", "trailing characters"),
    ("Expecting property name enclosed in double quotes", "key must be a string"),
    ("Expecting ':' delimiter", "expected `:`"),
    ("Expecting ',' delimiter", "expected `,` or `}`"),
    ("Unterminated string starting at", "EOF while parsing a string"),
    ("Invalid control character at", "control character (\\u0000-\\u001F) found while parsing"),
    ("Invalid \\escape", "invalid escape"),
    ("Invalid \\uXXXX escape", "invalid escape"),
    ("Unexpected UTF-8 BOM", "expected value"),
)
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def read(text: str) -> Any:
    """The JSON value serde_json reads from ``text``, or :class:`NotSerdeJson`.

    The detail follows serde_json's message family with Python's line/column; exact columns can
    differ by one from serde's in rare cases. Objects that repeat a key come back as
    :class:`Repeated`.
    """
    try:
        if text.startswith("\ufeff"):  # what json.loads refuses before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM", text, 0)
        if text.count("[") + text.count("{") >= MAX_DEPTH and _depth(text) >= MAX_DEPTH:
            raise _Refused("recursion limit exceeded")
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        message = next((s for p, s in _SERDE_MESSAGES if exc.msg.startswith(p)), exc.msg)
        raise NotSerdeJson(f"{message} at line {exc.lineno} column {exc.colno}") from None
    except _Refused as exc:
        raise NotSerdeJson(str(exc)) from None
    # Text decoded from UTF-8 holds no surrogate itself; one can only come from a \uD800-\uDFFF
    # escape, so the walk runs only when the text has such an escape (a backslash first: the
    # one-character search is ten times cheaper than the pattern's).
    if "\\" in text and _SURROGATE_ESCAPE.search(text) and _has_surrogate(value):
        raise NotSerdeJson("lone leading surrogate in hex escape")
    return value


MAX_DEPTH: Final = 128
"""serde_json's ``remaining_depth``: the 128th nested array or object is refused, so no value
that reaches Python nests deeper than 127 and nothing downstream recurses past that."""
_STRING_OR_BRACKET: Final = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _depth(text: str) -> int:
    """The deepest nesting of ``text`` outside strings (enough of it to compare with
    :data:`MAX_DEPTH`; malformed text is the decoder's to refuse)."""
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest >= MAX_DEPTH:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def repeated_field(obj: Mapping[str, Any], fields: Fields) -> str | None:
    """The first of the struct's names that ``obj`` gives literally twice, or ``None``. Keys the
    struct does not know are ignored however often they repeat, as serde ignores unknown
    fields."""
    if type(obj) is not Repeated:
        return None
    return next((name for names in fields for name in names if name in obj.repeated), None)


def duplicate_field(obj: Mapping[str, Any], fields: Fields) -> str | None:
    """The field a derived struct refuses as ``duplicate field``, or ``None``: one named twice,
    literally (:func:`repeated_field`) or under two of its names (``token`` and ``api_key``)."""
    for names in fields:
        if len(names) > 1 and sum(name in obj for name in names) > 1:
            return names[0]
    return repeated_field(obj, fields)


def _token_type_ok(obj: Mapping[str, Any]) -> bool:
    for key in TOKEN_KEYS:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            return False
    return True


def is_engage(obj: Any) -> bool:
    """``RawEngageEvent``: any object whose token (if any) is a string, no field repeated."""
    return (
        isinstance(obj, dict)
        and _token_type_ok(obj)
        and duplicate_field(obj, ENGAGE_FIELDS) is None
    )


def is_event(obj: Any) -> bool:
    """``RawEvent`` needs a string ``event`` too; other field types are the checker's business
    (its contract carries capture's refusal for each)."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("event"), str)
        and _token_type_ok(obj)
        and duplicate_field(obj, EVENT_FIELDS) is None
    )


def is_batch(obj: Any) -> bool:
    """``BatchedRequest``: one string ``token``/``api_key``, a list ``batch`` of events."""
    if not isinstance(obj, dict) or duplicate_field(obj, BATCH_FIELDS) is not None:
        return False
    token = obj.get("token", obj.get("api_key"))
    batch = obj.get("batch")
    if not isinstance(token, str) or not isinstance(batch, list):
        return False
    if not all(is_event(item) for item in batch):
        return False
    if obj.get("historical_migration") is not None and not isinstance(
        obj["historical_migration"], bool
    ):
        return False
    return obj.get("sent_at") is None or isinstance(obj["sent_at"], str)


def variant(doc: Any) -> str | None:
    """The ``RawRequest`` variant serde picks for ``doc``, in the enum's order: ``"array"``,
    ``"batch"``, ``"one"``, ``"engage"``, or ``None`` when no variant fits."""
    if isinstance(doc, list):
        return "array" if all(is_event(item) for item in doc) else None
    if is_batch(doc):
        return "batch"
    if is_event(doc):
        return "one"
    return "engage" if is_engage(doc) else None


_UUID_FORMS = re.compile(
    r"(?:urn:uuid:)?(?P<h>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})|\{(?P<b>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})\}|(?P<s>[0-9a-fA-F]{32})"
)


def parse_uuid(text: str) -> str | None:
    """The Rust ``uuid`` crate's ``parse_str`` forms (hyphenated, simple, braced, URN).

    Returns the canonical lowercase hyphenated text, as ``Uuid`` serialises, or ``None``.
    """
    match = _UUID_FORMS.fullmatch(text)
    if match is None:
        return None
    digits = (match.group("h") or match.group("b") or match.group("s")).replace("-", "").lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def raw_event(obj: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    """``RawEvent`` as capture re-serialises it: known keys only, ``None`` options skipped.

    ``name`` replaces the event name (``$identify`` for an engage payload, which has none)."""
    out: dict[str, Any] = {}
    token = next((obj[k] for k in TOKEN_KEYS if obj.get(k) is not None), None)
    if token is not None:
        out["token"] = token
    distinct = next((obj[k] for k in DISTINCT_KEYS if obj.get(k) is not None), None)
    if distinct is not None:
        out["distinct_id"] = distinct
    uuid_value = obj.get("uuid")
    if uuid_value == "":
        uuid_value = None
    elif isinstance(uuid_value, str):
        uuid_value = parse_uuid(uuid_value) or uuid_value  # invalid: left for the checker
    out["uuid"] = uuid_value
    out["event"] = name if name is not None else obj["event"]
    properties = obj.get("properties", {})
    out["properties"] = properties if properties is not None else {}
    for key in ("timestamp", "offset", "$set", "$set_once"):
        if obj.get(key) is not None:
            out[key] = obj[key]
    return out
