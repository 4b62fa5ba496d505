"""`ctph check`, `ctph rules`, `ctph explain`: driven through `main()` in-process and once through
the installed console script, with the exit codes the product promises (0 / 1 / 2)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctph_harness import catalogue
from ctph_harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = ROOT / "fixtures" / "payloads"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_guide_payloads_fail_with_the_guides_real_faults() -> None:
    code, text = run("check", "--format", "json", str(PAYLOADS))
    assert code == 1
    report = json.loads(text)
    by_name = {Path(item["path"]).name: item for item in report["payloads"]}
    identify = {f["code"] for f in by_name["guide-identify.json"]["findings"]}
    purchase = {f["code"] for f in by_name["guide-purchase.json"]["findings"]}
    # placeholder key, "user distinct_id", so no distinct_id, stringly values, zone-less timestamp
    assert {"CTPH102", "CTPH132", "CTPH121", "CTPH162", "CTPH142"} <= identify
    assert {"CTPH102", "CTPH161"} <= purchase
    for name in ("corrected-purchase.json", "corrected-identify.json", "corrected-batch.json"):
        assert by_name[name]["status"] == "pass" and by_name[name]["findings"] == []
    assert report["version"] == 1
    assert report["summary"]["failed"] == 2


def test_exit_codes() -> None:
    assert run("check", str(PAYLOADS / "corrected-purchase.json"))[0] == 0
    assert run("check", str(PAYLOADS / "guide-purchase.json"))[0] == 1
    assert run("check", str(ROOT / "no-such-file.json"))[0] == 2
    assert run("check")[0] == 2
    assert run("explain", "CTPH999")[0] == 2
    assert run("frobnicate")[0] == 2


def test_strict_fails_on_warnings() -> None:
    warned = ROOT / "tests" / "data" / "warning-only.json"
    assert run("check", str(warned))[0] == 0
    assert run("check", "--strict", str(warned))[0] == 1


def test_undecodable_payload_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage\xff")
    code, text = run("check", "--format", "json", str(binary))
    assert code == 1
    assert [f["code"] for f in json.loads(text)["payloads"][0]["findings"]] == ["CTPH004"]


def test_text_report_redacts_keys(tmp_path: Path) -> None:
    secret = "phx_" + "Pr1vateKeyDoNotLeak" * 2
    payload = tmp_path / "leak.json"
    payload.write_text(json.dumps({"api_key": secret, "event": "x", "distinct_id": "a"}))
    code, text = run("check", str(payload))
    assert code == 1 and "CTPH103" in text
    assert secret not in text and "Pr1vateKeyDoNotLeak" not in text


def test_rules_lists_the_whole_catalogue() -> None:
    code, text = run("rules", "--format", "json")
    assert code == 0
    assert [r["code"] for r in json.loads(text)] == list(catalogue())
    code, text = run("rules")
    assert code == 0 and len(text.splitlines()) == len(catalogue())


@pytest.mark.parametrize("spelling", ["CTPH124", "ctph124", "124"])
def test_explain(spelling: str) -> None:
    code, text = run("explain", spelling)
    assert code == 0
    assert text.startswith("CTPH124 distinct-id-collapse (error)")
    assert catalogue()["CTPH124"].hint in text


def test_console_script_is_installed() -> None:
    exe = shutil.which("ctph") or str(Path(sys.executable).with_name("ctph"))
    done = subprocess.run(
        [exe, "check", str(PAYLOADS / "guide-identify.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "CTPH132" in done.stdout and "Traceback" not in done.stderr


def test_progress_shows_only_after_two_seconds() -> None:
    from ctph_harness.cli import Progress

    now = [0.0]
    stream = io.StringIO()
    progress = Progress(stream, clock=lambda: now[0])
    progress(1, 50, "campaigns/a.liquid")
    assert stream.getvalue() == ""  # a quick run prints nothing extra
    now[0] = 2.5
    progress(2, 50, "campaigns/b.liquid")
    assert "[2/50] campaigns/b.liquid" in stream.getvalue()
    progress.done()
    assert stream.getvalue().endswith("\r")
