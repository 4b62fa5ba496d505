"""CleverTap user profiles to render campaign templates against.

A template is only as safe as the worst profile CleverTap will ever feed it, so this module
produces two kinds of profiles for the paths a template reads (``("Profile", "Email")``,
``("Event", "Items", 0, "Category")``, ...):

* **edge cases**, always first and always included: every read field missing, blank, at
  CleverTap's 512-character limit, holding each character that breaks JSON when inserted raw, a
  number or list or object where a string was expected. Free-text fields get the nasty characters;
  *format* fields (Email, Phone, Identity, Gender, DOB, MSG-*) only ever hold values CleverTap would
  accept for that format, so a finding on them is a real finding, not an impossible profile.
* **random profiles**: realistic faker values with realistic gaps (anonymous users have no
  Identity, many users have no Email or Phone).

Everything is a pure function of ``(seed, index, reads, specs)``: a per-index seed is derived with
hashlib (never ``hash()``, never global random state), and faker only fills value *pools* once per
seed, from which the per-index RNG picks. That keeps the output identical on every machine,
process, xdist worker and ``PYTHONHASHSEED``, and makes generation fast enough (tens of thousands
of profiles per second) to never be the bottleneck.

:func:`profile_strategy` exposes the same value space to Hypothesis, and :func:`shrink` reduces a
failing profile to the smallest one that still fails, so a report shows ``{"Name": "\\""}``
instead of forty faker fields. faker and hypothesis are imported on first use only: importing this
module is cheap, which matters because the pytest plugin imports it in every run.

A missing property is simply absent from :attr:`Profile.fields` / :attr:`Profile.event`, exactly
as CleverTap omits properties a user never had.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import math
import random
import re
import string
import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar, cast

from ..errors import InputError, UsageError

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "E164_RE",
    "EMAIL_RE",
    "MAX_KEY_CHARS",
    "MAX_LIST_ITEMS",
    "MAX_VALUE_CHARS",
    "PROPERTY_TYPES",
    "STANDARD_FIELDS",
    "Path",
    "Profile",
    "PropertySpec",
    "PropertyType",
    "generate",
    "profile_strategy",
    "shrink",
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

MAX_VALUE_CHARS: Final = 512
"""CleverTap's limit for a scalar property value and for each multi-value item (A3)."""
MAX_KEY_CHARS: Final = 120
"""CleverTap's limit for a custom property key (A3)."""
MAX_LIST_ITEMS: Final = 100
"""CleverTap keeps at most 100 items in a multi-value property (A3)."""

_T = TypeVar("_T")
_FORBIDDEN_KEY_CHARS: Final = frozenset("%><!|&.:;$'\"\\#")
_NAMESPACES: Final = ("Profile", "Event")
_CONFIG_KEYS: Final = ("type", "values", "pattern", "always")
_DATE_RE: Final = re.compile(r"\$D_-?[0-9]+")

# The reference instant for dates: a constant, never "now", so output does not drift with time.
_EPOCH_2025: Final = 1_735_689_600


class _Missing:
    """Marks "delete this property" in an edge definition; never appears in a Profile."""

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Final = _Missing()


# --------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertySpec:
    """What the account knows about one custom property (``[tool.ctph.properties]``).

    ``name`` is the property key, optionally qualified (``"Profile.Tier"``, ``"Event.Amount"``,
    ``"Event.Items.Category"`` for a key inside Charged items); an unqualified name applies to both
    namespaces. ``always`` means CleverTap guarantees the property on every profile, so the
    generator never leaves it out; ``values``/``pattern`` constrain ``enum``/``pattern`` types.
    Construction validates, so a bad spec fails at config time with a message naming the key.
    """

    name: str
    type: PropertyType = "string"
    values: tuple[str | int | float | bool, ...] = ()
    pattern: str | None = None
    always: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.values, list):
            object.__setattr__(self, "values", tuple(self.values))  # keep the spec hashable
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
        always = mapping.get("always", False)
        if not isinstance(always, bool):
            raise UsageError(f"{where}: always must be true or false, got {always!r}")
        return cls(
            name=name,
            type=cast(PropertyType, raw_type),
            values=tuple(raw_values),
            pattern=raw_pattern,
            always=always,
        )

    def accepts(self, value: Any) -> bool:
        """Whether CleverTap could hold ``value`` for this property (used by tests and checks)."""
        if self.type == "string":
            return isinstance(value, str) and len(value) <= MAX_VALUE_CHARS
        if self.type == "number":
            return (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
            )
        if self.type == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if self.type == "boolean":
            return isinstance(value, bool)
        if self.type == "date":
            return isinstance(value, str) and _DATE_RE.fullmatch(value) is not None
        if self.type == "list":
            return (
                isinstance(value, list)
                and len(value) <= MAX_LIST_ITEMS
                and len(set(value)) == len(value)
                and all(isinstance(v, str) and len(v) <= MAX_VALUE_CHARS for v in value)
            )
        if self.type == "enum":
            return any(type(v) is type(value) and v == value for v in self.values)
        return (
            isinstance(value, str)
            and self.pattern is not None
            and len(value) <= MAX_VALUE_CHARS
            and re.fullmatch(self.pattern, value) is not None
        )


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


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Spec validation and the pattern value generator
# --------------------------------------------------------------------------------------------


def _spec_problem(spec: PropertySpec) -> str | None:
    """Why ``spec`` is unusable, or None; a function so both construction paths share it."""
    bare = spec.name
    if not isinstance(bare, str) or not bare.strip():
        return "the property name is empty"
    for ns in _NAMESPACES:
        if bare.startswith(ns + "."):
            bare = bare[len(ns) + 1 :]
    for part in bare.split("."):
        if not part:
            return "the property name has an empty segment"
        if len(part) > MAX_KEY_CHARS:
            return f"CleverTap keys are at most {MAX_KEY_CHARS} characters"
        bad = sorted(set(part) & _FORBIDDEN_KEY_CHARS)
        if bad:
            return f"CleverTap forbids {' '.join(bad)} in key names"
    if spec.type not in PROPERTY_TYPES:
        return f"type {spec.type!r} is not one of {', '.join(PROPERTY_TYPES)}"
    if not isinstance(spec.always, bool):
        return "always must be true or false"
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
        try:
            re.compile(spec.pattern)
        except re.error as exc:
            return f"pattern {spec.pattern!r} does not compile: {exc}"
        if not _pattern_edges(spec.pattern):
            return (
                f"cannot generate values matching {spec.pattern!r} "
                "(lookarounds and backreferences are not supported)"
            )
    elif spec.pattern is not None:
        return f"pattern only applies to type pattern, not {spec.type}"
    return None


_REGEX_ALPHABET: Final = string.ascii_letters + string.digits + string.punctuation + " "
_REPEAT_SLACK: Final = 6


class _RegexUnsupported(Exception):
    pass


@lru_cache(maxsize=64)
def _regex_tree(pattern: str) -> Any:
    """The sre parse tree; ``re._parser`` is private but stable enough to walk, and far cheaper
    than importing Hypothesis just to produce a handful of matching strings."""
    name = "re._parser" if sys.version_info >= (3, 11) else "sre_parse"
    return importlib.import_module(name).parse(pattern)


