"""`ctph infer`'s rules one by one, on small synthetic records (issue 17), the TOML it writes, and
its merge into a settings file; then a round trip: profiles generated from the inferred
declarations are accepted by them and have the input's shapes."""

from __future__ import annotations

import random
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from ctph_harness.clevertap.export import Date
from ctph_harness.clevertap.infer import Inference, infer
from ctph_harness.clevertap.infer.declare import outward
from ctph_harness.clevertap.infer.shapes import is_card_number, personal_by_name, shape_of
from ctph_harness.clevertap.infer.tomlfile import MARK, merge, render
from ctph_harness.clevertap.profiles import STANDARD_FIELDS, PropertySpec, generate
from ctph_harness.config import load_config
from ctph_harness.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the py310 tox env
    import tomli as tomllib


def table_of(records: list[dict[str, Any]], name: str, k: int = 10) -> dict[str, Any] | None:
    found = {d.name: dict(d.table) for d in infer(records, k=k).declarations}
    return found.get(name)


def many(n: int, make: Any) -> list[dict[str, Any]]:
    return [make(i) for i in range(n)]


# --- types ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([3, 4.5, 7], "number"),  # int mixed with float is a number
        ([3, 40, 7], "integer"),
        ([True, False], "boolean"),
        ([Date(1_700_000_000), Date(1_600_000_000)], "date"),
        ([["a", "b"], ["c"]], "list"),
    ],
)
def test_the_type_follows_the_values(values: list[Any], kind: str) -> None:
    records = [{"p": values[i % len(values)]} for i in range(30)]
    assert table_of(records, "p")["type"] == kind  # type: ignore[index]


def test_mixed_types_are_not_declared_and_the_warning_names_types_and_counts() -> None:
    records = [{"p": i if i % 3 else f"s{i}"} for i in range(30)]
    inference = infer(records)
    assert table_of(records, "p") is None
    assert inference.warnings == ("'p': mixed types (integer 20, string 10); not declared",)


def test_always_only_when_present_and_non_null_on_every_profile() -> None:
    assert table_of(many(20, lambda i: {"p": i}), "p")["always"] is True  # type: ignore[index]
    with_null = many(20, lambda i: {"p": i if i else None})
    assert "always" not in table_of(with_null, "p")  # type: ignore[operator]
    missing_once = [*many(19, lambda i: {"p": i}), {"q": 1}]
    assert "always" not in table_of(missing_once, "p")  # type: ignore[operator]


# --- enums and the k rule ------------------------------------------------------------------------


def test_enum_values_seen_on_k_profiles_are_written() -> None:
    records = many(60, lambda i: {"tier": ("gold", "silver", "bronze")[i % 3]})
    assert table_of(records, "tier") == {
        "type": "enum",
        "values": ["bronze", "gold", "silver"],
        "always": True,
    }


def test_a_value_below_k_is_held_back_and_the_enum_is_open() -> None:
    records = many(60, lambda i: {"tier": "gold" if i % 2 else "silver"})
    records[0] = {"tier": "platinum-only-once"}
    inference = infer(records)
    (declaration,) = inference.declarations
    assert declaration.table["values"] == ["gold", "silver"]
    assert declaration.table["open"] is True
    assert inference.held_back == 1
    assert "platinum-only-once" not in render(inference)
    # a bigger k holds back more
    assert table_of(records, "tier", k=40) is not None
    assert "values" not in table_of(records, "tier", k=40)  # type: ignore[operator]


def test_too_many_distinct_values_or_more_than_half_the_count_is_no_enum() -> None:
    wide = many(500, lambda i: {"town": f"Town{'abcdefghijklmnopqrstuvwxyz'[i % 21]}"})
    assert table_of(wide, "town")["type"] == "string"  # type: ignore[index]
    sparse = many(30, lambda i: {"code": "abcdefghijklmnopqrst"[i % 20]})
    assert table_of(sparse, "code", k=1)["type"] == "string"  # type: ignore[index]


# --- ids -----------------------------------------------------------------------------------------


def test_id_patterns_come_from_shape_and_a_shared_prefix() -> None:
    records = many(200, lambda i: {"cid": f"ct_{i * 7919 % 1000000:06d}"})
    assert table_of(records, "cid") == {
        "type": "pattern",
        "pattern": "^ct_[0-9]{6}$",
        "unique": True,
        "always": True,
    }


def test_a_prefix_shared_by_fewer_than_95_percent_or_k_values_stays_a_class() -> None:
    mixed = many(100, lambda i: {"cid": f"{'ab' if i < 90 else 'xy'}_{i:04d}"})
    assert table_of(mixed, "cid")["pattern"] == "^[a-z]{2}_[0-9]{4}$"  # type: ignore[index]
    few = many(8, lambda i: {"cid": f"ct_{i:04d}"})
    assert table_of(few, "cid", k=10)["type"] == "string"  # type: ignore[index]


