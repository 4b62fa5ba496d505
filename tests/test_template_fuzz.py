"""Hypothesis-made campaign templates through the whole verify pipeline.

Templates come from a small Liquid grammar (outputs of ``Profile``/``Event`` paths, some 300
segments long, with filters including maths, ``date`` and ``default``; ``if``/``unless``/``for``/
``case``/``assign``/``capture``/``abort``, ``if`` nested up to 400 deep; JSON-ish text with
quotes, backslashes, surrogate escapes, huge numbers and deep braces) mixed with random garbage,
each verified for a few generated profiles with
:func:`ctph_harness.engine.verify_template`, the path ``ctph verify`` takes. Whatever the
template, the pipeline:

* never raises (a template fault is a finding; only text that is not a template at all, here
  one holding a NUL character, is an ``InputError`` that says so);
* ends (a safety net of 20 s per example only, never a timing assertion);
* gives a verdict: a result with the profiles it ran and a list of catalogue findings.

The example budget keeps the file to a few seconds under ``-n 2``; the test records how many
examples ran (``record_property``, visible with ``--junitxml``). Raise it with
``CTPH_FUZZ_EXAMPLES`` for a longer hunt. Crashes it found are named tests in
test_hostile_templates.py.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctph_harness.config import HarnessConfig
from ctph_harness.engine import TemplateResult, verify_template
from ctph_harness.errors import InputError
from ctph_harness.findings import Severity, catalogue

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
SAFETY = 20.0
EXAMPLES = int(os.environ.get("CTPH_FUZZ_EXAMPLES", "250"))
"""Examples per run; raise it (``CTPH_FUZZ_EXAMPLES=2000``) for a longer hunt."""

# --- the grammar -------------------------------------------------------------------------------

paths = st.sampled_from(
    [
        "Profile.Name",
        "Profile.Email",
        "Profile.Identity",
        "Profile.Age",
        "Profile.Phone",
        "Profile.Tags",
        "Profile.Address.City",
        "Profile['Customer Type']",
        "Event.Amount",
        "Event.Items[0].Price",
        "Event.Items",
        "Campaign.campaignId",
        "n",
        "s",
    ]
)
deep_paths = st.integers(1, 300).map(lambda n: "Profile." + ".".join(["a"] * n))
literals = st.sampled_from(
    ["0", "1", "-7", "2.5", "'x'", "'2024-05-01'", "'now'", "'a\\\"b'", "nil", "true", "9" * 400]
)
filters = st.sampled_from(
    [
        "default: 'x'",
        "default: 0",
        'default: ""',
        "date: '%Y-%m-%dT%H:%M:%S'",
        "date: '%s'",
        "times: 2",
        "times: n",
        "plus: 1",
        "minus: 1.5",
        "divided_by: 0",
        "divided_by: 3",
        "modulo: 0",
        "at_least: 5",
        "at_most: 5",
        "abs",
        "round: 2",
        "ceil",
        "size",
        "upcase",
        "split: ','",
        "first",
        "join: ','",
        "sum",
        "escape",
        "nosuchfilter",
    ]
)
expressions = st.builds(
    lambda head, chain: " | ".join([head, *chain]),
    st.one_of(paths, literals, deep_paths),
    st.lists(filters, max_size=3),
)
conditions = st.one_of(
    paths,
    st.builds(
        lambda a, op, b: f"{a} {op} {b}",
        paths,
        st.sampled_from(["==", "!=", ">", "<", "contains", "and", "or"]),
        st.one_of(paths, literals),
    ),
)
outputs = expressions.map(lambda e: "{{ " + e + " }}")
raw_text = st.one_of(
    st.sampled_from(
        [
            '"',
            "\\",
            '\\"',
            "\\ud800",
            "\\udc00x",
            "\\u12",
            "\ud800",
            "\x00",
            "\n",
            ",",
            ":",
            "{",
            "}",
            "[",
            "]",
            "NaN",
            "1e400",
            "-0",
            "9" * 5000,
            "[" * 300,
            "{" * 200,
            "\ufeff",
            "phx_" + "a" * 40,
        ]
    ),
    st.text(max_size=12),
)


def block(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Tags around ``inner`` pieces."""
    return st.one_of(
        st.builds(lambda c, b: "{% if " + c + " %}" + b + "{% endif %}", conditions, inner),
        st.builds(lambda c, b: "{% unless " + c + " %}" + b + "{% endunless %}", paths, inner),
        st.builds(
            lambda n, b: "{% for i in (1.." + n + ") %}" + b + "{% endfor %}",
            st.sampled_from(["3", "0", "-1", "100000", "n", "Profile.Age"]),
            inner,
        ),
        st.builds(lambda p, b: "{% for i in " + p + " %}" + b + "{% endfor %}", paths, inner),
        st.builds(lambda e, b: "{% assign n = " + e + " %}" + b, expressions, inner),
        st.builds(lambda b: "{% capture s %}" + b + "{% endcapture %}{{ s }}", inner),
        st.builds(
            lambda p, b: "{% case " + p + " %}{% when 'a' %}" + b + "{% else %}x{% endcase %}",
            paths,
            inner,
        ),
        st.builds(lambda c: "{% if " + c + " %}{% abort %}{% endif %}", conditions),
        st.just(
            "{% assign n = 3 %}{% for i in (1..30) %}{% assign n = n | times: n %}{% endfor %}"
        ),
        st.just("{% raw %}{{ x }}{% endraw %}{% comment %}c{% endcomment %}"),
        st.builds(
            lambda n, b: "{% if Profile.a %}" * n + b + "{% endif %}" * n,
            st.sampled_from([2, 30, 400]),
            inner,
        ),
    )


