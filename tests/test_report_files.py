"""The one report-file writer behind ``ctph verify --output`` and ``pytest --ctph-report``:
checked before the run (a known extension, a place a folder can be made), folders created,
written atomically, and the same usage errors from both doors."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from ctph_harness.cli import main
from ctph_harness.errors import InputError, UsageError
from ctph_harness.reports.formats import WRITERS
from ctph_harness.reports.model import ItemReport, RunReport
from ctph_harness.reports.output import check_report_file, write_report_file

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
GOOD = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "signup", "distinct_id": "{{ Profile.Identity }}"}'
)
REPORT = RunReport((ItemReport("a.json.liquid", (), True, profiles=3),), seed=7)


# --- the check, before any run ------------------------------------------------------------


def test_the_format_comes_from_the_extension_unless_named(tmp_path: Path) -> None:
    assert check_report_file(tmp_path / "r.JSON") == "json"
    assert check_report_file(tmp_path / "r.xml") == "junit"
    assert check_report_file(tmp_path / "r.log", "text") == "text"
    with pytest.raises(UsageError, match=r"r\.log: cannot tell the report format .*\.json"):
        check_report_file(tmp_path / "r.log")


def test_a_missing_folder_is_fine_and_is_not_made_by_the_check(tmp_path: Path) -> None:
    target = tmp_path / "out" / "deep" / "r.json"
    assert check_report_file(target) == "json"
    assert not (tmp_path / "out").exists()


def test_a_folder_that_cannot_be_made_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(UsageError, match=r"cannot create the report's folder .*plain"):
        check_report_file(tmp_path / "plain" / "sub" / "r.json")


def test_a_folder_is_not_a_report_file(tmp_path: Path) -> None:
    (tmp_path / "r.json").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        check_report_file(tmp_path / "r.json")


# --- the write ----------------------------------------------------------------------------


def test_write_makes_folders_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "deep" / "r.md"
    write_report_file(target, REPORT)
    assert target.read_text(encoding="utf-8") == WRITERS["markdown"](REPORT)
    assert os.listdir(target.parent) == ["r.md"]
    write_report_file(target, REPORT, "json")  # a named format wins over the extension
    assert json.loads(target.read_text(encoding="utf-8"))["seed"] == 7


def test_a_failed_write_keeps_the_old_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.json"
    target.write_text("the previous report")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InputError, match=r"cannot write .*r\.json: No space left on device"):
        write_report_file(target, REPORT)
    assert target.read_text() == "the previous report"
    assert os.listdir(tmp_path) == ["r.json"]


# --- ctph verify --output -----------------------------------------------------------------


def _verify(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["verify", str(CAMPAIGNS), "--profiles", "5", *argv], out=out)
    return code, out.getvalue()


def test_cli_output_into_a_new_folder(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "ctph.json"
    code, text = _verify("--output", str(target))
    assert code == 1  # the example campaigns include failing ones
    assert json.loads(target.read_text())["version"] == 1
    assert "templates pass;" in text  # the text verdict still goes to stdout


def test_cli_bad_output_is_a_usage_error_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _verify("--output", str(tmp_path / "r.log"))
    assert code == 2 and text == ""
    assert "cannot tell the report format from its extension" in capsys.readouterr().err
    (tmp_path / "plain").write_text("")
    code, text = _verify("--output", str(tmp_path / "plain" / "r.json"))
    assert code == 2 and text == ""
    assert "cannot create the report's folder" in capsys.readouterr().err


# --- pytest --ctph-report -----------------------------------------------------------------


@pytest.fixture
def campaign(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "good.json.liquid").write_text(GOOD)
    return pytester


def test_report_into_a_new_folder_is_written_and_announced(campaign: pytest.Pytester) -> None:
    target = os.path.join("out", "deep", "report.json")
    result = campaign.runpytest(
        "-p", "ctph_harness", "--ctph-profiles", "5", "--ctph-report", target
    )
    result.assert_outcomes(passed=1)
    report = json.loads((campaign.path / target).read_text())
    assert [t["status"] for t in report["templates"]] == ["pass"]
    result.stdout.fnmatch_lines([f"ctph report written to {target}"])


def test_no_report_no_announcement(campaign: pytest.Pytester) -> None:
    result = campaign.runpytest("-p", "ctph_harness", "--ctph-profiles", "5")
    result.assert_outcomes(passed=1)
    assert "ctph report written" not in result.stdout.str()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("report.log", "*ctph: report.log: cannot tell the report format from its extension*"),
        ("plain/sub/report.json", "*ctph: plain*cannot create the report's folder*"),
    ],
)
def test_bad_report_file_is_a_usage_error_at_start_up(
    campaign: pytest.Pytester, target: str, message: str
) -> None:
    (campaign.path / "plain").write_text("a file, not a folder")
    result = campaign.runpytest("-p", "ctph_harness", "--ctph-report", target)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "passed" not in text


def test_bad_report_file_from_ini_is_a_usage_error_too(campaign: pytest.Pytester) -> None:
    campaign.makeini("[pytest]\nctph_report = report.csv\n")
    result = campaign.runpytest("-p", "ctph_harness")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*report.csv: cannot tell the report format*"])
