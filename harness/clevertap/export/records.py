"""What a CleverTap profile export is read into: records of normalised values, and problems.

This is the one vocabulary shared by every reader (NDJSON, JSON arrays, Profiles API pages, CSV,
the live API) and by ``ctph infer``, which learns ``[properties]`` from the records. Two rules
shape it:

* **No value ever leaves through a** :class:`Problem`. A problem names a position (source, record
  number, property name) and says what is wrong in words chosen here, never with text taken from
  the input; property *names* are allowed (``infer`` prints them anyway).
* **Values are normalised once, here**, to CleverTap's own value types (string, integer, float,
  boolean, date, multi-value list of strings), so inference never looks at wire spellings:
  ``"$D_1700000000"`` is a :class:`Date`, ``true`` a ``bool``.

CleverTap's record shape (Profiles API, "Download User Profiles", developer.clevertap.com
/docs/get-user-profiles-api): each record carries system fields at the top level (``identity``,
``name``, ``email``, ``phone``, ``push_token``, ...; key spelled as CleverTap writes them), the
custom properties under ``profileData``, and structures that are not profile properties
(``platformInfo``, ``events``: lists and objects). A date value is written ``$D_<epoch seconds>``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias

__all__ = [
    "MAX_MAGNITUDE",
    "MAX_PROPERTIES",
    "OUT_OF_RANGE",
    "Date",
    "OnProblem",
    "Problem",
    "Progress",
    "Record",
    "Value",
    "normalise",
    "record_from",
]

MAX_PROPERTIES: Final = 1024
"""Properties kept from one record. CleverTap allows 256 custom properties per profile plus a
few dozen system fields; a record holding more (a ``profileData`` with 10,000 keys) is not a
CleverTap profile, and keeping all its keys would let one record grow inference's tables without
bound. The first ones are kept and a :class:`Problem` says how many were dropped."""


MAX_MAGNITUDE: Final = 2**63
"""The largest number (in absolute value) read. CleverTap stores numbers as 64-bit integers or
doubles; a larger one is not a CleverTap value, and would overflow ``infer``'s range rounding
(``10.0**400``) or its float counters. It is a :class:`Problem`, never a crash."""
OUT_OF_RANGE: Final = "a number out of range (beyond 2**63 either way, or not finite)"
_MAX_EPOCH_DIGITS: Final = 18
"""A ``$D_`` value with more digits than this is text, not a date (``int()`` of a 5,000-digit
string raises ValueError; an 18-digit epoch is still below 2**63)."""


def in_range(value: float) -> bool:
    """Whether a number (int or float) is one CleverTap can hold; False for NaN and infinity."""
    return -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE


@dataclass(frozen=True, slots=True)
class Date:
    """A CleverTap date value: ``$D_<epoch seconds>`` in the API, a dated column in a CSV."""

    epoch: int


Value: TypeAlias = str | int | float | bool | Date | list[str] | None
"""A normalised property value; a ``list[str]`` is a multi-value property."""


@dataclass(frozen=True, slots=True)
class Record:
    """One profile as read. ``properties`` holds ``profileData`` merged with the top-level
    system fields (a ``profileData`` key wins over a top-level one of the same name)."""

    source: str
    """Where it came from: the file's name as given, or ``"api page 3"``; never a value."""
    number: int
    """1-based position within its source: the line for NDJSON, the row for CSV (not counting
    the header), the element for JSON arrays and API pages."""
    properties: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class Problem:
    """A bad file, record, line or field, by position only: ``what`` never quotes input."""

    source: str
    number: int | None
    """The record (or line) number, or ``None`` for the file as a whole."""
    property: str | None
    what: str

    def __str__(self) -> str:
        where = self.source
        if self.number is not None:
            where += f": record {self.number}"
        if self.property is not None:
            where += f", property {self.property!r}"
        return f"{where}: {self.what}"


OnProblem: TypeAlias = Callable[[Problem], None]


class Progress(Protocol):
    """Told how far reading got; a terminal shows it, a pipe gets nothing (see ``progress``)."""

    def update(self, records: int, bytes_read: int) -> None:
        """``records`` read so far in the whole run, ``bytes_read`` of the files as stored."""

    def finish(self) -> None:
        """Reading has ended (normally or not): clear the line."""


