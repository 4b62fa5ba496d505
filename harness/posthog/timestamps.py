"""Times in a capture request, each read with the parser PostHog reads it with.

Three readers, because PostHog itself reads times in three places, with three parsers:

* an event's ``timestamp`` is ingestion's (:func:`read_timestamp`, :func:`parse_timestamp`):
  lenient, with ``dateparser``-like fallbacks, one parser for the checker (CTPH141-143) and the
  project state (the stored event time), so a timestamp the checker calls unparseable is exactly
  one the fake server stores at arrival time;
* a batch body's ``sent_at`` is capture's (:func:`parse_sent_at`): the ``time`` crate's strict
  ISO 8601, offset required;
* the query's ``sent_at``/``_`` is capture's too (:func:`sent_at_from_millis`): epoch
  milliseconds, ignored before 2021.

The first two must not be merged: a batch ``sent_at`` of ``2024-01-01 10:00`` is no time to
capture (no ``T``, no offset) yet a fine event timestamp to ingestion.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone
from functools import cache

from ..contract import limit
from .memos import request_memo

__all__ = [
    "future_tolerance",
    "parse_sent_at",
    "parse_timestamp",
    "read_timestamp",
    "sent_at_from_millis",
    "zone",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?"
)
_SLASHED = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_ISO8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)"
)


def zone(text: str | None) -> timezone:
    """The zone an ISO-8601 suffix names (``Z``, ``UTC``, ``+05:30``, ``-0800``); none is UTC."""
    if text is None or text in ("Z", "z", "UTC"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))


@request_memo(maxsize=4096)
def read_timestamp(text: str) -> tuple[datetime | None, bool]:
    """``(instant in UTC or None, whether the text named a zone)``.

    Memoised: a campaign often renders one timestamp, or one per day, for many profiles.

    RFC 3339 first (``+03`` read as ``+03:00``, a missing zone read as UTC), then the other forms
    capture's ``dateparser`` fallback knows: date only, a space instead of ``T``, slashes,
    RFC 2822 and numeric epoch strings (10 digits seconds, 13 milliseconds). Years outside 1-9999
    are unparseable here (Python's range; capture maps them to the epoch).
    """
    text = text.strip()
    try:
        match = _RFC3339.fullmatch(text)
        if match:
            year, month, day = (int(match.group(i)) for i in (1, 2, 3))
            hour, minute, second = (int(match.group(i) or 0) for i in (4, 5, 6))
            micros = int((match.group(7) or "0")[:6].ljust(6, "0"))
            moment = datetime(year, month, day, hour, minute, second, micros, zone(match.group(8)))
            return moment.astimezone(timezone.utc), match.group(8) is not None
        match = _SLASHED.fullmatch(text)
        if match:
            y, mo, d, h, mi, se = (int(match.group(i) or 0) for i in range(1, 7))
            return datetime(y, mo, d, h, mi, se, tzinfo=timezone.utc), False
        if re.fullmatch(r"\d{10}(?:\.\d+)?", text):
            return _EPOCH + timedelta(seconds=float(text)), True
        if re.fullmatch(r"\d{13}", text):
            return _EPOCH + timedelta(milliseconds=int(text)), True
        parsed = email.utils.parsedate_to_datetime(text)
    except (ValueError, OverflowError, TypeError, IndexError):
        return None, False
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc), False
    return parsed.astimezone(timezone.utc), True


@cache
def future_tolerance() -> timedelta:
    """How far ahead of its arrival an event's time may be before ingestion clamps it."""
    return timedelta(milliseconds=limit("future_tolerance_ms"))


def parse_timestamp(text: str) -> datetime | None:
    """The instant in UTC, or ``None`` when ingestion would fall back to the arrival time."""
    return read_timestamp(text)[0]


def parse_sent_at(text: str) -> datetime | None:
    """A batch body's ``sent_at`` as capture reads it (``v0_request.rs``, the ``time`` crate's
    ``Iso8601::DEFAULT``), or ``None`` when capture ignores it.

    Stricter than :func:`read_timestamp` on purpose, because capture is: ``T`` between date and
    time, an offset required, at most nine fraction digits, no fallbacks. The instant keeps the
    offset it was given (not converted to UTC). Used by :func:`.batch.classify`.
    """
    match = _ISO8601.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    micros = int((match.group(7) or "0").ljust(6, "0")[:6])
    try:
        tz = zone(match.group(8))
        return datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    except ValueError:
        return None


def sent_at_from_millis(millis: int) -> datetime | None:
    """The query's ``sent_at``/``_`` as capture reads it (``types.rs`` ``EventQuery::sent_at``):
    epoch milliseconds, ignored (``None``) unless the year is after 2020, since older SDKs sent
    seconds. Used by :func:`.wire.decode`."""
    try:
        moment = _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        return None
    return moment if moment.year > 2020 else None
