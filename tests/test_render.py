"""Loading (CTPH001, bad input), rendering (CTPH003, abort) and CTPH004 blame, on real liquid."""

from __future__ import annotations

import json
import time

import pytest

from ctph_harness.clevertap.render import explain_json_failure, render
from ctph_harness.clevertap.settings import DialectSettings
from ctph_harness.clevertap.template import MAX_TEMPLATE_BYTES, load_template
from ctph_harness.errors import InputError
from ctph_harness.findings import Finding

# --- loading ---------------------------------------------------------------------------------


def test_syntax_error_with_position() -> None:
    template = load_template('{"a": 1}\n{{ "x }}', "t.liquid")
    assert template.parsed is None
    (f,) = template.findings
    assert (f.code, f.line, f.column) == ("CTPH001", 2, 4)


def test_missing_endif_has_no_position_but_names_the_block() -> None:
    template = load_template('{"a": 1}\n{% if Profile.X %}"x"', "t.liquid")
    (f,) = template.findings
    assert (f.code, f.line, f.column) == ("CTPH001", None, None)
    assert "{% if %}" in f.message and "line 2" in f.message and "endif" in f.message


def test_stray_endif_is_a_syntax_error() -> None:
    (f,) = load_template("x{% endif %}", "t").findings
    assert (f.code, f.line, f.column) == ("CTPH001", 1, 5)


def test_unknown_tag_is_ctph002_not_ctph001() -> None:
    template = load_template("{% abortt %}", "t")
    assert template.ok
    assert [f.code for f in template.findings] == ["CTPH002"]


def test_valid_template_has_no_findings() -> None:
    template = load_template('{"a": "{{ Profile.Name | default: "x" }}"}', "t")
    assert template.ok and template.findings == ()


def test_binary_input_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not a UTF-8"):
        load_template(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "logo.png")


def test_nul_in_text_is_an_input_error() -> None:
    with pytest.raises(InputError, match="NUL"):
        load_template('{"a": 1}\x00', "t")


def test_utf8_bytes_and_bom_are_fine() -> None:
    template = load_template('\ufeff{"a": "é"}'.encode(), "t")
    assert template.source == '{"a": "é"}'
    assert template.ok


def test_huge_template_is_an_input_error_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(InputError, match="bytes"):
        load_template(b" " * (10 * 1024 * 1024), "huge.liquid")
    with pytest.raises(InputError):
        load_template("x" * (MAX_TEMPLATE_BYTES + 1), "huge.liquid")
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("src", ["", "   \n\t"])
def test_empty_template_is_a_ctph004_finding(src: str) -> None:
    template = load_template(src, "empty.liquid")
    assert template.parsed is None
    assert [f.code for f in template.findings] == ["CTPH004"]
    result = render(template, {})
    assert result.body is None and result.finding is not None
    assert result.finding.code == "CTPH004"


def test_parse_once_per_source_and_settings() -> None:
    src = '{"cached": "{{ Profile.Name | default: "x" }}"}'
    first = load_template(src, "a.liquid")
    second = load_template(src.encode(), "b.liquid")
    assert first.parsed is second.parsed
    assert second.name == "b.liquid"
    other = load_template(src, "a.liquid", DialectSettings(escaping="json"))
    assert other.parsed is not first.parsed


# --- rendering -------------------------------------------------------------------------------


def test_render_body() -> None:
    template = load_template('{"n": "{{ Profile.Name }}"}', "t")
    assert render(template, {"Name": "Ann"}).body == '{"n": "Ann"}'


def test_ctph003_date_on_epoch_milliseconds() -> None:
    template = load_template('{"t": "{{ Profile.ts | date: "%Y" }}"}', "t")
    result = render(template, {"ts": 1586937505801})
    assert result.body is None and not result.aborted
    assert isinstance(result.finding, Finding)
    assert result.finding.code == "CTPH003"
    assert (result.finding.line, result.finding.column) == (1, 24)
    assert "milliseconds" in result.finding.message
    assert render(template, {"ts": 1586937505}).body == '{"t": "2020"}'  # near miss


@pytest.mark.parametrize(
    "src",
    [
        "{% for i in (1..100000000) %}x{% endfor %}",
        "{% for i in (1..5000) %}{% for j in (1..5000) %}x{% endfor %}{% endfor %}",
        '{% assign a = "xxxxxxxxxxxxxxxx" %}{% for i in (1..60) %}'
        "{% assign a = a | append: a %}{% endfor %}{{ a }}",
    ],
)
def test_ctph003_runaway_template_ends_fast(src: str) -> None:
    template = load_template(src, "loop.liquid")
    started = time.perf_counter()
    result = render(template, {})
    assert time.perf_counter() - started < 1.0
    assert result.finding is not None and result.finding.code == "CTPH003"
    assert "limit" in result.finding.message


