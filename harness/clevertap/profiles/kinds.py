"""Value kinds: one object per property, knowing its realistic values, edges and shrink steps.

Hypothesis is imported inside the ``strategy`` methods only, so building kinds stays cheap.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from ...errors import UsageError
from .limits import MAX_LIST_ITEMS, MAX_VALUE_CHARS
from .pools import Pools, Rng, first_unique
from .regex import MatchTooSlow, pattern_edges, pattern_sampler

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "ALWAYS_PRESENCE",
    "CUSTOM_PRESENCE",
    "EVENT_PRESENCE",
    "NESTED_PRESENCE",
    "AnyKind",
    "BoolKind",
    "ChoiceKind",
    "DateKind",
    "EmailKind",
    "IdentKind",
    "IdentityKind",
    "Kind",
    "ListKind",
    "MultiValueKind",
    "NumberKind",
    "ObjectKind",
    "PatternKind",
    "PhoneKind",
    "PooledKind",
    "Presence",
    "ProfileDraw",
    "TakenValues",
    "TextKind",
    "UniqueKind",
    "UrlKind",
    "generic_candidates",
]


_NO_SIMPLEST: Final = object()
"""What :meth:`Kind.simplest` returns for a kind with no canonical simplest value."""

# Personas, by index (generation draws one per profile): 0 known user, 1 anonymous, 2 patchy.
Presence: TypeAlias = "tuple[float, float, float]"  # probability present, per persona
CUSTOM_PRESENCE: Final[Presence] = (0.85, 0.5, 0.5)
EVENT_PRESENCE: Final[Presence] = (0.92, 0.92, 0.8)
NESTED_PRESENCE: Final[Presence] = (0.95, 0.95, 0.8)
ALWAYS_PRESENCE: Final[Presence] = (1.0, 1.0, 1.0)

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


TakenValues: TypeAlias = "dict[Kind, set[tuple[str, Any]]]"
"""Per run: the values each ``unique`` property has handed out so far."""


class ProfileDraw:
    """Per-profile generation state: the RNG, what kind of user this is, and the run's
    ``unique`` values so far."""

    __slots__ = ("clean", "index", "persona", "pools", "rng", "taken")

    def __init__(
        self, rng: Rng, pools: Pools, index: int, persona: int, clean: bool, taken: TakenValues
    ) -> None:
        self.rng = rng
        self.pools = pools
        self.index = index
        self.persona = persona
        self.clean = clean
        self.taken = taken


class Kind:
    """A property's value space. Subclasses override what differs."""

    presence: Presence = CUSTOM_PRESENCE
    always: bool = False
    free: bool = False  # free text: gets the JSON-breaking edges

    def sample(self, g: ProfileDraw) -> Any:
        raise NotImplementedError

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return ()

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        values = [v for _, v in self.edges(pools)]
        return st.sampled_from(values) if values else st.none()

    def simplest(self) -> Any:
        """A canonical valid value shrinking may substitute, or ``_NO_SIMPLEST`` for none."""
        return _NO_SIMPLEST

    def candidates(self, value: Any) -> list[Any]:
        """Simpler values to try instead of ``value``, simplest first, ``value`` last."""
        if self.free:
            return generic_candidates(value)
        simple = self.simplest()
        return _dedup([simple, value] if simple is not _NO_SIMPLEST else [value])


