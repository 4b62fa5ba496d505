"""The shortcuts that keep ``ctph infer`` fast must give what the plain computation gives.

Each shortcut is checked against the obvious one-value-at-a-time version it replaces, on the
inputs that could tell them apart: a date column whose values hold a second ``$D_``, a batch
of id shapes where one shape is a prefix of another, unique values that repeat only across
batches, a mixed column's per-type counts. ``test_infer_columns`` checks the whole column path
against the record path; these pin the pieces that both paths share or that it cannot reach.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from ctph_harness.clevertap.export.columns import _normalised
from ctph_harness.clevertap.export.records import Date, normalise
from ctph_harness.clevertap.infer import accumulate, infer
from ctph_harness.clevertap.infer.accumulate import PropertyStats, _add_shapes

_ODD: list[Any] = [
    "$D_1700000000",
    "$D_-5",
    "$D_",
    "$D_1$D_2",
    "$D_12x",
    "$D_" + "9" * 19,
    "$D_\u0661\u0662",  # Arabic-Indic digits: not a date
    "x$D_1",
    "text",
    "",
    0,
    7,
    2**63,
    -(2**64),
    True,
    False,
    None,
    1.5,
    float("nan"),
    float("inf"),
    ["a", "b"],
    [],
    [1, "a"],
    [2],
    [{"k": 1}],  # platformInfo's shape
    {"k": 1},
]


def _expected(values: list[Any]) -> list[Any]:
    """What ``record_from`` keeps, one value at a time."""
    kept = []
    for value in values:
        normal, why = normalise(value)
        if why is None:
            kept.append(normal)
    return kept


def _column(rng: random.Random) -> list[Any]:
    pool = rng.sample(_ODD, rng.randrange(1, 5))
    return [rng.choice(pool) for _ in range(rng.randrange(1, 40))]


def test_a_column_is_normalised_and_counted_as_value_by_value() -> None:
    rng = random.Random(7)
    counted = 0
    for _ in range(3000):
        values = _column(rng)
        kept, dropped, counts = _normalised(list(values))
        expected = _expected(values)
        assert kept == expected, values
        assert [type(v) for v in kept] == [type(v) for v in expected], values
        assert dropped == (len(expected) < len(values)), values
        if counts is not None:
            counted += 1
            assert counts == dict(Counter(map(type, kept))), values
    assert counted > 1000  # the counts are known for most columns, so this tests them


def test_a_date_column_of_plain_epochs_is_converted_whole() -> None:
    values = [f"$D_{1_600_000_000 + i}" for i in range(300)]
    kept, dropped, counts = _normalised(values)
    assert kept == [Date(1_600_000_000 + i) for i in range(300)]
    assert counts == {Date: 300}
    assert not dropped


@pytest.mark.parametrize("odd", ["$D_1$D_2", "$D_", "$D_-5", "$D_" + "1" * 19, "$D_\u0661"])
def test_one_odd_value_in_a_date_column_is_normalised_on_its_own(odd: str) -> None:
    values = [f"$D_{1_600_000_000 + i}" for i in range(50)] + [odd]
    kept, _, _ = _normalised(list(values))
    assert kept == _expected(values)


def _shapes(rng: random.Random, pool: list[str]) -> list[str]:
    return [rng.choice(pool) for _ in range(rng.randrange(1, 60))]


@pytest.mark.parametrize("kind", [Counter, set])
def test_shapes_are_added_as_splitting_every_value_would(kind: type) -> None:
    rng = random.Random(3)
    # shapes that are prefixes of one another, or hold separators, tell a loose count apart
    everything = ["9", "99", "999", "a9", "9a", "aa_999", "A", "9-9", "", "9.99.9"]
    for _ in range(400):
        pool = rng.sample(everything, rng.randrange(1, 5))
        known: Any = kind()
        plain: Any = kind()
        for _ in range(rng.randrange(1, 6)):
            batch = _shapes(rng, pool if rng.random() < 0.8 else everything)
            _add_shapes(known, "\n".join(batch).encode("ascii"), len(batch))
            plain.update(batch)
            assert known == plain, batch
            if kind is Counter:
                assert list(known) == list(plain)  # the order a pattern is built in


def _unique(batches: list[list[int]]) -> bool:
    stats = PropertyStats()
    for batch in batches:
        stats.absorb(batch)
    return stats.unique


def test_unique_holds_until_a_value_repeats_in_a_batch_or_across_batches() -> None:
    assert _unique([[1, 2, 3], [4, 5]])
    assert not _unique([[1, 2, 2], [4, 5]])
    assert not _unique([[1, 2, 3], [4, 3]])
    assert not _unique([[1, 2, 3], [4, 5], [6, 1]])


def test_unique_is_not_claimed_past_the_values_it_tracks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accumulate, "_SEEN_MAX", 5)
    assert _unique([[1, 2, 3], [4, 5]])  # exactly the limit: still tracked
    assert not _unique([[1, 2, 3], [4, 5, 6]])


def test_ids_of_a_few_shapes_over_many_batches_keep_their_pattern() -> None:
    rng = random.Random(11)
    versions = [
        f"{rng.randrange(1, 6)}.{rng.randrange(0, 20)}.{rng.randrange(10)}" for _ in range(9000)
    ]
    table = infer({"app_version": v} for v in versions).declarations[0].table
    assert table["pattern"] == "^[0-9]\\.[0-9]{1,2}\\.[0-9]$"
    # one value of a new shape past the first batches still widens it
    table = infer({"app_version": v} for v in [*versions, "10.1.1"]).declarations[0].table
    assert table["pattern"] == "^[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]$"


def test_hex_ids_stay_hex_only_while_every_batch_is_lower_case_hex() -> None:
    rng = random.Random(5)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(9000)]
    assert infer({"d": v} for v in ids).declarations[0].table["pattern"] == "^[0-9a-f]{32}$"
    late = [*ids, ids[0].upper().replace("A", "G")[:-1] + "z"]  # a late batch breaks it
    assert infer({"d": v} for v in late).declarations[0].table.get("pattern") != ("^[0-9a-f]{32}$")