def _in_class(items: Any, ch: str) -> bool:
    negate = False
    hit = False
    for op, av in items:
        kind = str(op)
        if kind == "NEGATE":
            negate = True
        elif kind == "LITERAL":
            hit = hit or ch == chr(av)
        elif kind == "RANGE":
            hit = hit or av[0] <= ord(ch) <= av[1]
        elif kind == "CATEGORY":
            cat = str(av)
            if cat.endswith("_DIGIT"):
                ok = ch.isdigit()
            elif cat.endswith("_SPACE"):
                ok = ch.isspace()
            elif cat.endswith("_WORD"):
                ok = ch.isalnum() or ch == "_"
            else:
                raise _RegexUnsupported(cat)
            hit = hit or (ok != ("_NOT_" in cat))
        else:
            raise _RegexUnsupported(kind)
    return hit != negate


def _emit_regex(
    items: Any, rng: random.Random, mode: str, out: list[str], groups: dict[int, str]
) -> None:
    for op, av in items:
        kind = str(op)
        if kind == "LITERAL":
            out.append(chr(av))
        elif kind == "NOT_LITERAL":
            out.append(rng.choice([c for c in _REGEX_ALPHABET if c != chr(av)]))
        elif kind == "ANY":
            out.append("a" if mode == "min" else rng.choice(_REGEX_ALPHABET))
        elif kind == "IN":
            simple = all(str(o) in ("LITERAL", "RANGE") for o, _ in av)
            if simple:
                o, a = av[0] if mode == "min" else rng.choice(av)
                lo, hi = (a, a) if str(o) == "LITERAL" else a
                out.append(chr(lo if mode == "min" else rng.randint(lo, hi)))
            else:
                allowed = [c for c in _REGEX_ALPHABET if _in_class(av, c)]
                if not allowed:
                    raise _RegexUnsupported("empty class")
                out.append(allowed[0] if mode == "min" else rng.choice(allowed))
        elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            hi = min(hi, lo + _REPEAT_SLACK)
            count = lo if mode == "min" else hi if mode == "max" else rng.randint(lo, hi)
            for _ in range(count):
                _emit_regex(sub, rng, mode, out, groups)
        elif kind == "SUBPATTERN":
            group, sub = av[0], av[-1]
            start = len(out)
            _emit_regex(sub, rng, mode, out, groups)
            if group:
                groups[group] = "".join(out[start:])
        elif kind == "ATOMIC_GROUP":
            _emit_regex(av, rng, mode, out, groups)
        elif kind == "BRANCH":
            alts = av[1]
            alt = alts[0] if mode == "min" else alts[-1] if mode == "max" else rng.choice(alts)
            _emit_regex(alt, rng, mode, out, groups)
        elif kind == "GROUPREF":
            out.append(groups.get(av, ""))
        elif kind == "GROUPREF_EXISTS":
            group, yes, no = av
            branch = yes if group in groups else no
            if branch is not None:
                _emit_regex(branch, rng, mode, out, groups)
        elif kind in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        else:
            raise _RegexUnsupported(kind)


def _regex_sample(pattern: str, rng: random.Random, mode: str) -> str | None:
    """One string fully matching ``pattern`` (shortest for ``mode="min"``), or None."""
    try:
        tree = _regex_tree(pattern)
        for attempt in range(20):
            out: list[str] = []
            _emit_regex(tree, rng, mode if attempt == 0 else "random", out, {})
            text = "".join(out)
            if len(text) <= MAX_VALUE_CHARS and re.fullmatch(pattern, text):
                return text
    except (_RegexUnsupported, RecursionError, TypeError, ValueError):
        return None
    return None


@lru_cache(maxsize=256)
def _pattern_edges(pattern: str) -> tuple[tuple[str, str], ...]:
    """Deterministic edge values for a pattern: its shortest and longest generated match."""
    rng = random.Random(_derive(0, "pattern-edges", pattern))
    out: list[tuple[str, str]] = []
    for label, mode in (("shortest", "min"), ("longest", "max")):
        text = _regex_sample(pattern, rng, mode)
        if text is not None and text not in [v for _, v in out]:
            out.append((label, text))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Seeds and faker pools
# --------------------------------------------------------------------------------------------


def _derive(seed: int, *parts: object) -> int:
    """A 64-bit seed from ``seed`` and ``parts``; hashlib, so PYTHONHASHSEED cannot matter."""
    text = "\x1f".join([str(seed), *map(str, parts)])
    return int.from_bytes(
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )


_M64: Final = (1 << 64) - 1


class _Rng:
    """SplitMix64: a tiny, portable PRNG seeded in nanoseconds.

    ``random.Random(seed)`` spends ~10 us filling Mersenne Twister state, which alone would cap
    generation near 50,000 profiles/s; one SplitMix64 per profile is pure integer arithmetic with
    the same output on every platform and Python version.
    """

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _M64

    def next64(self) -> int:
        self._state = z = (self._state + 0x9E3779B97F4A7C15) & _M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    def random(self) -> float:
        return (self.next64() >> 11) * (1.0 / (1 << 53))

    def randrange(self, n: int) -> int:
        return self.next64() % n  # bias below 2**-40 for the ranges used here

    def randint(self, lo: int, hi: int) -> int:
        return lo + self.next64() % (hi - lo + 1)

    def choice(self, seq: Sequence[_T]) -> _T:
        return seq[self.next64() % len(seq)]

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def getrandbits(self, k: int) -> int:
        bits = 0
        for _ in range(0, k, 64):
            bits = (bits << 64) | self.next64()
        return bits >> (-k % 64)