def _dedup(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(type(v) is type(o) and v == o for o in out):
            out.append(v)
    return out


def generic_candidates(value: Any) -> list[Any]:
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


class TextKind(Kind):
    """Free text (Name, City, a declared string): realistic pool values, occasionally spiced
    with what real users type (apostrophes, quoted nicknames, emoji, stray spaces)."""

    free = True

    def __init__(
        self,
        pool: str | tuple[str, ...],
        presence: Presence,
        spice: float = 0.04,
        numbered: bool = False,
        max_chars: int = MAX_VALUE_CHARS,
    ):
        self.pool = pool
        self.presence = presence
        self.spice = spice
        self.numbered = numbered  # a unique string: the profile index makes it a handle
        self.max_chars = max_chars  # a declared max_length: random values stay within it

    def _values(self, pools: Pools) -> tuple[str, ...]:
        return pools.get(self.pool) if isinstance(self.pool, str) else self.pool

    def sample(self, g: ProfileDraw) -> Any:
        text = g.rng.choice(self._values(g.pools))
        if self.numbered:
            text = f"{text}{g.index}"
        if not g.clean and g.rng.random() < self.spice:
            text = g.rng.choice(_SPICES)(text)
        return text[: self.max_chars]

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return _TEXT_EDGES

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.one_of(
            st.sampled_from(self._values(pools)),
            st.sampled_from([v for _, v in _TEXT_EDGES]),
            st.text(max_size=40),
        )


class AnyKind(Kind):
    """An undeclared property: realistic by its name (``wallet_balance`` is a number), but the
    harness cannot know its type, so edges include numbers, booleans, lists and objects."""

    free = True

    def __init__(self, inner: Kind, presence: Presence) -> None:
        self.inner = inner
        self.presence = presence

    def sample(self, g: ProfileDraw) -> Any:
        return self.inner.sample(g)

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return _ANY_EDGES

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
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


class EmailKind(Kind):
    """Always a valid address: unique per profile index, so no two users share one unless a
    template's ``default`` makes them (CTPH124 must only fire for real collapses)."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    def sample(self, g: ProfileDraw) -> Any:
        local = g.rng.choice(g.pools.email_locals).strip("._") or "user"
        return f"{local}{g.index}@{g.rng.choice(g.pools.email_domains)}"

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("plus", "ana.lee+promo@example.com"),
            ("long-local", ("ana.lee.long.local.part." * 3)[:63] + "x@example.com"),
            ("mixed-case", "Ana.Lee@Example.COM"),
            ("apostrophe", "ana.o'lee@example.com"),
            ("subdomain", "ana@mail.example.co.uk"),
        )

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
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


class PhoneKind(Kind):
    """E.164 (``+<cc><number>``): CleverTap rejects every other format (A3)."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    def sample(self, g: ProfileDraw) -> Any:
        cc, length = g.rng.choice(_PHONE_PLANS)
        tail = f"{g.index % 10**6:06d}"
        head = str(g.rng.randint(2, 9)) + "".join(
            g.rng.choice(string.digits) for _ in range(length - 1 - len(tail))
        )
        return f"+{cc}{head}{tail}"

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (("short", "+6834002"), ("long", "+861391234567800"), ("india", "+919876543210"))

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        built = st.builds(
            lambda plan, n: f"+{plan[0]}{n}",
            st.sampled_from(_PHONE_PLANS),
            st.integers(10**8, 10**9 - 1),
        )
        return st.one_of(built, super().strategy(pools))

    def simplest(self) -> Any:
        return "+12025550100"


class IdentityKind(Kind):
    """CleverTap Identity: a string or a number (A3); unique per profile index."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    def sample(self, g: ProfileDraw) -> Any:
        style = g.rng.random()
        if style < 0.35:
            return 10_000_000 + g.index * 1000 + g.rng.randrange(1000)
        if style < 0.65:
            return f"CUST-{g.index:06d}{g.rng.randrange(100):02d}"
        if style < 0.85:
            return str(_uuid(g.rng, g.index))
        return f"{g.rng.choice(g.pools.email_locals).strip('._') or 'user'}{g.index}@example.com"

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("number", 1234567),
            ("big-number", 9_007_199_254_740_993),
            ("numeric-string", "7654321"),  # not 1234567: two users, two ids
            ("leading-zero", "000123"),
            ("uuid", "3f1c2b9e-7d4a-4c1e-9a57-0b6f2e8d4c21"),
            ("email", "ana.lee@example.com"),
        )

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        ident = st.text(string.ascii_letters + string.digits + "-_@.", min_size=1, max_size=40)
        return st.one_of(st.integers(1, 2**63 - 1), ident, super().strategy(pools))

    def candidates(self, value: Any) -> list[Any]:
        return _dedup([1 if isinstance(value, int) else "a", value])


def _uuid(rng: Rng, index: int) -> str:
    bits = rng.getrandbits(128) ^ index
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


class ChoiceKind(Kind):
    """One of a closed set (Gender M/F, Employed Y/N, a declared enum, Currency)."""

    def __init__(
        self, values: tuple[Any, ...], presence: Presence, always: bool = False, open: bool = False
    ) -> None:
        self.values = values
        self.presence = ALWAYS_PRESENCE if always else presence
        self.always = always
        self.open = open  # `open = true`: the values are the common ones; others exist too

    def sample(self, g: ProfileDraw) -> Any:
        if self.open and g.rng.random() < _OTHER_VALUE:
            return self._other(g)
        return g.rng.choice(self.values)

    def _other(self, g: ProfileDraw) -> Any:
        """A value of the enum's own type that is not one of its values."""
        sample = g.rng.choice(self.values)
        if isinstance(sample, str):
            word = g.rng.choice(g.pools.words)
            return word if word not in self.values else f"{word} {g.index}"
        if isinstance(sample, int):
            return max(v for v in self.values if isinstance(v, int)) + 1 + g.rng.randint(0, 9)
        return float(sample) + 0.5

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return tuple((f"value-{i}", v) for i, v in enumerate(self.values))

    def candidates(self, value: Any) -> list[Any]:
        return _dedup([self.values[0], value])


class BoolKind(Kind):
    def __init__(self, presence: Presence, always: bool = False, p_true: float = 0.7) -> None:
        self.presence = ALWAYS_PRESENCE if always else presence
        self.always = always
        self.p_true = p_true

    def sample(self, g: ProfileDraw) -> Any:
        return g.rng.random() < self.p_true

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (("true", True), ("false", False))

    def candidates(self, value: Any) -> list[Any]:
        return _dedup([False, value])


class DateKind(Kind):
    """CleverTap's API date form ``$D_<epoch seconds>``."""

    def __init__(self, lo: int, hi: int, presence: Presence, always: bool = False) -> None:
        self.lo, self.hi = lo, hi
        self.presence = ALWAYS_PRESENCE if always else presence
        self.always = always

    def sample(self, g: ProfileDraw) -> Any:
        return f"$D_{g.rng.randint(self.lo, self.hi)}"

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("epoch-zero", "$D_0"),
            ("pre-1970", "$D_-631152000"),
            ("leap-day", "$D_951782400"),
            ("far-future", "$D_4102444800"),
        )

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.integers(-2_208_988_800, 4_102_444_800).map(lambda s: f"$D_{s}")

    def simplest(self) -> Any:
        return "$D_0"


