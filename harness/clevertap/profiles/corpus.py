"""The generator of ``corpus.json``, the faker values profiles are drawn from.

Run ``python -m ctph_harness.clevertap.profiles.corpus`` to rewrite the shipped file (``--output
FILE`` writes elsewhere; ``tests/test_pools_corpus.py`` does that and compares, so nobody edits
the file by hand). Nothing at run time imports this module: :func:`.pools.pools_for` reads the
JSON file and draws each seed's pools from it with SplitMix64, without faker.

Why shipped data instead of faker at run time: building eight ``Faker(locale)`` instances scans
their providers with ``pkgutil`` and cost 0.3-1.2 s of every ``ctph verify``, ``ctph render`` and
first fixture use (issue 13); and a seed's profiles depended on the installed faker's data, so
the same seed gave different profiles under different faker versions. The corpus is built once,
from faker with a fixed seed, and records the faker version that built it.

Each pool is a sample of faker output with the locale weights of :data:`LOCALES` (weighted
towards where CleverTap customers' users are), larger than one seed's pool (thousands of draws
for the open-ended pools), stored as distinct values in first-seen order with their counts: the
counts keep faker's own frequencies (a short word list repeats words), so drawing from them
without replacement samples like drawing from faker did.

This module is the generator in the package rather than a script under ``bench/`` so that the
installed package can rebuild and check its own data (``--check``), with the faker it depends on.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from .pools import CORPUS_FILE, CORPUS_VERSION, POOL_LIMITS, derive_seed

__all__ = ["CORPUS_SEED", "LOCALES", "build", "main", "render"]

# The seed the corpus is built from; a seed of a run picks *from* the corpus (pools.py).
CORPUS_SEED: Final = 0

# (locale, weight for names, words and sentences) - weighted towards where CleverTap customers'
# users are.
LOCALES: Final = (
    ("en_US", 4),
    ("en_IN", 4),
    ("pt_BR", 1),
    ("es_MX", 1),
    ("de_DE", 1),
    ("fr_FR", 1),
    ("ja_JP", 1),
    ("ar_AA", 1),
)
# Locales whose user names, cities and regions are Latin script (email local parts, addresses).
LATIN_LOCALES: Final = ("en_US", "en_IN", "pt_BR", "es_MX", "de_DE", "fr_FR")
_EMAIL_LOCAL_RE: Final = re.compile(r"[a-z0-9][a-z0-9._]*")


def _samples(seed: int) -> Iterator[tuple[str, list[str]]]:
    """``(pool, raw faker draws)`` for every pool, in :data:`.pools.POOL_LIMITS` order."""
    from faker import Faker

    fakers = {loc: Faker(loc) for loc, _ in LOCALES}
    for i, (loc, _) in enumerate(LOCALES):
        fakers[loc].seed_instance(derive_seed(seed, "faker", i))
    rng = random.Random(derive_seed(seed, "corpus"))
    weights = dict(LOCALES)
    everywhere = [loc for loc, _ in LOCALES]
    en = fakers["en_US"]

    def weighted(method: str, n: int, locales: Sequence[str] = everywhere) -> list[str]:
        ws = [weights[loc] for loc in locales]
        return [str(getattr(fakers[rng.choices(locales, ws)[0]], method)()) for _ in range(n)]

    def english(method: Callable[[], object], n: int) -> list[str]:
        return [str(method()) for _ in range(n)]

    def regions() -> list[str]:
        out: list[str] = []
        for loc in LATIN_LOCALES:  # each country's regions equally: there are few of them
            fk = fakers[loc]
            method = "state" if hasattr(fk, "state") else "administrative_unit"
            out.extend(str(getattr(fk, method)()) for _ in range(120))
        return out

    yield "names", weighted("name", 2048)
    locals_ = (u.lower() for u in weighted("user_name", 2048, LATIN_LOCALES))
    yield "email_locals", [u for u in locals_ if _EMAIL_LOCAL_RE.fullmatch(u)]
    yield "email_domains", english(en.free_email_domain, 400)
    yield "cities", weighted("city", 2048, LATIN_LOCALES)
    yield "regions", regions()
    yield "countries", english(en.country, 1024)
    yield "timezones", english(en.timezone, 1024)
    yield "photos", english(en.image_url, 512)
    yield "words", weighted("word", 2048)
    yield "sentences", [s[:160] for s in weighted("sentence", 1024)]
    yield "products", english(en.catch_phrase, 1024)
    yield "companies", english(en.company, 1024)


def build(seed: int = CORPUS_SEED) -> dict[str, Any]:
    """The corpus as a JSON-ready dict: each pool's distinct values with their counts."""
    import faker

    pools: dict[str, dict[str, list[Any]]] = {}
    for name, draws in _samples(seed):
        counts: dict[str, int] = {}
        for value in draws:
            if value:
                counts[value] = counts.get(value, 0) + 1
        pools[name] = {"counts": list(counts.values()), "values": list(counts)}
    if list(pools) != list(POOL_LIMITS):
        raise AssertionError(f"corpus pools {list(pools)} != pools.POOL_LIMITS")
    return {
        "version": CORPUS_VERSION,
        "generator": "python -m ctph_harness.clevertap.profiles.corpus",
        "faker": faker.VERSION,
        "seed": seed,
        "locales": [list(pair) for pair in LOCALES],
        "pools": pools,
    }


def render(corpus: dict[str, Any]) -> str:
    """The file's text: one value per line (counts on one line per pool), so a regeneration
    diffs readably and the file stays small enough to read in a few milliseconds."""

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    head = [f" {dump(k)}: {dump(v)}," for k, v in corpus.items() if k != "pools"]
    pools = []
    for name, pool in corpus["pools"].items():
        values = ",\n".join(f"    {dump(v)}" for v in pool["values"])
        counts = dump(pool["counts"]).replace(", ", ",")
        body = f'   "counts": {counts},\n   "values": [\n{values}\n   ]'
        pools.append(f"  {dump(name)}: {{\n{body}\n  }}")
    return "{\n" + "\n".join(head) + '\n "pools": {\n' + ",\n".join(pools) + "\n }\n}\n"


def _shipped() -> Path:
    return Path(__file__).with_name(CORPUS_FILE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ctph_harness.clevertap.profiles.corpus",
        description="Rebuild the faker corpus that profiles are drawn from.",
    )
    parser.add_argument("--output", type=Path, default=None, help="default: the shipped file")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the shipped file differs from a rebuild"
    )
    args = parser.parse_args(argv)
    try:
        text = render(build())
    except ModuleNotFoundError as exc:
        if exc.name != "faker":
            raise
        print("rebuilding the corpus needs faker: pip install 'ctph-harness[corpus]'")
        return 2
    if args.check:
        same = _shipped().read_text("utf-8") == text
        print("corpus.json is up to date" if same else "corpus.json differs from a rebuild")
        return 0 if same else 1
    target = args.output or _shipped()
    target.write_text(text, "utf-8", newline="\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
