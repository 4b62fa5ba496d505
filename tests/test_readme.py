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
