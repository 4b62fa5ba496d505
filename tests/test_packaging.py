"""Packaging and entry points (issues 13 and 14): ``python -m ctph_harness``, the pre-commit
hook, the SPDX license, the extras (developer tools and schemathesis out of what users install),
tox's ``mindeps`` pins, and the sdist: built from the tracked files, unpacked elsewhere,
installed into a fresh venv, its own tests run from there and the installed ``ctph`` verifying
a copied campaign folder."""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from ctph_harness.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
PROJECT = PYPROJECT["project"]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"

# tests that need nothing from the test extra and run in seconds: what the sdist's own copy of
# the suite runs (test_layers reads harness/, test_config_schema contracts/, test_readme README.md,
# fixtures/ and .ci/run, test_verdicts tests/data/)
SDIST_SUBSET = (
    "tests/test_layers.py",
    "tests/test_config_schema.py",
    "tests/test_package.py",
    "tests/test_verdicts.py",
    "tests/test_readme.py::test_the_two_setup_commands_are_what_ci_runs",
    "tests/test_readme.py::test_corrected_template_in_the_readme_is_the_fixture",
)


def _run(args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        **kwargs,  # type: ignore[arg-type]
    )


# --- python -m ctph_harness -------------------------------------------------------------------


def test_python_m_is_the_ctph_command_with_its_exit_code(tmp_path: Path) -> None:
    campaigns = shutil.copytree(CAMPAIGNS, tmp_path / "campaigns")
    ran = _run([sys.executable, "-m", "ctph_harness", "verify", str(campaigns)], tmp_path)
    with open(os.devnull, "w") as devnull:
        same = main(["verify", str(campaigns)], out=devnull)
    assert (ran.returncode, same) == (1, 1), ran.stderr  # the two guide templates fail
    assert "guide-purchase.json.liquid" in ran.stdout
    assert _run([sys.executable, "-m", "ctph_harness", "rules"], tmp_path).returncode == 0
    usage = _run([sys.executable, "-m", "ctph_harness", "verify"], tmp_path)
    assert usage.returncode == 2 and "ctph: error" in usage.stderr
    assert "Traceback" not in usage.stderr


# --- the pre-commit hook ----------------------------------------------------------------------


def test_the_pre_commit_hook_names_a_real_command() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    assert hook["id"] == "ctph" and hook["language"] == "python"
    script, *arguments = hook["entry"].split()
    assert script in PROJECT["scripts"]  # the console script the package installs
    # pre-commit appends the staged file names: the subcommand must take paths
    help_text = _run([sys.executable, "-m", "ctph_harness", *arguments, "--help"], ROOT)
    assert help_text.returncode == 0, help_text.stderr
    assert "PATH" in help_text.stdout
    files = re.compile(hook["files"])  # pre-commit matches with re.search
    assert files.search("campaigns/purchase.json.liquid")
    assert not files.search("campaigns/purchase.liquid.bak")
    assert not files.search("src/app.py")


def test_the_pre_commit_hook_fails_a_commit_with_a_bad_template(tmp_path: Path) -> None:
    """What pre-commit does: the entry, then the staged file names."""
    shutil.copytree(CAMPAIGNS, tmp_path, dirs_exist_ok=True)
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    _, *arguments = hook["entry"].split()
    run = [sys.executable, "-m", "ctph_harness", *arguments]
    assert _run([*run, "corrected-purchase.json.liquid"], tmp_path).returncode == 0
    assert _run([*run, "guide-purchase.json.liquid"], tmp_path).returncode == 1


# --- metadata and extras ----------------------------------------------------------------------


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text("utf-8").startswith("MIT License")
    # PEP 639: a license expression and a License :: classifier must not both be given
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]
    (setuptools,) = [
        Requirement(r)
        for r in PYPROJECT["build-system"]["requires"]
        if Requirement(r).name == "setuptools"
    ]
    assert setuptools.specifier.contains("77") and not setuptools.specifier.contains("76.1")


