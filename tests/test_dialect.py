"""The CleverTap dialect on real python-liquid: documented tags/filters/objects, abort, settings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pytest

from ctph_harness.clevertap.dialect import environment, normalise_source, traced_environment
from ctph_harness.clevertap.render import render
from ctph_harness.clevertap.settings import DEFAULT_SETTINGS, DialectSettings
from ctph_harness.clevertap.template import load_template
from ctph_harness.errors import UsageError


def body(
    source: str,
    profile: Mapping[str, Any] | None = None,
    *,
    event: Mapping[str, Any] | None = None,
    campaign: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
    settings: DialectSettings = DEFAULT_SETTINGS,
) -> str | None:
    template = load_template(source, "t.liquid", settings)
    assert template.ok, template.findings
    result = render(template, profile or {}, event, campaign, catalog=catalog)
    assert result.finding is None, result.finding
    return result.body


def test_settings_defaults_are_stock_liquid() -> None:
    assert DialectSettings() == DEFAULT_SETTINGS
    assert (DEFAULT_SETTINGS.missing, DEFAULT_SETTINGS.escaping) == ("blank", "none")


@pytest.mark.parametrize("kwargs", [{"missing": "skip"}, {"escaping": "html"}])
def test_bad_setting_is_a_usage_error(kwargs: dict[str, str]) -> None:
    with pytest.raises(UsageError, match=next(iter(kwargs))):
        DialectSettings(**kwargs)  # type: ignore[arg-type]


def test_one_environment_per_settings() -> None:
    strict = DialectSettings(missing="error")
    assert environment() is environment(DialectSettings())
    assert environment(strict) is environment(DialectSettings(missing="error"))
    assert environment(strict) is not environment()
    assert traced_environment() is not environment()


ABORT = "{% if Event.price > 100 %}coupon{% else %}{% abort %}{% endif %}"


def test_abort_in_else_renders_for_high_price() -> None:
    template = load_template(ABORT, "abort.liquid")
    assert template.findings == ()
    result = render(template, {}, {"price": 150})
    assert (result.body, result.aborted, result.finding) == ("coupon", False, None)


def test_abort_in_else_aborts_for_low_price() -> None:
    result = render(load_template(ABORT, "abort.liquid"), {}, {"price": 50})
    assert (result.body, result.aborted, result.finding) == (None, True, None)


def test_abort_with_argument_is_tolerated() -> None:
    result = render(load_template('{% abort "no" %}', "a"), {})
    assert result.aborted


def test_clevertap_paths() -> None:
    profile = {"MSG-email": True, "Customer Type": "gold"}
    event = {"Requested Product": "shoe"}
    src = '{{ Profile.MSG-email }}|{{ Profile["Customer Type"] }}|{{ Event["Requested Product"] }}'
    assert body(src, profile, event=event) == "true|gold|shoe"


def test_campaign_id_default_and_value() -> None:
    src = '{{ Campaign.campaignId | default: "0_0" }}'
    assert body(src) == "0_0"
    assert body(src, campaign={"campaignId": "1700_3"}) == "1700_3"


def test_now_date() -> None:
    rendered = body('{{ "now" | date: "%Y-%m-%d" }}')
    assert rendered == dt.datetime.now().strftime("%Y-%m-%d")


def test_date_on_epoch_seconds_works() -> None:
    assert body('{{ Profile.ts | date: "%Y" }}', {"ts": 1586937505}) == "2020"


def test_split_filter() -> None:
    assert body('{% assign p = Profile.Name | split: " " %}{{ p[0] }}', {"Name": "Ann O"}) == "Ann"


def test_every_documented_tag_parses_and_renders() -> None:
    src = (
        "{% assign n = Profile.Items.size %}"
        "{% for i in Profile.Items limit:2 offset:1 %}{{ i }}{% endfor %}/"
        "{% for i in Profile.Items reversed %}{% if i == 'b' %}{% continue %}{% endif %}"
        "{{ i }}{% if i == 'a' %}{% break %}{% endif %}{% endfor %}/"
        "{% case Profile.Plan %}{% when 'gold' %}G{% else %}O{% endcase %}/"
        "{% unless Profile.Plan %}none{% elsif Profile.Plan == 'x' %}x{% else %}{{ n }}"
        "{% endunless %}/{% raw %}{{ x }}{% endraw %}{% comment %}hidden{% endcomment %}"
        "{% tablerow i in Profile.Items cols:1 limit:1 %}{{ i }}{% endtablerow %}"
    )
    template = load_template(src, "all-tags")
    assert template.findings == ()
    out = render(template, {"Items": ["a", "b", "c"], "Plan": "gold"}).body
    assert out is not None
    assert out.startswith("bc/ca/G/3/{{ x }}")
    assert "<td" in out


def test_catalog_dot_bracket_is_accepted() -> None:
    src = '{{ Catalog.["Sample Catalog"].Name | default: "Laptop" }}'
    assert normalise_source(src) == '{{ Catalog ["Sample Catalog"].Name | default: "Laptop" }}'
    assert len(normalise_source(src)) == len(src)
    assert body(src) == "Laptop"
    (out,) = load_template(src, "t").facts.outputs
    assert out.source == src and out.display == 'Catalog["Sample Catalog"].Name'
    catalog = {"Sample Catalog": {"Name": "Phone"}}
    assert body(src, catalog=catalog) == "Phone"


def test_unknown_tag_parses_and_renders_nothing() -> None:
    template = load_template("a{% foo %}b{% endfoo %}c", "t")
    assert template.ok
    assert [f.code for f in template.findings] == ["CTPH002"]
    assert render(template, {}).body == "abc"


# --- settings: missing ------------------------------------------------------------------------


def test_missing_blank_renders_empty() -> None:
    assert body('"{{ Profile.Nick }}"') == '""'


def test_missing_error_is_a_render_failure_naming_the_setting() -> None:
    template = load_template('"{{ Profile.Nick }}"', "t", DialectSettings(missing="error"))
    result = render(template, {})
    assert result.body is None and not result.aborted
    assert result.finding is not None and result.finding.code == "CTPH003"
    assert "`missing`" in result.finding.message
    assert "Profile.Nick" in result.finding.message
    assert (result.finding.line, result.finding.column) == (1, 5)


def test_missing_error_near_misses_default_and_guard() -> None:
    strict = DialectSettings(missing="error")
    assert body('{{ Profile.Nick | default: "x" }}', settings=strict) == "x"
    assert body("{% if Profile.Nick %}{{ Profile.Nick }}{% endif %}!", settings=strict) == "!"
    assert body("{{ Profile.Nick }}", {"Nick": "N"}, settings=strict) == "N"


# --- settings: escaping -----------------------------------------------------------------------

NAME = '{"name": "{{ Profile.Name }}"}'
AWKWARD = 'Ann "The" O\\Neil\nX'


def test_escaping_none_inserts_raw() -> None:
    rendered = body(NAME, {"Name": AWKWARD})
    assert rendered == '{"name": "' + AWKWARD + '"}'
    with pytest.raises(json.JSONDecodeError):
        json.loads(rendered)


def test_escaping_json_escapes_values() -> None:
    rendered = body(NAME, {"Name": AWKWARD}, settings=DialectSettings(escaping="json"))
    assert rendered is not None
    assert json.loads(rendered) == {"name": AWKWARD}


def test_escaping_json_leaves_plain_values_alone() -> None:
    assert body(NAME, {"Name": "Ann"}, settings=DialectSettings(escaping="json")) == (
        '{"name": "Ann"}'
    )