class NumberKind(Kind):
    """A number: ``decimals=None`` for integers. ``spread`` draws integers with a uniformly
    random number of digits, up to ``hi``'s: a declared integer may be a count or an id, so it
    gets both small values and id-sized ones, which rarely repeat."""

    def __init__(
        self,
        lo: float,
        hi: float,
        decimals: int | None,
        presence: Presence,
        always: bool = False,
        edges: tuple[tuple[str, Any], ...] | None = None,
        spread: bool = False,
    ) -> None:
        self.lo, self.hi, self.decimals = lo, hi, decimals
        self.presence = ALWAYS_PRESENCE if always else presence
        self.always = always
        self._edges = edges
        self.spread = spread

    def sample(self, g: ProfileDraw) -> Any:
        if self.spread:
            digits = g.rng.randint(1, len(str(int(self.hi))))
            low = 10 ** (digits - 1) if digits > 1 else 0
            return g.rng.randint(low, min(int(self.hi), 10**digits - 1))
        if self.decimals is None:
            return g.rng.randint(int(self.lo), int(self.hi))
        return round(g.rng.uniform(self.lo, self.hi), self.decimals)

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
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

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        if self.decimals is None:
            base: SearchStrategy[Any] = st.integers(-(2**63), 2**63 - 1)
        else:
            base = st.one_of(st.floats(-1e12, 1e12, allow_nan=False), st.integers(-(10**9), 10**9))
        return st.one_of(base, super().strategy(pools))

    def simplest(self) -> Any:
        return 0


