"""Hostile templates (issue 10): bodies Python's ``json`` and PostHog's parser read differently,
numbers past what CleverTap or PostHog can hold, runaway big-number maths, templates with one
finding per property, and failures deep in the pytest plugin. Each ends in a finding or a short
clear error, never ``ctph: internal error`` or a traceback; crashes the fuzz suite
(test_template_fuzz.py) finds are pinned here too.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from ctph_harness import engine
from ctph_harness.clevertap import dialect
from ctph_harness.clevertap.profiles import Profile
from ctph_harness.cli import main
from ctph_harness.config import HarnessConfig
from ctph_harness.engine import preview, verify_template

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
HEAD = '"event": "e", "distinct_id": "x", "api_key": "' + KEY + '"'
CONFIG = HarnessConfig(profiles=4, project_key=KEY)


def codes_in(text: str) -> set[str]:
    return set(re.findall(r"✗ (CTPH\d{3})", text))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --- 1, 2: one JSON reader ---------------------------------------------------------------------

SERDE_ONLY = {
    "lone surrogate escape": '{"event": "a\\ud800", "distinct_id": "x", "api_key": "' + KEY + '"}',
    "5,000-digit integer": "{" + HEAD + ', "properties": {"n": ' + "9" * 5000 + "}}",
    "400-digit integer": "{" + HEAD + ', "properties": {"n": ' + "9" * 400 + "}}",
    "1e400": "{" + HEAD + ', "properties": {"n": 1e400}}',
    "NaN": "{" + HEAD + ', "properties": {"n": NaN}}',
    "-Infinity": "{" + HEAD + ', "properties": {"n": -Infinity}}',
    "200-deep array": "{" + HEAD + ', "properties": {"n": ' + "[" * 200 + "]" * 200 + "}}",
}


@pytest.mark.parametrize("body", SERDE_ONLY.values(), ids=SERDE_ONLY.keys())
def test_template_text_serde_refuses_is_the_checkers_ctph004_in_verify_render_and_check(
    body: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify and render died with exit 3 (``the body is valid JSON for this profile`` from
    the blame, or int()'s 4,300-digit ValueError) on bodies only serde refuses."""
    (tmp_path / "t.liquid").write_text(body, encoding="utf-8")
    (tmp_path / "payload.json").write_text(body, encoding="utf-8")
    checked_code, checked = run(["check", str(tmp_path / "payload.json")], capsys)
    verified_code, verified = run(["verify", str(tmp_path), "--profiles", "2"], capsys)
    rendered_code, rendered = run(["render", str(tmp_path / "t.liquid")], capsys)
    assert "internal error" not in verified + rendered
    assert checked_code == verified_code == rendered_code == 1
    refusal = re.search(r"CTPH004 error +(the body is not valid JSON: [^\n(]+)", checked)
    assert refusal is not None
    assert refusal.group(1).strip() in verified
    assert refusal.group(1).strip() in rendered


def profile_preview(profile: dict[str, Any]) -> list[tuple[str, str]]:
    source = "{" + HEAD + ', "properties": {"n": {{ Profile.n }}, "s": "{{ Profile.s }}"}}'
    shown = preview(source, "t.liquid", CONFIG, profile=Profile(0, "random", profile, {}))
    return [(f.code, f.message) for f in shown.findings if f.code in ("CTPH003", "CTPH004")]


def test_profile_number_past_f64_is_blamed_on_its_output() -> None:
    [(code, message)] = profile_preview({"n": 10**400, "s": "a"})
    assert code == "CTPH004"
    assert message.startswith("`{{ Profile.n }}` at line 1")
    assert "PostHog's JSON parser refuses: number out of range" in message


def test_profile_number_of_5000_digits_is_a_clean_ctph003() -> None:
    [(code, message)] = profile_preview({"n": 10**5000, "s": "a"})
    assert code == "CTPH003"
    assert "more than 4,300 digits" in message and "set_int_max_str_digits" not in message