def test_the_classifiers_name_every_supported_python() -> None:
    versions = {
        c.rsplit(" :: ", 1)[1]
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert versions == {"3.10", "3.11", "3.12", "3.13"}
    assert PROJECT["requires-python"] == ">=3.10"
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    envs = {e.strip() for e in tox["tox"]["env_list"].split(",")}
    assert {f"py3{v.split('.')[1]}" for v in versions} <= envs


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


def _imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "harness").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_what_users_install_is_what_ctph_imports() -> None:
    """schemathesis (tests only) and the developer tools stay out of the runtime dependencies,
    and the developer tools out of the test extra too (tox installs `test` in every env)."""
    runtime = _names(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    developer_tools = {"ruff", "mypy", "tox"}
    assert "schemathesis" not in runtime and "schemathesis" in _names(extras["test"])
    assert "schemathesis" not in _imported_top_level_modules()
    assert not developer_tools & (runtime | _names(extras["test"]))
    assert developer_tools <= _names(extras["dev"])
    # every third-party module ctph imports is a runtime dependency (module -> package).
    # werkzeug is not declared itself: it comes with pytest-httpserver, whose server the fake
    # extends, and no floor of its own has been verified (mindeps does not pin it either).
    packages = {
        "liquid": "python-liquid",
        "jsonschema_rs": "jsonschema-rs",
        "_pytest": "pytest",
        "werkzeug": "pytest-httpserver",
    }
    newer_stdlib = {"tomllib", "compression"}  # 3.11 and 3.14, imported where they exist
    third_party = {
        m
        for m in _imported_top_level_modules()
        if m not in sys.stdlib_module_names and m not in {"ctph_harness", *newer_stdlib}
    }
    missing = {packages.get(m, m).replace("_", "-") for m in third_party} - runtime
    # faker only rebuilds the shipped corpus (profiles/corpus.py), a maintainer's tool;
    # hypothesis only backs profile_strategy(), for users' own property-based tests
    assert missing == {"faker", "hypothesis"}
    assert "faker" in _names(extras["corpus"]) & _names(extras["test"])
    assert "hypothesis" in _names(extras["hypothesis"]) & _names(extras["test"])


# packages the mindeps env does not pin, and why
UNPINNED = {
    "tomli": "only below 3.11; any 1.1+ release reads ctph.toml the same way",
}


def test_mindeps_pins_the_lower_bounds() -> None:
    """tox's mindeps env installs exactly the oldest versions pyproject.toml allows, for every
    runtime dependency and the test extra's schemathesis (whose floor is what the suite needs)."""
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    pins = {
        Requirement(line).name.lower(): str(Requirement(line).specifier).removeprefix("==")
        for line in tox["testenv:mindeps"]["deps"].split("\n")
        if line.strip() and not line.strip().startswith("#")
    }
    floors: dict[str, str] = {}
    extras = PROJECT["optional-dependencies"]
    for text in [*PROJECT["dependencies"], *extras["test"], *extras["corpus"]]:
        requirement = Requirement(text)
        lower = [s.version for s in requirement.specifier if s.operator == ">="]
        floors[requirement.name.lower()] = lower[0] if lower else ""
    runtime = _names(PROJECT["dependencies"])
    assert set(pins) - set(floors) == set()
    assert runtime - set(pins) - set(UNPINNED) == set()
    for name, pinned in pins.items():
        assert re.fullmatch(rf"{re.escape(floors[name])}(\.0)*", pinned), (name, pinned)


# --- the sdist --------------------------------------------------------------------------------


def _tracked_copy(destination: Path) -> Path:
    """The files a clean clone has (tracked, or new and not ignored), so the sdist is built as
    CI would build it and a developer's stray files cannot make it pass."""
    listed = _run(["git", "ls-files", "-z", "-co", "--exclude-standard"], ROOT)
    if listed.returncode != 0:
        pytest.skip("not a git checkout (e.g. an unpacked sdist): nothing to build an sdist from")
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def _venv(path: Path) -> Path:
    done = _run([sys.executable, "-m", "venv", str(path)], path.parent)
    assert done.returncode == 0, done.stderr
    return path / ("Scripts" if os.name == "nt" else "bin")


def _pip(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", *args], bin_dir)


@pytest.mark.slow
def test_the_sdist_carries_what_its_tests_need(tmp_path: Path) -> None:
    source = _tracked_copy(tmp_path / "source")
    # one venv outside the repository: first the build environment (build-system.requires, then
    # the backend's build_sdist, as a PEP 517 frontend does; no `build` package needed), then
    # the sdist installed into it (pip builds the wheel from the sdist)
    python = _venv(tmp_path / "venv")
    got = _pip(python, *PYPROJECT["build-system"]["requires"])
    if got.returncode != 0:
        pytest.skip(f"the package registry is not reachable: {got.stderr.strip()[-300:]}")
    built = _run(
        [
            str(python / "python"),
            "-c",
            "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))",
            str(tmp_path / "dist"),
        ],
        source,
    )
    assert built.returncode == 0, built.stderr
    sdist = tmp_path / "dist" / built.stdout.strip().splitlines()[-1]

    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        members = {name.removeprefix(top + "/") for name in archive.getnames()}
        pkg_info = archive.extractfile(f"{top}/PKG-INFO")
        assert pkg_info is not None
        metadata = pkg_info.read().decode()
        if hasattr(tarfile, "data_filter"):  # 3.10.12+: refuse links and paths out of the folder
            archive.extractall(tmp_path / "unpacked", filter="data")
        else:  # pragma: no cover
            archive.extractall(tmp_path / "unpacked")  # our own sdist
    for needed in (
        "LICENSE",
        "README.md",
        "tox.ini",
        ".ci/run",
        ".pre-commit-hooks.yaml",
        "tests/conftest.py",
        "tests/data/warning-only.json",
        "tests/sdk/package.json",
        "fixtures/campaigns/ctph.toml",
        "fixtures/payloads/corrected-purchase.json",
        "contracts/rules.json",
        "bench/_table.py",
        "harness/py.typed",
    ):
        assert needed in members, needed
    assert not [m for m in members if "__pycache__" in m or m.endswith(".pyc")]
    assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata

    unpacked = tmp_path / "unpacked" / top
    installed = _pip(python, str(sdist))
    assert installed.returncode == 0, installed.stderr
    where = _run(
        [str(python / "python"), "-c", "import ctph_harness; print(ctph_harness.__file__)"],
        tmp_path,
    )
    assert str(tmp_path / "venv") in where.stdout, where  # the installed copy, not a checkout

    # the sdist's own tests, run from the unpacked folder against the installed package
    tests = _run(
        [str(python / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *SDIST_SUBSET],
        unpacked,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", tests.stdout) and " skipped" not in tests.stdout

    # the installed command verifies a copied campaign folder: the two guide templates fail
    campaigns = shutil.copytree(unpacked / "fixtures" / "campaigns", tmp_path / "campaigns")
    verified = _run([str(python / "ctph"), "verify", str(campaigns)], tmp_path)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "Traceback" not in verified.stderr
