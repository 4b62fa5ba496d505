"""The command line as CI and pre-commit use it: several report files from one run, standard
input for a template or a payload, the project key from the environment, help that says what
each command does, and errors in the user's words (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
PAYLOADS = ROOT / "fixtures" / "payloads"
PURCHASE = CAMPAIGNS / "guide-purchase.json.liquid"
KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"


def ctph(
    *args: str, cwd: Path = ROOT, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctph_harness", *args],
        cwd=cwd,
        input=stdin.decode(),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
        timeout=120,
    )


def test_one_run_writes_every_output_in_the_format_its_extension_names(tmp_path: Path) -> None:
    outputs = [tmp_path / n for n in ("r.sarif", "r.xml", "out/r.json", "r.md", "r.html")]
    args = [a for path in outputs for a in ("--output", str(path))]
    run = ctph("verify", str(PURCHASE), "--profiles", "30", *args)
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith("FAIL  ") and "templates pass" in run.stdout  # the verdict
    assert json.loads(outputs[0].read_text())["version"] == "2.1.0"
    assert ET.fromstring(outputs[1].read_bytes()).tag == "testsuites"
    assert json.loads(outputs[2].read_text())["templates"][0]["status"] == "fail"
    assert outputs[3].read_text().startswith("#") and "<html" in outputs[4].read_text()


def test_format_names_standard_output_and_files_without_a_known_extension(
    tmp_path: Path,
) -> None:
    sarif, plain = tmp_path / "r.sarif", tmp_path / "report"
    run = ctph(
        "verify", str(PURCHASE), "--profiles", "30", "--format", "github",
        "--output", "-", "--output", str(sarif), "--output", str(plain),
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith("::error file=")  # annotations on stdout, for the workflow log
    assert json.loads(sarif.read_text())["runs"][0]["results"]
    assert plain.read_text().startswith("::")  # no extension: --format's


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["--format", "json", "--output", "r.html"], "--format json contradicts"),
        (["--output", "report"], "cannot tell the report format"),
        (["--output", "r.json", "--output", "./r.json"], "given twice"),
        (["--profiles", "0"], "--profiles 0: must be a whole number from 1 to 100,000"),
        (["--jobs", "two"], "--jobs 'two'"),
    ],
)
def test_contradictions_are_usage_errors_before_any_work(
    tmp_path: Path, args: list[str], told: str
) -> None:
    run = ctph("verify", str(PURCHASE), *args, cwd=tmp_path)
    assert run.returncode == 2 and told in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not list(tmp_path.iterdir())  # nothing written


def test_verify_reads_a_template_from_standard_input(tmp_path: Path) -> None:
    (tmp_path / "ctph.toml").write_text((CAMPAIGNS / "ctph.toml").read_text())
    from_file = ctph("verify", str(PURCHASE), "--format", "json", cwd=CAMPAIGNS)
    piped = ctph("verify", "-", "--format", "json", cwd=tmp_path, stdin=PURCHASE.read_bytes())
    assert piped.returncode == from_file.returncode == 1
    (item,) = json.loads(piped.stdout)["templates"]
    assert item["path"] == "-"
    assert item["findings"] == json.loads(from_file.stdout)["templates"][0]["findings"]
    twice = ctph("verify", "-", "-", stdin=b"{}")
    assert twice.returncode == 2 and "only once" in twice.stderr


def test_verify_jobs_with_standard_input_among_files(tmp_path: Path) -> None:
    run = ctph(
        "verify", "-", str(PURCHASE), "--jobs", "2", "--profiles", "20", "--format", "json",
        stdin=(CAMPAIGNS / "corrected-purchase.json.liquid").read_bytes(),
    )  # fmt: skip
    paths = [item["path"] for item in json.loads(run.stdout)["templates"]]
    assert paths == ["-", str(PURCHASE)]


def test_check_reads_standard_input_and_the_key_from_the_environment() -> None:
    body = (PAYLOADS / "corrected-purchase.json").read_bytes()
    assert ctph("check", "-", stdin=body).returncode == 0
    other = "phc_" + "Zz9" * 12
    wrong = ctph("check", "-", "--format", "json", stdin=body, env={"CTPH_PROJECT_KEY": other})
    codes = {f["code"] for f in json.loads(wrong.stdout)["payloads"][0]["findings"]}
    assert wrong.returncode == 1 and "CTPH105" in codes
    assert other not in wrong.stdout + wrong.stderr  # redacted, as every key
    flag = ctph("check", "-", "--project-key", other, stdin=body, env={"CTPH_PROJECT_KEY": ""})
    assert flag.returncode == 1


def test_check_writes_every_format(tmp_path: Path) -> None:
    sarif, junit = tmp_path / "c.sarif", tmp_path / "c.xml"
    run = ctph("check", str(PAYLOADS), "--output", str(sarif), "--output", str(junit))
    assert run.returncode == 1 and "payloads pass" in run.stdout
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert any(r["locations"][0]["physicalLocation"].get("region") for r in results)
    assert ET.fromstring(junit.read_bytes()).get("failures") == "2"


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("verify", ["default 200", "- reads one template from standard input", "--jobs"]),
        ("check", ["CTPH_PROJECT_KEY", "- reads one body from standard input"]),
        ("merge-reports", ["--output"]),
        ("render", ["--index"]),
        ("serve", ["Ctrl-C"]),
        ("rules", []),
        ("explain", []),
    ],
)
def test_every_command_help_has_a_description_examples_and_exit_codes(
    command: str, said: list[str]
) -> None:
    run = ctph(command, "--help")
    assert run.returncode == 0
    assert "examples:\n  ctph " + command in run.stdout
    assert "exit status: 0" in run.stdout
    flat = " ".join(run.stdout.split())  # option help wraps at the terminal's width
    for words in said:
        assert words in flat, words
    top = ctph("--help").stdout
    assert command in top and "3 internal error" in top
