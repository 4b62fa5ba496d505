"""`ctph infer` end to end through the command line (issue 17): the leak test, `--write` then
`ctph verify` with the new finding, the API pull against a local fake, and the usage errors.

The leak test plants a marker unique to its record and field in every value of a 5,000-record
export (NDJSON, CSV with a dated column, and gzipped Profiles API pages), including the records
the readers refuse, and finds none of them in standard output, standard error or the written
file. Markers are unique per record, so none can pass the k rule as an enum value.
"""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ctph_harness.cli import main
from ctph_harness.config import load_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the py310 tox env
    import tomli as tomllib


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the leak test -------------------------------------------------------------------------------

FIELDS = ("identity", "email", "name", "phone", "nick", "ref_code", "city_code", "note", "tags")


def marker(record: int, field: int) -> str:
    return f"Q{record:05d}K{field:02d}Z"


def number_marker(record: int, field: int) -> int:
    return 7_310_000_000 + record * 100 + field


def leak_record(i: int) -> dict[str, object]:
    """One profile, every value carrying its own markers (booleans carry nothing to leak)."""
    m = [marker(i, f) for f in range(20)]
    return {
        "identity": m[0],
        "email": f"{m[1].lower()}@{m[2].lower()}.example",
        "name": f"{m[3]} {m[4]}",
        "phone": f"+1{number_marker(i, 5)}",
        "profileData": {
            "nick": m[6],
            "ref_code": f"rc_{m[7]}",
            "city_code": m[8],
            "note": f"free text {m[9]} with spaces",
            "tags": [m[10], m[11]],
            "points": number_marker(i, 12),
            "balance": number_marker(i, 13) + 0.25,
            "last_seen": f"$D_{number_marker(i, 14)}",
            "opted_in": i % 2 == 0,
            "home_address": f"{i} {m[15]} Street",
            "fcm_token": f"{m[16]}{m[16]}",
        },
    }


def planted(records: range) -> Iterator[str]:
    for i in records:
        for f in range(20):
            yield marker(i, f)
            yield marker(i, f).lower()
            yield str(number_marker(i, f))


@pytest.fixture(scope="module")
def export_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("export")
    ndjson = folder / "profiles.ndjson"
    lines = [json.dumps(leak_record(i)) for i in range(2000)]
    lines.insert(500, json.dumps(marker(99_999, 0)))  # a record that is not an object
    lines.append(json.dumps(leak_record(99_998))[:-7])  # a truncated last line
    ndjson.write_text("\n".join(lines) + "\n")
    table = folder / "upload.csv"
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Identity", "Email", "nick", "points", "signup <dd/MM/yyyy HH:MM:SS>"])
        for i in range(2000, 3500):
            day = f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1950 + i % 60} 10:{i % 60:02d}:{i % 47:02d}"
            writer.writerow(
                [
                    marker(i, 0),
                    f"{marker(i, 1).lower()}@x.example",
                    marker(i, 6),
                    number_marker(i, 12),
                    day,
                ]
            )
    pages = folder / "pages.json.gz"
    body = "".join(
        json.dumps({"status": "success", "records": [leak_record(i) for i in range(s, s + 500)],
                    "next_cursor": f"c{s}"})
        + "\n"
        for s in range(3500, 5000, 500)
    )  # fmt: skip
    pages.write_bytes(gzip.compress(body.encode()))
    return [ndjson, table, pages]