class UrlKind(Kind):
    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    def sample(self, g: ProfileDraw) -> Any:
        return g.rng.choice(g.pools.photos)

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("query", "https://cdn.example.com/u/ana.jpg?w=200&h=200"),
            ("escaped", "https://cdn.example.com/u/ana%20lee.jpg"),
        )

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.sampled_from(pools.photos + tuple(v for _, v in self.edges(pools)))

    def simplest(self) -> Any:
        return "https://example.com/a.jpg"


class PooledKind(Kind):
    """A format string picked from a faker pool (Timezone) or a fixed tuple (ids)."""

    def __init__(
        self, pool: str, presence: Presence, edges: tuple[tuple[str, Any], ...] = ()
    ) -> None:
        self.pool = pool
        self.presence = presence
        self._edges = edges

    def sample(self, g: ProfileDraw) -> Any:
        return g.rng.choice(g.pools.get(self.pool))

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return self._edges

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.sampled_from(pools.get(self.pool) + tuple(v for _, v in self._edges))


class IdentKind(Kind):
    """An order/product id such as ``ORD-004211-73``: unique per profile index."""

    def __init__(self, prefix: str, presence: Presence) -> None:
        self.prefix = prefix
        self.presence = presence

    def sample(self, g: ProfileDraw) -> Any:
        return f"{self.prefix}-{g.index:06d}-{g.rng.randrange(100):02d}"

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (("numeric-string", "000123"),)

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.integers(0, 10**6).map(lambda n: f"{self.prefix}-{n:06d}")

    def simplest(self) -> Any:
        return f"{self.prefix}-1"


class PatternKind(Kind):
    """A declared pattern: each profile draws its own match, so a value has as much freedom as
    the pattern gives it (a v4 UUID never repeats; ``^ct_[0-9]{3}$`` does, as real ones do)."""

    def __init__(self, pattern: str, presence: Presence, always: bool) -> None:
        self.pattern = pattern
        self.program = pattern_sampler(pattern)  # spec validation made sure there is one
        self.presence = ALWAYS_PRESENCE if always else presence
        self.always = always

    def sample(self, g: ProfileDraw) -> Any:
        # its own RNG, seeded by one draw: the profile's other fields stay what they were
        return self._drawn(g.rng.next64())

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return pattern_edges(self.pattern)

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        if self.program is None or not self.program.exact:
            # Hypothesis checks each string with re.fullmatch, unbounded: draw through the
            # sampler instead, whose check is bounded (regex.fullmatch)
            return st.integers(0, 2**64 - 1).map(self._drawn)
        return st.from_regex(self.pattern, fullmatch=True).filter(
            lambda s: len(s) <= MAX_VALUE_CHARS
        )

    def _drawn(self, seed: int) -> str:
        """A match drawn from ``seed``, else (a checked pattern kept missing, or a check
        backtracked too long) the first edge case."""
        try:
            value = self.program.sample(Rng(seed)) if self.program is not None else None
        except MatchTooSlow:
            value = None
        return value if value is not None else pattern_edges(self.pattern)[0][1]

    def candidates(self, value: Any) -> list[Any]:
        edges = pattern_edges(self.pattern)
        return _dedup([edges[0][1], value] if edges else [value])


_UNIQUE_DRAWS: Final = 1000
_OTHER_VALUE: Final = 0.15
"""How often an open enum draws a value outside its list."""


class UniqueKind(Kind):
    """A ``unique = true`` property: a drawn value that an earlier profile of the run or an
    edge case already holds is drawn again, so no two profiles ever share one. Redrawing keeps
    each kind's own distribution; it only runs out when the declaration allows barely more
    values than the run has profiles, and then the run stops with an error naming the
    property rather than quietly repeating a value."""

    def __init__(self, inner: Kind, name: str) -> None:
        self.inner = inner
        self.name = name
        self.presence, self.always, self.free = inner.presence, inner.always, inner.free

    def sample(self, g: ProfileDraw) -> Any:
        taken = g.taken.get(self)
        if taken is None:
            taken = g.taken[self] = {_identity(v) for _, v in self.inner.edges(g.pools)}
        for _ in range(_UNIQUE_DRAWS):
            value = self.inner.sample(g)
            if _identity(value) not in taken:
                taken.add(_identity(value))
                return value
        raise UsageError(
            f"[tool.ctph.properties] {self.name!r} is unique, but {_UNIQUE_DRAWS} draws for "
            f"profile {g.index} found no value unused by the profiles before it: the "
            "declaration allows too few values for this many profiles (widen it, or lower "
            "`profiles`)"
        )

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return self.inner.edges(pools)

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        return self.inner.strategy(pools)

    def candidates(self, value: Any) -> list[Any]:
        return self.inner.candidates(value)


