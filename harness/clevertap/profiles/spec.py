"""The public data types: PropertySpec (with its validation) and Profile.

Validation lives beside the spec, not in the config loader, so a spec built in code fails as early
and as clearly as one read from ``[tool.ctph.properties]``.
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias, cast, get_args

from ...errors import InputError, UsageError
from .limits import MAX_KEY_CHARS, MAX_LIST_ITEMS, MAX_VALUE_CHARS
from .regex import MatchTooSlow, fullmatch, pattern_problem

__all__ = [
    "FORBIDDEN_KEY_CHARS",
    "FORMATS",
    "NAMESPACES",
    "NO_SPECS",
    "PROPERTY_TYPES",
    "Path",
    "Profile",
    "PropertySpec",
    "PropertyType",
]


Path: TypeAlias = "tuple[str | int, ...]"
"""A path a template reads: a namespace (``"Profile"``/``"Event"``), then keys and list indexes."""

PropertyType = Literal["string", "number", "integer", "boolean", "date", "list", "enum", "pattern"]
PROPERTY_TYPES: Final[tuple[PropertyType, ...]] = (
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "list",
    "enum",
    "pattern",
)

FORBIDDEN_KEY_CHARS: Final = frozenset("%><!|&.:;$'\"\\#")
"""Characters CleverTap forbids in a key (a declaration's or an inferred property's name)."""
_CONFIG_KEYS: Final = (
    "type",
    "values",
    "pattern",
    "always",
    "unique",
    "format",
    "open",
    "min",
    "max",
    "max_length",
)

Format = Literal["email", "phone", "name", "address", "date_of_birth", "push_token", "card_number"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)
"""Kinds of personal data a property may be declared as (``format = "email"``): ``ctph infer``
declares personal properties by kind, never by value, and generation draws such a property's
values from the shipped corpus (names, emails, phones) or a shape (tokens, card numbers)."""
_UNIQUE_TYPES: Final[tuple[PropertyType, ...]] = ("string", "number", "integer", "date", "pattern")
_DATE_RE: Final = re.compile(r"\$D_-?[0-9]+")

NAMESPACES: Final = ("Profile", "Event")
"""The namespaces that hold profile data; a read under any other root (``Linked``, ...) is not
generated."""

NO_SPECS: Final[Mapping[str, PropertySpec]] = types.MappingProxyType({})
"""No declared properties: the default wherever ``specs`` is optional."""


@dataclass(frozen=True)
class PropertySpec:
    """What the account knows about one custom property (``[tool.ctph.properties]``).

    ``name`` is the property key, optionally qualified (``"Profile.Tier"``, ``"Event.Amount"``,
    ``"Event.Items.Category"`` for a key inside Charged items); an unqualified name applies to both
    namespaces. ``always`` means CleverTap guarantees the property on every profile, so the
    generator never leaves it out; ``unique`` means no two users share a value (an id), so no
    two generated profiles do; ``values``/``pattern`` constrain ``enum``/``pattern`` types.
    Construction validates, so a bad spec fails at config time with a message naming the key.
    """

    name: str
    type: PropertyType = "string"
    values: tuple[str | int | float | bool, ...] = ()
    pattern: str | None = None
    always: bool = False
    unique: bool = False
    format: Format | None = None
    """Personal data of this kind (:data:`FORMATS`): generated as such, never as free text."""
    open: bool = False
    """An enum whose ``values`` are the common ones, not all: generation also tries others."""
    min: float | None = None
    """With ``max``: the realistic range of a number or integer. Random profiles stay in it;
    edge cases (zero, negative, huge) still go beyond, as real data can."""
    max: float | None = None
    max_length: int | None = None
    """The most characters of a string, or items of a list, random profiles hold."""
    # Python's 0 == False == 0.0 would make `values = [0]` and `values = [false]` equal specs
    # (and share cached plans); the values' types take part in equality and hashing.
    _value_types: tuple[str, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.values, list):
            object.__setattr__(self, "values", tuple(self.values))  # keep the spec hashable
        if isinstance(self.values, tuple):
            object.__setattr__(self, "_value_types", tuple(type(v).__name__ for v in self.values))
        problem = _spec_problem(self)
        if problem:
            raise UsageError(f"[tool.ctph.properties] {self.name!r}: {problem}")

    @classmethod
    def from_config(cls, name: str, mapping: Mapping[str, Any] | str) -> PropertySpec:
        """Build a spec from one ``[tool.ctph.properties]`` entry.

        ``mapping`` is the TOML table (``{type = "enum", values = ["gold", "silver"]}``) or the
        shorthand type string (``"integer"``). ``type`` may be left out when ``values`` (enum) or
        ``pattern`` make it obvious. Raises :class:`~ctph_harness.errors.UsageError` naming the key
        and the problem, because the user has to find the line in their config.
        """
        where = f"[tool.ctph.properties] {name!r}"
        if isinstance(mapping, str):
            mapping = {"type": mapping}
        if not isinstance(mapping, Mapping):
            raise UsageError(
                f'{where}: expected a table such as {{type = "string"}} or a type name, '
                f"got {type(mapping).__name__}"
            )
        unknown = sorted(str(k) for k in mapping if k not in _CONFIG_KEYS)
        if unknown:
            raise UsageError(
                f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(_CONFIG_KEYS)}"
            )
        raw_type = mapping.get("type")
        if raw_type is None:
            raw_type = (
                "enum" if "values" in mapping else "pattern" if "pattern" in mapping else None
            )
        if raw_type is None:
            raw_type = "string"
        if raw_type not in PROPERTY_TYPES:
            raise UsageError(
                f"{where}: type {raw_type!r} is not one of {', '.join(PROPERTY_TYPES)}"
            )
        raw_values = mapping.get("values", ())
        if isinstance(raw_values, (str, bytes)) or not isinstance(raw_values, Sequence):
            raise UsageError(f"{where}: values must be a list, got {type(raw_values).__name__}")
        raw_pattern = mapping.get("pattern")
        if raw_pattern is not None and not isinstance(raw_pattern, str):
            raise UsageError(f"{where}: pattern must be a string")
        flags = {key: mapping.get(key, False) for key in ("always", "unique")}
        for key, flag in flags.items():
            if not isinstance(flag, bool):
                raise UsageError(f"{where}: {key} must be true or false, got {flag!r}")
        raw_format = mapping.get("format")  # checked with the rest when the spec is built
        raw_open = mapping.get("open", False)
        if not isinstance(raw_open, bool):
            raise UsageError(f"{where}: open must be true or false, got {raw_open!r}")
        bounds: dict[str, float | None] = {}
        for key in ("min", "max"):
            bound = mapping.get(key)
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, (int, float))
            ):
                raise UsageError(f"{where}: {key} must be a number, got {bound!r}")
            bounds[key] = bound
        raw_length = mapping.get("max_length")
        if raw_length is not None and (
            isinstance(raw_length, bool) or not isinstance(raw_length, int)
        ):
            raise UsageError(f"{where}: max_length must be a whole number, got {raw_length!r}")
        return cls(
            name=name,
            type=cast(PropertyType, raw_type),
            values=tuple(raw_values),
            pattern=raw_pattern,
            always=flags["always"],
            unique=flags["unique"],
            format=cast("Format | None", raw_format),
            open=raw_open,
            min=bounds["min"],
            max=bounds["max"],
            max_length=raw_length,
        )

    def accepts(self, value: Any) -> bool:
        """Whether CleverTap could hold ``value`` for this property (used by tests and checks)."""
        if self.type == "string":
            return isinstance(value, str) and len(value) <= (self.max_length or MAX_VALUE_CHARS)
        if self.type == "number":
            return (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and self._in_range(value)
            )
        if self.type == "integer":
            return isinstance(value, int) and not isinstance(value, bool) and self._in_range(value)
        if self.type == "boolean":
            return isinstance(value, bool)
        if self.type == "date":
            return isinstance(value, str) and _DATE_RE.fullmatch(value) is not None
        if self.type == "list":
            return (
                isinstance(value, list)
                and len(value) <= (self.max_length or MAX_LIST_ITEMS)
                and len(set(value)) == len(value)
                and all(isinstance(v, str) and len(v) <= MAX_VALUE_CHARS for v in value)
            )
        if self.type == "enum":
            if self.open:
                return any(type(v) is type(value) for v in self.values) and (
                    not isinstance(value, str) or len(value) <= MAX_VALUE_CHARS
                )
            return any(type(v) is type(value) and v == value for v in self.values)
        return (
            isinstance(value, str)
            and self.pattern is not None
            and len(value) <= MAX_VALUE_CHARS
            and _matches(self.pattern, value)
        )

    def _in_range(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True)
class Profile:
    """One user as a campaign template sees it.

    ``fields`` is the ``Profile`` object and ``event`` the ``Event`` object of the Liquid context;
    a property the user does not have is absent. ``kind`` says where the profile came from
    (``"random"``, ``"edge:missing:Email"``, ``"edge:quote:Event.Items[0].Category"``,
    ``"hypothesis"``) so a report can explain why such a user exists. The mappings are plain dicts
    (picklable across xdist workers); treat them as read-only.
    """

    index: int
    kind: str
    fields: Mapping[str, Any] = field(default_factory=dict, hash=False)
    event: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def context(self) -> dict[str, Any]:
        """The Liquid render context: ``{"Profile": ..., "Event": ...}``."""
        return {"Profile": self.fields, "Event": self.event}

    def size(self) -> int:
        """What "the smallest profile" compares: the JSON length of its fields and event."""
        return len(json.dumps([self.fields, self.event], default=str, ensure_ascii=False))

    def to_json(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict for reports (deep copies; nothing shared)."""
        out: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "Profile": _plain(self.fields),
        }
        if self.event:
            out["Event"] = _plain(self.event)
        return out

    def shown(self) -> dict[str, Any]:
        """The profile as a finding shows it: :meth:`to_json` without ``index`` and ``kind``,
        and just its fields when it has no event properties (the short form :meth:`from_json`
        also reads)."""
        if not self.event:
            return dict(_plain(self.fields))
        return {"Profile": _plain(self.fields), "Event": _plain(self.event)}

    @classmethod
    def from_json(cls, data: Any, *, index: int = 0, kind: str = "file") -> Profile:
        """Read a profile written by :meth:`to_json` or by hand (``ctph render --profile``).

        Accepts ``{"Profile": {...}, "Event": {...}}`` or a bare ``{...}`` of profile fields.
        """
        if not isinstance(data, Mapping):
            raise InputError(f"a profile must be a JSON object, got {type(data).__name__}")
        if "Profile" in data or "Event" in data:
            fields_, event = data.get("Profile", {}), data.get("Event", {})
            if isinstance(data.get("index"), int):
                index = data["index"]
            if isinstance(data.get("kind"), str):
                kind = data["kind"]
        else:
            fields_, event = data, {}
        if not isinstance(fields_, Mapping) or not isinstance(event, Mapping):
            raise InputError("a profile's 'Profile' and 'Event' entries must be JSON objects")
        return cls(index=index, kind=kind, fields=_plain(fields_), event=_plain(event))