def _mix(key: int, index: int) -> int:
    """The per-index seed: SplitMix64's finaliser over ``key`` and ``index``."""
    z = (key + (index + 1) * 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


# (locale, weight for names) - weighted towards where CleverTap customers' users are.
_LOCALES: Final = (
    ("en_US", 4),
    ("en_IN", 4),
    ("pt_BR", 1),
    ("es_MX", 1),
    ("de_DE", 1),
    ("fr_FR", 1),
    ("ja_JP", 1),
    ("ar_AA", 1),
)
_LATIN_LOCALES: Final = ("en_US", "en_IN", "pt_BR", "es_MX", "de_DE", "fr_FR")
_EMAIL_LOCAL_RE: Final = re.compile(r"[a-z0-9][a-z0-9._]*")
EMAIL_RE: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
E164_RE: Final = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class _Pools:
    """Faker output for one seed; generation only ever picks from these tuples."""

    names: tuple[str, ...]
    email_locals: tuple[str, ...]
    email_domains: tuple[str, ...]
    cities: tuple[str, ...]
    regions: tuple[str, ...]
    countries: tuple[str, ...]
    timezones: tuple[str, ...]
    photos: tuple[str, ...]
    words: tuple[str, ...]
    sentences: tuple[str, ...]
    products: tuple[str, ...]
    companies: tuple[str, ...]
    seed: int

    def get(self, name: str) -> tuple[str, ...]:
        return cast("tuple[str, ...]", getattr(self, name))


_FAKER_LOCK: Final = threading.Lock()


@lru_cache(maxsize=1)
def _fakers() -> dict[str, Any]:
    """One Faker per locale (creating them costs ~0.1 s; pools re-seed them)."""
    from faker import Faker

    return {loc: Faker(loc) for loc, _ in _LOCALES}


def _unique(values: Iterable[str], limit: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v not in seen:
            seen[v] = None
            if len(seen) >= limit:
                break
    return tuple(seen)


@lru_cache(maxsize=8)
def _pools(seed: int) -> _Pools:
    """Pools for ``seed``: built once per seed and process (each xdist worker builds its own,
    with the same result, because every Faker instance is re-seeded from ``seed`` first)."""
    with _FAKER_LOCK:
        fakers = _fakers()
        for i, (loc, _) in enumerate(_LOCALES):
            fakers[loc].seed_instance(_derive(seed, "faker", i))
        rng = random.Random(_derive(seed, "pools"))
        locs = [loc for loc, _ in _LOCALES]

        def draw(method: str, n: int, locales: Sequence[str] = locs) -> list[str]:
            out = []
            ws = [dict(_LOCALES)[loc] for loc in locales]
            for _ in range(n):
                fk = fakers[rng.choices(list(locales), ws)[0]]
                out.append(str(getattr(fk, method)()))
            return out

        en = fakers["en_US"]
        names = draw("name", 256)
        locals_ = [u.lower() for u in draw("user_name", 300, _LATIN_LOCALES)]
        regions: list[str] = []
        for loc in _LATIN_LOCALES:
            fk = fakers[loc]
            method = "state" if hasattr(fk, "state") else "administrative_unit"
            regions.extend(str(getattr(fk, method)()) for _ in range(12))
        pools = _Pools(
            names=_unique(names, 256),
            email_locals=_unique((u for u in locals_ if _EMAIL_LOCAL_RE.fullmatch(u)), 256),
            email_domains=(
                *_unique((en.free_email_domain() for _ in range(40)), 16),
                "example.com",
                "acme.co.in",
            ),
            cities=_unique(draw("city", 200, _LATIN_LOCALES), 160),
            regions=_unique(regions, 64),
            countries=_unique((en.country() for _ in range(120)), 64),
            timezones=_unique((en.timezone() for _ in range(120)), 64),
            photos=_unique((en.image_url() for _ in range(64)), 64),
            words=_unique(draw("word", 400), 256),
            sentences=_unique((s[:160] for s in draw("sentence", 160)), 128),
            products=_unique((en.catch_phrase() for _ in range(80)), 64),
            companies=_unique((en.company() for _ in range(80)), 64),
            seed=seed,
        )
    return pools


# --------------------------------------------------------------------------------------------
# Value kinds: one object per property, knowing its realistic values, edges and shrink steps
# --------------------------------------------------------------------------------------------

# Personas, by index: 0 known user (60 %), 1 anonymous (25 %), 2 patchy profile (15 %).
_PERSONA_CUTS: Final = (0.6, 0.85)

Presence: TypeAlias = "tuple[float, float, float]"  # probability present, per persona
_P_CUSTOM: Final[Presence] = (0.85, 0.5, 0.5)
_P_EVENT: Final[Presence] = (0.92, 0.92, 0.8)
_P_NESTED: Final[Presence] = (0.95, 0.95, 0.8)
_P_ALWAYS: Final[Presence] = (1.0, 1.0, 1.0)

_MAX_TEXT: Final = ("Ana Lee, " * 60)[:MAX_VALUE_CHARS]
_TEXT_EDGES: Final[tuple[tuple[str, Any], ...]] = (
    ("blank", ""),
    ("max-length", _MAX_TEXT),
    ("quote", 'Ana "Jo" Lee'),
    ("backslash", "Ana\\Lee"),
    ("newline", "Ana\nLee"),
    ("tab", "Ana\tLee"),
    ("control", "Ana\x01Lee"),
    ("emoji", "Ana 🌸 Lee"),
    ("rtl", "آنا لي"),
    ("padded", "  Ana Lee  "),
)
_ANY_EDGES: Final[tuple[tuple[str, Any], ...]] = (
    *_TEXT_EDGES,
    ("numeric-string", "100"),
    ("number", 42),
    ("float", 3.14),
    ("boolean", True),
    ("list", ["red", "blue"]),
    ("object", {"city": "Pune", "geo": {"lat": 18.52}}),
)
_SPICES: Final[tuple[Callable[[str], str], ...]] = (
    lambda t: t.replace(" ", " O'", 1),
    lambda t: f'{t} "Jo"',
    lambda t: f"{t} 🌸",
    lambda t: f" {t} ",
    lambda t: f"{t}\\",
    lambda t: f"{t}\nLine 2",
    lambda t: f"{t} مرحبا",
)


class _Gen:
    """Per-profile generation state: the RNG and what kind of user this is."""

    __slots__ = ("clean", "index", "persona", "pools", "rng")

    def __init__(self, rng: _Rng, pools: _Pools, index: int, persona: int, clean: bool) -> None:
        self.rng = rng
        self.pools = pools
        self.index = index
        self.persona = persona
        self.clean = clean


class _Kind:
    """A property's value space. Subclasses override what differs."""

    presence: Presence = _P_CUSTOM
    always: bool = False
    free: bool = False  # free text: gets the JSON-breaking edges

    def sample(self, g: _Gen) -> Any:
        raise NotImplementedError

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return ()

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        values = [v for _, v in self.edges(pools)]
        return st.sampled_from(values) if values else st.none()

    def simplest(self) -> Any:
        """A canonical valid value shrinking may substitute, or ``_MISSING`` for none."""
        return _MISSING

    def candidates(self, value: Any) -> list[Any]:
        """Simpler values to try instead of ``value``, simplest first, ``value`` last."""
        if self.free:
            return _generic_candidates(value)
        simple = self.simplest()
        return _dedup([simple, value] if simple is not _MISSING else [value])


def _dedup(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(type(v) is type(o) and v == o for o in out):
            out.append(v)
    return out


def _generic_candidates(value: Any) -> list[Any]:
    if isinstance(value, str):
        specials = [c for c in dict.fromkeys(value) if not c.isalnum()]
        prefixes = [value[:k] for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k < len(value)]
        trimmed = [value.strip()] if value.strip() != value else []
        return _dedup(["", *specials, *prefixes, *trimmed, value])
    if isinstance(value, bool):
        return _dedup([False, value])
    if isinstance(value, int):
        return _dedup([0, 1 if value > 0 else -1, value])
    if isinstance(value, float):
        return _dedup([0, 1.5 if value > 0 else -1.5, value])
    if isinstance(value, list):
        return _dedup([[], value[:1], value[:2], value])
    if isinstance(value, dict):
        firsts = [{k: v} for k, v in list(value.items())[:4]]
        return _dedup([{}, *firsts, value])
    return [value]


class _Text(_Kind):
    """Free text (Name, City, a declared string): realistic pool values, occasionally spiced
    with what real users type (apostrophes, quoted nicknames, emoji, stray spaces)."""

    free = True

    def __init__(self, pool: str | tuple[str, ...], presence: Presence, spice: float = 0.04):
        self.pool = pool
        self.presence = presence
        self.spice = spice

    def _values(self, pools: _Pools) -> tuple[str, ...]:
        return pools.get(self.pool) if isinstance(self.pool, str) else self.pool

    def sample(self, g: _Gen) -> Any:
        text = g.rng.choice(self._values(g.pools))
        if not g.clean and g.rng.random() < self.spice:
            text = g.rng.choice(_SPICES)(text)
        return text[:MAX_VALUE_CHARS]

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return _TEXT_EDGES

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.one_of(
            st.sampled_from(self._values(pools)),
            st.sampled_from([v for _, v in _TEXT_EDGES]),
            st.text(max_size=40),
        )


class _Any(_Kind):
    """An undeclared property: realistic by its name (``wallet_balance`` is a number), but the
    harness cannot know its type, so edges include numbers, booleans, lists and objects."""

    free = True

    def __init__(self, inner: _Kind, presence: Presence) -> None:
        self.inner = inner
        self.presence = presence

    def sample(self, g: _Gen) -> Any:
        return self.inner.sample(g)

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return _ANY_EDGES

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        scalars = st.one_of(
            st.text(max_size=40),
            st.integers(-(10**9), 10**9),
            st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
            st.booleans(),
        )
        return st.one_of(
            self.inner.strategy(pools),
            st.sampled_from([v for _, v in _ANY_EDGES]),
            scalars,
            st.lists(st.text(max_size=20), max_size=5, unique=True),
            st.dictionaries(st.text(min_size=1, max_size=10), scalars, max_size=3),
        )


class _Email(_Kind):
    """Always a valid address: unique per profile index, so no two users share one unless a
    template's ``default`` makes them (CTPH124 must only fire for real collapses)."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    def sample(self, g: _Gen) -> Any:
        local = g.rng.choice(g.pools.email_locals).strip("._") or "user"
        return f"{local}{g.index}@{g.rng.choice(g.pools.email_domains)}"

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("plus", "ana.lee+promo@example.com"),
            ("long-local", ("ana.lee.long.local.part." * 3)[:63] + "x@example.com"),
            ("mixed-case", "Ana.Lee@Example.COM"),
            ("apostrophe", "ana.o'lee@example.com"),
            ("subdomain", "ana@mail.example.co.uk"),
        )

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        local = st.sampled_from(pools.email_locals).map(lambda s: s.strip("._") or "user")
        built = st.builds(
            lambda u, n, d: f"{u}{n}@{d}",
            local,
            st.integers(0, 10**6),
            st.sampled_from(pools.email_domains),
        )
        return st.one_of(built, super().strategy(pools))

    def simplest(self) -> Any:
        return "a@example.com"


# country code -> national significant number length (E.164 total stays within 15 digits)
_PHONE_PLANS: Final = (
    ("1", 10), ("91", 10), ("44", 10), ("55", 11), ("49", 11), ("81", 10), ("971", 9),
    ("62", 10), ("234", 10), ("86", 11),
)  # fmt: skip


class _Phone(_Kind):
    """E.164 (``+<cc><number>``): CleverTap rejects every other format (A3)."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    def sample(self, g: _Gen) -> Any:
        cc, length = g.rng.choice(_PHONE_PLANS)
        tail = f"{g.index % 10**6:06d}"
        head = str(g.rng.randint(2, 9)) + "".join(
            g.rng.choice(string.digits) for _ in range(length - 1 - len(tail))
        )
        return f"+{cc}{head}{tail}"

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (("short", "+6834002"), ("long", "+861391234567800"), ("india", "+919876543210"))

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        built = st.builds(
            lambda plan, n: f"+{plan[0]}{n}",
            st.sampled_from(_PHONE_PLANS),
            st.integers(10**8, 10**9 - 1),
        )
        return st.one_of(built, super().strategy(pools))

    def simplest(self) -> Any:
        return "+12025550100"


class _Identity(_Kind):
    """CleverTap Identity: a string or a number (A3); unique per profile index."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    def sample(self, g: _Gen) -> Any:
        style = g.rng.random()
        if style < 0.35:
            return 10_000_000 + g.index * 1000 + g.rng.randrange(1000)
        if style < 0.65:
            return f"CUST-{g.index:06d}{g.rng.randrange(100):02d}"
        if style < 0.85:
            return str(_uuid(g.rng, g.index))
        return f"{g.rng.choice(g.pools.email_locals).strip('._') or 'user'}{g.index}@example.com"

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("number", 1234567),
            ("big-number", 9_007_199_254_740_993),
            ("numeric-string", "7654321"),  # not 1234567: two users, two ids
            ("leading-zero", "000123"),
            ("uuid", "3f1c2b9e-7d4a-4c1e-9a57-0b6f2e8d4c21"),
            ("email", "ana.lee@example.com"),
        )

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        ident = st.text(string.ascii_letters + string.digits + "-_@.", min_size=1, max_size=40)
        return st.one_of(st.integers(1, 2**63 - 1), ident, super().strategy(pools))

    def candidates(self, value: Any) -> list[Any]:
        return _dedup([1 if isinstance(value, int) else "a", value])


def _uuid(rng: _Rng, index: int) -> str:
    bits = rng.getrandbits(128) ^ index
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


class _Choice(_Kind):
    """One of a closed set (Gender M/F, Employed Y/N, a declared enum, Currency)."""

    def __init__(self, values: tuple[Any, ...], presence: Presence, always: bool = False) -> None:
        self.values = values
        self.presence = _P_ALWAYS if always else presence
        self.always = always

    def sample(self, g: _Gen) -> Any:
        return g.rng.choice(self.values)

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return tuple((f"value-{i}", v) for i, v in enumerate(self.values))

    def candidates(self, value: Any) -> list[Any]:
        return _dedup([self.values[0], value])


class _Bool(_Kind):
    def __init__(self, presence: Presence, always: bool = False, p_true: float = 0.7) -> None:
        self.presence = _P_ALWAYS if always else presence
        self.always = always
        self.p_true = p_true

    def sample(self, g: _Gen) -> Any:
        return g.rng.random() < self.p_true

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (("true", True), ("false", False))

    def candidates(self, value: Any) -> list[Any]:
        return _dedup([False, value])


class _Date(_Kind):
    """CleverTap's API date form ``$D_<epoch seconds>``."""

    def __init__(self, lo: int, hi: int, presence: Presence, always: bool = False) -> None:
        self.lo, self.hi = lo, hi
        self.presence = _P_ALWAYS if always else presence
        self.always = always

    def sample(self, g: _Gen) -> Any:
        return f"$D_{g.rng.randint(self.lo, self.hi)}"

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("epoch-zero", "$D_0"),
            ("pre-1970", "$D_-631152000"),
            ("leap-day", "$D_951782400"),
            ("far-future", "$D_4102444800"),
        )

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.integers(-2_208_988_800, 4_102_444_800).map(lambda s: f"$D_{s}")

    def simplest(self) -> Any:
        return "$D_0"


class _Number(_Kind):
    """A number: ``decimals=None`` for integers."""

    def __init__(
        self,
        lo: float,
        hi: float,
        decimals: int | None,
        presence: Presence,
        always: bool = False,
        edges: tuple[tuple[str, Any], ...] | None = None,
    ) -> None:
        self.lo, self.hi, self.decimals = lo, hi, decimals
        self.presence = _P_ALWAYS if always else presence
        self.always = always
        self._edges = edges

    def sample(self, g: _Gen) -> Any:
        if self.decimals is None:
            return g.rng.randint(int(self.lo), int(self.hi))
        return round(g.rng.uniform(self.lo, self.hi), self.decimals)

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        if self._edges is not None:
            return self._edges
        if self.decimals is None:
            return (("zero", 0), ("negative", -1), ("big", 9_007_199_254_740_993))
        return (
            ("zero", 0.0),
            ("negative", -1.5),
            ("fraction", 0.1),
            ("exponent", 1e16),
            ("integral", 100),
        )

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        if self.decimals is None:
            base: SearchStrategy[Any] = st.integers(-(2**63), 2**63 - 1)
        else:
            base = st.one_of(st.floats(-1e12, 1e12, allow_nan=False), st.integers(-(10**9), 10**9))
        return st.one_of(base, super().strategy(pools))

    def simplest(self) -> Any:
        return 0


class _Url(_Kind):
    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    def sample(self, g: _Gen) -> Any:
        return g.rng.choice(g.pools.photos)

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("query", "https://cdn.example.com/u/ana.jpg?w=200&h=200"),
            ("escaped", "https://cdn.example.com/u/ana%20lee.jpg"),
        )

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.sampled_from(pools.photos + tuple(v for _, v in self.edges(pools)))

    def simplest(self) -> Any:
        return "https://example.com/a.jpg"


class _Pooled(_Kind):
    """A format string picked from a faker pool (Timezone) or a fixed tuple (ids)."""

    def __init__(
        self, pool: str, presence: Presence, edges: tuple[tuple[str, Any], ...] = ()
    ) -> None:
        self.pool = pool
        self.presence = presence
        self._edges = edges

    def sample(self, g: _Gen) -> Any:
        return g.rng.choice(g.pools.get(self.pool))

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return self._edges

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.sampled_from(pools.get(self.pool) + tuple(v for _, v in self._edges))


class _Ident(_Kind):
    """An order/product id such as ``ORD-004211-73``: unique per profile index."""

    def __init__(self, prefix: str, presence: Presence) -> None:
        self.prefix = prefix
        self.presence = presence

    def sample(self, g: _Gen) -> Any:
        return f"{self.prefix}-{g.index:06d}-{g.rng.randrange(100):02d}"

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (("numeric-string", "000123"),)

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.integers(0, 10**6).map(lambda n: f"{self.prefix}-{n:06d}")

    def simplest(self) -> Any:
        return f"{self.prefix}-1"


class _Pattern(_Kind):
    def __init__(self, pattern: str, presence: Presence, always: bool) -> None:
        self.pattern = pattern
        self.presence = _P_ALWAYS if always else presence
        self.always = always

    def _pool(self, pools: _Pools) -> tuple[str, ...]:
        return _pattern_pool(self.pattern, pools.seed)

    def sample(self, g: _Gen) -> Any:
        return g.rng.choice(self._pool(g.pools))

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return _pattern_edges(self.pattern)

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.from_regex(self.pattern, fullmatch=True).filter(
            lambda s: len(s) <= MAX_VALUE_CHARS
        )

    def candidates(self, value: Any) -> list[Any]:
        edges = _pattern_edges(self.pattern)
        return _dedup([edges[0][1], value] if edges else [value])


@lru_cache(maxsize=64)
def _pattern_pool(pattern: str, seed: int) -> tuple[str, ...]:
    rng = random.Random(_derive(seed, "pattern", pattern))
    found = (_regex_sample(pattern, rng, "random") for _ in range(48))
    pool = _unique((s for s in found if s is not None), 32)
    return pool or tuple(v for _, v in _pattern_edges(pattern))


class _MultiValue(_Kind):
    """A declared multi-value property: unique strings, at most 100 items of 512 chars."""

    free = True

    def __init__(self, presence: Presence, always: bool) -> None:
        self.presence = _P_ALWAYS if always else presence
        self.always = always

    def sample(self, g: _Gen) -> Any:
        k = g.rng.randint(0 if not g.clean else 1, 4)
        return list(_unique((g.rng.choice(g.pools.words) for _ in range(k)), k))

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("empty", []),
            ("one", ["gold"]),
            ("max-items", [f"tag{i}" for i in range(MAX_LIST_ITEMS)]),
            ("quote", ['Ana "Jo"', "b\\c"]),
            ("max-length", [_MAX_TEXT]),
        )

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        item = st.one_of(st.sampled_from(pools.words), st.text(max_size=30))
        return st.one_of(st.lists(item, max_size=8, unique=True), super().strategy(pools))


