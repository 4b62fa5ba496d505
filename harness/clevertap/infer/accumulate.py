"""One pass over the records: per-property counters in bounded memory.

Records are gathered column-wise in batches of :data:`BATCH` (one list of values per
property), and each column is folded into its property's counters with C-level builtins
(``Counter``, ``map``, ``min``/``max``, set operations) instead of a Python step per value:
that is what keeps ``ctph infer`` near the speed of the JSON parsing itself (bench/bench_infer.py).

Each property keeps counts (per type, per personal-data shape), extremes, and bounded trackers
that switch themselves off once they have their answer: the distinct strings (only while few:
an enum candidate), the values seen so far (only for id-like strings and integers, only until
one repeats: ``unique``), and the id shapes (only while the values have one). So a free-text or
high-cardinality property costs a few counters, however many records there are. Values are
held in memory while counting (never written anywhere); what leaves is decided by
:mod:`.declare`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from itertools import compress, repeat
from operator import is_, is_not
from typing import Any, Final

from ..export.columns import RawColumns
from ..export.reading import Raw
from ..export.records import Date, OnProblem, Record
from .shapes import ID_CHARS, UUID4_RE, is_card_number, is_email, is_phone

__all__ = ["BATCH", "ENUM_MAX", "Accumulator", "PropertyStats"]

ENUM_MAX: Final = 20
"""An enum has at most this many distinct values (issue 17)."""
BATCH: Final = 4096
"""Records gathered before their columns are folded into the counters."""
RAW_BATCH: Final = 256
"""Decoded NDJSON objects normalised by column at a time (:meth:`Accumulator.add_read`):
few, so their dicts are freed while still in the CPU's cache. With 4096 a batch (their values
are kept that long anyway) infer took 28 us a record against 26 us for a Record per line."""
_SHAPES_MAX: Final = 32
"""Distinct id shapes tracked before a property is judged too varied for one exact pattern."""
_SHAPE_CHECKS: Final = BATCH
"""Values of a property checked for an email, phone or card shape: the first ones, a sample
whose shares decide (a property flagged personal only loses values, never leaks them)."""
_SEEN_MAX: Final = 200_000
"""Values tracked for ``unique`` per property; past it, uniqueness is not claimed."""
_ID_MAX_CHARS: Final = 64
_HEX: Final = "0123456789abcdef"
_CLASS_BYTES: Final = bytes.maketrans(
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    b"9" * 10 + b"a" * 26 + b"A" * 26,
)
"""A shape's classes, by byte: any digit is ``9``, a lower-case letter ``a``, an upper-case
one ``A``; the rest stays (ID_CHARS' separators are kept literally)."""
_ID_BYTES: Final = (ID_CHARS + "\n").encode("ascii")
_HEX_BYTES: Final = (_HEX + "\n").encode("ascii")
_FOLD_BYTES: Final = bytes.maketrans(b"9aA", b"xxx")
"""A shape (:data:`_CLASS_BYTES`) with letters and digits folded into one class."""
_LEADING_LETTERS: Final = re.compile(r"[A-Za-z]*")
_UUID4_FULL: Final = UUID4_RE.fullmatch
_NUMERIC_START: Final = frozenset("0123456789+(")
_TEXT: Final = frozenset({str})
_CATEGORY: Final[dict[type, type | None]] = {
    str: str, int: float, float: float, bool: bool, Date: Date, list: list, type(None): None
}  # fmt: skip
"""A value's type as declare groups them (an integer mixed with floats is a number; any other
type is counted as text): two groups in one property is a mix, never declared."""


def _add_shapes(known: Counter[str] | set[str], shapes: bytes, count: int) -> None:
    """Add ``count`` shapes joined by newlines (ASCII) to a Counter or a set of at most
    :data:`_SHAPES_MAX`. Ids usually share one shape or a few: when the shapes known so far
    account for every value (each counted in the batch with its newlines doubled, so one
    match is one whole value, never two overlapping), or the batch has one shape (compared
    with its first shape repeated: memcmp), that is added, not 4096 split strings."""
    if known and "" not in known:
        spaced = b"\n" + shapes.replace(b"\n", b"\n\n") + b"\n"
        found = {s: spaced.count(b"\n" + s.encode("ascii") + b"\n") for s in known}
        if sum(found.values()) == count:
            if isinstance(known, Counter):
                known.update(found)  # adds the counts; no new key, so the order stays
            return
    first = shapes.partition(b"\n")[0]
    if shapes == b"\n".join([first] * count):
        known.update(dict.fromkeys([first.decode("ascii")], count))  # Counter: adds count
    else:
        known.update(shapes.decode("ascii").split("\n"))


class PropertyStats:
    """What one property's values looked like: filled by :meth:`absorb`, read by declare."""

    __slots__ = (
        "bools",
        "cards",
        "caught_up",
        "checked",
        "classes",
        "counts_only",
        "dates",
        "emails",
        "floats",
        "folded",
        "hex",
        "idlike",
        "ints",
        "lists",
        "max_items",
        "max_len",
        "mixed",
        "nulls",
        "num_max",
        "num_min",
        "phones",
        "prefix",
        "prefixed",
        "seen",
        "shapes",
        "strings",
        "unique",
        "uuid4",
        "values",
    )

    def __init__(self) -> None:
        self.strings = self.ints = self.floats = self.bools = self.dates = self.lists = 0
        self.nulls = 0
        self.emails = self.phones = self.cards = 0
        self.max_len = self.max_items = 0
        self.num_min: float | None = None
        self.num_max: float | None = None
        # string -> profiles holding it, while at most ENUM_MAX distinct (else None)
        self.values: Counter[str] | None = Counter()
        # every id-like string or integer so far while none repeated (else None)
        self.seen: set[Any] | None = set()
        self.unique = True
        # while every string has an id shape: the shapes (and the shapes with letters and
        # digits folded into one class) while few, the classes seen, the leading letters
        self.idlike = True
        self.shapes: Counter[str] | None = Counter()
        self.folded: set[str] | None = set()
        self.classes = ""
        self.prefix: str | None = None
        """The leading letters most common in the first batch, and how many values have them
        (a prefix is written only when >= 95 % of values share it: the first batch's most
        common one is the only candidate)."""
        self.prefixed = 0
        self.checked = 0
        self.caught_up = False
        self.uuid4 = self.hex = True
        self.counts_only = False
        """Only the type and null counts still matter: a standard field (declared by
        ``always`` alone) or a property already seen with mixed types (never declared, its
        warning gives the counts). Set by :meth:`only_count` or by :meth:`absorb`."""
        self.mixed = False
        """Seen with mixed types: a batch whose types are not told is counted with a
        ``Counter`` at once (a standard field first tries one ``set`` pass: usually one type,
        then counted by ``len``, 5x cheaper than the ``Counter``)."""

    def only_count(self) -> None:
        """From now on count types and nulls only (see :attr:`counts_only`)."""
        self.counts_only = True
        self.values = self.shapes = self.folded = self.seen = None

    @property
    def present(self) -> int:
        """Profiles with a non-null value."""
        return self.strings + self.ints + self.floats + self.bools + self.dates + self.lists

    def absorb(self, column: list[Any], types: set[type] | None = None) -> None:
        """Fold one batch of this property's values (``None`` for null) into the counters;
        ``types``: the values' types when the caller knows them (saves a pass)."""
        if self.counts_only:
            if types is None and not self.mixed:  # a standard field: usually one type
                types = set(map(type, column))
            if types is not None and len(types) == 1:
                (only,) = types
                self._count(only, len(column))
                return
            for kind, count in Counter(map(type, column)).items():
                self._count(kind, count)
            return
        if types is None:
            types = set(map(type, column))
        if len(types) == 1:
            (only,) = types
            self._typed(only, column)
            return
        if len(types) == 2 and type(None) in types:  # the usual mix: a value or null
            (kind,) = types - {type(None)}
            values = list(compress(column, map(is_not, column, repeat(None))))
            self.nulls += len(column) - len(values)
            self._typed(kind, values)
            return
        kinds = list(map(type, column))
        for kind in types:
            self._typed(kind, list(compress(column, map(is_, kinds, repeat(kind)))))
        if len({_CATEGORY.get(kind, str) for kind in types} - {None}) > 1:
            self.mixed = True
            self.only_count()  # mixed types for good: declare warns with the counts only

    def add_counts(self, counts: Mapping[type, int]) -> None:
        """For a property that only counts (:attr:`counts_only`): a batch told by the
        number of its values of each type (a reader that learned them), not by its values."""
        for kind, count in counts.items():
            self._count(kind, count)

    def _count(self, kind: type, count: int) -> None:
        """What :meth:`_typed` adds to the type and null counts, without the rest."""
        if kind is int:
            self.ints += count
        elif kind is float:
            self.floats += count
        elif kind is bool:
            self.bools += count
        elif kind is Date:
            self.dates += count
        elif kind is list:
            self.lists += count
        elif kind is type(None):
            self.nulls += count
        else:  # str, and anything else _typed counts as text
            self.strings += count

    def _typed(self, kind: type, values: list[Any]) -> None:
        if kind is str:
            self._strings(values)
        elif kind is int:
            self._ints(values)
        elif kind is float:
            self.floats += len(values)
            self._extremes(values)
            self._not_unique()
        elif kind is bool:
            self.bools += len(values)
        elif kind is Date:
            self.dates += len(values)
        elif kind is list:
            self._lists(values)
        elif kind is type(None):
            self.nulls += len(values)
        else:  # a reader hands over only CleverTap's value types; anything else is text
            self._strings([str(v) for v in values])

    def _not_unique(self) -> None:
        self.seen, self.unique = None, False

    def _see(self, values: list[Any]) -> None:
        seen = self.seen
        if seen is None:
            return
        # one pass: the set grows by one per value exactly when no value repeats, in the
        # batch or from before (a set of the batch, a disjointness test and a union took three)
        size = len(seen)
        seen.update(values)
        if len(seen) != size + len(values) or len(seen) > _SEEN_MAX:
            self._not_unique()

    def _extremes(self, values: list[Any]) -> None:
        low, high = min(values), max(values)
        if self.num_min is None or low < self.num_min:
            self.num_min = low
        if self.num_max is None or high > self.num_max:
            self.num_max = high

    def _ints(self, values: list[int]) -> None:
        self.ints += len(values)
        self._extremes(values)
        self._see(values)

    def _lists(self, values: list[list[Any]]) -> None:
        self.lists += len(values)
        self.max_items = max(self.max_items, max(map(len, values)))

    def _strings(self, values: list[str]) -> None:
        self.strings += len(values)
        self.max_len = max(self.max_len, max(map(len, values)))
        few = self.values
        if few is not None:
            few.update(values)
            if len(few) > ENUM_MAX:
                # no enum after all: the id trackers, skipped while it might have been one,
                # catch up on every value so far (this batch included) from the counts
                self.values = None
                if self.idlike:
                    self._ids(list(few.elements()))
        if self.checked < _SHAPE_CHECKS:
            sample = values[: _SHAPE_CHECKS - self.checked]
            self.checked += len(sample)
            with_at = compress(sample, map(str.__contains__, sample, repeat("@")))
            self.emails += sum(map(is_email, with_at))
            numeric = [v for v in sample if v[:1] in _NUMERIC_START]
            if numeric:
                self.phones += sum(map(is_phone, numeric))
                self.cards += sum(map(is_card_number, numeric))
        if self.idlike and few is None:
            self._ids(values)

    def finish(self) -> None:
        """Bring the id trackers up to date when the values stayed few (see _strings)."""
        if self.values and self.idlike and not self.caught_up:
            self.caught_up = True  # `stats` may be read twice
            self._ids(list(self.values.elements()))

    def _ids(self, values: list[str]) -> None:
        if not values:
            return
        # the whole batch's classes in one C-level pass: a character outside an id's (a space,
        # punctuation, a non-ASCII letter) survives deleting them; the newlines joining the
        # values are deleted too, so past this check no value holds one and the joined text
        # splits back into the values' shapes, and counts prefixes, without a step per value.
        # The passes run on the ASCII bytes (bytes.translate is a 256-entry table lookup, a
        # few times faster than str.translate's): text that is not ASCII is no id anyway.
        joined = "\n".join(values)
        if self.max_len > _ID_MAX_CHARS or not joined.isascii():
            self._no_id()  # free text: no id shape, and not worth remembering for `unique`
            return
        raw = joined.encode("ascii")
        every = raw.translate(_CLASS_BYTES)
        if every.translate(None, _ID_BYTES) or every.count(b"\n") != len(values) - 1:
            self._no_id()  # a value holds another character, or a newline
            return
        known = self.classes
        self.classes = "".join(c for c in "9aA" if c in known or c.encode() in every)
        if "9" not in self.classes and self.strings >= BATCH:
            self._no_id()  # no digit in thousands of values: words or codes, not ids
            return
        self._see(values)
        if self.uuid4 and not all(map(_UUID4_FULL, values)):
            self.uuid4 = False
        if self.hex and raw.translate(None, _HEX_BYTES):  # a character that is not hex
            self.hex = False
        if self.shapes is not None:
            _add_shapes(self.shapes, every, len(values))
            if len(self.shapes) > _SHAPES_MAX:
                self.shapes = None
        if self.folded is not None:
            _add_shapes(self.folded, every.translate(_FOLD_BYTES), len(values))
            if len(self.folded) > _SHAPES_MAX:
                self.folded = None
        if self.prefix is None:  # the first batch: the most common leading letters
            heads = Counter(m.group() for m in map(_LEADING_LETTERS.match, values) if m)
            self.prefix, self.prefixed = heads.most_common(1)[0]
        elif self.prefix:  # then only how many values start with them (C-level)
            head = self.prefix
            self.prefixed += joined.startswith(head) + joined.count("\n" + head)

    def _no_id(self) -> None:
        self.idlike = False
        self.shapes = self.folded = None
        self._not_unique()


class Accumulator:
    """All properties' stats over the records fed to :meth:`add`, in one pass.

    ``names`` maps a lower-cased system field name to CleverTap's spelling (``email`` ->
    ``Email``), so ``identity`` at a record's top level and ``Identity`` in its profileData
    are one property, as templates address them. ``counted`` names the properties whose type
    and null counts are all that is needed (the standard fields, which declare gives only
    ``always``): they skip the shape trackers. Read :attr:`stats` once every record is added
    (it folds the last batch)."""

    def __init__(self, names: Mapping[str, str], counted: Iterable[str] = ()) -> None:
        self.profiles = 0
        self._counted = frozenset(counted)
        self._stats: dict[str, PropertyStats] = {}
        self._names = dict(names)
        self._columns: defaultdict[str, list[Any]] = defaultdict(list)
        self._kinds: dict[str, set[type] | None] = {}
        """The pending columns' types, when :meth:`_gather` was told them."""
        self._counting: dict[str, PropertyStats] = {}
        """Column names whose property only counts types (:attr:`PropertyStats.counts_only`)."""
        self._pending = 0

    def add(self, properties: Mapping[str, Any]) -> None:
        columns = self._columns
        for key, value in properties.items():
            columns[key].append(value)
        self.profiles += 1
        self._pending += 1
        if self._pending >= BATCH:
            self._fold()

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        for properties in records:
            self.add(properties)

    def add_read(self, items: Iterable[Record | Raw], on_problem: OnProblem) -> None:
        """Every item of :func:`~..export.reading.read_raw`: NDJSON objects as they were
        decoded, normalised by column (:class:`~..export.columns.RawColumns`, which reports
        their bad values to ``on_problem``), and records of the other formats."""
        batch = RawColumns(on_problem)
        add, add_record = batch.add, batch.add_record
        for item in items:
            if type(item) is tuple:
                source, number, data = item
                add(source, number, data)
            else:
                add_record(item)  # type: ignore[arg-type]
            if batch.records >= RAW_BATCH:
                self._gather(batch)
        self._gather(batch)

    def _gather(self, batch: RawColumns) -> None:
        """Move ``batch``'s normalised columns to the pending ones (folded every BATCH).

        A column whose property only counts types (a standard field, or one seen with mixed
        types) is counted now, while its values are still in the CPU's cache, instead of
        being kept for the fold: its counts do not depend on how batches are cut."""
        count = batch.records
        if not count:
            return
        columns, kinds, counted = self._columns, self._kinds, self._counting
        for key, (values, counts) in batch.take().items():
            entry = counted.get(key)
            if entry is not None:
                if counts is None:
                    entry.absorb(values)
                else:
                    entry.add_counts(counts)
                continue
            pending = columns.get(key)
            if pending is None:
                columns[key] = values  # take() hands over new lists
                kinds[key] = None if counts is None else set(counts)
            else:
                pending += values
                known = kinds.get(key)  # none when add() began the column
                kinds[key] = None if known is None or counts is None else known.union(counts)
        self.profiles += count
        self._pending += count
        if self._pending >= BATCH:
            self._fold()

    def _fold(self) -> None:
        kinds = self._kinds
        for key, column in self._columns.items():
            name = self._names.get(key.lower(), key)
            entry = self._stats.get(name)
            if entry is None:
                entry = self._stats[name] = PropertyStats()
                if name in self._counted:
                    entry.only_count()
            entry.absorb(column, kinds.get(key))
            if entry.counts_only:
                self._counting[key] = entry
        self._columns = defaultdict(list)
        self._kinds = {}
        self._pending = 0

    @property
    def stats(self) -> dict[str, PropertyStats]:
        if self._pending:
            self._fold()
        for entry in self._stats.values():
            entry.finish()
        return self._stats