def _matches(pattern: str, value: str) -> bool:
    """A bounded check (:func:`.regex.fullmatch`): a value that takes too long is refused."""
    try:
        return fullmatch(pattern, value)
    except MatchTooSlow:
        return False


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _spec_problem(spec: PropertySpec) -> str | None:
    """Why ``spec`` is unusable, or None; a function so both construction paths share it."""
    bare = spec.name
    if not isinstance(bare, str) or not bare.strip():
        return "the property name is empty"
    for ns in NAMESPACES:
        if bare.startswith(ns + "."):
            bare = bare[len(ns) + 1 :]
    for part in bare.split("."):
        if not part:
            return "the property name has an empty segment"
        if len(part) > MAX_KEY_CHARS:
            return f"CleverTap keys are at most {MAX_KEY_CHARS} characters"
        bad = sorted(set(part) & FORBIDDEN_KEY_CHARS)
        if bad:
            return f"CleverTap forbids {' '.join(bad)} in key names"
    if spec.type not in PROPERTY_TYPES:
        return f"type {spec.type!r} is not one of {', '.join(PROPERTY_TYPES)}"
    if not isinstance(spec.always, bool):
        return "always must be true or false"
    if not isinstance(spec.unique, bool):
        return "unique must be true or false"
    if spec.unique and spec.type not in _UNIQUE_TYPES:
        return (
            f"unique needs a type with a value per user ({', '.join(_UNIQUE_TYPES)}), "
            f"not {spec.type}"
        )
    if not isinstance(spec.values, tuple):
        return "values must be a list"
    if spec.type == "enum":
        if not spec.values:
            return "an enum needs a non-empty values list"
        for v in spec.values:
            if not isinstance(v, (str, int, float, bool)):
                return f"enum value {v!r} is not a string, number or boolean"
            if isinstance(v, str) and len(v) > MAX_VALUE_CHARS:
                return f"enum value longer than {MAX_VALUE_CHARS} characters"
            if isinstance(v, float) and not math.isfinite(v):
                return f"enum value {v!r} is not a finite number"
        if len({(type(v).__name__, v) for v in spec.values}) != len(spec.values):
            return "enum values repeat"
    elif spec.values:
        return f"values only apply to type enum, not {spec.type}"
    if spec.type == "pattern":
        if not spec.pattern:
            return "type pattern needs a non-empty pattern"
        problem = pattern_problem(spec.pattern)
        if problem:
            return f"cannot generate values matching pattern {spec.pattern!r}: {problem}"
    elif spec.pattern is not None:
        return f"pattern only applies to type pattern, not {spec.type}"
    return _extras_problem(spec)