class _Object(_Kind):
    """A nested object whose keys the template reads (``Profile.Address.City``)."""

    def __init__(self, children: tuple[tuple[str, _Kind], ...], presence: Presence) -> None:
        self.children = children
        self.presence = presence

    def sample(self, g: _Gen) -> Any:
        rng, persona = g.rng, g.persona
        return {
            k: kind.sample(g)
            for k, kind in self.children
            if g.clean or kind.always or rng.random() < kind.presence[persona]
        }

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (("empty", {}),)

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        required = {k: kind.strategy(pools) for k, kind in self.children if kind.always}
        optional = {k: kind.strategy(pools) for k, kind in self.children if not kind.always}
        order = [k for k, _ in self.children]
        return st.fixed_dictionaries(required, optional=optional).map(
            lambda d: {k: d[k] for k in order if k in d}
        )

    def child(self, key: str | int) -> _Kind | None:
        return next((kind for k, kind in self.children if k == key), None)


class _List(_Kind):
    """A list whose elements the template indexes (``Event.Items[0].Category``). Random
    profiles sometimes have fewer elements than the template indexes: CleverTap users do."""

    def __init__(
        self, element: _Kind, indexes: tuple[int, ...], presence: Presence, max_len: int = 4
    ) -> None:
        self.element = element
        self.indexes = indexes
        self.min_len = max(indexes, default=0) + 1
        self.max_len = max(max_len, self.min_len + 2)
        self.presence = presence

    def sample(self, g: _Gen) -> Any:
        rng = g.rng
        if g.clean:
            n = self.min_len
        elif rng.random() < 0.92:
            n = rng.randint(self.min_len, self.max_len)
        else:
            n = rng.randint(0, self.min_len - 1)
        return [self.element.sample(g) for _ in range(n)]

    def edges(self, pools: _Pools) -> tuple[tuple[str, Any], ...]:
        return (("empty", []),)

    def strategy(self, pools: _Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.lists(self.element.strategy(pools), max_size=self.max_len)

    def child(self, key: str | int) -> _Kind | None:
        return self.element if isinstance(key, int) else None


# --------------------------------------------------------------------------------------------
# Which kind a path gets
# --------------------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


_EDUCATION: Final = ("School", "Graduate", "Post Graduate", "Doctorate", "Diploma")
_CUSTOMER_TYPES: Final = ("Gold", "Silver", "Platinum", "Regular", "New", "VIP")
_CATEGORIES: Final = ("Books", "Electronics", "Fashion", "Home & Kitchen", "Toys", "Grocery")
_PAYMENT_MODES: Final = ("Credit card", "Debit card", "UPI", "Net banking", "COD", "Wallet")
_CURRENCIES: Final = ("USD", "INR", "EUR", "BRL", "JPY", "GBP", "AED")
_P_KNOWN_ID: Final[Presence] = (0.98, 0.0, 0.5)
_P_LOCATION: Final[Presence] = (0.9, 0.85, 0.6)
_P_FLAG: Final[Presence] = (0.95, 0.8, 0.6)
_DOB_RANGE: Final = (-946_771_200, 1_262_304_000)  # 1940..2010
_YN: Final = ("Y", "N")


def _standard_kinds() -> dict[str, tuple[str, _Kind]]:
    kinds: dict[str, _Kind] = {
        "Name": _Text("names", (0.95, 0.1, 0.5)),
        "Email": _Email((0.9, 0.03, 0.5)),
        "Identity": _Identity(_P_KNOWN_ID),
        "Phone": _Phone((0.6, 0.05, 0.4)),
        "Gender": _Choice(("M", "F"), (0.7, 0.2, 0.4)),
        "DOB": _Date(*_DOB_RANGE, presence=(0.6, 0.1, 0.3)),
        "Photo": _Url((0.4, 0.05, 0.2)),
        "Employed": _Choice(_YN, (0.5, 0.1, 0.3)),
        "Married": _Choice(_YN, (0.5, 0.1, 0.3)),
        "Education": _Text(_EDUCATION, (0.4, 0.05, 0.2)),
        "Customer Type": _Text(_CUSTOMER_TYPES, (0.8, 0.2, 0.5)),
        "MSG-email": _Bool(_P_FLAG),
        "MSG-push": _Bool(_P_FLAG),
        "MSG-sms": _Bool(_P_FLAG),
        "MSG-whatsapp": _Bool(_P_FLAG),
        "MSG-dndPhone": _Bool(_P_FLAG, p_true=0.1),
        "MSG-dndEmail": _Bool(_P_FLAG, p_true=0.1),
        "City": _Text("cities", _P_LOCATION),
        "Region": _Text("regions", _P_LOCATION),
        "Country": _Text("countries", _P_LOCATION),
        "Timezone": _Pooled(
            "timezones",
            _P_LOCATION,
            (("utc", "UTC"), ("half-hour", "Asia/Kolkata"), ("deep", "America/Argentina/Salta")),
        ),
        "Latitude": _Number(
            -90, 90, 6, _P_LOCATION, edges=(("zero", 0.0), ("min", -90.0), ("max", 90.0))
        ),
        "Longitude": _Number(
            -180, 180, 6, _P_LOCATION, edges=(("zero", 0.0), ("min", -180.0), ("max", 180.0))
        ),
    }
    return {_norm(name): (name, kind) for name, kind in kinds.items()}


_STANDARD: Final = _standard_kinds()
STANDARD_FIELDS: Final[tuple[str, ...]] = tuple(name for name, _ in _STANDARD.values())
"""CleverTap's standard profile fields (A3), plus the location fields webhooks carry."""


def _item_kinds() -> dict[str, _Kind]:
    return {
        "category": _Text(_CATEGORIES, _P_NESTED, spice=0.0),
        "productname": _Text("products", _P_NESTED),
        "bookname": _Text("products", _P_NESTED),
        "name": _Text("products", _P_NESTED),
        "quantity": _Number(1, 5, None, _P_NESTED),
        "price": _Number(1, 500, 2, _P_NESTED),
        "productid": _Ident("SKU", _P_NESTED),
        "id": _Ident("SKU", _P_NESTED),
        "sku": _Ident("SKU", _P_NESTED),
    }


_ITEM: Final = _item_kinds()
_ITEMS_DEFAULT: Final = ("Category", "Product name", "Quantity", "Price")


def _event_kinds() -> dict[str, _Kind]:
    item = _Object(tuple((k, _ITEM[_norm(k)]) for k in _ITEMS_DEFAULT), _P_EVENT)
    return {
        "amount": _Number(1, 5000, 2, _P_EVENT),
        "currency": _Choice(_CURRENCIES, _P_EVENT),
        "paymentmode": _Text(_PAYMENT_MODES, _P_EVENT, spice=0.0),
        "chargedid": _Ident("ORD", _P_EVENT),
        "deliveryby": _Date(_EPOCH_2025, _EPOCH_2025 + 30 * 86400, _P_EVENT),
        "items": _List(item, (), _P_EVENT),
    }


_EVENT: Final = _event_kinds()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NUMERIC_WORDS: Final = _words(
    "amount price total balance value revenue cost spend ltv discount rating score"
)
_INTEGER_WORDS: Final = _words("count qty quantity age points visits orders number")
_BOOL_PREFIXES: Final = _words("is has can opted subscribed enabled")
_DATE_WORDS: Final = _words("date dob birthday at on time since until expiry")


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def _guess_kind(name: str, presence: Presence) -> _Kind:
    """A realistic value type for an undeclared property, from its name alone."""
    tokens = _tokens(name)
    tset = set(tokens)
    if "email" in tset:
        return _Email(presence)
    if tset & {"phone", "mobile"}:
        return _Phone(presence)
    if tset & {"url", "link", "photo", "image", "avatar"}:
        return _Url(presence)
    if tokens and tokens[0] in _BOOL_PREFIXES:
        return _Bool(presence)
    if tset & _DATE_WORDS:
        return _Date(_EPOCH_2025 - 365 * 86400, _EPOCH_2025, presence)
    if tset & _NUMERIC_WORDS:
        return _Number(0, 10_000, 2, presence)
    if tset & _INTEGER_WORDS:
        return _Number(0, 500, None, presence)
    if tokens and tokens[-1] == "id":
        return _Ident("ID", presence)
    if tset & {"description", "message", "comment", "note", "title", "bio"}:
        return _Text("sentences", presence, spice=0.08)
    return _Text("words", presence, spice=0.06)


def _spec_kind(spec: PropertySpec, presence: Presence) -> _Kind:
    always = spec.always
    p = _P_ALWAYS if always else presence
    kind: _Kind
    if spec.type == "string":
        kind = _Text("words", p)
    elif spec.type == "number":
        kind = _Number(0, 10_000, 2, p, always)
    elif spec.type == "integer":
        kind = _Number(0, 1_000, None, p, always)
    elif spec.type == "boolean":
        kind = _Bool(p, always)
    elif spec.type == "date":
        kind = _Date(_EPOCH_2025 - 365 * 86400, _EPOCH_2025 + 365 * 86400, p, always)
    elif spec.type == "list":
        kind = _MultiValue(p, always)
    elif spec.type == "enum":
        kind = _Choice(spec.values, p, always)
    else:
        kind = _Pattern(cast(str, spec.pattern), p, always)
    kind.always = always
    return kind


def _find_spec(
    ns: str, keys: Sequence[str], specs: Mapping[str, PropertySpec]
) -> PropertySpec | None:
    dotted = ".".join(keys)
    return specs.get(f"{ns}.{dotted}") or specs.get(dotted)


def _leaf_kind(ns: str, rest: Path, specs: Mapping[str, PropertySpec]) -> _Kind:
    """The kind for a path the template reads as a value (no deeper reads below it)."""
    keys = [k for k in rest if isinstance(k, str)]
    spec = _find_spec(ns, keys, specs)
    nested = len(rest) > 1
    presence = _P_NESTED if nested else _P_EVENT if ns == "Event" else _P_CUSTOM
    last = _norm(keys[-1]) if keys else ""
    known: _Kind | None = None
    if ns == "Profile" and not nested and last in _STANDARD:
        known = _STANDARD[last][1]
    elif ns == "Event" and not nested and last in _EVENT:
        known = _EVENT[last]
    elif ns == "Event" and nested and _norm(keys[0]) == "items" and last in _ITEM:
        known = _ITEM[last]
    if spec is not None and (known is None or spec.type != "string"):
        return _spec_kind(spec, presence)
    if known is not None and spec is not None and spec.always:
        # `Email = {always = true}`: still an email, now on every profile
        known = copy.copy(known)
        known.always, known.presence = True, _P_ALWAYS
    if known is not None:
        return known
    return _Any(_guess_kind(keys[-1] if keys else "value", presence), presence)


# --------------------------------------------------------------------------------------------
# Plans: the reads compiled once into a tree of kinds
# --------------------------------------------------------------------------------------------


def _path_key(path: Path) -> tuple[tuple[int, str, int], ...]:
    return tuple((1, "", s) if isinstance(s, int) else (0, s, 0) for s in path)


@dataclass(frozen=True, eq=False)
class _Plan:
    profile: tuple[tuple[str, _Kind], ...]
    event: tuple[tuple[str, _Kind], ...]


_Shape: TypeAlias = "dict[str | int, _Shape]"


def _compile(ns: str, rest: Path, shape: _Shape, specs: Mapping[str, PropertySpec]) -> _Kind:
    if not shape:
        return _leaf_kind(ns, rest, specs)
    keys = [k for k in rest if isinstance(k, str)]
    spec = _find_spec(ns, keys, specs)
    nested = len(rest) > 1
    presence = _P_NESTED if nested else _P_EVENT if ns == "Event" else _P_CUSTOM
    if spec is not None and spec.always:
        presence = _P_ALWAYS
    indexes = sorted(k for k in shape if isinstance(k, int))
    kind: _Kind
    if indexes:
        merged: _Shape = {}
        for i in indexes:
            _merge(merged, shape[i])
        if not merged and ns == "Event" and _norm(str(rest[-1])) == "items":
            element = cast(_List, _EVENT["items"]).element
        else:
            element = _compile(ns, (*rest, 0), merged, specs)
        kind = _List(element, tuple(indexes), presence)
    else:
        str_keys = sorted(k for k in shape if isinstance(k, str))
        children = tuple((k, _compile(ns, (*rest, k), shape[k], specs)) for k in str_keys)
        kind = _Object(children, presence)
    kind.always = bool(spec and spec.always)
    return kind


def _merge(into: _Shape, other: _Shape) -> None:
    for k, sub in other.items():
        _merge(into.setdefault(k, {}), sub)


def _canonical_reads(reads: Iterable[Sequence[str | int]]) -> tuple[Path, ...]:
    out: dict[Path, None] = {}
    for read in reads:
        if isinstance(read, str):
            raise UsageError(f"a read path is a tuple such as ('Profile', 'Email'), got {read!r}")
        path = tuple(read)
        if not path or path[0] not in _NAMESPACES:
            continue  # Linked/Catalog/Campaign are not profile data
        if any(isinstance(s, bool) or not isinstance(s, (str, int)) for s in path):
            raise UsageError(f"a read path holds only keys and indexes, got {path!r}")
        out[path] = None
    return tuple(sorted(out, key=_path_key))


@lru_cache(maxsize=256)
def _plan(reads: tuple[Path, ...], specs: tuple[tuple[str, PropertySpec], ...]) -> _Plan:
    spec_map = dict(specs)
    shapes: dict[str, _Shape] = {ns: {} for ns in _NAMESPACES}
    for ns, *rest in reads:
        node = shapes[cast(str, ns)]
        if not rest:  # the whole object is read (`{{ Profile }}`): every standard field
            if ns == "Profile":
                for name in STANDARD_FIELDS:
                    node.setdefault(name, {})
            continue
        for seg in rest:
            node = node.setdefault(seg, {})
    sections = []
    for ns in _NAMESPACES:
        top = shapes[ns]
        keys = [k for k in top if isinstance(k, str)]
        keys.sort()
        sections.append(tuple((k, _compile(ns, (k,), top[k], spec_map)) for k in keys))
    return _Plan(profile=sections[0], event=sections[1])


def _plan_for(reads: Iterable[Sequence[str | int]], specs: Mapping[str, PropertySpec]) -> _Plan:
    for key, spec in specs.items():
        if not isinstance(spec, PropertySpec):
            raise UsageError(f"[tool.ctph.properties] {key!r}: not a PropertySpec")
    return _plan(_canonical_reads(reads), tuple(sorted(specs.items())))


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------

_NO_SPECS: Final[Mapping[str, PropertySpec]] = types.MappingProxyType({})

# (kind label, namespace, path below the namespace, value or _MISSING); ns None = all missing
_EdgeDef: TypeAlias = "tuple[str, str | None, Path, Any]"


def _display(ns: str, rest: Path) -> str:
    text = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in rest)[1:]
    return text if ns == "Profile" else f"{ns}.{text}"