def test_ctph003_near_miss_small_loop() -> None:
    template = load_template("{% for i in (1..100) %}x{% endfor %}", "loop.liquid")
    assert render(template, {}).body == "x" * 100


def test_ctph003_unknown_filter_at_render() -> None:
    template = load_template('{{ "now" | date_tz: "%H" }}', "t")
    result = render(template, {})
    assert result.finding is not None and result.finding.code == "CTPH003"
    assert "date_tz" in result.finding.message


# --- CTPH004 blame ---------------------------------------------------------------------------

BODY = """{
  "event": "signup",
  "properties": {"name": "{{ Profile.Name }}", "age": {{ Profile.Age | default: 0 }}}
}"""


def blame(profile: dict[str, object], src: str = BODY, **kw: DialectSettings) -> Finding:
    template = load_template(src, "t.liquid", kw.get("settings", DialectSettings()))
    result = render(template, profile)
    assert result.body is not None
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.body)
    found = explain_json_failure(template, profile)
    assert found.code == "CTPH004"
    return found


def test_ctph004_quote_names_the_expression() -> None:
    f = blame({"Name": 'Ann "The" O'})
    assert (f.line, f.column) == (3, 27)
    assert f.message.startswith(
        '`{{ Profile.Name }}` at line 3 col 27 rendered `Ann "The" O` whose `"` ends the JSON '
        "string early (assuming CleverTap inserts values unescaped, setting `escaping`)"
    )


def test_ctph004_backslash() -> None:
    f = blame({"Name": "C:\\Users"})
    assert "`{{ Profile.Name }}` at line 3 col 27" in f.message
    assert "backslash" in f.message and "`escaping`" in f.message


def test_ctph004_trailing_backslash_swallowing_the_quote() -> None:
    f = blame({"Name": "Ann\\"}, '{"name": "{{ Profile.Name }}"}')
    assert "{{ Profile.Name }}" in f.message and "backslash" in f.message


def test_ctph004_newline() -> None:
    f = blame({"Name": "Ann\nO"})
    assert "rendered `Ann\\nO`" in f.message and "raw newline" in f.message


def test_ctph004_control_character() -> None:
    f = blame({"Name": "Ann\x07"})
    assert "U+0007" in f.message


def test_ctph004_blank_bare_value() -> None:
    f = blame({"Age": ""}, '{"age": {{ Profile.Age }}}')
    assert f.message.startswith("`{{ Profile.Age }}` at line 1 col 9 rendered nothing")
    assert "outside quotes" in f.message


def test_ctph004_list_and_dict() -> None:
    src = '{"tags": {{ Profile.Tags }}}'
    assert "list" in blame({"Tags": ["a", "b"]}, src).message
    assert "repr of an object" in blame({"Tags": {"plan": "gold"}}, src).message


def test_ctph004_bare_text() -> None:
    f = blame({"Age": "ten"}, '{"age": {{ Profile.Age }}}')
    assert "bare text" in f.message


def test_ctph004_template_text_itself_broken() -> None:
    f = blame({"Name": "Ann"}, '{"a": "x"\n "name": "{{ Profile.Name }}"}')
    assert "template text itself is not valid JSON" in f.message
    assert (f.line, f.column) == (2, 2)


def test_ctph004_escaping_json_blames_no_quote() -> None:
    json_mode = DialectSettings(escaping="json")
    template = load_template(BODY, "t", json_mode)
    profile = {"Name": 'Ann "The"\\ O\n'}
    body = render(template, profile).body
    assert body is not None and json.loads(body)["properties"]["name"] == profile["Name"]
    with pytest.raises(ValueError, match="valid JSON"):
        explain_json_failure(template, profile)
    # ...but escaping cannot fix a hole outside quotes, and then the setting is not blamed.
    f = blame({"Age": ""}, '{"age": {{ Profile.Age }}}', settings=json_mode)
    assert "`escaping`" not in f.message


def test_explain_near_miss_valid_body_raises() -> None:
    template = load_template(BODY, "t")
    with pytest.raises(ValueError, match="valid JSON"):
        explain_json_failure(template, {"Name": "Ann"})


def test_explain_render_failure_is_ctph003() -> None:
    template = load_template('{"t": "{{ Profile.ts | date: "%Y" }}"}', "t")
    assert explain_json_failure(template, {"ts": 1586937505801}).code == "CTPH003"
