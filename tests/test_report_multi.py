"""``pytest --ctph-report FILE`` given several times (or the ``ctph_report`` ini key listing
several): every file checked at start-up, one run writing them all (each in the format its
suffix names, on the xdist controller only), the summary naming each, and a file named twice
a usage error rather than one report silently overwriting another."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
GOOD = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "signup", "distinct_id": "{{ Profile.Identity }}"}'
)
COLLAPSE = (
    '{"api_key": "'
    + KEY
    + '", "event": "signup", "distinct_id": "{{ Profile.Email | default: "x@y.z" }}"}'
)
BROKEN_JSON = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "signup", "distinct_id": "{{ Profile.Identity }}",\n'
    ' "properties": {"name": "{{ Profile.Name }}"}}'
)
ALL = ["r.xml", "r.json", "r.md", "r.html", "r.sarif"]


@pytest.fixture
def campaigns(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "good.json.liquid").write_text(GOOD)
    (pytester.path / "collapse.json.liquid").write_text(COLLAPSE)
    pytester.mkdir("nested")
    (pytester.path / "nested" / "broken.json.liquid").write_text(BROKEN_JSON)
    return pytester


def _reports(*files: str) -> list[str]:
    return [arg for name in files for arg in ("--ctph-report", name)]


def _check_all(folder: Path) -> None:
    """Each file parses as its format and says the same thing: one pass, two failures."""
    report = json.loads((folder / "r.json").read_text())
    assert {t["path"]: t["status"] for t in report["templates"]} == {
        "collapse.json.liquid": "fail",
        "good.json.liquid": "pass",
        "nested/broken.json.liquid": "fail",
    }
    junit = ET.parse(folder / "r.xml").getroot()
    cases = list(junit.iter("testcase"))
    assert len(cases) == 3
    assert sum(1 for case in cases if case.find("failure") is not None) == 2
    sarif: dict[str, Any] = json.loads((folder / "r.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"CTPH124", "CTPH004"}
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in results
        for loc in r["locations"]
    }
    assert uris >= {"collapse.json.liquid", "nested/broken.json.liquid"}
    html = (folder / "r.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "CTPH124" in html
    assert "CTPH004" in (folder / "r.md").read_text()


def test_one_run_writes_every_report_file_and_names_each(campaigns: pytest.Pytester) -> None:
    result = campaigns.runpytest("-p", "ctph_harness", "--ctph-profiles", "30", *_reports(*ALL))
    result.assert_outcomes(passed=1, failed=2)
    _check_all(campaigns.path)
    result.stdout.fnmatch_lines([f"ctph report written to {name}" for name in ALL])


def test_xdist_writes_the_same_bytes_on_the_controller_only(campaigns: pytest.Pytester) -> None:
    """Under ``-n 2`` the workers write nothing (the controller has every result), and each
    file is byte-for-byte what a serial run writes."""
    serial = campaigns.mkdir("serial")
    parallel = campaigns.mkdir("parallel")
    campaigns.runpytest_subprocess(
        "-p", "ctph_harness", "--ctph-profiles", "30",
        *_reports(*(os.path.join("serial", name) for name in ALL)),
    ).assert_outcomes(passed=1, failed=2)  # fmt: skip
    result = campaigns.runpytest_subprocess(
        "-p", "ctph_harness", "--ctph-profiles", "30", "-n", "2",
        *_reports(*(os.path.join("parallel", name) for name in ALL)),
    )  # fmt: skip
    result.assert_outcomes(passed=1, failed=2)
    _check_all(parallel)
    for name in ALL:
        assert (parallel / name).read_bytes() == (serial / name).read_bytes(), name
    announced = [line for line in result.outlines if line.startswith("ctph report written")]
    assert announced == [f"ctph report written to {os.path.join('parallel', n)}" for n in ALL]
    assert sorted(p.name for p in parallel.iterdir()) == sorted(ALL)  # no temp file left


def test_the_ini_key_may_list_several_files_relative_to_the_ini_file(
    campaigns: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaigns.makeini("[pytest]\nctph_report = out/r.json out/r.sarif\nctph_profiles = 5\n")
    elsewhere = campaigns.mkdir("elsewhere")
    monkeypatch.chdir(elsewhere)
    result = campaigns.runpytest("-p", "ctph_harness", str(campaigns.path / "good.json.liquid"))
    result.assert_outcomes(passed=1)
    out = campaigns.path / "out"
    assert json.loads((out / "r.json").read_text())["templates"][0]["status"] == "pass"
    assert json.loads((out / "r.sarif").read_text())["version"] == "2.1.0"
    result.stdout.fnmatch_lines(
        [f"ctph report written to {out / 'r.json'}", f"ctph report written to {out / 'r.sarif'}"]
    )
    assert not (elsewhere / "out").exists()


def test_the_command_line_replaces_the_ini_keys_files(campaigns: pytest.Pytester) -> None:
    campaigns.makeini("[pytest]\nctph_report = ini.json ini.xml\nctph_profiles = 5\n")
    result = campaigns.runpytest("-p", "ctph_harness", *_reports("cli.json", "cli.xml"))
    result.assert_outcomes(passed=1, failed=2)
    assert (campaigns.path / "cli.json").is_file() and (campaigns.path / "cli.xml").is_file()
    assert not (campaigns.path / "ini.json").exists() and not (campaigns.path / "ini.xml").exists()


def _assert_usage_error(result: pytest.RunResult, message: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "passed" not in text


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["r.json", "r.json"], "*ctph: --ctph-report: r.json is given twice; give each file once"),
        (
            ["r.json", "r.xml", "./r.json"],
            "*ctph: --ctph-report: r.json and ./r.json are the same file; give each file once",
        ),
        (
            ["out/r.json", "out/../r.xml", "r.xml"],
            "*ctph: --ctph-report: out/../r.xml and r.xml are the same file*",
        ),
    ],
    ids=["same-spelling", "dot-slash", "dot-dot"],
)
def test_one_file_named_twice_is_a_usage_error(
    campaigns: pytest.Pytester, files: list[str], message: str
) -> None:
    campaigns.mkdir("out")
    result = campaigns.runpytest("-p", "ctph_harness", *_reports(*files))
    _assert_usage_error(result, message)
    assert not list(campaigns.path.glob("r.*")) and not list((campaigns.path / "out").iterdir())


def test_a_symlinked_folder_is_the_same_file_too(campaigns: pytest.Pytester) -> None:
    real = campaigns.mkdir("real")
    try:
        (campaigns.path / "link").symlink_to(real, target_is_directory=True)
    except OSError:  # pragma: no cover - Windows without the symlink privilege
        pytest.skip("cannot make a symlink here")
    result = campaigns.runpytest("-p", "ctph_harness", *_reports("real/r.json", "link/r.json"))
    _assert_usage_error(
        result, "*ctph: --ctph-report: real/r.json and link/r.json are the same file*"
    )


def test_one_file_listed_twice_in_the_ini_key_is_a_usage_error(
    campaigns: pytest.Pytester,
) -> None:
    campaigns.makeini("[pytest]\nctph_report = r.json r.xml r.json\n")
    result = campaigns.runpytest("-p", "ctph_harness")
    _assert_usage_error(result, "*ctph: ini key ctph_report: *r.json is given twice*")


def test_one_bad_file_among_several_stops_the_run_before_it_starts(
    campaigns: pytest.Pytester,
) -> None:
    result = campaigns.runpytest("-p", "ctph_harness", *_reports("r.json", "r.log", "r.xml"))
    _assert_usage_error(result, "*ctph: r.log: cannot tell the report format from its extension*")
    assert not (campaigns.path / "r.json").exists()


def test_a_file_that_cannot_be_written_at_the_end_spares_the_others_and_fails_the_run(
    campaigns: pytest.Pytester,
) -> None:
    """Checked fine at start-up, then its path became a folder during the run: the other
    reports are still written, the summary says which one was lost, and a run whose tests all
    passed fails (exit 1) rather than ending in an INTERNALERROR traceback."""
    campaigns.makepyfile(
        test_takes_the_path="def test_it():\n    __import__('os').mkdir('r.json')\n"
    )
    (campaigns.path / "collapse.json.liquid").unlink()
    (campaigns.path / "nested" / "broken.json.liquid").unlink()
    result = campaigns.runpytest("-p", "ctph_harness", *_reports("r.xml", "r.json", "r.sarif"))
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "ctph report written to r.xml",
            "ctph report written to r.sarif",
            "ctph: error: cannot write r.json: *",
        ]
    )
    assert ET.parse(campaigns.path / "r.xml").getroot().tag == "testsuites"
    assert json.loads((campaigns.path / "r.sarif").read_text())["version"] == "2.1.0"
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text
