"""Reading NDJSON exports (issue 17): one record a line, bad lines cost one record only."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ctph_harness.clevertap.export import Date, Problem, Record, read_records


def _read(*paths: Path, limit: int | None = None) -> tuple[list[Record], list[Problem]]:
    problems: list[Problem] = []
    return list(read_records(paths, problems.append, limit=limit)), problems


def _lines(path: Path, *records: object, raw: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + raw, "utf-8")
    return path


API_RECORD = {
    "identity": "u-1",
    "email": "someone@example.com",
    "name": "Ada",
    "profileData": {
        "loyalty_points": 12,
        "ratio": 0.5,
        "vip": True,
        "tier": None,
        "signup": "$D_1700000000",
        "interests": ["golf", "tea"],
    },
    "platformInfo": [{"platform": "Android", "objectId": "abc"}],
    "events": {"App Launched": {"count": 3}},
}


def test_a_record_merges_profile_data_with_the_top_level_system_fields(tmp_path: Path) -> None:
    records, problems = _read(_lines(tmp_path / "e.ndjson", API_RECORD))
    assert problems == []
    assert records == [
        Record(
            str(tmp_path / "e.ndjson"),
            1,
            {
                "identity": "u-1",
                "email": "someone@example.com",
                "name": "Ada",
                "loyalty_points": 12,
                "ratio": 0.5,
                "vip": True,
                "tier": None,
                "signup": Date(1700000000),
                "interests": ["golf", "tea"],
            },
        )
    ]


def test_bad_lines_are_problems_by_position_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    secret = "SECRET-VALUE-7"
    path.write_bytes(
        b'{"identity": "a"}\n'
        + f'{{"identity": "{secret}", oops}}\n'.encode()
        + f'["{secret}"]\n'.encode()
        + b"\n"
        + b'{"identity": "\xff'
        + secret.encode()
        + b'"}\n'
        + f'{{"identity": "b", "profileData": {{"x": {{"k": "{secret}"}}, "y": [1, "{secret}"]}}}}\n'.encode()
        + f'{{"identity": "{secret}'.encode()
    )
    records, problems = _read(path)
    assert [(r.number, r.properties) for r in records] == [
        (1, {"identity": "a"}),
        (6, {"identity": "b"}),
    ]
    assert [(p.number, p.property) for p in problems] == [
        (2, None),
        (3, None),
        (5, None),
        (6, "x"),
        (6, "y"),
        (7, None),
    ]
    assert "cut off" in problems[-1].what
    assert "UTF-8" in problems[2].what
    for problem in problems:
        assert secret not in str(problem) and secret not in repr(problem)


def test_gzip_and_a_bom_are_read_by_content_not_by_name(tmp_path: Path) -> None:
    plain = b"\xef\xbb\xbf" + json.dumps({"identity": "x"}).encode() + b"\n"
    (tmp_path / "export.csv").write_bytes(gzip.compress(plain))
    records, problems = _read(tmp_path / "export.csv")
    assert problems == [] and [r.properties for r in records] == [{"identity": "x"}]


def test_a_profile_data_of_ten_thousand_keys_is_cut_with_a_problem(tmp_path: Path) -> None:
    wide = {"identity": "w", "profileData": {f"p{i}": i for i in range(10_000)}}
    records, problems = _read(_lines(tmp_path / "w.ndjson", wide, {"identity": "next"}))
    assert len(records) == 2 and len(records[0].properties) == 1024
    assert records[1].properties == {"identity": "next"}
    assert [(p.number, p.property) for p in problems] == [(1, "profileData")]
    assert "10000" in problems[0].what


def test_limit_stops_reading_and_later_files_are_not_opened(tmp_path: Path) -> None:
    first = _lines(tmp_path / "a.ndjson", *({"identity": str(i)} for i in range(5)))
    records, problems = _read(first, tmp_path / "missing.ndjson", limit=3)
    assert [r.properties["identity"] for r in records] == ["0", "1", "2"] and problems == []


def test_an_unreadable_or_unknown_file_is_one_problem_naming_it(tmp_path: Path) -> None:
    (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00secret")
    (tmp_path / "empty.json").write_bytes(b"")
    good = _lines(tmp_path / "ok.ndjson", {"identity": "z"})
    records, problems = _read(
        tmp_path / "pic.png", tmp_path / "nope", tmp_path / "empty.json", good
    )
    assert [r.properties for r in records] == [{"identity": "z"}]
    assert [(Path(p.source).name, p.number) for p in problems] == [
        ("pic.png", None),
        ("nope", None),
        ("empty.json", None),
    ]
    assert "none of the formats" in problems[0].what and "secret" not in problems[0].what
    assert "cannot be read" in problems[1].what and "empty" in problems[2].what