def test_no_marker_reaches_any_output(
    export_files: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = tmp_path / "ctph.toml"
    code, out, err = run("infer", *map(str, export_files), "--write", str(written), capsys=capsys)
    assert code == 0, err
    code2, printed, err2 = run("infer", *map(str, export_files), "--k", "1", capsys=capsys)
    assert code2 == 0
    outputs = [out, err, written.read_text(), printed, err2]
    everything = "\n".join(outputs)
    assert "5,000 profiles read" in err  # the planted data was read ...
    assert "record 501: not a JSON object" in err  # ... including the bad records
    declared = tomllib.loads(written.read_text())["properties"]
    assert declared["ref_code"]["type"] == "pattern"  # ... and inferred from
    assert declared["points"]["type"] == "integer"
    leaked = [m for m in planted(range(5000)) if m in everything]
    leaked += [m for m in planted(range(99_998, 100_000)) if m in everything]
    assert leaked == []
    # CSV dates are planted too: no day/month/year of the column is written
    assert "/19" not in everything and "10:" not in everything.replace("k=10", "")


def test_personal_properties_are_declared_by_kind(
    export_files: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run("infer", str(export_files[0]), capsys=capsys)
    assert code == 0
    declared = tomllib.loads(out)["properties"]
    assert declared["home_address"]["format"] == "address"
    assert declared["fcm_token"]["format"] == "push_token"
    assert "note" in declared and declared["note"]["type"] == "string"
    assert "properties flagged personal" in err and "2 properties flagged personal" in err


# --- --write, then verify ------------------------------------------------------------------------

TEMPLATE = """{"api_key": "phc_abcdefghijklmnopqrstuvwxyz0123456789ABCD", "event": "visit",
 "distinct_id": "{{ Profile.Identity | default: Profile.Email }}",
 "properties": {"tier": "{{ Profile.tier | default: 'none' }}",
  "typo": "{{ Profile.Emial | default: '' }}"}}
"""


def test_write_then_verify_reports_a_property_the_account_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "profiles.ndjson"
    export.write_text(
        "".join(
            json.dumps(
                {
                    "identity": f"u{i}",
                    "email": f"u{i}@x.example",
                    "profileData": {"tier": ["gold", "silver"][i % 2]},
                }
            )
            + "\n"
            for i in range(40)
        )
    )
    settings = tmp_path / "ctph.toml"
    settings.write_text('# ours\nprofiles = 20\n\n[properties]\nlegacy = "string"  # kept\n')
    code, out, _ = run("infer", str(export), "--write", str(settings), capsys=capsys)
    assert code == 0
    assert "added: Email, Identity, tier" in out and "kept (hand-written)" not in out
    text = settings.read_text()
    assert text.startswith("# ours\nprofiles = 20\n") and 'legacy = "string"  # kept' in text
    assert load_config(settings).properties_complete is True
    template = tmp_path / "visit.json.liquid"
    template.write_text(TEMPLATE)
    code, out, _ = run("verify", str(template), "--config", str(settings), capsys=capsys)
    assert "CTPH181" in out
    assert "`Profile.Emial` at line 4" in out and "did you mean `Profile.Email`?" in out
    assert out.count("CTPH181") == 1  # Profile.tier is declared; Identity/Email are CleverTap's
    # without properties_complete the same template gets no CTPH181
    settings.write_text(settings.read_text().replace("properties_complete = true", ""))
    code, out, _ = run("verify", str(template), "--config", str(settings), capsys=capsys)
    assert "CTPH181" not in out


def test_explain_181(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("explain", "181", capsys=capsys)
    assert code == 0 and "unknown-profile-property" in out


# --- --from-api ----------------------------------------------------------------------------------

PASSCODE = "PASS-never-printed-1234"


def test_from_api_pulls_pages_and_never_prints_the_passcode(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def handle(request: Request) -> Response:
        assert request.headers["X-CleverTap-Passcode"] == PASSCODE
        if request.method == "POST":
            return Response(json.dumps({"status": "success", "cursor": "c1"}))
        if request.args.get("cursor") == "c1":
            records = [{"identity": f"id-{i}", "profileData": {"plan": "pro"}} for i in range(30)]
            return Response(
                json.dumps({"status": "success", "records": records, "next_cursor": "c2"})
            )
        records = [{"identity": f"id-{i}", "profileData": {"plan": "free"}} for i in range(30, 45)]
        return Response(json.dumps({"status": "success", "records": records}))

    httpserver.expect_request("/1/profiles.json").respond_with_handler(handle)
    monkeypatch.setenv("CT_PASS", PASSCODE)
    code, out, err = run(
        "infer", "--from-api", "--account-id", "ACC-1", "--passcode-env", "CT_PASS",
        "--api-url", httpserver.url_for("/"), capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert tomllib.loads(out)["properties"]["plan"] == {
        "type": "enum", "values": ["free", "pro"], "always": True,
    }  # fmt: skip
    assert "45 profiles read" in err
    assert PASSCODE not in out + err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "needs SOURCE files, or --from-api"),
        (("--from-api",), "--from-api needs --account-id"),
        (("--from-api", "--account-id", "A"), "needs --passcode-env"),
        (("--from-api", "--account-id", "A", "--passcode-env", "CTPH_UNSET_X"), "not set"),
        (("x.ndjson", "--account-id", "A"), "need --from-api"),
        (("x.ndjson", "--k", "0"), "must be 1 or more"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run("infer", *argv, capsys=capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_a_file_with_no_records_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "nothing.ndjson"
    empty.write_bytes(b"")
    code, _, err = run("infer", str(empty), capsys=capsys)
    assert code == 2 and "no profile record could be read" in err


def test_write_refuses_a_settings_file_that_is_not_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "p.ndjson"
    export.write_text('{"identity": "a", "profileData": {"x": 1}}\n')
    settings = tmp_path / "ctph.toml"
    settings.write_text("broken = = =\n")
    code, _, err = run("infer", str(export), "--write", str(settings), capsys=capsys)
    assert code == 2 and "not valid TOML" in err
    assert settings.read_text() == "broken = = =\n"  # untouched


def test_write_refuses_a_settings_file_that_is_not_utf8_and_leaves_it_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read as loading reads it: a Latin-1 byte was decoded with replacement and written back
    as U+FFFD, with exit 0."""
    export = tmp_path / "p.ndjson"
    export.write_text('{"identity": "a", "profileData": {"x": 1}}\n')
    settings = tmp_path / "ctph.toml"
    original = b"# caf\xe9\nprofiles = 5\n"
    settings.write_bytes(original)
    code, _, err = run("infer", str(export), "--write", str(settings), capsys=capsys)
    assert code == 2 and "not UTF-8 text (byte 5)" in err and "Traceback" not in err
    assert settings.read_bytes() == original


def test_write_goes_through_a_symlinked_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one atomic writer writes through a link the user keeps instead of replacing it."""
    export = tmp_path / "p.ndjson"
    export.write_text(
        "".join(f'{{"identity": "u{i}", "profileData": {{"x": {i}}}}}\n' for i in range(20))
    )
    target = tmp_path / "shared.toml"
    target.write_text("profiles = 5\n")
    link = tmp_path / "ctph.toml"
    link.symlink_to(target)
    code, _, err = run("infer", str(export), "--write", str(link), capsys=capsys)
    assert code == 0, err
    assert link.is_symlink() and "properties_complete = true" in target.read_text()


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["infer", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "--passcode-env" in out and "exit status" in out


def test_the_readme_example_is_what_ctph_infer_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    (block,) = re.findall(r"```console\n\$ (ctph infer [^\n]*)\n(.*?)```", readme, re.DOTALL)
    command, shown = block
    monkeypatch.chdir(root)
    code, out, err = run(*command.split()[1:], capsys=capsys)
    assert code == 0
    assert out + err == shown
    assert tomllib.loads(out)["properties"]["plan"]["values"] == ["free", "pro"]


def test_write_into_a_missing_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "p.ndjson"
    export.write_text('{"identity": "a", "profileData": {"x": 1}}\n')
    target = tmp_path / "no-such-folder" / "ctph.toml"
    code, _, err = run("infer", str(export), "--write", str(target), capsys=capsys)
    assert code == 2 and "cannot write" in err and "Traceback" not in err


def test_write_into_pyproject_keeps_the_project_and_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "p.ndjson"
    export.write_text("".join(f'{{"profileData": {{"visits": {i}}}}}\n' for i in range(12)))
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "shop"  # ours\n\n[tool.ctph]\nprofiles = 10\n')
    code, _, err = run("infer", str(export), "--write", str(pyproject), capsys=capsys)
    assert code == 0, err
    text = pyproject.read_text()
    assert text.startswith('[project]\nname = "shop"  # ours\n')
    config = load_config(pyproject)
    assert config.properties_complete and config.properties["visits"]["type"] == "integer"


@pytest.mark.parametrize("pack", [bytes, gzip.compress], ids=["plain", "gzip"])
def test_standard_input_is_read_like_a_file(tmp_path: Path, pack: Any) -> None:
    """`-` reads standard input (a pipe cannot seek: gzip is sniffed without it) and gives
    what the same file gives."""

    export = Path(__file__).resolve().parents[1] / "fixtures" / "profiles" / "export.ndjson"
    command = [sys.executable, "-m", "ctph_harness", "infer", "--k", "2"]
    from_file = subprocess.run([*command, str(export)], capture_output=True, timeout=60)
    piped = subprocess.run(
        [*command, "-"], input=pack(export.read_bytes()), capture_output=True, timeout=60
    )
    assert (piped.returncode, piped.stdout) == (0, from_file.stdout)
    assert b"60 profiles read" in piped.stderr
    twice = subprocess.run([*command, "-", "-"], input=b"", capture_output=True, timeout=60)
    assert twice.returncode == 2 and b"can be read only once" in twice.stderr
