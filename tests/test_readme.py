"""The README's walkthrough works verbatim: its test example runs, its claims hold, and its
two set-up commands are the ones CI runs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


@pytest.fixture
def checkout(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(ROOT / "fixtures", pytester.path / "fixtures")
    return pytester


def test_the_hand_written_test_example_passes(checkout: pytest.Pytester) -> None:
    (example,) = blocks("python")
    checkout.makepyfile(test_purchase=example)
    result = checkout.runpytest("-p", "ctph_harness", "test_purchase.py")
    result.assert_outcomes(passed=1)


def test_walkthrough_pytest_claims(checkout: pytest.Pytester) -> None:
    everything = checkout.runpytest("-p", "ctph_harness", "fixtures/campaigns")
    everything.assert_outcomes(passed=7, failed=2)
    text = everything.stdout.str()
    assert "guide-purchase.json.liquid::contract" in text
    assert "different profiles render the same distinct_id 'test@gmail.com'" in text
    # the walkthrough's template excerpt, caret and all, is what pytest prints
    shown = blocks("text")[0].split("payload at /distinct_id:")[0].split("(69 of 200 profiles)")[1]
    assert shown.strip() and shown.strip() in text
    assert (
        "reproduce: echo '{}' | ctph render fixtures/campaigns/guide-purchase.json.liquid --profile -"
        in text
    )
    corrected = checkout.runpytest("-p", "ctph_harness", "fixtures/campaigns", "-k", "corrected")
    corrected.assert_outcomes(passed=2, deselected=7)


def test_the_two_setup_commands_are_what_ci_runs() -> None:
    commands = [b.strip() for b in blocks("bash")[:2]]
    assert commands[0].endswith("ctph verify fixtures/campaigns")
    assert commands[1].endswith("python -m pip install -e '.[test]' && python -m pytest -n auto")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pip install -e '.[test]' && python -m pytest -n auto" in ci


def test_corrected_template_in_the_readme_is_the_fixture() -> None:
    (shown,) = blocks("liquid")
    real = (ROOT / "fixtures/campaigns/corrected-purchase.json.liquid").read_text()
    key = re.search(r'"api_key": "(phc_[^"]+)"', real)
    assert key is not None
    assert shown.strip() == real.strip().replace(key.group(1), "phc_...")


def test_the_mirrored_posthog_version_is_the_contracts_own() -> None:
    """The README names what the fake mirrors in the same words as ``contracts/posthog.json``,
    so a refresh that bumps one and forgets the other fails here."""

    mirrors = json.loads((ROOT / "contracts" / "posthog.json").read_text())["mirrors"]
    section = README.split("### Which PostHog the fake mirrors", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.replace("`", "").replace("*", "").split())
    assert mirrors["capture"] in flat
    assert mirrors["conformance_corpus"] in flat
    for sdk, version in mirrors["sdks"].items():
        assert f"{sdk} {version}" in flat


def _ci_steps() -> list[str]:
    """Every shell line the README's CI examples run (``run:`` steps, GitLab ``script``)."""
    import yaml

    section = README.split("## Use it in CI", 1)[1].split("\n## ", 1)[0]
    shard = README.split("**Sharding across CI jobs.**", 1)[1].split("\n**", 1)[0]
    lines: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("run", "script"):
                    lines.extend([value] if isinstance(value, str) else value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for block in re.findall(r"```yaml\n(.*?)```", section + shard, flags=re.DOTALL):
        walk(yaml.safe_load(block))
    return [line.replace("${{ matrix.shard }}", "1") for line in lines]


def test_the_ci_examples_parse_and_their_ctph_commands_run(tmp_path: Path) -> None:
    """The workflow YAML parses, installs this package, and every ctph command it runs works
    verbatim on a copy of the bundled campaigns (exit 0 or 1: findings, not errors), writing
    the files the next steps upload."""
    import shlex
    import subprocess
    import sys

    steps = _ci_steps()
    name = re.search(r'^name = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert name is not None
    name = name.group(1)
    assert [s for s in steps if s.startswith("pip ")] and all(
        s == f"pip install {name}" for s in steps if s.startswith("pip ")
    )
    shutil.copytree(ROOT / "fixtures" / "campaigns", tmp_path / "campaigns")
    ran = 0
    for step in steps:
        words = shlex.split(step)
        if words[0] != "ctph" or words[1] == "merge-reports":
            continue
        done = subprocess.run(
            [sys.executable, "-m", "ctph_harness", *words[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode in (0, 1), (step, done.stderr)
        for target in words[words.index("--output") + 1 :: 2] if "--output" in words else ():
            assert target == "-" or (tmp_path / target).is_file(), (step, target)
        ran += 1
    assert ran >= 2  # GitHub's and GitLab's
    known = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "ctph_harness", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    ).stdout
    for step in (s for s in steps if s.startswith("pytest ")):
        for flag in re.findall(r"(--[a-z-]+)", step):
            assert flag in known, (step, flag)