def test_uuid_v4_and_hex_24_are_recognised() -> None:
    rng = random.Random(3)
    records = many(
        50,
        lambda i: {
            "u": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "o": f"{rng.getrandbits(96):024x}",
        },
    )
    assert table_of(records, "u")["pattern"].startswith("^[0-9a-f]{8}-[0-9a-f]{4}-4")  # type: ignore[index]
    assert table_of(records, "o")["pattern"] == "^[0-9a-f]{24}$"  # type: ignore[index]


def test_upper_case_uuids_get_a_pattern_they_pass() -> None:
    """The uuid rule that recognises them takes either case; the pattern written must too."""
    rng = random.Random(4)
    records = many(50, lambda i: {"u": str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()})
    spec = PropertySpec.from_config("u", table_of(records, "u"))
    assert all(spec.accepts(r["u"]) for r in records)


def test_unique_only_when_no_two_profiles_share_a_value() -> None:
    shared = many(50, lambda i: {"cid": f"ct_{i % 49:04d}"})
    assert "unique" not in table_of(shared, "cid")  # type: ignore[operator]


# --- ranges and lengths --------------------------------------------------------------------------


def test_ranges_round_outward_past_the_real_extremes() -> None:
    assert outward(3, 734) == (0, 1000)
    assert outward(-12, 1000) == (-20, 2000)
    assert outward(0.5, 0.5) == (0, 1)
    records = many(30, lambda i: {"pts": 17 + i % 10 * 3, "bal": -3.25 + i})
    assert table_of(records, "pts") == {"type": "integer", "min": 0, "max": 50, "always": True}
    assert table_of(records, "bal")["min"] == -5.0  # type: ignore[index]


def test_string_and_list_lengths_are_buckets_never_the_exact_longest() -> None:
    records = many(30, lambda i: {"note": "word " * (i % 7), "tags": ["a", "b", "c"][: i % 4]})
    assert table_of(records, "note")["max_length"] == 32  # longest is 30  # type: ignore[index]
    assert table_of(records, "tags")["max_length"] == 5  # longest is 3  # type: ignore[index]


# --- personal data -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("contact", "ana{i}@mail.example", "email"),  # shape alone
        ("home_email", "ana{i}@mail.example", "email"),
        ("mobile", "+9198765{i:05d}", "phone"),
        ("first_name", "Ana{i}", "name"),
        ("Street Address", "{i} Rose Lane", "address"),
        ("fcm_token", "tok{i}", "push_token"),
        ("payment", "4111 1111 1111 1111", "card_number"),  # Luhn-valid shape alone
    ],
)
def test_personal_data_is_declared_by_kind_with_no_value(name: str, value: str, kind: str) -> None:
    records = many(40, lambda i: {name: value.format(i=i % 2)})
    inference = infer(records)
    (declaration,) = inference.declarations
    assert declaration.table["format"] == kind
    assert "values" not in declaration.table and "pattern" not in declaration.table
    assert inference.personal == 1
    assert value.format(i=0) not in render(inference)


def test_date_of_birth_by_name_on_a_date() -> None:
    records = many(20, lambda i: {"birth_date": Date(600_000_000 + i)})
    assert table_of(records, "birth_date")["format"] == "date_of_birth"  # type: ignore[index]


def test_shape_helpers() -> None:
    assert shape_of("ct_12AB") == "aa_99AA"
    assert shape_of("has space") is None and shape_of("naïve") is None
    assert is_card_number("4111-1111-1111-1111") and not is_card_number("4111111111111112")
    assert personal_by_name("ProductName") is None and personal_by_name("lastName") == "name"


def test_system_fields_match_case_insensitively_and_are_declared_only_when_always() -> None:
    records = many(20, lambda i: {"email": f"a{i}@b.example", "identity": f"u{i}", "x": i})
    records[3]["identity"] = None
    names = {d.name: dict(d.table) for d in infer(records).declarations}
    assert names["Email"] == {"always": True}
    assert "Identity" not in names and "identity" not in names and "email" not in names


# --- the TOML, and what ProfileSpec makes of it ---------------------------------------------------


def sample_records(n: int = 300, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "identity": f"u{i}",
            "tier": rng.choice(["gold", "silver", "bronze"]),
            "Customer ID": f"cu_{i:06d}",
            "points": rng.randint(0, 900),
            "balance": round(rng.uniform(-50, 5000), 2),
            "opted in": rng.random() < 0.5,
            "signup": Date(1_700_000_000 + i),
            "tags": rng.sample(["a", "b", "c", "d"], rng.randint(0, 3)),
            "note": " ".join(rng.choice(["hi", "there", "you"]) for _ in range(rng.randint(1, 6))),
            "work_email": f"p{i}@corp.example",
        }
        for i in range(n)
    ]


