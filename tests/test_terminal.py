"""The text report where it is shown: colour on a terminal only (NO_COLOR, FORCE_COLOR,
TERM=dumb), ASCII marks where the stream cannot encode them, never a crash on output encoding,
and no control character from a template or a path reaching the terminal raw.

These run ``ctph`` as a user does: a real pipe, and a real pseudo-terminal for the TTY cases.
"""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from ctph_harness.terminal import style_for

ROOT = Path(__file__).resolve().parents[1]
# a failing template whose findings quote profile text outside ASCII and Latin-1
TEMPLATE = (
    '{"event": "Bought ✓", "api_key": "<key>", '
    '"distinct_id": "{{ Profile.Email | default: \'Zoë 😀\' }}", "properties": {}}'
)
ESC = "\x1b"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    return {**env, "PYTHONIOENCODING": "utf-8", **extra}


def _campaign(tmp_path: Path, name: str = "buy.json.liquid") -> Path:
    path = tmp_path / name
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


def _ctph_piped(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ctph_harness.cli", *args],
        capture_output=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def _ctph_on_a_tty(*args: str, env: dict[str, str]) -> bytes:
    """Run ctph with stdout and stderr on a pseudo-terminal; what the terminal received."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctph_harness.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            pytest.fail("ctph on a pty produced nothing for 60 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) in (0, 1)
    return b"".join(chunks)


@pytest.mark.parametrize("encoding", ["ascii", "cp1252", "latin-1"])
def test_a_pipe_that_cannot_encode_the_marks_gets_ascii_and_no_crash(
    tmp_path: Path, encoding: str
) -> None:
    path = _campaign(tmp_path)
    run = _ctph_piped("verify", str(path), "--profiles", "20", env=_env(PYTHONIOENCODING=encoding))
    assert run.returncode == 1, run.stderr.decode(errors="replace")
    out = run.stdout.decode(encoding)
    assert "Traceback" not in run.stderr.decode(encoding, errors="replace")
    assert "  x CTPH" in out and "✗" not in out
    assert "\\U0001f600" in out  # the emoji the stream cannot hold, escaped
    assert ESC not in out  # a pipe gets no colour


def test_utf8_pipe_keeps_the_marks_and_no_colour(tmp_path: Path) -> None:
    run = _ctph_piped("verify", str(_campaign(tmp_path)), "--profiles", "20", env=_env())
    out = run.stdout.decode("utf-8")
    assert "  ✗ CTPH" in out and "😀" in out and ESC not in out


def test_force_color_colours_a_pipe_and_no_color_wins(tmp_path: Path) -> None:
    path = str(_campaign(tmp_path))
    forced = _ctph_piped("verify", path, "--profiles", "20", env=_env(FORCE_COLOR="1"))
    assert f"{ESC}[1;31mFAIL{ESC}[0m" in forced.stdout.decode()
    both = _ctph_piped("verify", path, "--profiles", "20", env=_env(FORCE_COLOR="1", NO_COLOR="1"))
    assert ESC not in both.stdout.decode()


def test_a_terminal_gets_colour_unless_no_color_or_dumb(tmp_path: Path) -> None:
    path = str(_campaign(tmp_path))
    coloured = _ctph_on_a_tty("verify", path, "--profiles", "20", env=_env(TERM="xterm"))
    assert f"{ESC}[1;31mFAIL{ESC}[0m".encode() in coloured
    assert f"{ESC}[31merror".encode() in coloured
    for env in (_env(TERM="xterm", NO_COLOR="1"), _env(TERM="dumb")):
        plain = _ctph_on_a_tty("verify", path, "--profiles", "20", env=env)
        assert b"FAIL" in plain and ESC.encode() not in plain


def test_control_characters_from_a_path_never_reach_the_terminal(tmp_path: Path) -> None:
    path = _campaign(tmp_path, f"evil{ESC}]0;pwned\x07{ESC}[2J.json.liquid")
    shown = _ctph_on_a_tty("verify", str(path), "--profiles", "5", env=_env(NO_COLOR="1"))
    assert ESC.encode() not in shown and b"\x07" not in shown
    assert b"evil\\x1b]0;pwned\\x07\\x1b[2J.json.liquid" in shown


@pytest.mark.parametrize(
    ("env", "tty", "colour"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"TERM": "dumb"}, True, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # no-color.org: only a non-empty value counts
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),
    ],
)
def test_style_for(env: dict[str, str], tty: bool, colour: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert style_for(Stream(), env).colour is colour
    assert style_for(Stream(), env).unicode


def test_style_for_an_encoding_that_cannot_hold_the_marks() -> None:
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert not style_for(ascii_out, {}).unicode
    assert style_for(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), {}).unicode
