"""Edges of the command line a review found: paths that look like options or streams, output
targets that are not regular files, control characters, closed standard streams, and input
shapes that made a scan quadratic. Each ends in a clear result or message, never exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ctph_harness.locate import key_offsets
from ctph_harness.posthog.checker import check

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = ROOT / "fixtures" / "payloads" / "corrected-purchase.json"
TEMPLATE = ROOT / "fixtures" / "campaigns" / "corrected-purchase.json.liquid"
ESC = "\x1b"


def ctph(
    *args: str, cwd: Path, stdin: bytes | None = b"", **popen: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctph_harness", *args],
        cwd=cwd,
        input=None if stdin is None else stdin.decode(),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
        **popen,  # type: ignore[arg-type]
    )


def test_unclosed_liquid_markers_in_a_payload_are_read_in_linear_time() -> None:
    """A regex like ``{{.*?}}`` took minutes on a few hundred kilobytes of unclosed ``{{``."""
    body = '{"event": "e", "properties": {"x": "' + "{{" * 200_000 + '"}, "distinct_id": "a"}'
    # read as a template, everything after an unclosed `{{` is Liquid; as a payload, plain text
    assert set(key_offsets(body)) == {"/event", "/properties", "/properties/x"}
    assert key_offsets(body, liquid=False)["/distinct_id"] == len(body) - 19
    assert key_offsets("{%" * 200_000 + '{"a": {"x": 1}}') == {}  # a tag never closed
    assert [f.code for f in check(body.encode())] == ["CTPH101"]


def test_a_file_named_dash_is_a_file_and_dash_is_stdin(tmp_path: Path) -> None:
    (tmp_path / "-").write_bytes(PAYLOAD.read_bytes())
    run = ctph("check", "./-", "-", "--format", "json", cwd=tmp_path, stdin=b'{"event": 1}')
    paths = [item["path"] for item in json.loads(run.stdout)["payloads"]]
    assert paths == [str(tmp_path / "-"), "-"]
    assert json.loads(run.stdout)["payloads"][0]["status"] == "pass"


def test_report_targets_that_are_not_regular_files(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("")
    (tmp_path / "link.json").symlink_to("real.json")
    run = ctph("check", str(PAYLOAD), "--output", "link.json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "link.json").is_symlink()  # written through, not replaced
    assert json.loads((tmp_path / "real.json").read_text())["version"] == 1
    (tmp_path / "loop.json").symlink_to("loop.json")
    loop = ctph("check", str(PAYLOAD), "--output", "loop.json", cwd=tmp_path)
    assert loop.returncode == 2 and "cannot write loop.json" in loop.stderr


def test_control_characters_in_paths_reach_no_output_raw(tmp_path: Path) -> None:
    folder = tmp_path / f"a{ESC}[2Jb\nPASS  fake"
    folder.mkdir()
    (folder / "p.json").write_bytes(b'{"event": "e"}')
    for fmt in ("text", "github"):
        run = ctph("check", str(folder), "--format", fmt, cwd=tmp_path)
        assert run.returncode == 1, run.stderr
        assert ESC not in run.stdout and "\\x1b[2J" in run.stdout
        assert not any(line.startswith("PASS") for line in run.stdout.splitlines())
    missing = ctph("verify", f"nope{ESC}[31m", cwd=tmp_path)
    assert missing.returncode == 2 and ESC not in missing.stderr


def test_closed_standard_streams_are_usage_errors(tmp_path: Path) -> None:
    for args in (["verify", "-"], ["check", "-"]):
        run = subprocess.run(
            [sys.executable, "-m", "ctph_harness", *args],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            preexec_fn=lambda: os.close(0),
        )  # fmt: skip
        assert run.returncode == 2 and "standard input is closed" in run.stderr
    closed = subprocess.run(
        [sys.executable, "-m", "ctph_harness", "rules"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True, timeout=120,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert closed.returncode == 2 and "standard output is closed" in closed.stderr


def test_one_stdin_for_one_input_of_render(tmp_path: Path) -> None:
    run = ctph("render", "-", "--profile", "-", cwd=tmp_path, stdin=TEMPLATE.read_bytes())
    assert run.returncode == 2 and "only one of TEMPLATE, --profile, --event" in run.stderr


def test_integer_looking_keys_are_named_as_the_file_spells_them(tmp_path: Path) -> None:
    (tmp_path / "t.json.liquid").write_bytes(TEMPLATE.read_bytes())
    (tmp_path / "ctph.toml").write_text('[overrides."+1"]\nmethod = 5\n')
    run = ctph("verify", ".", cwd=tmp_path)
    assert run.returncode == 2 and 'overrides."+1"' in run.stderr, run.stderr
    body = b'{"event": "e", "distinct_id": "d", "+5": 1}'
    (unknown,) = [f for f in check(body) if f.code == "CTPH132"]
    assert unknown.pointer == "/+5" and "(got 1)" in unknown.message


def test_a_webhook_path_outside_ascii_is_sent_percent_encoded(tmp_path: Path) -> None:
    (tmp_path / "t.json.liquid").write_bytes(TEMPLATE.read_bytes())
    (tmp_path / "ctph.toml").write_text(
        'webhook_url = "https://us.i.posthog.com/i/v0/\\u00e9/"\nprofiles = 20\n'
    )
    run = ctph("verify", "t.json.liquid", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr  # the fake has no such route: CTPH301, not a crash
    codes = {f["code"] for f in json.loads(run.stdout)["templates"][0]["findings"]}
    assert "CTPH301" in codes
