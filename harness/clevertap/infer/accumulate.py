"""One pass over the records: per-property counters in bounded memory.

Each property keeps counts (per type, per personal-data shape), extremes, and three bounded
trackers that switch themselves off once they have their answer: the distinct values (only
while few: an enum candidate), the values seen so far (only for id-like strings and integers,
only until one repeats: ``unique``), and the id shapes (only while the values have one). So a
free-text or high-cardinality property costs a few counters, however many records there are.
Values are held in memory while counting (never written anywhere); what leaves is decided by
:mod:`.declare`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from ..export.records import Date
from .shapes import is_card_number, is_email, is_phone, is_uuid4, shape_of

__all__ = ["ENUM_MAX", "Accumulator", "PropertyStats"]

ENUM_MAX: Final = 20
"""An enum has at most this many distinct values (issue 17)."""
_SHAPES_MAX: Final = 32
"""Distinct id shapes tracked before a property is judged too varied for a pattern."""
_PREFIXES_MAX: Final = 16
_SEEN_MAX: Final = 200_000
"""Values tracked for ``unique`` per property; past it, uniqueness is not claimed."""
_ID_MAX_CHARS: Final = 64
_HEX: Final = "0123456789abcdef"
_FOLD: Final = str.maketrans("9aA", "xxx")


class PropertyStats:
    """What one property's values looked like. Mutable while reading, then read by declare."""

    __slots__ = (
        "bools",
        "cards",
        "classes",
        "dates",
        "emails",
        "floats",
        "folded",
        "hex",
        "idlike",
        "ints",
        "item_chars",
        "lists",
        "max_items",
        "max_len",
        "nulls",
        "num_max",
        "num_min",
        "phones",
        "prefixes",
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
        self.max_len = self.max_items = self.item_chars = 0
        self.num_min: float | None = None
        self.num_max: float | None = None
        # value -> profiles holding it, while at most ENUM_MAX distinct (else None)
        self.values: dict[Any, int] | None = {}
        # every value so far while none repeated (else None); `unique` says which ended it
        self.seen: set[Any] | None = set()
        self.unique = True
        # id shape -> count while few (else None); leading-letters prefix -> count
        # while every string has an id shape: the shapes (and the shapes with letters and
        # digits folded into one class) while few, the classes seen, the leading letters
        self.idlike = True
        self.shapes: dict[str, int] | None = {}
        self.folded: set[str] | None = set()
        self.classes = ""
        self.prefixes: dict[str, int] | None = {}
        self.uuid4 = self.hex = True

    @property
    def present(self) -> int:
        """Profiles with a non-null value."""
        return self.strings + self.ints + self.floats + self.bools + self.dates + self.lists

    def _count(self, value: Any) -> None:
        values = self.values
        if values is not None:
            if value in values:
                values[value] += 1
            elif len(values) < ENUM_MAX:
                values[value] = 1
            else:
                self.values = None

    def _see(self, value: Any) -> None:
        seen = self.seen
        if seen is None:
            return
        if value in seen or len(seen) >= _SEEN_MAX:
            self.seen, self.unique = None, False
        else:
            seen.add(value)

    def add_string(self, value: str) -> None:
        self.strings += 1
        n = len(value)
        if n > self.max_len:
            self.max_len = n
        self._count(value)
        if "@" in value and is_email(value):
            self.emails += 1
        elif value[:1].isdigit() or value[:1] in "+(":
            if is_phone(value):
                self.phones += 1
            if is_card_number(value):
                self.cards += 1
        if not self.idlike:
            return
        shape = shape_of(value) if n <= _ID_MAX_CHARS else None
        if shape is None:  # free text: no id shape, and not worth remembering for `unique`
            self.idlike = False
            self.shapes = self.folded = self.prefixes = None
            self.seen, self.unique = None, False
            return
        self._see(value)
        if self.uuid4 and not is_uuid4(value):
            self.uuid4 = False
        if self.hex and value.strip(_HEX):
            self.hex = False
        for char in "9aA":
            if char not in self.classes and char in shape:
                self.classes += char
        shapes = self.shapes
        if shapes is not None:
            if shape in shapes:
                shapes[shape] += 1
            elif len(shapes) < _SHAPES_MAX:
                shapes[shape] = 1
            else:
                self.shapes = None
        folded_shapes = self.folded
        if folded_shapes is not None:
            folded = shape.translate(_FOLD)
            if folded not in folded_shapes:
                if len(folded_shapes) < _SHAPES_MAX:
                    folded_shapes.add(folded)
                else:
                    self.folded = None
        prefixes = self.prefixes
        if prefixes is not None:
            head = value[: len(shape) - len(shape.lstrip("aA"))]
            if head in prefixes:
                prefixes[head] += 1
            elif len(prefixes) < _PREFIXES_MAX:
                prefixes[head] = 1
            else:
                self.prefixes = None

    def add_int(self, value: int) -> None:
        self.ints += 1
        self._number(value)
        self._count(value)
        self._see(value)

    def add_float(self, value: float) -> None:
        self.floats += 1
        self._number(value)
        self.values = None
        if self.seen is not None:
            self.seen, self.unique = None, False

    def _number(self, value: float) -> None:
        if self.num_min is None or value < self.num_min:
            self.num_min = value
        if self.num_max is None or value > self.num_max:
            self.num_max = value

    def add_list(self, value: list[Any]) -> None:
        self.lists += 1
        if len(value) > self.max_items:
            self.max_items = len(value)
        for item in value:
            if isinstance(item, str) and len(item) > self.item_chars:
                self.item_chars = len(item)


_ADDERS: Final[dict[type, Callable[[PropertyStats, Any], None]]] = {
    str: PropertyStats.add_string,
    int: PropertyStats.add_int,
    float: PropertyStats.add_float,
    list: PropertyStats.add_list,
}


class Accumulator:
    """All properties' stats over the records fed to :meth:`add`, in one pass.

    ``names`` maps a lower-cased system field name to CleverTap's spelling (``email`` ->
    ``Email``), so ``identity`` at a record's top level and ``Identity`` in its profileData
    are one property, as templates address them."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.profiles = 0
        self.stats: dict[str, PropertyStats] = {}
        self._names = dict(names)
        self._spelled: dict[str, str] = {}

    def add(self, properties: Mapping[str, Any]) -> None:
        self.profiles += 1
        stats, spelled = self.stats, self._spelled
        for key, value in properties.items():
            name = spelled.get(key)
            if name is None:
                name = spelled[key] = self._names.get(key.lower(), key)
            entry = stats.get(name)
            if entry is None:
                entry = stats[name] = PropertyStats()
            if value is None:
                entry.nulls += 1
                continue
            adder = _ADDERS.get(type(value))
            if adder is not None:
                adder(entry, value)
            elif type(value) is bool:
                entry.bools += 1
            elif isinstance(value, Date):
                entry.dates += 1
            else:  # a reader hands over only Value types; anything else counts as a string
                entry.add_string(str(value))

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        for properties in records:
            self.add(properties)