_RANGED: Final[tuple[PropertyType, ...]] = ("number", "integer")


def _extras_problem(spec: PropertySpec) -> str | None:
    """The keys ``ctph infer`` writes (format, open, min/max, max_length), checked like the
    others so a hand edit that makes them contradict the type fails at config time."""
    if spec.format is not None:
        if spec.format not in FORMATS:
            return f"format {spec.format!r} is not one of {', '.join(FORMATS)}"
        if spec.type == "date" and spec.format != "date_of_birth":
            return f"format {spec.format} does not apply to type date (only date_of_birth)"
        if spec.type not in ("string", "date"):
            return f"format applies to type string (or date for date_of_birth), not {spec.type}"
    if not isinstance(spec.open, bool):
        return "open must be true or false"
    if spec.open and spec.type != "enum":
        return f"open only applies to type enum, not {spec.type}"
    if spec.open and any(isinstance(v, bool) for v in spec.values):
        return "an open enum cannot hold booleans (there is no other value to try)"
    for key, bound in (("min", spec.min), ("max", spec.max)):
        if bound is None:
            continue
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            return f"{key} must be a number"
        if not math.isfinite(bound):
            return f"{key} must be a finite number"
        if spec.type not in _RANGED:
            return f"{key} applies to type number or integer, not {spec.type}"
        if spec.type == "integer" and not isinstance(bound, int):
            return f"{key} of an integer must be a whole number"
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        return "min is greater than max"
    if spec.max_length is not None:
        if isinstance(spec.max_length, bool) or not isinstance(spec.max_length, int):
            return "max_length must be a whole number"
        if spec.type not in ("string", "list"):
            return f"max_length applies to type string or list, not {spec.type}"
        limit = MAX_VALUE_CHARS if spec.type == "string" else MAX_LIST_ITEMS
        if not 1 <= spec.max_length <= limit:
            return f"max_length of a {spec.type} must be 1 to {limit}"
    return None