_DATE_PREFIX: Final = "$D_"


def _date(text: str) -> Date | None:
    digits = text[3:]
    if (
        len(digits) <= _MAX_EPOCH_DIGITS
        and digits.isascii()
        and (digits.isdigit() or (digits[:1] == "-" and digits[1:].isdigit()))
    ):
        return Date(int(digits))
    return None


def normalise(value: object) -> tuple[Value, str | None]:
    """``(value, None)`` for a value CleverTap can hold, else ``(None, why)`` with a reason that
    quotes nothing. JSON gives str, int, float, bool, None, list and dict only."""
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if text.startswith(_DATE_PREFIX):
            date = _date(text)
            if date is not None:
                return date, None
        return text, None
    if kind is bool or value is None:
        return value, None  # type: ignore[return-value]
    if kind is int:
        if in_range(value):  # type: ignore[arg-type]
            return value, None  # type: ignore[return-value]
        return None, OUT_OF_RANGE
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            return None, "a number that is not finite (NaN or Infinity)"
        if in_range(value):  # type: ignore[arg-type]
            return value, None  # type: ignore[return-value]
        return None, OUT_OF_RANGE
    if kind is list:
        items: list[object] = value  # type: ignore[assignment]
        if all(type(item) is str for item in items):
            return items, None  # type: ignore[return-value]
        return (
            None,
            "a list holding something other than strings (multi-value lists hold strings)",
        )
    if kind is dict:
        return None, "a nested object (CleverTap profile properties are flat)"
    return None, "a value of an unexpected type"


def record_from(source: str, number: int, data: object, on_problem: OnProblem) -> Record | None:
    """The record for one decoded JSON value, or ``None`` (after a problem) when it is not an
    object. Top-level lists and objects other than ``profileData`` (``platformInfo``,
    ``events``) are CleverTap's structures, not properties, and are skipped silently; inside
    ``profileData`` a value CleverTap cannot hold is a problem and is left out."""
    if type(data) is not dict:
        on_problem(Problem(source, number, None, "not a JSON object (a profile record is one)"))
        return None
    properties: dict[str, Value] = {}
    custom: object = None
    # no typing.cast here or in _merge: it is a function call at run time, once a value
    for key, value in data.items():
        kind = type(value)
        if kind is str:
            properties[key] = (_date(value) or value) if value[:3] == _DATE_PREFIX else value
        elif kind is bool or value is None or (kind is int and -_MAX <= value <= _MAX):
            properties[key] = value
        elif key == "profileData":
            custom = value
        elif kind is float or (kind is list and _strings(value)):  # a huge int: left out
            normal, why = normalise(value)
            if why is None:
                properties[key] = normal
    if custom is not None:
        if type(custom) is not dict:
            on_problem(Problem(source, number, "profileData", "not a JSON object"))
        else:
            _merge(source, number, custom, properties, on_problem)
    return Record(source, number, properties)


_MAX: Final = MAX_MAGNITUDE


def _strings(items: list[object]) -> bool:
    return all(type(item) is str for item in items)


def _merge(
    source: str,
    number: int,
    custom: dict[str, object],
    properties: dict[str, Value],
    on_problem: OnProblem,
) -> None:
    room = MAX_PROPERTIES - len(properties)
    items = custom.items()
    if len(custom) > room:
        on_problem(
            Problem(
                source,
                number,
                "profileData",
                f"holds {len(custom)} properties; CleverTap allows 256 custom properties, "
                f"so only the first {room} are read",
            )
        )
        items = dict(itertools.islice(items, room)).items()
    for key, value in items:
        kind = type(value)
        if kind is str:
            text: str = value  # type: ignore[assignment]
            properties[key] = (_date(text) or text) if text[:3] == _DATE_PREFIX else text
        elif kind is bool or value is None or (kind is int and -_MAX <= value <= _MAX):  # type: ignore[operator]
            properties[key] = value  # type: ignore[assignment]
        else:
            normal, why = normalise(value)
            if why is None:
                properties[key] = normal
            else:
                on_problem(Problem(source, number, key, why))
