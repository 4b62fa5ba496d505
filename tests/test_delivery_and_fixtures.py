"""Delivery to the fake PostHog from campaign items and `ctph verify`, and the fixtures for
hand-written tests, through real pytest runs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ctph_harness.cli import main

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
PURCHASE = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "Purchase", "distinct_id": "{{ Profile.Identity }}",'
    ' "properties": {"value": {{ Profile.wallet_balance | default: 0 }}}}'
)
CONFIG = 'profiles = 20\n[properties]\nwallet_balance = "number"\n'


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "purchase.json.liquid").write_text(PURCHASE)
    (pytester.path / "ctph.toml").write_text(CONFIG)
    return pytester


def test_unexplained_rejection_is_ctph301_after_cleverTaps_retry(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        from ctph_harness.pytest_plugin import ctph_session

        def pytest_collection_finish(session):
            ctph_session(session.config).server.inject(status=503, count=1000)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "CTPH301 error: the fake PostHog refused this body: 503" in text
    assert "transient error, please retry" in text


def test_http_transport_and_default_agree(project: pytest.Pytester) -> None:
    project.runpytest().assert_outcomes(passed=1)
    project.runpytest("--ctph-transport", "http").assert_outcomes(passed=1)


def test_live_delivery_needs_the_explicit_opt_in(project: pytest.Pytester) -> None:
    refused = project.runpytest("--ctph-live", "https://us.i.posthog.com/i/v0/e/")
    refused.assert_outcomes(failed=1)
    assert "CTPH303" in refused.stdout.str()
    # `live` is not a config key: a file cannot opt in on its own.
    (project.path / "ctph.toml").write_text('live = "https://us.i.posthog.com/i/v0/e/"\n' + CONFIG)
    refused_config = project.runpytest()
    assert refused_config.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown key `live`" in refused_config.stderr.str()


def test_live_delivery_to_loopback(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest
        from ctph_harness.posthog.server import FakePostHog

        LIVE = FakePostHog()

        def pytest_configure(config):
            config.option.ctph_live = LIVE.capture_url("/i/v0/e/")

        def pytest_unconfigure(config):
            assert len(LIVE.events(name="Purchase")) == 1, LIVE.journal()
            LIVE.stop()
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_webhook_url_that_is_not_a_capture_endpoint_is_ctph302(project: pytest.Pytester) -> None:
    (project.path / "ctph.toml").write_text(
        'webhook_url = "https://us.posthog.com/api/event"\n' + CONFIG
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    assert "CTPH302" in result.stdout.str() and "not a capture endpoint" in result.stdout.str()
    (project.path / "ctph.toml").write_text(
        'webhook_url = "https://eu.i.posthog.com/batch/"\n' + CONFIG
    )
    project.runpytest().assert_outcomes(passed=1)


HAND_WRITTEN = """
import pytest

@pytest.mark.ctph(profiles=12, seed=3)
def test_purchase(ctph_campaign, fake_posthog, ctph_profiles):
    campaign = ctph_campaign("purchase.json.liquid")
    answer = campaign.deliver({"Identity": 42, "wallet_balance": 9.5})
    assert answer.status == 200
    fake_posthog.assert_event("Purchase", distinct_id="42", properties={"value": 9.5})
    assert len(ctph_profiles([("Profile", "Identity")])) == 12
    preview = campaign.render({"Identity": 7})
    assert preview.findings == () and '"distinct_id": "7"' in preview.body
    result = campaign.verify()
    assert result.profiles >= 12 and not [f for f in result.findings if f.severity.value == "error"]

def test_aborted_profile_sends_nothing(ctph_campaign, fake_posthog):
    answer = ctph_campaign("purchase.json.liquid").deliver({"Email": "a@b.co"})
    assert answer.status is None
    assert fake_posthog.events() == []
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_fixtures_for_hand_written_tests(project: pytest.Pytester, workers: list[str]) -> None:
    project.makepyfile(test_hand=HAND_WRITTEN)
    result = project.runpytest_subprocess("-p", "ctph_harness", "test_hand.py", *workers)
    result.assert_outcomes(passed=2)


def test_ctph_verify_delivers_and_reports(tmp_path: Path) -> None:
    (tmp_path / "purchase.json.liquid").write_text(PURCHASE)
    (tmp_path / "ctph.toml").write_text(CONFIG)
    out = io.StringIO()
    code = main(["verify", "--format", "json", str(tmp_path)], out=out)
    assert code == 0, out.getvalue()
    assert json.loads(out.getvalue())["templates"][0]["status"] == "pass"


def test_dropped_performance_events_are_not_reported_as_lost(tmp_path: Path) -> None:
    """Capture drops ``$performance_event`` events after a 200; delivery counts what capture
    forwards, so a batch holding one is not "accepted but not stored" (CTPH301)."""
    template = (
        '[{"api_key": "' + KEY + '", "event": "$performance_event", "distinct_id": "p",'
        ' "properties": {}}, {"api_key": "' + KEY + '", "event": "Purchase",'
        ' "distinct_id": "u-{{ Profile.Identity | default: "anon" }}", "properties": {}}]'
    )
    (tmp_path / "batch.json.liquid").write_text(template)
    (tmp_path / "ctph.toml").write_text("profiles = 5\n")
    out = io.StringIO()
    main(["verify", "--format", "json", str(tmp_path)], out=out)
    codes = [f["code"] for f in json.loads(out.getvalue())["templates"][0]["findings"]]
    assert "CTPH301" not in codes, codes


def test_campaign_fixture_names_a_template_that_is_not_utf8(project: pytest.Pytester) -> None:
    (project.path / "latin1.json.liquid").write_bytes(b'{"event": "caf\xe9"}')
    project.makepyfile(
        test_latin="def test_load(ctph_campaign):\n"
        "    ctph_campaign('latin1.json.liquid').render({})\n"
    )
    result = project.runpytest("-p", "ctph_harness", "test_latin.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*InputError: latin1.json.liquid: not a UTF-8 text file (byte 14 is 0xe9)*"]
    )


def test_delivery_takes_the_outcomes_it_sends_not_the_engine() -> None:
    """Delivery reads what each profile did from :mod:`ctph_harness.profile_outcome`, the seam
    the engine hands over, and never imports the engine, not even to show the profile of a
    refused body (CTPH301): a run (:mod:`ctph_harness.runner`) joins the two."""
    script = f"""
import json, sys
from ctph_harness.clevertap.profiles import Profile
from ctph_harness.config import HarnessConfig
from ctph_harness.delivery import delivering
from ctph_harness.posthog.server import FakePostHog
from ctph_harness.profile_outcome import ProfileOutcome
document = {{"api_key": "{KEY}", "event": "x", "distinct_id": "u-1"}}
outcome = ProfileOutcome(Profile(0, "random", {{"Name": "x"}}), json.dumps(document), document, False, ())
server = FakePostHog()
server.inject(status=503, count=10)
with delivering(server=server) as make:
    [found] = make(HarnessConfig(project_key="{KEY}"))([outcome])
server.stop()
assert found.code == "CTPH301" and found.profile == {{"Name": "x"}}, found
print(sorted(m for m in sys.modules if m in {{"ctph_harness.engine", "ctph_harness.runner"}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