pieces = st.recursive(st.one_of(outputs, raw_text), block, max_leaves=6)
fragment = st.lists(pieces, max_size=5).map("".join)


def json_shaped(distinct: str, props: list[tuple[str, str, bool]]) -> str:
    inner = ", ".join(f'"{k}": "{v}"' if quoted else f'"{k}": {v}' for k, v, quoted in props)
    return (
        '{"event": "e", "distinct_id": "' + distinct + '", "api_key": "' + KEY + '", '
        '"properties": {' + inner + "}}"
    )


near_json_values = st.one_of(
    st.builds(lambda p: "{{ " + p + " | default: 1 }}", paths),
    st.sampled_from(
        [
            "1",
            "x",
            "\\ud800",
            "\\udfff",
            "9" * 400,
            "9" * 5000,
            "1e400",
            "NaN",
            "-Infinity",
            "[" * 130 + "]" * 130,
            "{{ Profile.Name | default: 'a' | times: 1e300 }}",
        ]
    ),
)
"""Values that leave the JSON around them intact: bodies PostHog's parser and Python's ``json``
read differently get sent, not stopped by a syntax error elsewhere."""
garbage = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(["{{", "{%", "}}", "%}", "{% endfor %}", "{% if", "|", "'"])).map(
        "".join
    ),
    st.builds(lambda a, b: a + b, fragment, st.sampled_from(["{{", "{% if x %}", "{% endif %}"])),
)
templates = st.one_of(
    st.builds(
        json_shaped,
        near_json_values,
        st.lists(
            st.tuples(st.sampled_from(["a", "b", "n"]), near_json_values, st.booleans()),
            max_size=3,
        ),
    ),
    st.builds(
        json_shaped,
        fragment,
        st.lists(
            st.tuples(st.sampled_from(["a", "b", "$set", "n"]), fragment, st.booleans()),
            max_size=4,
        ),
    ),
    fragment,
    garbage,
)


# --- the property ------------------------------------------------------------------------------


def verified(source: str, seed: int) -> TemplateResult:
    """``verify_template`` in a thread, so a hang fails the example instead of the whole run."""
    done: dict[str, Any] = {}

    def work() -> None:
        try:
            done["result"] = verify_template(
                source, "fuzz.liquid", HarnessConfig(profiles=3, seed=seed)
            )
        except BaseException as exc:  # re-raised below, in the test's thread
            done["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(SAFETY)
    assert not thread.is_alive(), f"verify did not end within {SAFETY} s"
    if "error" in done:
        raise done["error"]
    result = done["result"]
    assert isinstance(result, TemplateResult)
    return result


class Counter:
    examples = 0


@pytest.fixture
def counter(record_property: Any, request: pytest.FixtureRequest) -> Iterator[type[Counter]]:
    Counter.examples = 0
    yield Counter
    record_property("fuzz_examples", Counter.examples)
    print(f"{request.node.name}: {Counter.examples} examples")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(source=templates, seed=st.integers(0, 2**16))
def test_any_template_gets_a_verdict_and_never_crashes(
    counter: type[Counter], source: str, seed: int
) -> None:
    counter.examples += 1
    try:
        result = verified(source, seed)
    except InputError as exc:  # a NUL byte: not a template at all, said clearly
        assert "NUL" in str(exc)
        return
    known = catalogue()
    assert all(f.code in known for f in result.findings)
    if result.profiles == 0:  # nothing rendered (no parse, empty): a failing verdict says why
        assert any(f.severity is Severity.ERROR for f in result.findings)
    assert result.sent + result.aborted <= result.profiles