def test_the_toml_parses_and_every_declaration_loads(tmp_path: Path) -> None:
    text = render(infer(sample_records()))
    parsed = tomllib.loads(text)["properties"]
    for name, table in parsed.items():
        PropertySpec.from_config(name, table)
    config_file = tmp_path / "ctph.toml"
    config_file.write_text(text)
    assert set(load_config(config_file).properties) == set(parsed)


HAND_WRITTEN = """\
# the account's settings
profiles = 50  # enough

[properties]
# tier as the team defines it
tier = { values = ["gold", "silver", "bronze", "vip"] }
legacy = "string"

[overrides."purchase*"]
event = "Purchase"
"""


def test_merge_keeps_comments_order_and_hand_written_declarations() -> None:
    inference = infer(sample_records())
    merged, changes = merge(HAND_WRITTEN, inference)
    assert merged.startswith("# the account's settings\nprofiles = 50  # enough\n")
    assert "# tier as the team defines it\n" in merged
    assert 'tier = { values = ["gold", "silver", "bronze", "vip"] }' in merged  # untouched
    assert merged.index("legacy") < merged.index("points") < merged.index("[overrides.")
    data = tomllib.loads(merged)
    assert data["properties_complete"] is True
    assert data["overrides"] == {"purchase*": {"event": "Purchase"}}
    by = {c.name: c.action for c in changes}
    assert by["tier"] == "kept" and by["points"] == "added"
    # a second run updates only what it wrote itself
    again, second = merge(merged, infer(sample_records(seed=6)))
    assert {c.action for c in second} <= {"kept", "unchanged", "updated"}
    assert 'tier = { values = ["gold", "silver", "bronze", "vip"] }' in again
    assert again.count(MARK) == merged.count(MARK)


def test_merge_into_pyproject_uses_tool_ctph() -> None:
    text = '[project]\nname = "x"\n\n[tool.ctph]\nprofiles = 10\n'
    merged, _ = merge(text, infer(sample_records(40)), pyproject=True)
    data = tomllib.loads(merged)
    assert data["project"] == {"name": "x"}
    assert data["tool"]["ctph"]["properties_complete"] is True
    assert "points" in data["tool"]["ctph"]["properties"]


def test_merge_refuses_a_file_that_is_not_toml_without_quoting_it() -> None:
    with pytest.raises(UsageError) as raised:
        merge("secret-value = = =", Inference(profiles=1))
    assert "secret-value" not in str(raised.value)


# --- round trip ----------------------------------------------------------------------------------


def test_round_trip_generated_profiles_fit_the_declarations_and_the_inputs_shapes() -> None:
    records = sample_records()
    inference = infer(records)
    specs = {  # the system fields (Identity) are the dialect's own kinds, tested elsewhere
        d.name: PropertySpec.from_config(d.name, dict(d.table))
        for d in inference.declarations
        if d.name not in STANDARD_FIELDS
    }
    assert set(specs) >= {"tier", "Customer ID", "points", "balance", "signup", "work_email"}
    reads = [("Profile", name) for name in specs]
    profiles = [p for p in generate(reads, 300, 1, specs) if p.kind == "random"]
    assert len(profiles) >= 200
    seen: dict[str, set[str]] = {name: set() for name in specs}
    tiers = set()
    for profile in profiles:
        for name, value in profile.fields.items():
            assert specs[name].accepts(value), (name, value)
            seen[name].add(type(value).__name__)
            if name == "tier":
                tiers.add(value)
    assert tiers == {"gold", "silver", "bronze"}  # the enum set, closed: every value seen
    assert seen["points"] == {"int"} and seen["opted in"] == {"bool"}
    assert seen["tags"] == {"list"} and seen["signup"] == {"str"}  # $D_ dates
    pattern = specs["Customer ID"].pattern
    assert pattern is not None
    assert all(re.fullmatch(pattern, r["Customer ID"]) for r in records)  # input fits too
    assert all(specs["points"].accepts(r["points"]) for r in records)
    assert all(specs["balance"].accepts(r["balance"]) for r in records)


