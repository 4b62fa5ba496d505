"""Tracking plans (CTPH201-204) and per-template settings, through the real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ctph_harness import Severity, UsageError
from ctph_harness.config import ConfigFinder, HarnessConfig, load_config
from ctph_harness.engine import verify_template
from ctph_harness.runner import verify

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
PLAN: dict[str, Any] = {
    "events": {
        "Purchase": {
            "value": {"type": "number", "required": True},
            "currency": {"enum": ["INR", "USD"], "required": True},
            "sku": {"pattern": "^sku_[0-9]+$"},
        }
    }
}
GUARD = "{% unless Profile.Identity %}{% abort %}{% endunless %}"


def template(event: str, properties: str) -> str:
    return (
        GUARD + '{"api_key": "' + KEY + '", "event": "' + event + '", '
        '"distinct_id": "{{ Profile.Identity }}", "properties": {' + properties + "}}"
    )


def found(source: str, **settings: Any) -> dict[str, Any]:
    config = HarnessConfig(
        profiles=20, project_key=KEY, plan=settings.pop("plan", PLAN), **settings
    )
    return {f.code: f for f in verify_template(source, "t.liquid", config).findings}


GOOD = '"value": 10, "currency": "INR", "sku": "sku_1"'


def test_planned_event_passes() -> None:
    assert not {"CTPH201", "CTPH202", "CTPH203", "CTPH204"} & set(found(template("Purchase", GOOD)))


def test_unplanned_event_ctph201() -> None:
    assert found(template("Refund", GOOD))["CTPH201"].pointer == "/event"
    assert "CTPH201" not in found(template("$identify", '"$set": {"a": 1}'))  # PostHog's own


def test_missing_required_property_ctph202() -> None:
    missing = found(template("Purchase", '"value": 10'))["CTPH202"]
    assert '"currency"' in missing.message and missing.pointer == "/properties"


@pytest.mark.parametrize(
    "properties",
    [
        '"value": "10", "currency": "INR"',
        '"value": 1, "currency": "GBP"',
        '"value": 1, "currency": "INR", "sku": "x"',
    ],
)
def test_wrong_type_enum_or_pattern_ctph203(properties: str) -> None:
    assert found(template("Purchase", properties))["CTPH203"].severity is Severity.ERROR


def test_unplanned_property_ctph204_warning_or_error_when_strict() -> None:
    loose = found(template("Purchase", GOOD + ', "coupon": "X"'))["CTPH204"]
    assert loose.severity is Severity.WARNING and loose.pointer == "/properties/coupon"
    strict = found(template("Purchase", GOOD + ', "coupon": "X"'), plan={**PLAN, "strict": True})
    assert strict["CTPH204"].severity is Severity.ERROR
    assert "CTPH204" not in found(template("Purchase", GOOD + ', "$groups": {"c": "a"}'))


def test_overrides_apply_per_template(tmp_path: Path) -> None:
    (tmp_path / "ctph.toml").write_text(
        f'project_key = "{KEY}"\nprofiles = 20\n'
        '[overrides."purchase*"]\nevent = "Purchase"\nrequire = ["Identity"]\nignore = ["CTPH005"]\n'
    )
    (tmp_path / "purchase.json.liquid").write_text(
        '{"api_key": "' + KEY + '", "event": "Buy", "distinct_id": "{{ Profile.Identity }}"}'
    )
    (tmp_path / "other.json.liquid").write_text(
        '{"api_key": "' + KEY + '", "event": "Buy", "distinct_id": "{{ Profile.Identity }}"}'
    )
    report = verify([str(tmp_path)], load_config(tmp_path / "ctph.toml"))
    by_name = {Path(item.path).name: {f.code for f in item.findings} for item in report.items}
    # purchase*: the configured event name is enforced, Identity is guaranteed, CTPH005 ignored
    assert "CTPH201" in by_name["purchase.json.liquid"]
    assert not {"CTPH121", "CTPH005"} & by_name["purchase.json.liquid"]
    # other templates keep the defaults: some users have no Identity
    assert {"CTPH121", "CTPH005"} <= by_name["other.json.liquid"]
    assert "CTPH201" not in by_name["other.json.liquid"]


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[plan.events.Purchase]\nvalue = { type = "money" }\n', "money"),
        ('[plan.events.Purchase]\nvalue = { kind = "number" }\n', "kind"),
        ('[overrides."x*"]\nprofiles = 5\n', "profiles"),
        ("[plan]\nevents = {}\n", "events"),
    ],
)
def test_bad_plan_or_override_names_the_key(tmp_path: Path, toml: str, named: str) -> None:
    (tmp_path / "ctph.toml").write_text(toml)
    with pytest.raises(UsageError, match=named):
        load_config(tmp_path / "ctph.toml")


def test_for_file_matches_globs_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "ctph.toml").write_text('[overrides."sub/*.liquid"]\nignore = ["ctph161"]\n')
    config = load_config(tmp_path / "ctph.toml")
    assert config.for_file(tmp_path / "sub" / "a.liquid").ignore == ("CTPH161",)
    assert config.for_file(tmp_path / "a.liquid").ignore == ()
    assert ConfigFinder().template(tmp_path / "sub" / "a.liquid").ignore == ("CTPH161",)