def test_profile_text_holding_a_surrogate_escape_is_blamed_on_its_output() -> None:
    [(code, message)] = profile_preview({"n": 1, "s": "\\ud800"})
    assert code == "CTPH004"
    assert message.startswith("`{{ Profile.s }}` at line 1")
    assert "lone leading surrogate" in message


def test_profile_text_holding_a_lone_surrogate_character_is_a_clean_ctph003() -> None:
    [(code, message)] = profile_preview({"n": 1, "s": "\ud800"})
    assert code == "CTPH003"
    assert "lone surrogate (U+D800)" in message and "UnicodeEncodeError" not in message


# --- 3: big-number growth ----------------------------------------------------------------------


def finishes(source: str, timeout: float = 20.0) -> dict[str, Any]:
    """verify_template in a thread; the timeout is only a safety net for the hang it fixed."""
    done: dict[str, Any] = {}

    def work() -> None:
        done["result"] = verify_template(source, "t.liquid", HarnessConfig(profiles=2))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout)
    assert "result" in done, "the render did not end"
    return {f.code: f for f in done["result"].findings}


@pytest.mark.parametrize(
    "growth",
    [
        "{% for i in (1..30) %}{% assign n = n | times: n %}{% endfor %}",
        "{% for i in (1..40) %}{% assign n = n | times: n | times: n %}{% endfor %}",
        "{% for i in (1..5000) %}{% assign n = n | plus: n %}{% endfor %}",
        "{% for i in (1..5000) %}{% assign n = n | minus: n | minus: n | abs | times: 3 %}"
        "{% endfor %}",
    ],
)
def test_runaway_big_integer_maths_ends_the_render_with_ctph003(growth: str) -> None:
    """Squaring in a loop took 40 s per render before the locals limit noticed."""
    source = "{% assign n = 3 %}" + growth + "{" + HEAD + ', "properties": {"n": {{ n }}}}'
    found = finishes(source)
    assert "is beyond the range of a number CleverTap or PostHog can hold" in (
        found["CTPH003"].message
    )


def test_float_maths_overflowing_to_infinity_is_ctph003() -> None:
    source = (
        '{% assign x = "1e300" | times: 1 %}{% assign y = x | times: x %}'
        "{" + HEAD + ', "properties": {"n": {{ y }}}}'
    )
    assert "times: the result is beyond the range" in finishes(source)["CTPH003"].message


def test_every_math_filter_python_liquid_registers_is_bounded() -> None:
    env = dialect.environment()
    unary = {"abs", "ceil", "floor", "round"}
    for name in dialect.MATH_FILTERS - {"sum"}:
        args = () if name in unary else (1,)
        with pytest.raises(Exception, match=f"{name}: an operand is beyond the range"):
            env.filters[name](2**1100, *args)
    with pytest.raises(Exception, match="sum: the result is beyond the range"):
        env.filters["sum"]([2**1023, 2**1023])


def test_slow_loops_end_at_the_render_time_limit_once_per_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bounded work can still be slow: 10,000 `replace`s of a 1 MB string took 78 s a render.
    The first render that hits the limit trips it for the template's later renders."""
    monkeypatch.setattr(dialect, "RENDER_TIME_LIMIT", 0.2)
    source = (
        '{% assign s = "a" %}{% for i in (1..20) %}{% assign s = s | append: s %}{% endfor %}'
        '{% for i in (1..10000) %}{% assign t = s | replace: "a", "bb" %}{% endfor %}'
        "{" + HEAD + "}"
    )
    done: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: done.update(result=verify_template(source, "t.liquid", CONFIG)),
        daemon=True,
    )
    thread.start()
    thread.join(20.0)
    result = done["result"]
    limits = {
        "earlier" if "limit reached earlier" in f.message else "first": f.count
        for f in result.findings
        if f.code == "CTPH003" and "render time limit reached" in f.message
    }
    assert limits == {"first": 1, "earlier": result.profiles - 1}


# --- 4: shrinking is bounded per template ------------------------------------------------------


