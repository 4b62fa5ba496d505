"""Declared properties (issue 9): values as varied as the declaration allows, ``unique`` ids,
field names read exactly as Liquid reads them, and every declared length explored.

The campaign tests drive ``ctph verify`` in-process on the templates and ``ctph.toml`` files under
``tests/data/declared/``; the generator tests call :func:`generate` as the engine does.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctph_harness.clevertap.profiles import (
    MAX_VALUE_CHARS,
    PROPERTY_TYPES,
    Profile,
    PropertySpec,
    generate,
)
from ctph_harness.cli import main
from ctph_harness.errors import UsageError

DECLARED = Path(__file__).resolve().parent / "data" / "declared"
UUID_V4 = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
UNIQUE_TYPES = ("string", "number", "integer", "date", "pattern")


def verify(folder: str, *argv: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """Exit code and the JSON report's templates by file name."""
    out = io.StringIO()
    code = main(["verify", "--format", "json", str(DECLARED / folder), *argv], out=out)
    report = json.loads(out.getvalue())
    return code, {Path(t["path"]).name: t for t in report["templates"]}


def codes(template: dict[str, Any]) -> set[str]:
    return {f["code"] for f in template["findings"]}


def by_kind(profiles: list[Profile]) -> dict[str, Profile]:
    return {p.kind: p for p in profiles if p.kind != "random"}


def values(profiles: list[Profile], key: str) -> list[Any]:
    return [p.fields[key] for p in profiles if key in p.fields]


def repeats(found: list[Any]) -> list[Any]:
    seen: set[tuple[str, Any]] = set()
    twice = []
    for v in found:
        key = (type(v).__name__, json.dumps(v))
        if key in seen:
            twice.append(v)
        seen.add(key)
    return twice


# --- 1. values as varied as the declaration; unique -------------------------------------------


@pytest.mark.parametrize("seed", ["0", "7"])
def test_a_uuid_id_never_collapses_two_users_into_one(seed: str) -> None:
    code, templates = verify("ids", "--seed", seed, "--profiles", "1000")
    purchase = templates["purchase.json.liquid"]
    assert "CTPH124" not in codes(purchase)
    assert (code, purchase["status"]) == (0, "pass")


def test_unique_ids_never_repeat_across_the_run() -> None:
    code, templates = verify("unique")
    for name in ("customer-purchase.json.liquid", "referral-identify.json.liquid"):
        assert "CTPH124" not in codes(templates[name]), name
        assert templates[name]["status"] == "pass", name
    assert code == 0


def test_a_unique_declaration_with_too_few_values_stops_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = io.StringIO()
    assert main(["verify", str(DECLARED / "too-few")], out=out) == 2
    message = capsys.readouterr().err
    assert "'referral_code' is unique" in message
    assert "too few values" in message


UNIQUE = {
    "customer_no": {"type": "integer", "always": True, "unique": True},
    "referral_code": {"pattern": r"^ct_[0-9]{3}$", "always": True, "unique": True},
    "handle": {"type": "string", "unique": True},
    "balance": {"type": "number", "unique": True},
    "joined": {"type": "date", "unique": True},
}
UNIQUE_READS = [("Profile", name) for name in UNIQUE]


def specs(declared: dict[str, Any]) -> dict[str, PropertySpec]:
    """``[properties]`` as ctph.toml declares them."""
    return {name: PropertySpec.from_config(name, value) for name, value in declared.items()}


def test_unique_values_differ_in_every_profile_including_the_edge_cases() -> None:
    profiles = generate(UNIQUE_READS, 900, seed=5, specs=specs(UNIQUE))
    for name, spec in specs(UNIQUE).items():
        found = values(profiles, name)
        assert len(found) > 400, name
        assert repeats(found) == [], name
        assert all(spec.accepts(v) for v in found), name
    # 900 of the 1,000 codes ct_000..ct_999: still one each
    assert len(values(profiles, "referral_code")) == 900


def test_unique_generation_keeps_the_determinism_contract() -> None:
    short = generate(UNIQUE_READS, 150, seed=8, specs=specs(UNIQUE))
    long = generate(UNIQUE_READS, 400, seed=8, specs=specs(UNIQUE))
    assert long[:150] == short
    assert generate(list(reversed(UNIQUE_READS)), 400, seed=8, specs=specs(UNIQUE)) == long


