"""Event timestamps read the way PostHog's ingestion reads them.

One parser for the checker (CTPH141-143) and the project state (the stored event time), so a
timestamp the checker calls unparseable is exactly one the fake server stores at arrival time.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone
from functools import cache

from ..contract import limit
from .memos import request_memo

__all__ = ["future_tolerance", "parse_timestamp", "read_timestamp", "zone"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?"
)
_SLASHED = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


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
