"""`pytest -p ctph_harness` on folders of campaign templates, driven through real pytest runs."""

from __future__ import annotations

import json

import pytest

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
GOOD = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "signup", "distinct_id": "{{ Profile.Identity }}"}'
)
COLLAPSE = (
    '{"api_key": "'
    + KEY
    + '", "event": "signup", "distinct_id": "{{ Profile.Email | default: "x@y.z" }}"}'
)
BROKEN_JSON = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "signup", "distinct_id": "{{ Profile.Identity }}",\n'
    ' "properties": {"name": "{{ Profile.Name }}"}}'
)


@pytest.fixture
def campaigns(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "good.json.liquid").write_text(GOOD)
    (pytester.path / "collapse.json.liquid").write_text(COLLAPSE)
    pytester.mkdir("nested")
    (pytester.path / "nested" / "broken.json.liquid").write_text(BROKEN_JSON)
    return pytester


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    found = {}
    for line in result.outlines:
        if "::contract" in line and (" PASSED" in line or " FAILED" in line):
            node = line.split(" ")[0]
            found[node] = "passed" if "PASSED" in line else "failed"
    return found


def test_good_templates_pass_and_broken_ones_fail_readably(campaigns: pytest.Pytester) -> None:
    result = campaigns.runpytest("-p", "ctph_harness", "--ctph-profiles", "40", "-v")
    result.assert_outcomes(passed=1, failed=2)
    assert outcomes(result) == {
        "good.json.liquid::contract": "passed",
        "collapse.json.liquid::contract": "failed",
        "nested/broken.json.liquid::contract": "failed",
    }
    text = result.stdout.str()
    assert "ctph: seed 0, 40 profiles per template" in text
    # the readable failure: code, template caret, payload, smallest profile, hint, reproduce
    assert "CTPH124 error" in text and "'x@y.z'" in text
    assert "CTPH004 error: `{{ Profile.Name }}` at line 2" in text
    assert "^" in text and "smallest profile:" in text and "hint:" in text
    assert "| ctph render nested/broken.json.liquid --profile -" in text
    assert "Traceback" not in text and "harness/engine.py" not in text


def test_node_ids_work_with_k_and_last_failed(campaigns: pytest.Pytester) -> None:
    result = campaigns.runpytest("-p", "ctph_harness", "--ctph-profiles", "20", "-k", "good")
    result.assert_outcomes(passed=1, deselected=2)
    campaigns.runpytest("-p", "ctph_harness", "--ctph-profiles", "20", "-p", "cacheprovider")
    again = campaigns.runpytest("-p", "ctph_harness", "--ctph-profiles", "20", "--lf")
    again.assert_outcomes(failed=2)


def test_strict_makes_warnings_fail(pytester: pytest.Pytester) -> None:
    warned = GOOD.replace('"signup"', '"signup", "properties": {"n": "5"}')
    (pytester.path / "warned.json.liquid").write_text(warned)
    pytester.runpytest("-p", "ctph_harness", "--ctph-profiles", "20").assert_outcomes(passed=1)
    strict = pytester.runpytest("-p", "ctph_harness", "--ctph-profiles", "20", "--ctph-strict")
    strict.assert_outcomes(failed=1)
    assert "CTPH161 warning" in strict.stdout.str()


def test_report_and_failure_text_use_the_templates_own_settings(
    pytester: pytest.Pytester,
) -> None:
    """A per-template ``strict`` judges the item; the report file must say what the item was
    judged with, not the run's default."""
    warned = GOOD.replace('"signup"', '"signup", "properties": {"n": "5"}')
    (pytester.path / "warned.json.liquid").write_text(warned)
    (pytester.path / "ctph.toml").write_text(
        'profiles = 20\n[overrides."warned*"]\nstrict = true\n'
    )
    result = pytester.runpytest("-p", "ctph_harness", "--ctph-report", "report.json")
    result.assert_outcomes(failed=1)
    assert "CTPH161 warning" in result.stdout.str()
    report = json.loads((pytester.path / "report.json").read_text())
    assert [t["status"] for t in report["templates"]] == ["fail"]


def test_report_file_and_xdist_give_identical_results(campaigns: pytest.Pytester) -> None:
    serial = campaigns.runpytest_subprocess(
        "-p", "ctph_harness", "--ctph-profiles", "30", "--ctph-report", "serial.json"
    )
    serial.assert_outcomes(passed=1, failed=2)
    parallel = campaigns.runpytest_subprocess(
        "-p", "ctph_harness", "--ctph-profiles", "30", "--ctph-report", "parallel.json", "-n", "2"
    )
    parallel.assert_outcomes(passed=1, failed=2)
    first = json.loads((campaigns.path / "serial.json").read_text())
    second = json.loads((campaigns.path / "parallel.json").read_text())
    assert first == second
    assert [t["path"] for t in first["templates"]] == [
        "collapse.json.liquid",
        "good.json.liquid",
        "nested/broken.json.liquid",
    ]
    assert first["summary"]["failed"] == 2


def test_collection_is_opt_in(campaigns: pytest.Pytester) -> None:
    # Installed but not asked for: *.liquid files are not tests (a Shopify theme stays quiet).
    result = campaigns.runpytest("-p", "no:ctph_harness_autoload_guard")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    # A ctph.toml at the rootdir asks for it without -p.
    (campaigns.path / "ctph.toml").write_text("profiles = 20\n")
    campaigns.runpytest().assert_outcomes(passed=1, failed=2)


def test_ini_and_config_equivalents(campaigns: pytest.Pytester) -> None:
    campaigns.makeini("[pytest]\nctph_profiles = 25\nctph_seed = 4\n")
    result = campaigns.runpytest("-p", "ctph_harness")
    assert "ctph: seed 4, 25 profiles per template" in result.stdout.str()
    (campaigns.path / "ctph.toml").write_text("profilez = 3\n")
    bad = campaigns.runpytest("-p", "ctph_harness")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown key `profilez` (did you mean `profiles`?)" in bad.stderr.str()


def test_binary_template_is_a_clear_failure(pytester: pytest.Pytester) -> None:
    (pytester.path / "blob.liquid").write_bytes(b"\x00\x01\x02binary")
    result = pytester.runpytest("-p", "ctph_harness")
    result.assert_outcomes(failed=1)
    assert "ctph:" in result.stdout.str() and "Traceback" not in result.stdout.str()


def test_plugin_run_without_templates_loads_nothing_heavy(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        import sys
        def test_light():
            heavy = {"faker", "liquid", "schemathesis", "jsonschema_rs"} & set(sys.modules)
            assert not heavy, heavy
        """
    )
    # Autoload off: faker and schemathesis ship pytest plugins of their own that import them.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.runpytest_subprocess("-p", "ctph_harness").assert_outcomes(passed=1)
