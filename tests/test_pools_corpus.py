"""The shipped faker corpus (issue 13): generated, never hand-edited; a seed's pools drawn from it
are the same everywhere, and drawing needs no faker."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from ctph_harness.clevertap.profiles import generate
from ctph_harness.clevertap.profiles.pools import (
    CORPUS_FILE,
    POOL_LIMITS,
    CorpusPool,
    Pools,
    Rng,
    _draw,
    corpus,
    pools_for,
)

SHIPPED = resources.files("ctph_harness.clevertap.profiles").joinpath(CORPUS_FILE)


def _shipped() -> dict[str, object]:
    data: dict[str, object] = json.loads(SHIPPED.read_text("utf-8"))
    return data


def test_shipped_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    """Rebuild with the generator (as a user would run it) and compare byte for byte. faker's
    data changes between its releases, so the rebuild can only match under the faker version
    that built the file; under another one the test says which to install. faker is imported
    here only: nothing else needs it, at run time or in these tests."""
    faker = pytest.importorskip("faker")
    built_with = _shipped()["faker"]
    if built_with != faker.VERSION:
        pytest.skip(
            f"corpus.json was built with faker {built_with}, faker {faker.VERSION} is installed: "
            f"`pip install faker=={built_with}` to check it (profiles never depend on faker)"
        )
    out = tmp_path / "corpus.json"
    done = subprocess.run(
        [sys.executable, "-m", "ctph_harness.clevertap.profiles.corpus", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == SHIPPED.read_bytes()


def test_corpus_holds_every_pool_with_more_values_than_a_seed_uses() -> None:
    data = corpus()
    assert list(data) == list(POOL_LIMITS)
    assert set(POOL_LIMITS) == set(Pools.__dataclass_fields__) - {"seed"}
    for name, pool in data.items():
        assert len(set(pool.values)) == len(pool.values), name
        assert all(isinstance(v, str) and v for v in pool.values), name
        assert len(pool.ends) == len(pool.values), name
        counts = [b - a for a, b in zip((0, *pool.ends[:-1]), pool.ends, strict=True)]
        assert min(counts) >= 1, name
    # the open-ended pools are several seeds' worth; a closed list (domains, regions,
    # countries, time zones) is however long faker's list is
    for name in ("names", "email_locals", "cities", "words", "sentences", "companies"):
        assert len(data[name].values) >= 4 * POOL_LIMITS[name], name


def test_pools_for_seed_0_are_pinned() -> None:
    """A change here changes every seed's profiles: regenerate deliberately, bump
    CORPUS_VERSION and say so in the README (section "Configuration", seed)."""
    pools = pools_for(0)
    assert pools.names[:3] == ("Scott Stevens", "Univ.Prof. Myriam Roskoth", "Folkert Wagenknecht")
    assert pools.email_locals[:3] == ("diptakapadia", "arnoldrichard", "ryan69")
    assert pools.email_domains == (
        "yahoo.com",
        "gmail.com",
        "hotmail.com",
        "example.com",
        "acme.co.in",
    )
    assert pools.cities[:3] == ("Saint Bernadette", "North Melinda", "Nashik")
    assert pools.timezones[:2] == ("America/Jamaica", "Asia/Riyadh")
    assert pools.words[:3] == ("adipisci", "child", "sequi")
    assert pools.companies[:2] == ("Garcia-Brown", "Williams, Robinson and Johnson")
    profile = generate([("Profile", "Email"), ("Profile", "City")], 40, seed=0)[-1]
    assert (profile.kind, profile.fields) == (
        "random",
        {"City": "Norden", "Email": "josephwilkins39@yahoo.com"},
    )


def test_each_pool_is_distinct_values_up_to_its_limit_and_seeds_differ() -> None:
    data = corpus()
    zero, one = pools_for(0), pools_for(1)
    for name, limit in POOL_LIMITS.items():
        values = zero.get(name)
        own = 2 if name == "email_domains" else 0  # example.com, acme.co.in
        assert len(values) == len(set(values)) == min(limit, len(data[name].values)) + own, name
        assert set(values) - {"example.com", "acme.co.in"} <= set(data[name].values), name
        if len(data[name].values) > limit:
            assert set(values) != set(one.get(name)), name


def test_draw_keeps_fakers_frequencies() -> None:
    """A value faker produced 9 times in 10 is drawn first about 9 times in 10: the corpus
    samples like faker did, not like a list of distinct values would."""
    pool = CorpusPool.of(("common", "rare"), (9, 1))
    firsts = Counter(_draw(pool, 1, Rng(seed))[0] for seed in range(1000))
    assert 850 <= firsts["common"] <= 950
    assert _draw(pool, 5, Rng(7)) in {("common", "rare"), ("rare", "common")}


def test_pools_are_the_same_in_a_new_process_without_faker() -> None:
    code = (
        "import json, sys\n"
        "from ctph_harness.clevertap.profiles.pools import pools_for, POOL_LIMITS\n"
        "p = pools_for(5)\n"
        "print(json.dumps({'faker': 'faker' in sys.modules,"
        " 'pools': {k: p.get(k) for k in POOL_LIMITS}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONHASHSEED": "4242", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout)
    assert there["faker"] is False
    here = pools_for(5)
    assert there["pools"] == {k: list(here.get(k)) for k in POOL_LIMITS}
