"""The verification pipeline end to end (real python-liquid, real faker profiles, real checker),
through `verify_template` and through `ctph verify` / `ctph render`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ctph_harness import Severity
from ctph_harness.clevertap.profiles import Profile
from ctph_harness.cli import main
from ctph_harness.config import HarnessConfig, load_config, webhook_findings
from ctph_harness.engine import verify_template
from ctph_harness.runner import verify

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
CONFIG = HarnessConfig(profiles=60, project_key=KEY)


def codes(source: str, config: HarnessConfig = CONFIG) -> dict[str, Any]:
    result = verify_template(source, "t.json.liquid", config)
    return {f.code: f for f in result.findings}


def body(inner: str, *, guard: str = "") -> str:
    return (
        guard + '{"api_key": "' + KEY + '", "event": "signup", '
        '"distinct_id": "{{ Profile.Identity | default: Profile.Email }}", ' + inner + "}"
    )


ABORT_WITHOUT_ID = "{% unless Profile.Identity or Profile.Email %}{% abort %}{% endunless %}"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


# --------------------------------------------------------------------------- bundled campaigns


def test_bundled_campaigns_guide_fails_with_its_real_faults_corrected_pass() -> None:
    config = load_config(CAMPAIGNS / "ctph.toml")
    report = verify([str(CAMPAIGNS)], config)
    by_name = {Path(item.path).name: item for item in report.items}
    purchase = {f.code for f in by_name["guide-purchase.json.liquid"].findings}
    identify = {f.code for f in by_name["guide-identify.json.liquid"].findings}
    assert {"CTPH102", "CTPH124", "CTPH161"} <= purchase  # placeholder, collapse, "100"
    assert {"CTPH102", "CTPH121", "CTPH132", "CTPH162", "CTPH142", "CTPH144"} <= identify
    collapse = next(
        f for f in by_name["guide-purchase.json.liquid"].findings if f.code == "CTPH124"
    )
    assert "test@gmail.com" in collapse.message and collapse.count > 10
    failing = {name for name, item in by_name.items() if not item.passed}
    assert failing == {"guide-purchase.json.liquid", "guide-identify.json.liquid"}
    for name, item in by_name.items():
        if name.startswith("guide-"):
            continue
        assert all(f.severity is Severity.INFO for f in item.findings), (name, item.findings)


def test_cli_verify_reads_the_campaign_folders_config() -> None:
    code, text = run("verify", "--format", "json", "--profiles", "40", str(CAMPAIGNS))
    assert code == 1
    report = json.loads(text)
    assert report["version"] == 1 and report["seed"] == 0
    assert report["summary"] == {
        "templates": 9,
        "passed": 7,
        "failed": 2,
        "errors": report["summary"]["errors"],
        "warnings": report["summary"]["warnings"],
        "info": report["summary"]["info"],
    }
    entry = report["templates"][0]
    assert set(entry) == {"path", "status", "profiles", "findings"}
    assert set(entry["findings"][0]) == {
        "code",
        "severity",
        "message",
        "line",
        "column",
        "pointer",
        "profile",
        "count",
        "hint",
    }


# --------------------------------------------------------------------------- the CTPH0xx rules


def test_free_text_inside_quotes_is_ctph004_with_a_one_field_profile() -> None:
    found = codes(body('"properties": {"name": "{{ Profile.Name }}"}'))
    broken = found["CTPH004"]
    assert "{{ Profile.Name }}" in broken.message
    assert broken.line == 1 and broken.column is not None
    assert list(broken.profile) == ["Name"] and len(broken.profile["Name"]) <= 2
    assert broken.count > 1
    # Behind an abort guard the smallest profile that is *sent* also needs an id.
    guarded = codes(body('"properties": {"name": "{{ Profile.Name }}"}', guard=ABORT_WITHOUT_ID))
    assert len(guarded["CTPH004"].profile) == 2 and "Name" in guarded["CTPH004"].profile


def test_abort_guard_means_only_sent_profiles_are_judged() -> None:
    unguarded = codes(body('"properties": {}'))
    assert "CTPH121" in unguarded  # users with neither id render a blank distinct_id
    guarded = codes(body('"properties": {}', guard=ABORT_WITHOUT_ID))
    assert "CTPH121" not in guarded
    rate = guarded["CTPH009"]
    assert rate.severity is Severity.INFO and 0 < rate.count < 60


def test_every_profile_aborting_is_ctph009_error() -> None:
    found = codes("{% abort %}" + body('"properties": {}'))
    assert found["CTPH009"].severity is Severity.ERROR and found["CTPH009"].count == 60
    assert set(found) == {"CTPH009"}


def test_render_error_is_ctph003_not_a_traceback() -> None:
    config = HarnessConfig(profiles=20, project_key=KEY, properties={"ts": "integer"})
    source = body('"properties": {"y": "{{ Profile.ts | date: "%Y" }}"}', guard=ABORT_WITHOUT_ID)
    ms = codes(source.replace("Profile.ts", "1714557600000"), config)
    assert ms["CTPH003"].line == 1 and "millisecond" in ms["CTPH003"].message
    assert "CTPH003" not in codes(source.replace("Profile.ts", "1714557600"), config)


def test_runaway_template_ends_fast_as_ctph003() -> None:
    loop = "{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}"
    started = time.perf_counter()
    found = codes(loop + body('"properties": {}'), HarnessConfig(profiles=3, project_key=KEY))
    assert "CTPH003" in found
    assert time.perf_counter() - started < 30  # a hang would hit this; not a benchmark


def test_multi_value_output_is_ctph006() -> None:
    config = HarnessConfig(profiles=40, project_key=KEY, properties={"tags": "list"})
    found = codes(
        body('"properties": {"tags": "{{ Profile.tags }}"}', guard=ABORT_WITHOUT_ID), config
    )
    assert found["CTPH006"].severity is Severity.WARNING
    joined = '"properties": {"tags": "{{ Profile.tags | join: "," }}"}'
    assert "CTPH006" not in codes(body(joined, guard=ABORT_WITHOUT_ID), config)


def test_static_rules_reach_the_report() -> None:
    assert "CTPH001" in codes("{% if Profile.Email %}" + body('"properties": {}'))
    assert codes(body('"properties": {"n": "{{ Profile.Name | upcase }}"}'))[
        "CTPH002"
    ].severity is (Severity.WARNING)
    assert "CTPH005" in codes(body('"properties": {"c": "{{ Profile.City }}"}'))
    assert "CTPH005" not in codes(body('"properties": {"c": "{{ Profile.City | default: "" }}"}'))


def test_findings_are_deduplicated_with_counts_and_deterministic() -> None:
    source = body('"properties": {"v": "{{ Profile.score | default: "0" }}"}')
    first = verify_template(source, "t", CONFIG)
    again = verify_template(source, "t", CONFIG)
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in again.findings]
    stringly = [f for f in first.findings if f.code == "CTPH161"]
    assert len(stringly) == 1 and stringly[0].count > 1
    assert first.profiles == 60


def test_ignore_list_drops_codes() -> None:
    source = body('"properties": {"v": "{{ Profile.score | default: "0" }}"}')
    config = CONFIG.with_overrides(ignore=("CTPH161", "CTPH005"))
    assert not {"CTPH161", "CTPH005"} & set(codes(source, config))
    # however they are given (marker, code, file), codes compare upper-cased
    lower = CONFIG.with_overrides(ignore=("ctph161", "Ctph005"))
    assert lower.ignore == ("CTPH161", "CTPH005")
    assert not {"CTPH161", "CTPH005"} & set(codes(source, lower))


def test_a_webhook_url_that_is_no_capture_endpoint_is_a_config_finding() -> None:
    """CTPH302 judges the configuration, so it is reported with no delivery at all: the engine
    takes it from :mod:`ctph_harness.config` with the template's static findings."""
    wrong = CONFIG.with_overrides(webhook_url="ftp://us.posthog.com/api/event")
    [found] = webhook_findings(wrong)
    assert found.code == "CTPH302"
    assert "scheme 'ftp' is not http(s)" in found.message
    assert "path '/api/event' is not a capture endpoint" in found.message
    assert "CTPH302" in codes(body('"properties": {}'), wrong)
    right = CONFIG.with_overrides(webhook_url="https://eu.i.posthog.com/batch/")
    assert webhook_findings(right) == [] and "CTPH302" not in codes(body('"properties": {}'), right)
    assert webhook_findings(CONFIG) == []


