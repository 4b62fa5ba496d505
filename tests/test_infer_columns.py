"""``ctph infer``'s fast path (issue 17, speed): NDJSON objects normalised by column
(``export.columns``, ``read_raw``, ``infer_read``) must declare, warn and report exactly what the
Record-per-line path (``read_records`` + ``infer``) does, bad lines and bad values included."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from ctph_harness.clevertap.export import Problem, read_raw, read_records
from ctph_harness.clevertap.infer import infer, infer_read
from ctph_harness.clevertap.infer.tomlfile import render


def _record(rng: random.Random, index: int) -> dict[str, Any]:
    return {
        "identity": f"user-{index}",
        "email": f"user{index}@example.com",
        "profileData": {
            "customer_id": f"ct_{index:06d}",
            "points": rng.randrange(1000),
            "balance": rng.random() * 100,
            "tier": rng.choice(("gold", "silver")),
            "signup": f"$D_{1_600_000_000 + index}",
            "tags": rng.sample(["a", "b", "c"], rng.randrange(3)),
            "vip": rng.random() < 0.5,
        },
        "platformInfo": [{"platform": "Android"}],
    }


def _oddities(rng: random.Random, index: int) -> str:
    """A line of an export with something wrong or unusual about it, in turn."""
    record = _record(rng, index)
    custom = record["profileData"]
    kind = index % 14
    if kind == 0:
        custom["ratio"] = float("nan")
    elif kind == 1:
        custom["nested"] = {"a": 1}
    elif kind == 2:
        custom["numbers"] = [1, 2]
    elif kind == 3:
        record["points"] = 5  # at the top and in profileData: profileData wins
    elif kind == 4:
        record["profileData"] = [1]
    elif kind == 5:
        record["profileData"] = "text"
    elif kind == 6:
        record["top_inf"], record["top_list"], record["when"] = float("inf"), [1], "$D_12"
    elif kind == 7:
        custom["signup"], custom["Identity"] = "$D_x1", "again"
    elif kind == 8:
        custom["mixed"] = rng.choice([1, "a", 2.5, True, None, ["s"], "$D_5", "$D_-3"])
    elif kind == 9:
        custom.update({f"k{j}": j for j in range(1100)})  # more than MAX_PROPERTIES
    elif kind == 10:
        return "[1, 2]"  # not an object
    elif kind == 11:
        return "1, 2"  # two values on one line
    elif kind == 12:
        return ""  # a blank line
    return json.dumps(record)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(17)
    lines = [json.dumps(_record(rng, i)) for i in range(300)]
    lines[150] = '{"identity": "bad'  # a bad line in the middle of a batch
    lines += [_oddities(rng, i) for i in range(300, 700)]
    path = tmp_path_factory.mktemp("columns") / "export.ndjson"
    path.write_text("\n".join(lines) + '\n{"identity": "cut', "utf-8")  # a truncated last line
    return path


@pytest.mark.parametrize("limit", [None, 10, 499])
def test_the_column_path_declares_warns_and_reports_as_the_record_path(
    export: Path, limit: int | None
) -> None:
    slow: list[Problem] = []
    fast: list[Problem] = []
    expected = infer(r.properties for r in read_records([export], slow.append, limit=limit))
    got = infer_read(read_raw([export], fast.append, limit=limit), fast.append)
    assert render(got) == render(expected)
    assert got == expected
    assert sorted(map(str, fast)) == sorted(map(str, slow))
    if limit is None:
        whats = {p.what for p in fast}
        assert any("cut off" in what for what in whats)
        assert any("nested object" in what for what in whats)
        assert any("not finite" in what for what in whats)
        assert any("other than strings" in what for what in whats)
        assert any("not a JSON object" in what for what in whats)
        assert any("1024" in what or "only the first" in what for what in whats)


def test_a_bad_value_is_reported_with_its_record_and_property(tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    records = [{"identity": f"u{i}", "profileData": {"n": i, "x": "a"}} for i in range(600)]
    records[300]["profileData"]["n"] = float("inf")  # written as Infinity
    records[301]["profileData"]["x"] = {"deep": True}
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    problems: list[Problem] = []
    inference = infer_read(read_raw([path], problems.append), problems.append)
    assert [(p.number, p.property) for p in problems] == [(301, "n"), (302, "x")]
    assert inference.profiles == 600


def test_an_id_with_a_newline_is_free_text_not_an_id() -> None:
    ids = [f"ct_{i:06d}" for i in range(200)]
    plain = infer({"code": v} for v in ids)
    # split at the newline, both halves would have the others' shape
    broken = infer({"code": v} for v in [*ids[:-1], "ct_000198\nct_000199"])
    assert "pattern" in plain.declarations[0].table
    assert "pattern" not in broken.declarations[0].table