@lru_cache(maxsize=64)
def _edge_defs(plan: _Plan, seed: int) -> tuple[_EdgeDef, ...]:
    pools = _pools(seed)
    out: list[_EdgeDef] = []
    slots = [("Profile", k, kind) for k, kind in plan.profile]
    slots += [("Event", k, kind) for k, kind in plan.event]
    if any(not kind.always for _, _, kind in slots):
        out.append(("edge:all-missing", None, (), _MISSING))

    def walk(ns: str, rest: Path, kind: _Kind) -> None:
        label = _display(ns, rest)
        if not kind.always:
            out.append((f"edge:missing:{label}", ns, rest, _MISSING))
        for name, value in kind.edges(pools):
            out.append((f"edge:{name}:{label}", ns, rest, value))
        if isinstance(kind, _Object):
            for key, child in kind.children:
                walk(ns, (*rest, key), child)
        elif isinstance(kind, _List):
            for i in kind.indexes:
                walk(ns, (*rest, i), kind.element)

    for ns, key, kind in slots:
        walk(ns, (key,), kind)
    return tuple(out)


def _rng(seed: int, index: int) -> _Rng:
    return _Rng(_mix(_profile_key(seed), index))


@lru_cache(maxsize=64)
def _profile_key(seed: int) -> int:
    return _derive(seed, "profile")