# --- the spec keys infer writes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"type": "integer", "format": "email"}, "format applies to type string"),
        ({"type": "date", "format": "phone"}, "only date_of_birth"),
        ({"format": "fingerprint"}, "format 'fingerprint' is not one of"),
        ({"type": "string", "open": True}, "open only applies to type enum"),
        ({"values": [True, False], "open": True}, "cannot hold booleans"),
        ({"type": "string", "min": 1}, "min applies to type number or integer"),
        ({"type": "integer", "min": 1.5}, "whole number"),
        ({"type": "number", "min": 5, "max": 1}, "min is greater than max"),
        ({"type": "number", "max": "10"}, "max must be a number"),
        ({"type": "boolean", "max_length": 3}, "max_length applies to type string or list"),
        ({"type": "list", "max_length": 101}, "1 to 100"),
        ({"type": "string", "max_length": True}, "max_length must be a whole number"),
    ],
)
def test_the_new_keys_are_validated_with_a_clear_message(
    table: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        PropertySpec.from_config("p", table)


def test_an_open_enum_generates_other_values_too() -> None:
    spec = PropertySpec.from_config("tier", {"values": ["gold", "silver"], "open": True})
    values = {
        p.fields.get("tier")
        for p in generate([("Profile", "tier")], 300, 2, {"tier": spec})
        if p.kind == "random"
    }
    assert {"gold", "silver"} < values
    assert all(spec.accepts(v) for v in values if v is not None)
    assert not PropertySpec.from_config("tier", {"values": ["gold"]}).accepts("other")


def test_the_new_keys_are_valid_for_ctph_and_for_an_editor(tmp_path: Path) -> None:
    import json

    import jsonschema_rs

    text = """properties_complete = true
[properties]
email_2 = { type = "string", format = "email" }
born = { type = "date", format = "date_of_birth" }
tier = { values = ["gold"], open = true }
points = { type = "integer", min = 0, max = 1000 }
note = { type = "string", max_length = 64 }
"""
    path = tmp_path / "ctph.toml"
    path.write_text(text)
    assert load_config(path).properties_complete is True
    root = Path(__file__).resolve().parents[1]
    schema = json.loads((root / "contracts" / "ctph-config.schema.json").read_text())
    editor = jsonschema_rs.validator_for(schema)
    assert editor.is_valid(tomllib.loads(text))
    assert not editor.is_valid({"properties": {"x": {"format": "fingerprint"}}})
    assert not editor.is_valid({"properties_complete": "yes"})


def test_the_suggestion_is_case_insensitive_first_then_close() -> None:
    from ctph_harness.clevertap.known import known_names, suggestion

    known = known_names(["tier", "Profile.loyalty_points", "Event.Amount"])
    assert {"tier", "loyalty_points", "Email", "Identity"} <= known and "Amount" not in known
    assert suggestion("email", known) == "Email"
    assert suggestion("Emial", known) == "Email"
    assert suggestion("loyalty_pts", known) == "loyalty_points"
    assert suggestion("zzzzqqq", known) is None


def test_bare_digit_ids_are_not_phones_but_plus_numbers_are() -> None:
    ids = many(40, lambda i: {"account_ref": f"98765{i:05d}", "contact": f"+44 20 7946 {i:04d}"})
    declared = {d.name: dict(d.table) for d in infer(ids).declarations}
    assert declared["account_ref"]["type"] == "pattern"
    assert declared["contact"]["format"] == "phone"


def test_a_mixed_property_keeps_exact_counts_after_it_is_known_to_be_mixed() -> None:
    """Once a property is seen with mixed types, only its type counts are kept (the speed
    path of issue 17); the warning's counts still cover every batch, before and after."""
    from ctph_harness.clevertap.infer import infer
    from ctph_harness.clevertap.infer.accumulate import BATCH

    records = [
        {"m": (i if i % 3 else f"s{i}"), "Email": None if i % 5 else "a@b.co"}
        for i in range(3 * BATCH + 7)
    ]
    ints = sum(1 for r in records if type(r["m"]) is int)
    result = infer(records)
    assert (
        f"'m': mixed types (integer {ints}, string {len(records) - ints}); not declared"
        in result.warnings
    )
    assert not any(d.name == "Email" for d in result.declarations)  # a standard field, not always


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_is_as_it_was_after_a_read(tmp_path: Path, enabled: bool) -> None:
    """infer_read switches the cyclic collector off for its pass (decoded JSON has no cycles)
    and leaves it as it found it, also when the pass fails."""
    import gc

    from ctph_harness.clevertap.export import read_raw
    from ctph_harness.clevertap.infer import infer_read

    export = tmp_path / "p.ndjson"
    export.write_text('{"identity": "u1", "profileData": {"tier": "gold"}}\n')
    (gc.enable if enabled else gc.disable)()
    try:
        assert infer_read(read_raw([export], print), print).profiles == 1
        assert gc.isenabled() is enabled

        def broken() -> Any:
            yield from read_raw([export], print)
            raise RuntimeError("cut")

        with pytest.raises(RuntimeError):
            infer_read(broken(), print)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
