"""Packaging promises: a curated public surface, contracts inside the installed package, a plugin
that `-p ctph_harness` finds and that costs nothing to load."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest

import ctph_harness

HEAVY = ("faker", "schemathesis", "hypothesis", "liquid", "jsonschema_rs", "httpx", "werkzeug")


def test_public_names_are_exactly_the_exported_ones() -> None:
    eager = {
        name
        for name, value in vars(ctph_harness).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert eager <= set(ctph_harness.__all__)
    for name in ctph_harness.__all__:  # every lazily exported name resolves
        assert getattr(ctph_harness, name) is not None
    assert sorted(ctph_harness.__all__) == sorted(set(ctph_harness.__all__))
    with pytest.raises(AttributeError):
        _ = ctph_harness.no_such_name  # type: ignore[attr-defined]


def test_lazy_exports_keep_the_root_light() -> None:
    loaded = _run_python(
        f"""
        import sys
        import ctph_harness
        print(",".join(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    assert loaded.strip() == ""


def test_contracts_ship_inside_the_package() -> None:
    contracts = resources.files("ctph_harness.contracts")
    names = {entry.name for entry in contracts.joinpath("schemas").iterdir()}
    assert {"event.json", "request.json", "identify.json", "groupidentify.json"} <= names
    assert contracts.joinpath("rules.json").is_file()


def _run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_the_plugin_loads_no_heavy_library() -> None:
    loaded = _run_python(
        f"""
        import sys
        import ctph_harness.pytest_plugin.hooks
        print(",".join(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    assert loaded.strip() == ""


def test_pytest_dash_p_finds_the_plugin_without_autoload(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_ok():\n    assert True\n")
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "ctph_harness", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--ctph-profiles" in done.stdout