def test_declared_integers_span_counts_and_ids() -> None:
    spec = {"visits": PropertySpec("visits", "integer", always=True)}
    found = values(generate([("Profile", "visits")], 1000, seed=2, specs=spec), "visits")
    assert min(v for v in found if v >= 0) < 10 and max(found) > 10**12
    assert all(abs(v) < 2**53 or v == 2**53 + 1 for v in found)  # the "big" edge case only
    assert len(set(found)) > 0.9 * len(found)


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        ({"type": "integer", "unique": "yes"}, "unique must be true or false"),
        ({"type": "boolean", "unique": True}, "unique needs a type with a value per user"),
        ({"values": ["gold", "silver"], "unique": True}, "not enum"),
        ({"type": "list", "unique": True}, "not list"),
    ],
)
def test_unique_is_validated_with_the_key_named(mapping: dict[str, Any], problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        PropertySpec.from_config("app_user_id", mapping)
    assert "'app_user_id'" in str(caught.value) and problem in str(caught.value)


def test_unique_is_read_from_config() -> None:
    spec = PropertySpec.from_config("app_user_id", {"pattern": UUID_V4, "unique": True})
    assert (spec.type, spec.pattern, spec.unique, spec.always) == ("pattern", UUID_V4, True, False)


# --- 2. field names are read exactly as Liquid reads them -------------------------------------


def test_a_lowercase_identity_is_a_custom_property_with_every_edge() -> None:
    code, templates = verify("case")
    identify = codes(templates["identify-lowercase.json.liquid"])
    charged = codes(templates["charged-lowercase.json.liquid"])
    # free text may hold a quote or backslash that breaks the body, or repeat across users
    assert {"CTPH004", "CTPH124"} <= identify
    # `amount` is not the Charged event's Amount: it may hold text, so the bare output breaks
    assert "CTPH004" in charged
    assert code == 1


def test_standard_kinds_apply_only_to_the_exact_spelling() -> None:
    reads = [
        ("Profile", "identity"),
        ("Profile", "Identity"),
        ("Profile", "customer_type"),
        ("Event", "amount"),
        ("Event", "Amount"),
        ("Event", "Items", 0, "category"),
        ("Event", "Items", 0, "Category"),
        ("Event", "items", 0, "Category"),
    ]
    kinds = by_kind(generate(reads, 0, seed=1))
    for undeclared in (
        "identity",
        "customer_type",
        "Event.amount",
        "Event.Items[0].category",
        "Event.items[0].Category",
    ):
        assert f"edge:object:{undeclared}" in kinds, undeclared
    assert "edge:uuid:Identity" in kinds and "edge:object:Identity" not in kinds
    assert "edge:object:Event.Amount" not in kinds
    assert "edge:quote:Event.Items[0].Category" in kinds
    assert "edge:object:Event.Items[0].Category" not in kinds


# --- 3. every declared length is explored -----------------------------------------------------


def test_a_long_declared_id_is_tried_past_posthogs_200_characters() -> None:
    code, templates = verify("lengths")
    token = templates["identify-token.json.liquid"]
    assert "CTPH123" in codes(token)
    assert code == 0  # a warning: the body is still accepted


def test_random_values_spread_over_the_whole_declared_length_range() -> None:
    spec = PropertySpec("token", "pattern", pattern=r"^u_[a-z0-9]{150,250}$", always=True)
    profiles = generate([("Profile", "token")], 1000, seed=4, specs={"token": spec})
    kinds = by_kind(profiles)
    assert len(kinds["edge:shortest:token"].fields["token"]) == 152
    assert len(kinds["edge:longest:token"].fields["token"]) == 252
    lengths = [len(p.fields["token"]) for p in profiles if p.kind == "random"]
    assert min(lengths) < 160 and max(lengths) > 242
    assert 0.35 < sum(n > 202 for n in lengths) / len(lengths) < 0.65


@pytest.mark.parametrize(
    ("pattern", "edges"),
    [
        (r"^(guest_[0-9]{4}|[0-9a-f]{24})$", {r"guest_\d{4}", r"[0-9a-f]{24}"}),
        (
            r"^[A-Z]{2}(-[0-9]{2,3}|_[a-z]{4})?$",
            {"[A-Z]{2}", r"[A-Z]{2}-\d{2}", "[A-Z]{2}_[a-z]{4}"},
        ),
        (r"^[0-9]*$", {"", r"\d{512}"}),
        (r"^[a-z]{300,600}$", {"[a-z]{300}", "[a-z]{512}"}),
    ],
)
def test_edges_hold_each_branch_the_blank_and_the_longest_value(
    pattern: str, edges: set[str]
) -> None:
    spec = PropertySpec("code", "pattern", pattern=pattern)
    profiles = generate([("Profile", "code")], 300, seed=6, specs={"code": spec})
    edge_values = [
        p.fields["code"] for p in profiles if p.kind.startswith("edge:") and "code" in p.fields
    ]
    for shape in edges:
        assert any(re.fullmatch(shape, v) for v in edge_values), shape
    found = values(profiles, "code")
    assert all(spec.accepts(v) for v in found)
    assert max(map(len, found)) <= MAX_VALUE_CHARS


def test_unbounded_repeats_stay_short_in_random_profiles() -> None:
    spec = PropertySpec("ref", "pattern", pattern=r"^r-[0-9]+$", always=True)
    profiles = generate([("Profile", "ref")], 500, seed=6, specs={"ref": spec})
    random_lengths = [len(p.fields["ref"]) for p in profiles if p.kind == "random"]
    assert max(random_lengths) <= 2 + 1 + 16
    assert len(by_kind(profiles)["edge:longest:ref"].fields["ref"]) == MAX_VALUE_CHARS


# --- property test over every declaration type ------------------------------------------------


@st.composite
def patterns(draw: st.DrawFn, unique: bool) -> str:
    prefix = draw(st.sampled_from(["", "u_", "ORD-", "ct_"]))
    chars = draw(st.sampled_from(["[0-9]", "[a-z0-9]", "[A-F0-9]", r"\d", "[a-zA-Z]", r"\w"]))
    low = draw(st.integers(8 if unique else 0, 40))
    high = low + draw(st.integers(0, 300))
    tail = draw(st.sampled_from(["", "(-[0-9]{2})?", "_(eu|us|in)", r"\.[a-z]+", "|none"]))
    return f"^{prefix}{chars}{{{low},{high}}}{tail}$"


@st.composite
def declarations(draw: st.DrawFn) -> PropertySpec:
    kind = draw(st.sampled_from(PROPERTY_TYPES))
    unique = kind in UNIQUE_TYPES and draw(st.booleans())
    mapping: dict[str, Any] = {"type": kind, "always": draw(st.booleans()), "unique": unique}
    if kind == "enum":
        scalars = st.one_of(st.text(max_size=12), st.integers(), st.booleans())
        mapping["values"] = draw(
            st.lists(scalars, min_size=1, max_size=5, unique_by=lambda v: (type(v).__name__, v))
        )
    if kind == "pattern":
        mapping["pattern"] = draw(patterns(unique))
    return PropertySpec.from_config("Prop", mapping)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(declarations(), st.integers(0, 2**32))
def test_every_generated_value_satisfies_its_declaration(spec: PropertySpec, seed: int) -> None:
    profiles = generate([("Profile", "Prop")], 1000, seed=seed, specs={"Prop": spec})
    found = values(profiles, "Prop")
    bad = [v for v in found if not spec.accepts(v)]
    assert bad == []
    if spec.always:
        assert len(found) == len(profiles)
    if spec.unique:
        assert repeats(found) == []


@pytest.mark.parametrize(
    "declared",
    [
        {"pattern": UUID_V4},
        {"pattern": r"^[a-z0-9]{13}$"},  # 67 bits
        {"pattern": r"^u_[a-z0-9]{150,250}$"},
        {"type": "integer", "unique": True},
    ],
    ids=["uuid", "67-bits", "long-token", "unique-integer"],
)
@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_enough_freedom_means_no_two_profiles_share_a_value(
    declared: dict[str, Any], seed: int
) -> None:
    found = values(
        generate([("Profile", "Prop")], 1000, seed=seed, specs=specs({"Prop": declared})), "Prop"
    )
    assert len(found) > 500
    assert repeats(found) == []


def test_enum_values_keep_their_type_whatever_ran_before() -> None:
    # 0 == False == 0.0, so a plan cached for one enum once served the others
    for choices in [(0,), (False,), (0.0,), (1,), (True,)]:
        spec = PropertySpec("Prop", "enum", choices, always=True)
        found = values(generate([("Profile", "Prop")], 20, seed=1, specs={"Prop": spec}), "Prop")
        assert {type(v) for v in found} == {type(choices[0])}, choices


def test_a_small_enum_repeats_as_it_should() -> None:
    spec = PropertySpec("Prop", "enum", ("free", "pro"), always=True)
    found = values(generate([("Profile", "Prop")], 200, seed=1, specs={"Prop": spec}), "Prop")
    assert set(found) == {"free", "pro"}
