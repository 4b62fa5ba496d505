"""A payload finding's JSON pointer becomes the template line that writes the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctph_harness.config import load_config
from ctph_harness.engine import verify_template
from ctph_harness.findings import Finding, Severity
from ctph_harness.locate import LineIndex, key_offsets, located

CAMPAIGNS = Path(__file__).resolve().parents[1] / "fixtures" / "campaigns"


def positions(source: str) -> dict[str, tuple[int, int]]:
    lines = LineIndex(source)
    return {pointer: lines.position(at) for pointer, at in key_offsets(source).items()}


def test_keys_of_a_liquid_body_are_found_where_they_are_written() -> None:
    source = (
        "{% unless Profile.Email %}{% abort %}{% endunless %}{\n"
        '  "event": "{{ Event.Name | default: "x}" }}",\n'
        '  "distinct_id": "{{ Profile.Email }}",\n'
        '  {% comment %} "hidden": 1, { [ {% endcomment %}\n'
        '  "properties": {"a\\/b": {{ Profile.N | default: 0 }}, "t~": [1, {"k": 2}],\n'
        '     "$set": {"plan": "{{ Profile.Plan }}"}}\n'
        "}\n"
    )
    assert positions(source) == {
        "/event": (2, 3),
        "/distinct_id": (3, 3),
        "/properties": (5, 3),
        "/properties/a~1b": (5, 18),
        "/properties/t~0": (5, 56),
        "/properties/t~0/0": (5, 63),
        "/properties/t~0/1": (5, 66),
        "/properties/t~0/1/k": (5, 67),
        "/properties/$set": (6, 6),
        "/properties/$set/plan": (6, 15),
    }


def _finding(pointer: str, line: int | None = None) -> Finding:
    return Finding("CTPH161", Severity.WARNING, "m", pointer=pointer, line=line)


def test_located_falls_back_to_the_nearest_literal_key_and_keeps_known_lines() -> None:
    source = '{"batch": [{% for e in Event.List %}{"{{ e.k }}": 1}{% endfor %}], "x": 1}'
    found = located(
        [
            _finding("/batch/3/distinct_id"),  # a loop's element: the array that holds it
            _finding("/missing"),  # a key the template never writes: no line
            _finding("/x", line=9),  # a line the finding already has wins
            _finding(""),  # the whole body
        ],
        source,
    )
    assert [(f.line, f.column) for f in found] == [(1, 2), (None, None), (9, None), (None, None)]


@pytest.mark.parametrize(
    "source", ["", "{", '{"a": ', "]]]}}}", '{"a": "unterminated', "\\", '{"a" "b" ::: ,,, }']
)
def test_any_text_is_read_without_raising(source: str) -> None:
    located([_finding("/a")], source)


def test_verify_gives_payload_findings_their_template_line() -> None:
    path = CAMPAIGNS / "guide-purchase.json.liquid"
    result = verify_template(path.read_bytes(), str(path), load_config(None, profiles=40))
    by_code = {f.code: f for f in result.findings}
    assert (by_code["CTPH124"].line, by_code["CTPH124"].column) == (4, 4)  # "distinct_id"
    assert (by_code["CTPH161"].line, by_code["CTPH161"].pointer) == (7, "/properties/value")
    assert result.body_for(by_code["CTPH124"]) is not None
