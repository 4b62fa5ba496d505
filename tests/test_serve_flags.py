"""``ctph serve`` with a ``[flags]`` table: the settings file's flags are the fake's start state.

Driven as a user drives it: the installed ``ctph`` console script in a subprocess on a free port,
the URL read from what it prints, and real HTTP (posthog-python's own flag calls among it) to
``/flags``. A definition the fake cannot evaluate stops it at start-up with exit 2, naming the
file and the flag, never a traceback.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import posthog
import pytest

from ctph_harness.config import load_config
from ctph_harness.posthog.flags import flag_hash, parse_flags

KEY = "phc_serve_flags_test"
FLAGS_TOML = """
[flags]
beta = true
off = false
everyone-red = "red"
checkout = { variants = { control = 50, test = 50 }, payloads = { control = "c", test = "t" } }
pro-only = { properties = [{ key = "plan", operator = "exact", value = "pro" }], payload = 42 }
"""


def _ctph() -> str:
    return shutil.which("ctph") or str(Path(sys.executable).with_name("ctph"))


@contextmanager
def running(*args: str, cwd: Path) -> Iterator[str]:
    """``ctph serve --port 0 ARGS`` in ``cwd``; yields the base URL it prints, then stops it
    with Ctrl-C (SIGINT) and checks it ended cleanly."""
    proc = subprocess.Popen(
        [_ctph(), "serve", "--port", "0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        inspector = proc.stdout.readline()  # issue 16: the inspector's URL comes first
        assert inspector.startswith("ctph inspector: "), inspector
        first = proc.stdout.readline()
        assert first.startswith("fake PostHog listening on "), first
        yield first.split()[-1]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hang is a failure
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def _v2(client: httpx.Client, distinct_id: str, **extra: object) -> dict[str, object]:
    body = {"token": KEY, "distinct_id": distinct_id, **extra}
    answer = client.post("/flags/?v=2", json=body)
    assert answer.status_code == 200, answer.text
    flags: dict[str, object] = answer.json()["flags"]
    return flags


def _variant(key: str, distinct_id: str) -> str:
    """The 50/50 variant PostHog's hash gives (posthog-python ``feature_flags.py``)."""
    return "control" if flag_hash(key, distinct_id, salt="variant") < 0.5 else "test"


def test_flags_from_ctph_toml_are_served_and_reset_returns_to_them(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text(FLAGS_TOML, encoding="utf-8")
    with running("--config", str(config), cwd=tmp_path) as url, httpx.Client(base_url=url) as http:
        flags = _v2(http, "user-7", person_properties={"plan": "pro"})
        assert set(flags) == {"beta", "everyone-red", "checkout", "pro-only"}  # off: left out
        assert flags["beta"]["enabled"] is True  # type: ignore[index]
        assert flags["everyone-red"]["variant"] == "red"  # type: ignore[index]
        variant = _variant("checkout", "user-7")
        checkout = flags["checkout"]
        assert checkout["variant"] == variant  # type: ignore[index]
        assert json.loads(checkout["metadata"]["payload"]) == variant[0]  # type: ignore[index]
        assert json.loads(flags["pro-only"]["metadata"]["payload"]) == 42  # type: ignore[index]
        assert _v2(http, "user-8")["pro-only"]["enabled"] is False  # type: ignore[index]

        defined = http.get("/_ctph/flags").json()
        assert [f["key"] for f in defined] == [
            "beta",
            "off",
            "everyone-red",
            "checkout",
            "pro-only",
        ]

        # a test replaces them over HTTP; reset goes back to the file's, not to none
        assert http.post("/_ctph/flags", json={"only": True}).status_code == 200
        assert set(_v2(http, "user-7")) == {"only"}
        assert http.post("/_ctph/reset").status_code == 200
        assert set(_v2(http, "user-7")) == {"beta", "everyone-red", "checkout", "pro-only"}

        legacy = http.post("/decide/?v=3", json={"token": KEY, "distinct_id": "user-7"}).json()
        assert legacy["featureFlags"]["checkout"] == variant


def test_posthog_python_reads_flags_from_pyproject_found_from_the_working_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.ctph.flags]\nbeta = true\n'
        "checkout = { variants = { control = 50, test = 50 } }\n"
        'pro-only = { properties = [{ key = "plan", value = "pro" }], payload = { "n" = 1 } }\n',
        encoding="utf-8",
    )
    sub = tmp_path / "app"
    sub.mkdir()  # the nearest settings file upwards, as every ctph command finds it
    with running(cwd=sub) as url:
        client = posthog.Posthog(KEY, host=url, sync_mode=True, disable_geoip=True)
        try:
            pro = client.evaluate_flags("user-1", person_properties={"plan": "pro"})
            assert pro.is_enabled("beta") is True
            assert pro.get_flag("checkout") == _variant("checkout", "user-1")
            assert pro.get_flag("missing") is None  # not defined: what PostHog says too
            assert pro.get_flag_payload("pro-only") == {"n": 1}
            assert sorted(pro.keys) == ["beta", "checkout", "pro-only"]
            free = client.evaluate_flags("user-1", person_properties={"plan": "free"})
            assert free.is_enabled("pro-only") is False
        finally:
            client.shutdown()
        journal = httpx.get(f"{url}/_ctph/requests").json()
        assert journal and all(entry["status"] < 400 for entry in journal), journal


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        (  # parse_flags refuses it: its own words
            "[flags]\nok = true\nsplit = { variants = { a = 60, b = 30 } }\n",
            "`flags`: flag 'split': variant percentages add up to 90, not 100",
        ),
        (
            '[flags]\nx = { properties = [{ key = "d", operator = "is_date_before", value = 1 }] }',
            "`flags`: flag 'x': operator 'is_date_before' is not modelled by the fake",
        ),
        ("[flags]\ncohort = { filters = { holdout = { id = 1 } } }", "flag 'cohort': holdouts"),
        # the schema refuses what parse_flags would take: still the file and the flag's path
        (
            "[flags]\nwide = { variants = { a = 150, b = -50 } }",
            "`flags.wide`: not a flag definition the schema allows",
        ),
    ],
)
def test_a_definition_the_fake_cannot_evaluate_is_a_usage_error(
    tmp_path: Path, toml: str, said: str
) -> None:
    (tmp_path / "ctph.toml").write_text(toml, encoding="utf-8")
    done = subprocess.run(
        [_ctph(), "serve", "--port", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"ctph: error: {tmp_path / 'ctph.toml'}: "), done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""  # it never started listening


def test_the_readme_flags_table_is_what_ctph_serve_accepts(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    (table,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.DOTALL) if "[flags]" in b]
    (tmp_path / "ctph.toml").write_text(table, encoding="utf-8")
    flags = load_config(tmp_path / "ctph.toml").flags
    assert [f.key for f in parse_flags(flags)] == ["beta", "theme", "checkout", "pro", "seats"]
