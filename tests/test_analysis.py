"""Static analysis of CleverTap templates: facts, CTPH002, CTPH005 and the CTPH006 helper."""

from __future__ import annotations

import pytest

from ctph_harness.clevertap.analysis import TemplateFacts, display_path, multi_value_findings
from ctph_harness.clevertap.template import CampaignTemplate, load_template
from ctph_harness.findings import Severity

BODY = """{
  "distinct_id": "{{ Profile.Email | default: "anon" }}",
  "properties": {
    "type": "{{ Profile["Customer Type"] }}",
    "optin": {{ Profile.MSG-email | default: false }},
    "product": "{{ Event["Requested Product"] }}"{% if Profile.Plan %},
    "plan": "{{ Profile.Plan }}"{% endif %}
  }
}"""


def load(src: str) -> CampaignTemplate:
    template = load_template(src, "t.liquid")
    assert template.ok, template.findings
    return template


def facts(src: str) -> TemplateFacts:
    return load(src).facts


def codes(src: str) -> list[tuple[str, str, int | None, int | None]]:
    return [(f.code, f.severity.value, f.line, f.column) for f in load(src).findings]


def test_reads_with_positions_and_display() -> None:
    reads = [(r.display, r.line, r.column) for r in facts(BODY).reads]
    assert reads == [
        ("Profile.Email", 2, 22),
        ('Profile["Customer Type"]', 4, 17),
        ("Profile.MSG-email", 5, 17),
        ('Event["Requested Product"]', 6, 20),
        ("Profile.Plan", 6, 56),
        ("Profile.Plan", 7, 17),
    ]


def test_profile_and_event_paths() -> None:
    f = facts(BODY)
    assert f.profile_paths() == (("Email",), ("Customer Type",), ("MSG-email",), ("Plan",))
    assert f.event_paths() == (("Requested Product",),)
    assert all(r.root == "Profile" for r in f.profile_reads)


def test_dynamic_path_is_marked() -> None:
    reads = facts("{{ Profile[Profile.Key] }}").reads
    assert [(r.segments, r.dynamic) for r in reads] == [
        (("Profile",), True),
        (("Profile", "Key"), False),
    ]


def test_filters_and_tags_with_spans() -> None:
    f = facts(BODY)
    assert [(u.name, u.line, u.column) for u in f.filters] == [
        ("default", 2, 38),
        ("default", 5, 37),
    ]
    assert [(u.name, u.line, u.column) for u in f.tags] == [("if", 6, 53)]


def test_outputs() -> None:
    outs = facts(BODY).outputs
    assert [o.source for o in outs] == [
        '{{ Profile.Email | default: "anon" }}',
        '{{ Profile["Customer Type"] }}',
        "{{ Profile.MSG-email | default: false }}",
        '{{ Event["Requested Product"] }}',
        "{{ Profile.Plan }}",
    ]
    assert [(o.line, o.column) for o in outs] == [(2, 19), (4, 14), (5, 14), (6, 17), (7, 14)]
    assert [o.has_default for o in outs] == [True, False, True, False, False]
    assert [o.in_json_string for o in outs] == [True, True, False, True, True]
    assert [o.guarded for o in outs] == [False, False, False, False, True]
    assert outs[1].path == ("Profile", "Customer Type")
    assert outs[1].root == "Profile"


def test_literal_output_has_no_path() -> None:
    (out,) = facts('"{{ "now" | date: "%Y" }}"').outputs
    assert (out.path, out.root, out.filters, out.in_json_string) == (None, None, ("date",), True)


def test_escaped_quote_in_template_text_keeps_string_open() -> None:
    (out,) = facts('{"a": "say \\"{{ Profile.X | default: 1 }}"}').outputs
    assert out.in_json_string


@pytest.mark.parametrize(
    "src",
    [
        "{% unless Profile.X == blank %}{{ Profile.X }}{% endunless %}",
        "{% if Profile.A %}a{% elsif Profile.X %}{{ Profile.X }}{% endif %}",
        "{% if Profile.X == blank %}none{% else %}{{ Profile.X }}{% endif %}",
        "{% case Profile.X %}{% when 'a' %}{{ Profile.X }}{% endcase %}",
        "{% if Profile.X.size > 0 %}{{ Profile.X }}{% endif %}",
    ],
)
def test_guards(src: str) -> None:
    (out,) = facts(src).outputs
    assert out.guarded