def _persona(rng: _Rng) -> int:
    r = rng.random()
    return 0 if r < _PERSONA_CUTS[0] else 1 if r < _PERSONA_CUTS[1] else 2


def _random_profile(plan: _Plan, pools: _Pools, seed: int, index: int) -> Profile:
    rng = _rng(seed, index)
    persona = _persona(rng)
    g = _Gen(rng, pools, index, persona, clean=False)
    rand = rng.random
    fields = {
        k: kind.sample(g)
        for k, kind in plan.profile
        if kind.always or rand() < kind.presence[persona]
    }
    event = {
        k: kind.sample(g)
        for k, kind in plan.event
        if kind.always or rand() < kind.presence[persona]
    }
    return Profile(index=index, kind="random", fields=fields, event=event)


def _set_at(root: dict[str, Any], rest: Path, value: Any) -> None:
    node: Any = root
    for seg in rest[:-1]:
        try:
            node = node[seg]
        except (KeyError, IndexError, TypeError):
            return  # the clean base has no such element: nothing to replace
    last = rest[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if value is _MISSING:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if value is _MISSING:
            del node[last:]
        else:
            node[last] = copy.deepcopy(value)


def _edge_profile(plan: _Plan, pools: _Pools, seed: int, index: int, edge: _EdgeDef) -> Profile:
    label, ns, rest, value = edge
    rng = _rng(seed, index)
    g = _Gen(rng, pools, index, 0, clean=True)
    fields = {k: kind.sample(g) for k, kind in plan.profile}
    event = {k: kind.sample(g) for k, kind in plan.event}
    if ns is None:
        fields = {k: v for k, v in fields.items() if dict(plan.profile)[k].always}
        event = {k: v for k, v in event.items() if dict(plan.event)[k].always}
    else:
        _set_at(fields if ns == "Profile" else event, rest, value)
    return Profile(index=index, kind=label, fields=fields, event=event)


def generate(
    reads: Iterable[Sequence[str | int]],
    n: int,
    seed: int,
    specs: Mapping[str, PropertySpec] = _NO_SPECS,
) -> list[Profile]:
    """Profiles for a template that reads ``reads``: every edge case first, then random users.

    Returns ``max(n, number of edge cases)`` profiles; profile ``i`` depends only on
    ``(seed, i, reads, specs)`` (and the installed faker version), never on the process, the
    order of ``reads`` or ``PYTHONHASHSEED``. ``specs`` maps a property name (``"Tier"``,
    ``"Profile.Tier"``, ``"Event.Amount"``) to what the account declares about it.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise UsageError(f"the number of profiles must be a non-negative integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError(f"the seed must be an integer, got {seed!r}")
    plan = _plan_for(reads, specs)
    pools = _pools(seed)
    edges = _edge_defs(plan, seed)
    out = [_edge_profile(plan, pools, seed, i, edge) for i, edge in enumerate(edges)]
    out.extend(_random_profile(plan, pools, seed, i) for i in range(len(edges), max(n, len(edges))))
    return out


# --------------------------------------------------------------------------------------------
# Hypothesis: the same value space as a strategy, and shrinking
# --------------------------------------------------------------------------------------------


def profile_strategy(
    reads: Iterable[Sequence[str | int]],
    specs: Mapping[str, PropertySpec] = _NO_SPECS,
) -> SearchStrategy[Profile]:
    """A Hypothesis strategy over profiles for a template reading ``reads``.

    It draws from the generator's value space (faker pools, edge values, plus Hypothesis's own
    text and numbers for free-form properties), honouring ``always``, enums and patterns, so a
    property-based test explores beyond the fixed edge cases without inventing profiles
    CleverTap could not hold. Drawn profiles have ``kind="hypothesis"``.
    """
    from hypothesis import strategies as st

    plan = _plan_for(reads, specs)
    pools = _pools(0)

    def section(slots: tuple[tuple[str, _Kind], ...]) -> SearchStrategy[dict[str, Any]]:
        return _Object(slots, _P_ALWAYS).strategy(pools)

    return st.builds(
        lambda f, e: Profile(index=0, kind="hypothesis", fields=f, event=e),
        section(plan.profile),
        section(plan.event),
    )


def _rebuild_dict(keys: list[Any], values: tuple[Any, ...]) -> dict[Any, Any]:
    return {k: v for k, v in zip(keys, values, strict=True) if v is not _DROP}


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


_DROP: Final = _Drop()
_SHRINK_EXAMPLES: Final = 150


def _size(profile: Profile) -> tuple[int, int]:
    """Shrink order: fewer properties first, then shorter JSON."""

    def count(v: Any) -> int:
        if isinstance(v, dict):
            return sum(1 + count(x) for x in v.values())
        if isinstance(v, list):
            return sum(1 + count(x) for x in v)
        return 0

    text = json.dumps([profile.fields, profile.event], default=repr)
    return (count(dict(profile.fields)) + count(dict(profile.event)), len(text))


def _sub_strategy(kind: _Kind | None, value: Any) -> SearchStrategy[Any]:
    """Values "no bigger" than ``value``: containers with members dropped or simplified,
    scalars replaced by the kind's simpler candidates (ordered so Hypothesis shrinks towards
    the simplest)."""
    from hypothesis import strategies as st

    if isinstance(value, dict) and value:
        keys = list(value)
        parts = []
        for k in keys:
            child = kind.child(k) if isinstance(kind, (_Object, _List)) else None
            sub = _sub_strategy(child, value[k])
            parts.append(
                sub if child is not None and child.always else st.one_of(st.just(_DROP), sub)
            )
        return st.tuples(*parts).map(partial(_rebuild_dict, keys))
    if isinstance(value, list) and value and len(value) <= 64:
        child = kind.child(0) if isinstance(kind, _List) else None
        parts = [st.one_of(st.just(_DROP), _sub_strategy(child, v)) for v in value]
        return st.tuples(*parts).map(lambda vs: [v for v in vs if v is not _DROP])
    cands = kind.candidates(value) if kind is not None else _generic_candidates(value)
    return st.sampled_from(cands)


def shrink(
    profile: Profile,
    still_fails: Callable[[Profile], bool],
    reads: Iterable[Sequence[str | int]] = (),
    specs: Mapping[str, PropertySpec] = _NO_SPECS,
) -> Profile:
    """The smallest profile derived from ``profile`` for which ``still_fails`` is still true.

    Two steps, both deterministic: a greedy pass drops every top-level property whose removal
    keeps the failure (cheap, and guarantees a failing starting point), then Hypothesis's
    shrinker (``find`` with ``derandomize=True`` and no database) searches sub-profiles of that
    result - members dropped, values replaced by simpler ones such as the single offending
    character - so ``{"Name": 'Ana "Jo" Lee', ...40 fields}`` becomes ``{"Name": '"'}``.
    ``reads``/``specs`` say which values are valid (``always`` properties stay, an Email stays
    an email). Exceptions from ``still_fails`` count as "does not fail"; if ``profile`` itself
    does not fail, it is returned unchanged.
    """
    plan = _plan_for(reads, specs)
    spec_map = dict(specs)

    def fails(candidate: Profile) -> bool:
        try:
            return bool(still_fails(candidate))
        except Exception:
            return False

    if not fails(profile):
        return profile

    def kind_of(ns: str, key: str) -> _Kind:
        slots = plan.profile if ns == "Profile" else plan.event
        found = next((kind for k, kind in slots if k == key), None)
        return found if found is not None else _leaf_kind(ns, (key,), spec_map)

    def rebuild(fields: Mapping[str, Any], event: Mapping[str, Any]) -> Profile:
        return Profile(profile.index, profile.kind, dict(fields), dict(event))

    fields, event = dict(profile.fields), dict(profile.event)
    for ns, key in [("Profile", k) for k in list(fields)] + [("Event", k) for k in list(event)]:
        if kind_of(ns, key).always:
            continue
        target = fields if ns == "Profile" else event
        trial = {k: v for k, v in target.items() if k != key}
        candidate = rebuild(trial, event) if ns == "Profile" else rebuild(fields, trial)
        if fails(candidate):
            target.pop(key)
    best = rebuild(fields, event)

    found = _hypothesis_shrink(best, fails, kind_of)
    if found is None:  # Hypothesis cannot run here (e.g. called inside a @given test)
        found = _simplify_values(best, fails, kind_of)
    if _size(found) < _size(best) and fails(found):
        best = found
    return best


def _simplify_values(
    start: Profile, fails: Callable[[Profile], bool], kind_of: Callable[[str, str], _Kind]
) -> Profile:
    """Fallback value pass: each top-level value becomes its simplest still-failing candidate."""
    fields, event = dict(start.fields), dict(start.event)
    for ns, target in (("Profile", fields), ("Event", event)):
        for key in list(target):
            for candidate in kind_of(ns, key).candidates(target[key])[:-1]:
                trial = {**target, key: candidate}
                built = (
                    Profile(start.index, start.kind, trial, event)
                    if ns == "Profile"
                    else Profile(start.index, start.kind, fields, trial)
                )
                if fails(built):
                    target[key] = candidate
                    break
    return Profile(start.index, start.kind, fields, event)


def _hypothesis_shrink(
    start: Profile, fails: Callable[[Profile], bool], kind_of: Callable[[str, str], _Kind]
) -> Profile | None:
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException

    def section(ns: str, values: Mapping[str, Any]) -> SearchStrategy[dict[str, Any]]:
        keys = list(values)
        parts = []
        for k in keys:
            kind = kind_of(ns, k)
            sub = _sub_strategy(kind, values[k])
            parts.append(sub if kind.always else st.one_of(st.just(_DROP), sub))
        return st.tuples(*parts).map(partial(_rebuild_dict, keys))

    strategy = st.builds(
        lambda f, e: Profile(start.index, start.kind, f, e),
        section("Profile", start.fields),
        section("Event", start.event),
    )
    config = settings(
        derandomize=True,
        database=None,
        max_examples=_SHRINK_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )
    try:
        return find(strategy, fails, settings=config)
    except HypothesisException:
        return None
