"""JSON documents, API pages and CSV exports (issue 17), told by content, read streaming."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from ctph_harness.clevertap.export import Date, Problem, Record, document, read_records
from ctph_harness.clevertap.export.progress import TerminalProgress, progress_for
from ctph_harness.clevertap.export.table import date_format

SECRET = "MARKER-93a1"


def _read(*paths: Path) -> tuple[list[Record], list[Problem]]:
    problems: list[Problem] = []
    return list(read_records(paths, problems.append)), problems


def _records(count: int) -> list[dict[str, object]]:
    return [
        {"identity": f"u{i}", "profileData": {"n": i, "when": "$D_17", "note": SECRET * 3}}
        for i in range(count)
    ]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks far smaller than a record, so every record straddles a chunk boundary."""
    monkeypatch.setattr(document, "CHUNK_BYTES", 37)


@pytest.mark.usefixtures("small_chunks")
def test_pages_arrays_and_pretty_printed_records_stream_across_chunks(tmp_path: Path) -> None:
    recs = _records(30)
    pages = tmp_path / "pages.json"
    pages.write_text(
        json.dumps({"status": "success", "next_cursor": "c", "records": recs[:20]})
        + "\n"
        + json.dumps({"records": recs[20:], "status": "success"}, indent=2),
        "utf-8",
    )
    (tmp_path / "array.json.gz").write_bytes(gzip.compress(json.dumps(recs, indent=1).encode()))
    (tmp_path / "pretty").write_text("\n".join(json.dumps(r, indent=2) for r in recs), "utf-8")
    for name in ("pages.json", "array.json.gz", "pretty"):
        records, problems = _read(tmp_path / name)
        assert problems == [], name
        assert [r.number for r in records] == list(range(1, 31)), name
        assert records[29].properties == {
            "identity": "u29",
            "n": 29,
            "when": Date(17),
            "note": SECRET * 3,
        }


@pytest.mark.usefixtures("small_chunks")
def test_a_broken_document_keeps_what_came_before_and_quotes_nothing(tmp_path: Path) -> None:
    recs = _records(5)
    (tmp_path / "cut.json").write_text(json.dumps(recs)[:-40], "utf-8")
    (tmp_path / "bad.json").write_text(json.dumps(recs).replace('"u3"', SECRET), "utf-8")
    (tmp_path / "fail.json").write_text(json.dumps({"status": "fail", "error": SECRET}), "utf-8")
    (tmp_path / "odd.json").write_text(json.dumps([recs[0], SECRET, 7, recs[1]]), "utf-8")
    cut, cut_problems = _read(tmp_path / "cut.json")
    bad, bad_problems = _read(tmp_path / "bad.json")
    fail, fail_problems = _read(tmp_path / "fail.json")
    odd, odd_problems = _read(tmp_path / "odd.json")
    assert len(cut) == 4 and [(p.number, "cut off" in p.what) for p in cut_problems] == [(5, True)]
    assert len(bad) == 3 and [(p.number, "not valid JSON" in p.what) for p in bad_problems] == [
        (4, True)
    ]
    assert fail == [] and "status is not success" in fail_problems[0].what
    assert [r.number for r in odd] == [1, 4] and [p.number for p in odd_problems] == [2, 3]
    for problem in cut_problems + bad_problems + fail_problems + odd_problems:
        assert SECRET not in str(problem)


def test_invalid_utf8_in_a_document_is_replaced_and_reported_by_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'[{"identity": "a\xe9b"}, {"identity": "c"}]')
    records, problems = _read(path)
    assert [r.properties["identity"] for r in records] == ["a\ufffdb", "c"]
    assert [(p.number, "UTF-8" in p.what and "byte 17" in p.what) for p in problems] == [
        (None, True)
    ]


def test_a_csv_date_cell_is_read_by_the_rule_ndjson_uses(tmp_path: Path) -> None:
    """``$D_`` with 13 to 18 digits is a date in every reader (the CSV reader took 12 at most)."""
    csv_file, ndjson = tmp_path / "e.csv", tmp_path / "e.ndjson"
    csv_file.write_text("Identity,Seen\nu1,$D_1234567890123\nu2,$D_12x\n")
    ndjson.write_text(
        '{"identity": "u1", "profileData": {"Seen": "$D_1234567890123"}}\n'
        '{"identity": "u2", "profileData": {"Seen": "$D_12x"}}\n'
    )
    from_csv, from_ndjson = _read(csv_file)[0], _read(ndjson)[0]
    assert [r.properties["Seen"] for r in from_csv] == [Date(1234567890123), "$D_12x"]
    assert [r.properties["Seen"] for r in from_ndjson] == [r.properties["Seen"] for r in from_csv]


def test_csv_cells_are_typed_by_shape_and_dated_columns_by_their_header(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes(
        b"\xef\xbb\xbfIdentity,Name,Signup <dd/MM/yyyy HH:MM:SS>,Points,Ratio,VIP,Code,Tags,Seen\r\n"
        b'1,"Ada\r\nLovelace",25/12/2023 10:30:15,12,1.5,true,007,"[""a"",""b""]",$D_99\r\n'
        + f"2,Bob,{SECRET},-3,,FALSE,x,[1],\r\n".encode()
        + f"3,{SECRET},,1,2,3,4,5,6,7\r\n".encode()
    )
    records, problems = _read(path)
    assert [r.properties for r in records] == [
        {
            "Identity": 1,
            "Name": "Ada\r\nLovelace",
            "Signup": Date(1703500215),
            "Points": 12,
            "Ratio": 1.5,
            "VIP": True,
            "Code": "007",
            "Tags": ["a", "b"],
            "Seen": Date(99),
        },
        {
            "Identity": 2,
            "Name": "Bob",
            "Points": -3,
            "Ratio": None,
            "VIP": False,
            "Code": "x",
            "Tags": "[1]",
            "Seen": None,
        },
        {
            "Identity": 3,
            "Name": SECRET,
            "Signup": None,
            "Points": 1,
            "Ratio": 2,
            "VIP": 3,
            "Code": 4,
            "Tags": 5,
            "Seen": 6,
        },
    ]
    assert [(p.number, p.property) for p in problems] == [(2, "Signup"), (3, None)]
    assert all(SECRET not in str(p) for p in problems)


def test_date_formats_read_like_clevertaps_header_patterns() -> None:
    assert date_format("dd/MM/yyyy HH:MM:SS") == "%d/%m/%Y %H:%M:%S"
    assert date_format("yyyy-MM-dd") == "%Y-%m-%d"
    assert date_format("dd/MM/yyyy hh:mm a") == "%d/%m/%Y %I:%M %p"
    assert date_format("EEE dd") is None


def test_progress_is_a_rewritten_line_on_a_terminal_and_nothing_in_a_pipe() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert progress_for(io.StringIO()) is None
    assert isinstance(progress_for(Tty()), TerminalProgress)
    ticks = iter([0.0, 0.05, 1.0])
    out = io.StringIO()
    shown = TerminalProgress(out, clock=lambda: next(ticks))
    shown.update(4096, 2_000_000)
    shown.update(8192, 4_000_000)  # within 0.1 s: not drawn
    shown.update(12_288, 6_500_000)
    shown.finish()
    text = out.getvalue()
    assert "read 4,096 records, 2.0 MB" in text and "8,192" not in text and "6.5 MB" in text
    assert text.endswith("\r") and text.count("\r") == 4