def _identity(value: Any) -> tuple[str, Any]:
    """What makes two values the same once rendered: ``1`` and ``1.0`` are not."""
    return (type(value).__name__, value)


class MultiValueKind(Kind):
    """A declared multi-value property: unique strings, at most 100 items of 512 chars."""

    free = True

    def __init__(self, presence: Presence, always: bool, max_items: int = 4) -> None:
        self.presence = ALWAYS_PRESENCE if always else presence
        self.always = always
        self.max_items = max(1, min(4, max_items))

    def sample(self, g: ProfileDraw) -> Any:
        k = g.rng.randint(0 if not g.clean else 1, self.max_items)
        return list(first_unique((g.rng.choice(g.pools.words) for _ in range(k)), k))

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (
            ("empty", []),
            ("one", ["gold"]),
            ("max-items", [f"tag{i}" for i in range(MAX_LIST_ITEMS)]),
            ("quote", ['Ana "Jo"', "b\\c"]),
            ("max-length", [_MAX_TEXT]),
        )

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        item = st.one_of(st.sampled_from(pools.words), st.text(max_size=30))
        return st.one_of(st.lists(item, max_size=8, unique=True), super().strategy(pools))


class ObjectKind(Kind):
    """A nested object whose keys the template reads (``Profile.Address.City``)."""

    def __init__(self, children: tuple[tuple[str, Kind], ...], presence: Presence) -> None:
        self.children = children
        self.presence = presence

    def sample(self, g: ProfileDraw) -> Any:
        rng, persona = g.rng, g.persona
        return {
            k: kind.sample(g)
            for k, kind in self.children
            if g.clean or kind.always or rng.random() < kind.presence[persona]
        }

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (("empty", {}),)

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        required = {k: kind.strategy(pools) for k, kind in self.children if kind.always}
        optional = {k: kind.strategy(pools) for k, kind in self.children if not kind.always}
        order = [k for k, _ in self.children]
        return st.fixed_dictionaries(required, optional=optional).map(
            lambda d: {k: d[k] for k in order if k in d}
        )

    def child(self, key: str | int) -> Kind | None:
        return next((kind for k, kind in self.children if k == key), None)


class ListKind(Kind):
    """A list whose elements the template indexes (``Event.Items[0].Category``). Random
    profiles sometimes have fewer elements than the template indexes: CleverTap users do."""

    def __init__(
        self, element: Kind, indexes: tuple[int, ...], presence: Presence, max_len: int = 4
    ) -> None:
        self.element = element
        self.indexes = indexes
        self.min_len = max(indexes, default=0) + 1
        self.max_len = max(max_len, self.min_len + 2)
        self.presence = presence

    def sample(self, g: ProfileDraw) -> Any:
        rng = g.rng
        if g.clean:
            n = self.min_len
        elif rng.random() < 0.92:
            n = rng.randint(self.min_len, self.max_len)
        else:
            n = rng.randint(0, self.min_len - 1)
        return [self.element.sample(g) for _ in range(n)]

    def edges(self, pools: Pools) -> tuple[tuple[str, Any], ...]:
        return (("empty", []),)

    def strategy(self, pools: Pools) -> SearchStrategy[Any]:
        from hypothesis import strategies as st

        return st.lists(self.element.strategy(pools), max_size=self.max_len)

    def child(self, key: str | int) -> Kind | None:
        return self.element if isinstance(key, int) else None
