"""Reviewer findings on `ctph infer`: crashes and a leak, each end to end through the CLI.

Every case here failed before its fix with an internal error (a traceback) or with input text
in the output; each asserts a clear message and that no planted value reaches any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctph_harness.cli import main


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def ndjson(path: Path, records: list[str]) -> str:
    path.write_text("".join(line + "\n" for line in records), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "number",
    ["1" + "0" * 400, "-" + "9" * 30, "1.5e300", "9" * 5000],  # the last: int() refuses it
    ids=["10**400", "-30-digits", "1.5e300", "5000-digits"],
)
def test_numbers_out_of_range_are_problems_not_crashes(
    tmp_path: Path, number: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        f'{{"identity": "u{i}", "profileData": {{"n": {number if i == 3 else i}}}}}'
        for i in range(12)
    ]
    for name, text in (("e.ndjson", "\n".join(lines)), ("e.json", "[" + ",".join(lines) + "]")):
        (tmp_path / name).write_text(text + "\n", encoding="utf-8")
        _, out, err = run("infer", str(tmp_path / name), capsys=capsys)
        assert "internal error" not in err
        assert number[:12] not in out + err
        too_long = len(number) > 4300
        assert ("a number too long to read" if too_long else "a number out of range") in err
        assert ("max = 20," in out or "max = 5," in out) and "e+" not in out  # others only


def test_csv_infinite_float_is_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("identity,n\nu1,1.0e999\nu2,2\n", encoding="utf-8")
    code, out, err = run("infer", str(path), capsys=capsys)
    assert code == 0, err
    assert "record 1, property 'n': a number out of range" in err
    assert "e999" not in out + err


def test_huge_date_epoch_is_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    epoch = "9" * 5000
    path = ndjson(tmp_path / "d.ndjson", [f'{{"identity": "u1", "d": "$D_{epoch}"}}'] * 2)
    code, out, err = run("infer", path, capsys=capsys)
    assert code == 0, err
    assert "999999" not in out + err


def test_csv_without_header_row_is_refused_without_quoting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "Alice Smith,alice@example.com,+14155550100\nBob Jones,bob@example.com,+14155550101\n",
        encoding="utf-8",
    )
    code, out, err = run("infer", str(path), capsys=capsys)
    assert code != 0
    assert "the first row does not look like a header row (cell 2)" in err
    for value in ("Alice", "alice", "4155550100"):
        assert value not in out + err


def test_clevertap_headers_still_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.csv"
    rows = "".join(f"u{i},N{i},n{i}@x.example,gold,01/02/2024 10:11:12\n" for i in range(3))
    path.write_text(
        "Identity,Name,Email,Customer Type,signup <dd/MM/yyyy HH:MM:SS>\n" + rows, encoding="utf-8"
    )
    code, out, err = run("infer", str(path), capsys=capsys)
    assert code == 0, err
    assert '"Customer Type"' in out and "signup" in out


def test_lone_surrogates_are_skipped_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps({"identity": f"u{i}", "profileData": {"\ud800x": 1, "e": "\udc00"}})
        for i in range(12)
    ]
    path = ndjson(tmp_path / "s.ndjson", lines)
    code, out, err = run("infer", path, capsys=capsys)
    assert code == 0, err
    out.encode("utf-8")  # valid TOML text: no surrogate
    assert "not valid Unicode" in err
    written = tmp_path / "ctph.toml"
    code, out, err = run("infer", path, "--write", str(written), capsys=capsys)
    assert code == 0, err
    assert "internal error" not in err
    written.read_text(encoding="utf-8")


def test_write_summary_escapes_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ndjson(tmp_path / "c.ndjson", [json.dumps({"identity": "u1", "a\x1b[31mb": 1})])
    code, out, err = run("infer", path, "--write", str(tmp_path / "ctph.toml"), capsys=capsys)
    assert code == 0, err
    assert "\x1b" not in out + err


@pytest.mark.parametrize("flag", ["account", "passcode"])
def test_non_ascii_credentials_are_usage_errors(
    flag: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PC", "pässcode" if flag == "passcode" else "secret")
    account = "accöunt" if flag == "account" else "acc"
    code, out, err = run(
        "infer", "--from-api", "--account-id", account, "--passcode-env", "PC",
        "--api-url", "http://127.0.0.1:9", capsys=capsys,
    )  # fmt: skip
    assert code == 2
    assert "printable ASCII" in err and "internal error" not in err
    assert "ä" not in out + err and "ö" not in out + err


@pytest.mark.parametrize(
    ("text", "key"),
    [("tool = 1\n", "`tool`"), ("[tool]\nctph = 1\n", "`tool.ctph`"),
     ("[tool.ctph]\nproperties = 1\n", "`properties`")],
)  # fmt: skip
def test_pyproject_with_non_table_keys_is_a_usage_error(
    tmp_path: Path, text: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ndjson(tmp_path / "a.ndjson", [json.dumps({"identity": "u1", "n": 1})])
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(text, encoding="utf-8")
    code, _, err = run("infer", source, "--write", str(pyproject), capsys=capsys)
    assert code == 2
    assert f"{pyproject}: {key} is not a table" in err
