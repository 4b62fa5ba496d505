"""Seeds, the per-profile RNG and the faker value pools.

Everything random in generation flows from here: seeds are derived with hashlib and profiles draw
from SplitMix64, never from ``hash()`` or global random state. A seed's pools are drawn from the
shipped faker corpus (``corpus.json``, built by :mod:`.corpus`), so no faker runs at run time.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import Final, TypeVar, cast

__all__ = [
    "CORPUS_FILE",
    "CORPUS_VERSION",
    "POOL_LIMITS",
    "CorpusPool",
    "Pools",
    "Rng",
    "corpus",
    "derive_seed",
    "first_unique",
    "index_seed",
    "pools_for",
]

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


# Each pool's size for one seed; the corpus holds many more values than this (corpus.py).
POOL_LIMITS: Final = {
    "names": 256,
    "email_locals": 256,
    "email_domains": 16,
    "cities": 160,
    "regions": 64,
    "countries": 64,
    "timezones": 64,
    "photos": 64,
    "words": 256,
    "sentences": 128,
    "products": 64,
    "companies": 64,
}
# Domains every seed's email pool holds besides faker's free-mail ones.
_OWN_DOMAINS: Final = ("example.com", "acme.co.in")
CORPUS_FILE: Final = "corpus.json"
CORPUS_VERSION: Final = 1


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


def first_unique(values: Iterable[str], limit: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v not in seen:
            seen[v] = None
            if len(seen) >= limit:
                break
    return tuple(seen)


@dataclass(frozen=True)
class CorpusPool:
    """One pool of the shipped corpus: distinct faker values and, for each, the running total
    of how often faker produced it (``ends``), so that value ``i`` stands for the positions
    ``ends[i-1] <= p < ends[i]`` of the multiset of faker's draws (see corpus.py)."""

    values: tuple[str, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, values: Sequence[str], counts: Sequence[int]) -> CorpusPool:
        return cls(tuple(values), tuple(accumulate(counts)))


@lru_cache(maxsize=1)
def corpus() -> dict[str, CorpusPool]:
    """The shipped corpus, read once per process (a few milliseconds); no faker at run time."""
    data = json.loads(resources.files(__package__).joinpath(CORPUS_FILE).read_bytes())
    if data.get("version") != CORPUS_VERSION:  # pragma: no cover - a packaging mistake
        raise RuntimeError(f"{CORPUS_FILE} is version {data.get('version')}, not {CORPUS_VERSION}")
    return {name: CorpusPool.of(p["values"], p["counts"]) for name, p in data["pools"].items()}


def _draw(pool: CorpusPool, limit: int, rng: Rng) -> tuple[str, ...]:
    """Up to ``limit`` distinct values, drawn without replacement from the pool's multiset:
    like drawing from faker and keeping the first distinct values, faker's frequencies kept by
    the counts. A partial Fisher-Yates shuffle of the multiset's positions in integer
    arithmetic (so every platform agrees), with the positions it moved in a dict, so a draw
    costs O(limit) however large the corpus is."""
    total = pool.ends[-1] if pool.ends else 0
    moved: dict[int, int] = {}
    seen: dict[int, None] = {}
    for k in range(total):
        j = k + rng.randrange(total - k)
        position = moved.get(j, j)
        moved[j] = moved.get(k, k)
        value = bisect_right(pool.ends, position)
        if value not in seen:
            seen[value] = None
            if len(seen) >= limit:
                break
    return tuple(pool.values[i] for i in seen)


@lru_cache(maxsize=8)
def pools_for(seed: int) -> Pools:
    """Pools for ``seed``, drawn from the shipped corpus with a SplitMix64 per pool seeded from
    ``seed`` by hashlib: the same pools on every machine, process, xdist worker, Python and
    faker version (before corpus version 1 they were drawn from the installed faker, so they
    depended on its version)."""
    data = corpus()
    drawn = {
        name: _draw(data[name], limit, Rng(derive_seed(seed, "pool", name)))
        for name, limit in POOL_LIMITS.items()
    }
    drawn["email_domains"] = (*drawn["email_domains"], *_OWN_DOMAINS)
    return Pools(**drawn, seed=seed)