def test_guard_on_other_path_does_not_count() -> None:
    (out,) = facts("{% if Profile.Y %}{{ Profile.X }}{% endif %}").outputs
    assert not out.guarded


def test_display_path() -> None:
    assert display_path(("Event", "Items", 0, "Category")) == "Event.Items[0].Category"
    assert display_path(("Profile", 'say "hi"')) == 'Profile["say \\"hi\\""]'


# --- CTPH002 ---------------------------------------------------------------------------------


def test_ctph002_unknown_tag_is_error_with_position() -> None:
    assert codes("x\n  {% foo %}") == [("CTPH002", "error", 2, 6)]


def test_ctph002_undocumented_standard_tag_is_error() -> None:
    assert codes("{% capture c %}x{% endcapture %}{{ c }}") == [("CTPH002", "error", 1, 4)]


def test_ctph002_non_shopify_filter_is_error() -> None:
    found = load('{{ Profile.X | default: "" | escapejs }}').findings
    assert [(f.code, f.severity) for f in found] == [("CTPH002", Severity.ERROR)]
    assert "escapejs" in found[0].message
    assert (found[0].line, found[0].column) == (1, 30)


def test_ctph002_unknown_filter_is_error() -> None:
    found = load('{{ "now" | date_tz: "%H", "Asia/Singapore" }}').findings
    assert [(f.code, f.severity.value, f.column) for f in found] == [("CTPH002", "error", 12)]


def test_ctph002_shopify_filter_is_warning() -> None:
    found = load('{{ Profile.Name | default: "x" | upcase }}').findings
    assert [(f.code, f.severity, f.column) for f in found] == [("CTPH002", Severity.WARNING, 34)]
    assert "upcase" in found[0].message


def test_ctph002_unknown_object_suggests_case() -> None:
    found = load('{{ profile.Name | default: "x" }}').findings
    assert [(f.code, f.severity) for f in found] == [("CTPH002", Severity.ERROR)]
    assert "`Profile`" in found[0].message


def test_ctph002_near_miss_documented_dialect() -> None:
    src = (
        '{{ Profile.Name | default: "x" }}{{ "now" | date: "%Y" }}'
        '{% assign w = Profile.Name | default: "a b" | split: " " %}{% for x in w %}{% endfor %}'
        '{{ Linked.Api.label | default: "" }}{{ Catalog["C"].Name | default: "" }}'
        '{{ Campaign.campaignId | default: "0_0" }}{% abort %}'
    )
    assert codes(src) == []


# --- CTPH005 ---------------------------------------------------------------------------------


def test_ctph005_unguarded_output_without_default() -> None:
    found = load('{"n": "{{ Profile.Name }}", "a": {{ Event.Age }}}').findings
    assert [(f.code, f.severity, f.line, f.column) for f in found] == [
        ("CTPH005", Severity.WARNING, 1, 8),
        ("CTPH005", Severity.WARNING, 1, 34),
    ]
    assert "Profile.Name" in found[0].message and "inside a JSON string" in found[0].message
    assert "bare JSON value" in found[1].message


@pytest.mark.parametrize(
    "src",
    [
        '"{{ Profile.Name | default: "x" }}"',
        '{% if Profile.Name %}"{{ Profile.Name }}"{% endif %}',
        '"{{ Campaign.campaignId }}"',
        '{% assign n = Profile.Name | default: "x" %}"{{ n }}"',
        '"{{ "literal" }}"',
    ],
)
def test_ctph005_near_misses(src: str) -> None:
    assert [f.code for f in load(src).findings if f.code == "CTPH005"] == []


# --- CTPH006 helper --------------------------------------------------------------------------


def test_ctph006_list_and_object_values() -> None:
    f = facts('{"t": "{{ Profile.Tags }}", "p": "{{ Event.plan | default: "" }}"}')
    found = multi_value_findings(f, {"Tags": ["a", "b"]}, {"plan": {"name": "gold"}})
    assert [(x.code, x.severity, x.column) for x in found] == [
        ("CTPH006", Severity.WARNING, 8),
        ("CTPH006", Severity.WARNING, 35),
    ]
    assert "`ab`" in found[0].message and "list" in found[0].message
    assert "{'name': 'gold'}" in found[1].message


def test_ctph006_near_misses() -> None:
    f = facts('"{{ Profile.Tags | join: "," }}{{ Profile.Tags[0] }}{{ Profile.Name }}"')
    assert multi_value_findings(f, {"Tags": ["a", "b"], "Name": "Ann"}) == ()
    assert multi_value_findings(f, {}) == ()
