"""The pytest side as the best plugins do it: marker arguments checked, collection switched on by a
``ctph.toml`` next to the paths given, short assertion failures, typed ini keys, ``--no-ctph-strict``,
JUnit properties, a private channel for xdist results, and a fixture seam for the session fake."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
GOOD = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "signup", "distinct_id": "{{ Profile.Identity }}"}'
)
WARNED = GOOD.replace('"signup"', '"signup", "properties": {"n": "5"}')


@pytest.fixture
def campaign(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "good.json.liquid").write_text(GOOD)
    return pytester


# --- @pytest.mark.ctph(...) --------------------------------------------------------------------


def test_an_unknown_marker_argument_is_a_usage_error_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ctph(profile=5, seed=1)
        def test_typo(ctph_profiles):
            pass
        """
    )
    result = pytester.runpytest("-p", "ctph_harness")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*test_typo*unknown argument(s) to @pytest.mark.ctph: `profile` (did you mean `profiles`?)*"
        ]
    )


def test_a_marker_added_to_campaign_items_is_checked_too(campaign: pytest.Pytester) -> None:
    campaign.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.ctph(strictt=True))
        """
    )
    result = campaign.runpytest("-p", "ctph_harness")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*good.json.liquid::contract*`strictt` (did you mean `strict`?)*"])
    positional = campaign.makepyfile(
        "import pytest\n\n@pytest.mark.ctph(5)\ndef test_p():\n    pass\n"
    )
    campaign.makeconftest("")
    result = campaign.runpytest("-p", "ctph_harness", str(positional))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*@pytest.mark.ctph takes keyword arguments only*"])


def test_known_marker_arguments_still_apply(campaign: pytest.Pytester) -> None:
    (campaign.path / "good.json.liquid").write_text(WARNED)
    campaign.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.ctph(strict=True, profiles=5))
        """
    )
    result = campaign.runpytest("-p", "ctph_harness")
    result.assert_outcomes(failed=1)
    assert "CTPH161 warning" in result.stdout.str()


# --- collection switched on by a ctph.toml next to the paths given ----------------------------


def test_a_ctph_toml_below_the_rootdir_turns_collection_on_for_its_folder(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\n")  # the rootdir is pytester.path
    pytester.mkdir("campaigns")
    (pytester.path / "campaigns" / "good.json.liquid").write_text(GOOD)
    (pytester.path / "campaigns" / "ctph.toml").write_text("profiles = 7\n")
    result = pytester.runpytest("campaigns")
    result.assert_outcomes(passed=1)
    assert "ctph: seed 0, 7 profiles per template" in result.stdout.str()
    # a file inside the folder turns it on too
    pytester.runpytest("campaigns/good.json.liquid").assert_outcomes(passed=1)
    # the rootdir itself has no config: a run from there stays off (a theme elsewhere is quiet)
    assert pytester.runpytest().ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_ctph_toml_above_the_rootdir_does_not(pytester: pytest.Pytester) -> None:
    (pytester.path / "ctph.toml").write_text("profiles = 7\n")
    project = pytester.mkdir("project")
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "good.json.liquid").write_text(GOOD)
    result = pytester.runpytest("--rootdir", str(project), str(project))
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


# --- a failing assertion helper shows the diff, not ctph's source -----------------------------