def one_finding_per_property(count: int) -> str:
    props = ", ".join(f'"p{k}": "{{{{ Profile.p{k} }}}}"' for k in range(count))
    return "{" + HEAD + ', "properties": {' + props + "}}"


def test_shrinking_a_template_with_many_findings_stays_within_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Verify time was quadratic in a template's properties: every finding's shrink re-rendered
    the whole body about 100 times. Renders are now capped per template."""
    renders = 0
    real = engine.run_profile

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal renders
        renders += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "run_profile", counted)
    monkeypatch.setattr(engine, "SHRINK_BUDGET", 300)
    config = HarnessConfig(profiles=30)
    result = verify_template(one_finding_per_property(40), "t.liquid", config)
    findings = [f for f in result.findings if f.profile is not None]
    assert len(findings) > 100
    # besides the run (edge profiles included): the budget, and one render per shrunk finding
    # to quote its small profile (before: about 60 renders for each of the 160 findings)
    assert renders - result.profiles <= 2 * 300
    errors = [f for f in findings if f.code == "CTPH004"]
    assert len(errors) == 40 and all(len(f.profile or {}) == 1 for f in errors[:3])


def test_dropping_properties_by_halves_keeps_what_one_at_a_time_would() -> None:
    profile = Profile(0, "random", {f"p{k}": k for k in range(40)}, {"e": 1})
    needed = {"p3", "p31"}
    asked = 0

    def still_fails(candidate: Profile) -> bool:
        nonlocal asked
        asked += 1
        return needed <= set(candidate.fields)

    kept = engine._drop_chunks(profile, still_fails, frozenset({("Profile", "p0")}))
    assert set(kept.fields) == {"p0", *needed} and not kept.event
    assert asked < 41  # fewer renders than the one-at-a-time pass's one per property


# --- 5, 6: the pytest plugin -------------------------------------------------------------------

GOOD = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "signup", "distinct_id": "{{ Profile.Identity }}"}'
)


def test_a_bug_deep_in_the_pipeline_is_a_short_failure_in_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def deep(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("deep in the pipeline")

    monkeypatch.setattr(engine, "check_many", deep)
    (pytester.path / "t.liquid").write_text(GOOD)
    result = pytester.runpytest("-p", "ctph_harness", "--ctph-profiles", "20")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "ctph: internal error while verifying t.liquid: RuntimeError: deep in the pipeline" in (
        text
    )
    assert "Traceback" not in text and "engine.py" not in text and len(result.outlines) < 40
    long = pytester.runpytest(
        "-p", "ctph_harness", "--ctph-profiles", "20", "--tb=long", "--ctph-report", "r.json"
    )
    assert "engine.py" in long.stdout.str()
    [item] = json.loads((pytester.path / "r.json").read_text())["templates"]
    assert item["status"] == "error"
    assert item["error"] == "ctph internal error: RuntimeError: deep in the pipeline"


def test_report_lists_templates_that_could_not_be_judged(pytester: pytest.Pytester) -> None:
    (pytester.path / "good.liquid").write_text(GOOD)
    (pytester.path / "latin1.liquid").write_bytes(b'{"event": "caf\xe9"}')
    result = pytester.runpytest(
        "-p", "ctph_harness", "--ctph-profiles", "20", "--ctph-report", "r.json"
    )
    result.assert_outcomes(passed=1, failed=1)
    report = json.loads((pytester.path / "r.json").read_text())
    by_path = {item["path"]: item for item in report["templates"]}
    assert by_path["good.liquid"]["status"] == "pass"
    errored = by_path["latin1.liquid"]
    assert errored["status"] == "error" and "UTF-8" in errored["error"]
    assert report["summary"]["failed"] == 1
    pytester.runpytest("-p", "ctph_harness", "--ctph-profiles", "20", "--ctph-report", "r.xml")
    junit = (pytester.path / "r.xml").read_text()
    assert 'errors="1"' in junit and "<error " in junit