def test_a_findings_profile_is_shown_in_its_short_form() -> None:
    """A finding quotes its smallest profile without the generator's index and kind, as bare
    fields unless it has event properties; ``ctph render --profile`` reads either form back."""
    plain = Profile(7, "edge:missing:Email", {"Name": "x", "tags": ("a", 1)})
    assert plain.shown() == {"Name": "x", "tags": ["a", 1]}
    both = Profile(7, "random", {"Name": "x"}, {"Items": [{"Category": '"'}]})
    assert both.shown() == {"Profile": {"Name": "x"}, "Event": {"Items": [{"Category": '"'}]}}
    assert Profile.from_json(both.shown()) == Profile(0, "file", both.fields, both.event)
    found = codes(body('"properties": {"n": "{{ Profile.Name }}"}', guard=ABORT_WITHOUT_ID))
    assert found["CTPH004"].profile is not None
    assert "index" not in found["CTPH004"].profile and "kind" not in found["CTPH004"].profile


def test_the_engine_is_pure_it_loads_no_server_client_or_delivery() -> None:
    """``engine`` is the per-template pipeline: importing it, and verifying a template with no
    ``deliver`` hook, loads no HTTP client, no WSGI server and no delivery (the run that owns a
    fake PostHog is :mod:`ctph_harness.runner`)."""
    template = body('"properties": {}')
    script = (
        "import sys\n"
        "from ctph_harness.engine import verify_template\n"
        "from ctph_harness.config import HarnessConfig\n"
        f"result = verify_template({template!r}, 't', HarnessConfig(profiles=5))\n"
        "assert result.sent, result\n"
        "heavy = {'httpx', 'werkzeug', 'ctph_harness.posthog.server', 'ctph_harness.delivery',\n"
        "         'ctph_harness.runner'}\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- bad input


def test_bad_template_files_get_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "binary.liquid").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    code, _ = run("verify", str(tmp_path / "binary.liquid"))
    assert code == 2
    (tmp_path / "latin1.liquid").write_bytes('{"name": "Jos\xe9"}'.encode("latin-1"))
    assert run("verify", str(tmp_path / "latin1.liquid"))[0] == 2
    (tmp_path / "huge.liquid").write_bytes(b"{}" * (5 * 1024 * 1024))
    started = time.perf_counter()
    assert run("verify", str(tmp_path / "huge.liquid"))[0] == 2
    assert time.perf_counter() - started < 10
    (tmp_path / "empty.liquid").write_text("")
    code, text = run("verify", "--format", "json", str(tmp_path / "empty.liquid"))
    assert code == 1 and json.loads(text)["templates"][0]["findings"][0]["code"] == "CTPH004"