def test_assert_event_failure_shows_the_near_miss_not_ctphs_source(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_wrong_name(fake_posthog):
            body = {"event": "signup", "distinct_id": "u1", "api_key": "phc_test_key_123456"}
            httpx.post(fake_posthog.capture_url(), json=body)
            fake_posthog.assert_event("sign_up", distinct_id="u1")

        def test_no_person(fake_posthog):
            fake_posthog.assert_person("nobody")
        """
    )
    result = pytester.runpytest("-p", "ctph_harness")
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    assert "closest event:" in text and "event: expected 'sign_up', got 'signup'" in text
    assert "no person owns distinct_id 'nobody'" in text
    assert "server.py" not in text and "def assert_event" not in text
    assert "raise _Mismatch" not in text


# --- typed ini keys and --no-ctph-strict ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("ctph_profiles = many", "*ctph_profiles*"),
        ("ctph_seed = 1.5", "*ctph_seed*"),
        ("ctph_strict = perhaps", "*perhaps*"),
    ],
)
def test_an_ill_typed_ini_key_is_a_usage_error(
    campaign: pytest.Pytester, ini: str, message: str
) -> None:
    campaign.makeini(f"[pytest]\n{ini}\n")
    result = campaign.runpytest("-p", "ctph_harness")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_typed_ini_keys_in_pyproject_toml(campaign: pytest.Pytester) -> None:
    campaign.makepyprojecttoml(
        "[tool.pytest]\nctph_profiles = 9\nctph_seed = 3\nctph_strict = false\n"
    )
    result = campaign.runpytest("-p", "ctph_harness")
    result.assert_outcomes(passed=1)
    assert "ctph: seed 3, 9 profiles per template" in result.stdout.str()


def test_no_ctph_strict_beats_the_ini_key_and_the_config_file(pytester: pytest.Pytester) -> None:
    (pytester.path / "warned.json.liquid").write_text(WARNED)
    pytester.makeini("[pytest]\nctph_strict = true\nctph_profiles = 10\n")
    pytester.runpytest("-p", "ctph_harness").assert_outcomes(failed=1)
    pytester.runpytest("-p", "ctph_harness", "--no-ctph-strict").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nctph_profiles = 10\n")
    (pytester.path / "ctph.toml").write_text("strict = true\n")
    pytester.runpytest("-p", "ctph_harness").assert_outcomes(failed=1)
    pytester.runpytest("-p", "ctph_harness", "--no-ctph-strict").assert_outcomes(passed=1)


def test_ini_report_path_is_relative_to_the_ini_file(
    campaign: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign.makeini("[pytest]\nctph_report = out/report.json\nctph_profiles = 5\n")
    elsewhere = campaign.mkdir("elsewhere")
    monkeypatch.chdir(elsewhere)
    result = campaign.runpytest("-p", "ctph_harness", str(campaign.path / "good.json.liquid"))
    result.assert_outcomes(passed=1)
    written = campaign.path / "out" / "report.json"
    assert json.loads(written.read_text())["templates"][0]["status"] == "pass"
    result.stdout.fnmatch_lines([f"ctph report written to {written}"])
    assert not (elsewhere / "out").exists()


# --- JUnit properties, and results to the xdist controller off user_properties ---------------


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_junit_properties_name_seed_and_profiles_and_nothing_else(
    campaign: pytest.Pytester, workers: list[str]
) -> None:
    (campaign.path / "warned.json.liquid").write_text(WARNED)
    result = campaign.runpytest_subprocess(
        "-p", "ctph_harness", "--ctph-profiles", "6", "--ctph-seed", "2",
        "--junitxml", "junit.xml", "--ctph-report", "report.json", *workers,
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    tree = ET.parse(campaign.path / "junit.xml")
    cases = tree.getroot().iter("testcase")
    properties = [
        sorted((p.get("name"), p.get("value")) for p in case.iter("property")) for case in cases
    ]
    assert properties == [[("ctph_profiles", "6"), ("ctph_seed", "2")]] * 2
    report = json.loads((campaign.path / "report.json").read_text())
    assert sorted(t["path"] for t in report["templates"]) == [
        "good.json.liquid",
        "warned.json.liquid",
    ]


def test_results_do_not_travel_in_user_properties(campaign: pytest.Pytester) -> None:
    campaign.makeconftest(
        """
        def pytest_runtest_logreport(report):
            assert all(name != "ctph" for name, _ in report.user_properties)
        """
    )
    result = campaign.runpytest("-p", "ctph_harness", "--ctph-report", "r.json")
    result.assert_outcomes(passed=1)
    assert json.loads((campaign.path / "r.json").read_text())["summary"]["failed"] == 0


# --- the fixture seam for the session fake ------------------------------------------------------

ENFORCING = """
import pytest

@pytest.fixture(scope="session")
def ctph_fake_posthog_options():
    return {"project_keys": [%r], "journal_size": 1}
"""


def test_fake_posthog_options_configure_the_server_campaign_items_use(
    campaign: pytest.Pytester,
) -> None:
    campaign.makeconftest(ENFORCING % "phc_someone_elses_key_000000000000000000000")
    refused = campaign.runpytest("-p", "ctph_harness", "--ctph-profiles", "5")
    refused.assert_outcomes(failed=1)
    assert "CTPH301" in refused.stdout.str()
    campaign.makeconftest(ENFORCING % KEY)
    campaign.runpytest("-p", "ctph_harness", "--ctph-profiles", "5").assert_outcomes(passed=1)


def test_fake_posthog_options_configure_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(ENFORCING % KEY)
    pytester.makepyfile(
        """
        import httpx

        def test_enforced_and_bounded(fake_posthog):
            other = {"event": "a", "distinct_id": "u", "api_key": "phc_other_key_1234567890"}
            assert httpx.post(fake_posthog.capture_url(), json=other).status_code == 401
            ours = dict(other, api_key="OUR_KEY")
            assert httpx.post(fake_posthog.capture_url(), json=ours).status_code == 200
            assert len(fake_posthog.journal()) == 1
        """.replace("OUR_KEY", KEY)
    )
    pytester.runpytest("-p", "ctph_harness").assert_outcomes(passed=1)


def test_unknown_fake_posthog_option_is_an_error_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def ctph_fake_posthog_options():
            return {"project_key": ["phc_x"]}
        """
    )
    pytester.makepyfile("def test_it(fake_posthog):\n    pass\n")
    result = pytester.runpytest("-p", "ctph_harness")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ctph_fake_posthog_options*project_key*"])
