"""Seeds, the per-profile RNG and the faker value pools.

Everything random in generation flows from here: seeds are derived with hashlib and profiles draw
from SplitMix64, never from ``hash()`` or global random state, and faker (imported on first use)
only fills pools once per seed.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, TypeVar, cast

__all__ = ["Pools", "Rng", "derive_seed", "first_unique", "index_seed", "pools_for"]

_T = TypeVar("_T")


def derive_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed from ``seed`` and ``parts``; hashlib, so PYTHONHASHSEED cannot matter."""
    text = "\x1f".join([str(seed), *map(str, parts)])
    return int.from_bytes(
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )


_M64: Final = (1 << 64) - 1


class Rng:
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


def index_seed(key: int, index: int) -> int:
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


@dataclass(frozen=True)
class Pools:
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


def first_unique(values: Iterable[str], limit: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v not in seen:
            seen[v] = None
            if len(seen) >= limit:
                break
    return tuple(seen)


@lru_cache(maxsize=8)
def pools_for(seed: int) -> Pools:
    """Pools for ``seed``: built once per seed and process (each xdist worker builds its own,
    with the same result, because every Faker instance is re-seeded from ``seed`` first)."""
    with _FAKER_LOCK:
        fakers = _fakers()
        for i, (loc, _) in enumerate(_LOCALES):
            fakers[loc].seed_instance(derive_seed(seed, "faker", i))
        rng = random.Random(derive_seed(seed, "pools"))
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
        pools = Pools(
            names=first_unique(names, 256),
            email_locals=first_unique((u for u in locals_ if _EMAIL_LOCAL_RE.fullmatch(u)), 256),
            email_domains=(
                *first_unique((en.free_email_domain() for _ in range(40)), 16),
                "example.com",
                "acme.co.in",
            ),
            cities=first_unique(draw("city", 200, _LATIN_LOCALES), 160),
            regions=first_unique(regions, 64),
            countries=first_unique((en.country() for _ in range(120)), 64),
            timezones=first_unique((en.timezone() for _ in range(120)), 64),
            photos=first_unique((en.image_url() for _ in range(64)), 64),
            words=first_unique(draw("word", 400), 256),
            sentences=first_unique((s[:160] for s in draw("sentence", 160)), 128),
            products=first_unique((en.catch_phrase() for _ in range(80)), 64),
            companies=first_unique((en.company() for _ in range(80)), 64),
            seed=seed,
        )
    return pools