def test_errors_never_show_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "binary.liquid").write_bytes(b"\x00\x01\x02")
    (tmp_path / "ctph.toml").write_text("profile = 5\n")
    done = subprocess.run(
        [sys.executable, "-m", "ctph_harness.cli", "verify", str(tmp_path / "binary.liquid")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "unknown key `profile` (did you mean `profiles`?)" in done.stderr


def test_bad_property_declaration_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "ctph.toml").write_text('[properties]\ntier = { type = "enum" }\n')
    (tmp_path / "t.liquid").write_text(body('"properties": {}'))
    out = io.StringIO()
    code = main(["verify", str(tmp_path)], out=out)
    assert code == 2


def test_render_previews_one_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "t.json.liquid"
    template.write_text(body('"properties": {"name": "{{ Profile.Name | default: "x" }}"}'))
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"Identity": 42, "Name": 'Ann "The" O'}))
    code, text = run("render", str(template), "--profile", str(profile))
    assert code == 1 and '"distinct_id": "42"' in text and 'Ann "The" O' in text
    assert "CTPH004" in capsys.readouterr().err
    profile.write_text(json.dumps({"Identity": 42, "Name": "Ann", "tags": [1, {"a": None}]}))
    code, text = run("render", str(template), "--profile", str(profile))
    assert code == 0 and json.loads(text)["properties"] == {"name": "Ann"}


def test_render_reproduces_a_verify_profile_by_seed_and_index(tmp_path: Path) -> None:
    template = tmp_path / "t.json.liquid"
    template.write_text(body('"properties": {"city": "{{ Profile.City | default: "" }}"}'))
    code_a, first = run("render", str(template), "--seed", "7", "--index", "12")
    code_b, second = run("render", str(template), "--seed", "7", "--index", "12")
    assert code_a == code_b == 0 and first == second and first.strip()
    assert run("render", str(template), "--index", "3")[0] == 2
    assert run("render", str(template), "--seed", "7", "--index", "99999")[0] == 2
