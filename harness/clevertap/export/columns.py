"""Raw records gathered by column and normalised a column at a time (``ctph infer``'s fast path).

:func:`~.records.record_from` normalises each value with a Python step and builds a
:class:`~.records.Record` per profile: about 6 us of a 200,000-record export's ~27 us per
record in ``infer`` (bench/bench_infer.py). :class:`RawColumns` takes the decoded JSON objects
as they are, appends each value to its property's column (the only per-value Python step left)
and normalises whole columns with C-level passes (``set(map(type, ...))``, ``map(str.startswith,
...)``, ``map(math.isfinite, ...)``): a column of plain strings, numbers and booleans, the usual
case, is kept as it is. The result is what ``record_from`` gives, value for value:

* top-level values CleverTap cannot hold (``platformInfo``, ``events``, a NaN) are dropped
  silently, as ``record_from`` skips them;
* in ``profileData``, such a value is a :class:`~.records.Problem` naming the record and the
  property. The columns do not know their records, so a batch with a bad value is scanned again
  (only then) and its records report their problems in their own key order, as
  ``record_from`` does; they come when the batch is folded, after the records read before it.
* anything unusual about a record (``profileData`` not an object, a key both at the top and in
  ``profileData``, more keys than :data:`~.records.MAX_PROPERTIES`) goes through
  ``record_from`` itself, so its rules live in one place.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from itertools import chain, compress, repeat
from operator import is_, not_
from typing import Any, Final, TypeAlias

from .records import (
    _DATE_PREFIX,
    MAX_MAGNITUDE,
    MAX_PROPERTIES,
    Date,
    OnProblem,
    Problem,
    Record,
    Value,
    _date,
    in_range,
    normalise,
    record_from,
)

__all__ = ["Column", "Counts", "RawColumns"]

_PLAIN: Final = frozenset({str, int, bool, type(None)})
"""Types kept as they are (a string only when none starts with ``$D_``)."""
_SCALAR: Final = frozenset({str, int, bool, type(None), float})
_LISTED: Final = _SCALAR | {list}
_OBJECTS: Final = frozenset({dict})
_LISTS: Final = frozenset({list})
_TEXT: Final = frozenset({str})

Counts: TypeAlias = dict[type, int]
"""How many values of each type a column holds."""
Column: TypeAlias = tuple[list[Value], "Counts | None"]
"""A normalised column, and its :data:`Counts` when known (see :meth:`RawColumns.take`)."""


class RawColumns:
    """One batch of records, by column: ``add`` each decoded record, then ``take`` the
    normalised columns (property name -> values, ``None`` for null, with their counts per
    type when known) and start again."""

    __slots__ = ("_custom", "_on_problem", "_rows", "_slow", "_top", "records")

    def __init__(self, on_problem: OnProblem) -> None:
        self._on_problem = on_problem
        self._top: defaultdict[str, list[Any]] = defaultdict(list)
        self._custom: defaultdict[str, list[Any]] = defaultdict(list)
        self._slow: defaultdict[str, list[Any]] = defaultdict(list)
        self._rows: list[tuple[str, int, dict[str, Any]]] = []
        self.records = 0
        """Records added since the last :meth:`take` (those that were objects)."""

    def add(self, source: str, number: int, data: object) -> None:
        """One decoded JSON value, record ``number`` of ``source``."""
        if type(data) is dict:
            custom: Any = data.get("profileData")
            kind = type(custom)
            if kind is dict:
                if len(custom) + len(data) <= MAX_PROPERTIES and custom.keys().isdisjoint(data):
                    top = self._top
                    for key, value in data.items():
                        top[key].append(value)
                    columns = self._custom
                    for key, value in custom.items():
                        columns[key].append(value)
                    self._rows.append((source, number, custom))
                    self.records += 1
                    return
            elif kind not in _SCALAR or kind is float:
                pass  # a list or a number for profileData: record_from says what is wrong
            elif len(data) <= MAX_PROPERTIES:
                top = self._top
                for key, value in data.items():
                    top[key].append(value)
                self.records += 1
                return
        record = record_from(source, number, data, self._on_problem)
        if record is not None:
            self.add_record(record)

    def add_record(self, record: Record) -> None:
        """A record another reader (CSV, JSON document, API) normalised already."""
        slow = self._slow
        for key, value in record.properties.items():
            slow[key].append(value)
        self.records += 1

    def take(self) -> dict[str, Column]:
        """The batch's columns, normalised; problems with ``profileData`` values reported.

        Each column comes with how many values of each type it holds, when the normalising
        passes learned that (``None`` when not): the columns are folded into inference's
        counters thousands of records later, when their values are no longer in the CPU's
        cache, and a pass there to learn the types again cost ~10 % of ``ctph infer``. The
        lists are new (the caller owns them)."""
        columns: dict[str, Column] = {}
        for key, values in self._top.items():
            if key == "profileData":  # kept only when it was a plain value, not an object
                values = [v for v in values if type(v) in _PLAIN]
                if not values:
                    continue
            kept, _, kinds = _normalised(values)
            if kept:
                columns[key] = (kept, kinds)
        bad: set[str] = set()
        for key, values in self._custom.items():
            kept, dropped, kinds = _normalised(values)
            if dropped:
                bad.add(key)
            if kept:
                _extend(columns, key, kept, kinds)
        if bad:
            self._report(bad)
        for key, values in self._slow.items():
            _extend(columns, key, values, None)
        self._top = defaultdict(list)
        self._custom = defaultdict(list)
        self._slow = defaultdict(list)
        self._rows = []
        self.records = 0
        return columns

    def _report(self, bad: set[str]) -> None:
        on_problem = self._on_problem
        for source, number, custom in self._rows:
            if bad.isdisjoint(custom):
                continue
            for key, value in custom.items():
                if key in bad:
                    _, why = normalise(value)
                    if why is not None:
                        on_problem(Problem(source, number, key, why))


def _extend(
    columns: dict[str, Column], key: str, values: list[Value], counts: Counts | None
) -> None:
    """Add to a column both at the top level and in ``profileData`` (or from a record)."""
    column = columns.get(key)
    if column is None:
        columns[key] = (values, counts)
        return
    column[0].extend(values)
    columns[key] = (column[0], None)  # rare: not worth adding the counts


def _normalised(values: list[Any]) -> tuple[list[Value], bool, Counts | None]:
    """``values`` as CleverTap values, whether any was dropped (not one it can hold), and
    how many of each type they hold (``None`` when that was not learned on the way: a
    mixed column with some of its strings turned into dates, or two of its types never
    picked out, booleans and nulls)."""
    types = set(map(type, values))
    dropped = False
    # each value's type, for picking one type's values out of a mixed column: one pass
    # shared by every pick (an int range, floats, lists, strings), made at the first
    kinds: list[type] = []
    counts: Counts = {}  # the picks' sizes
    if int in types:
        ints = _only(values, int, types, kinds, counts)
        if max(ints) > MAX_MAGNITUDE or min(ints) < -MAX_MAGNITUDE:
            types.add(object)  # not plain: out-of-range integers are dropped below
    if not types <= _PLAIN:
        if types == _OBJECTS:  # a top-level object (profileData itself, events): none is kept
            return [], True, None
        fine = types <= _LISTED
        if fine and float in types:
            floats = _only(values, float, types, kinds, counts)
            # all finite, so min and max are the extremes (a NaN would compare false)
            fine = (
                all(map(math.isfinite, floats))
                and min(floats) >= -MAX_MAGNITUDE
                and max(floats) <= MAX_MAGNITUDE
            )
        if fine and list in types:
            lists = _only(values, list, types, kinds, counts)
            items = set(map(type, chain.from_iterable(lists)))
            fine = items <= _TEXT
            if not fine and types == _LISTS and str not in items:  # platformInfo: lists of
                kept = list(filter(not_, values))  # objects, only an empty one is kept
                return kept, len(kept) < len(values), ({list: len(kept)} if kept else {})
        if not fine:
            kept = [v for v in map(_kept, values) if v is not _DROP]
            dropped = len(kept) < len(values)
            values = kept
            types = set(map(type, values))
            kinds = []
            counts = {}
    if str in types:
        strings = _only(values, str, types, kinds, counts)
        # one C-level search of the joined column rules out dates in most columns
        if _DATE_PREFIX in "\n".join(strings):
            if types == _TEXT and all(map(str.startswith, values, repeat(_DATE_PREFIX))):
                # the usual date column
                dates = _all_dates(values)
                if dates is not None:
                    return dates, dropped, {Date: len(dates)}
            values = [_dated(v) if type(v) is str else v for v in values]
            return values, dropped, None
    if len(types) == 1:
        return values, dropped, {types.pop(): len(values)}
    unpicked = types.difference(counts)
    if len(unpicked) == 1:  # the rest of the column
        counts[unpicked.pop()] = len(values) - sum(counts.values())
        return values, dropped, counts
    return values, dropped, None if unpicked else counts


def _all_dates(values: list[str]) -> list[Any] | None:
    """A date column (every value ``$D_...``) converted with C-level passes, or ``None``
    unless every value is ``$D_`` and ASCII digits (an epoch before 1970 or a bad one: the
    caller converts them one by one).

    The digits come from one split of the joined column: every value starts with ``$D_``
    (checked by the caller), so when the split gives one part per value, no value holds a
    second ``$D_`` and the parts are the values' digits in order (a slice per value was a
    Python step each). The dates are made without the frozen dataclass' ``__init__``, whose
    ``object.__setattr__`` made each date cost twice as much: the slot is set through its
    descriptor, which is what that ``__init__`` does. 74 us for 256 dates, against 103 us
    with a slice and a ``Date(...)`` per value."""
    digits = "".join(values).split(_DATE_PREFIX)
    del digits[0]  # "" before the first value's prefix
    joined = "".join(digits)
    if (
        len(digits) == len(values)
        and all(digits)
        and joined.isascii()
        and joined.isdigit()
        and max(map(len, digits)) <= 18
    ):
        dates = list(map(_new, repeat(Date, len(digits))))
        deque(map(_set_epoch, dates, map(int, digits)), maxlen=0)
        return dates
    return None


_new: Final = object.__new__
_set_epoch: Final = Date.__dict__["epoch"].__set__
"""``Date.epoch``'s slot descriptor: sets the field of a :class:`Date` made by ``_new``."""


_DROP: Final = object()


def _kept(value: Any) -> Any:
    """``value``, or ``_DROP`` for one :func:`~.records.normalise` refuses."""
    kind = type(value)
    if kind is float or kind is int:
        return value if in_range(value) else _DROP  # NaN is not in range
    if kind is list:
        return value if set(map(type, value)) <= _TEXT else _DROP
    if kind is dict:
        return _DROP
    return value


def _only(
    values: list[Any], kind: type, types: set[type], kinds: list[type], counts: Counts
) -> list[Any]:
    """The values of type ``kind`` (all of them when the column has one type), counted in
    ``counts``; ``kinds``: the values' types, filled here on first use (empty until then)."""
    if len(types) == 1:
        return values
    if not kinds:
        kinds += map(type, values)
    picked = list(compress(values, map(is_, kinds, repeat(kind))))
    counts[kind] = len(picked)
    return picked


def _dated(text: str) -> Value:
    return (_date(text) or text) if text[:3] == _DATE_PREFIX else text
