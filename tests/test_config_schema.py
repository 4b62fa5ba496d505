"""The settings' JSON Schema (contracts/ctph-config.schema.json): what `ctph.toml` may hold is
written once, there, and both ctph and an editor read it. These tests keep the schema equal to
the code it stands for, and pin what validation with it changed (issue 11)."""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args

import jsonschema_rs
import pytest

from ctph_harness import contract
from ctph_harness.clevertap.profiles import PROPERTY_TYPES
from ctph_harness.clevertap.settings import Escaping, Missing
from ctph_harness.config import (
    MAX_PROFILES,
    MAX_RETRIES,
    MAX_TIMEOUT,
    SCHEMA_FILE,
    HarnessConfig,
    load_config,
    settings_schema,
)
from ctph_harness.errors import UsageError
from ctph_harness.tracking_plan import JSON_TYPES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the py310 tox env
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
EVERY_KEY = """
templates = ["*.liquid", "*.json.liquid"]
profiles = 300
seed = 7
strict = true
project_key = "phc_x"
endpoint = "/batch/"
missing = "error"
escaping = "json"
ignore = ["ctph005"]
require = ["Identity"]
event = "Purchase"
webhook_url = "https://us.i.posthog.com/i/v0/e/"
method = "PUT"
headers = { "X-Token" = "abc" }
timeout = 5.5
retries = 2
[properties]
tier = { type = "enum", values = ["gold", "silver"], always = true }
visits = "integer"
app_user_id = { pattern = "^u_[0-9a-f]{24}$", unique = true }
[plan]
strict = false
[plan.events.Purchase]
value = { type = "number", required = true }
currency = { enum = ["INR", "USD"] }
sku = "string"
[flags]
beta = true
checkout = { variants = { control = 50, test = 50 }, payloads = { test = { color = "red" } } }
[overrides."purchase*"]
event = "Purchase"
ignore = ["CTPH161"]
headers = { "X-Campaign" = "purchase" }
"""


def editor() -> Any:
    """The schema as an editor uses it: straight from the file, references and all."""
    return jsonschema_rs.validator_for(json.loads((ROOT / "contracts" / SCHEMA_FILE).read_text()))


def write(tmp_path: Path, toml: str) -> Path:
    path = tmp_path / "ctph.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def test_the_schema_is_draft_2020_12_and_ships_in_the_package() -> None:
    schema = contract.load(SCHEMA_FILE)  # read as the installed package reads it
    assert schema == settings_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema_rs.meta.validate(schema)
    # outside schemas/: not a PostHog contract, so not embedded in the OpenAPI document
    assert schema["$id"] not in contract.schema_resources()


def test_the_schema_declares_exactly_the_settings() -> None:
    schema = settings_schema()
    settings = {f.name for f in fields(HarnessConfig)} - {"source"}
    assert set(schema["properties"]) == settings | {"project_key_env"}
    assert schema["additionalProperties"] is False
    override = schema["$defs"]["override"]
    assert override["additionalProperties"] is False
    assert set(override["properties"]) < settings
    for key, definition in schema["$defs"].items():
        assert definition.get("description"), f"{key}: editors show the description"


def test_the_schema_agrees_with_the_code() -> None:
    defs = settings_schema()["$defs"]
    assert tuple(defs["missing"]["enum"]) == get_args(Missing)
    assert tuple(defs["escaping"]["enum"]) == get_args(Escaping)
    assert tuple(defs["property_type"]["enum"]) == PROPERTY_TYPES
    assert tuple(defs["json_type"]["enum"]) == JSON_TYPES
    assert defs["profiles"]["maximum"] == MAX_PROFILES
    assert defs["timeout"]["maximum"] == MAX_TIMEOUT
    assert defs["retries"]["maximum"] == MAX_RETRIES
    for key, definition in defs.items():
        if key in settings_schema()["properties"]:
            message = definition["x-ctph"]["message"]
            assert message.startswith(f"`{key}` must "), message


def test_a_file_with_every_key_is_valid_for_ctph_and_for_an_editor(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EVERY_KEY))
    assert (config.profiles, config.timeout, config.method) == (300, 5.5, "PUT")
    assert config.for_template("purchase.liquid").headers == {"X-Campaign": "purchase"}
    assert editor().is_valid(tomllib.loads(EVERY_KEY))


@pytest.mark.parametrize(
    "toml",
    [
        "profile = 3",
        "profiles = 0",
        'missing = "nil"',
        'endpoint = "i/v0/e/"',
        'method = "PATCH"',
        "timeout = 61",
        "retries = -1",
        '[overrides."x*"]\nprofiles = 5',
        '[properties]\nx = { type = "colour" }',
        '[plan.events.P]\nv = { type = "money" }',
        "[plan]\nfoo = 1",
        "flags = 5",
        "[flags]\nx = 5",
        "[flags]\nx = { rolout = 50 }",
        "[flags]\nx = { rollout_percentage = 101 }",
        '[flags]\nx = { properties = [{ key = "a", operator = "is_date_before" }] }',
        '[flags]\nx = { properties = [{ key = "a", type = "cohort" }] }',
        "[flags.x]\nfilters = { groups = [] }\nensure_experience_continuity = true",
        '[overrides."x*"]\nflags = { a = true }',
    ],
)
def test_what_ctph_refuses_an_editor_flags_too(tmp_path: Path, toml: str) -> None:
    with pytest.raises(UsageError):
        load_config(write(tmp_path, toml))
    assert not editor().is_valid(tomllib.loads(toml))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        # TOML keeps 5 and 5.0 apart, JSON Schema does not: the check in code keeps them apart
        ("profiles = 5.0", "`profiles` must be a whole number from 1 to 100,000"),
        ("retries = 2.0", "`retries` must be a whole number from 0 to 10"),
        # the first problem in file order is the one named
        ('seed = -1\nprofiles = "x"', "`seed` must be a non-negative integer, not -1"),
        ('profiles = "x"\nseed = -1', "`profiles` must be a whole number"),
        # an override names its glob, and an unknown key in it is called unknown
        ('[overrides."a*"]\nevent = 5', 'overrides."a*": `event` must be a non-empty string'),
        ('[overrides."a*"]\nevnt = "A"', "unknown key `evnt` (did you mean `event`?)"),
        ('[overrides."a*"]\nzzz = 1', "unknown key `zzz` (per-template keys: ignore, event"),
        ('[overrides."a*"]\nheaders = { Host = "x" }', "overrides.\"a*\": header 'Host' is set"),
        # the domain validators still word problems inside properties and plan
        ("[plan]\nfoo = 1", "unknown key `foo` (expected strict, events)"),
        ("[properties]\nx = { maximum = 3 }", "'x': unknown key(s) maximum"),
        # a TOML date is read, and named, not an internal error
        ("seed = 1979-05-27", "`seed` must be a non-negative integer, not datetime.date"),
        # deeper than jsonschema-rs converts: a usage error, like tomllib's own limit
        ("[properties]\nx = " + "[" * 300 + "]" * 300, "nested too deeply"),
    ],
)
def test_schema_problems_are_named_like_before(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        load_config(write(tmp_path, toml))
    assert message in str(caught.value)
    assert "ctph.toml" in str(caught.value)


def test_options_are_checked_by_the_same_schema() -> None:
    with pytest.raises(UsageError, match=r"^option: `ignore` must be a list of strings"):
        HarnessConfig().with_overrides(ignore=("a", 1))
    with pytest.raises(UsageError, match=r"^option: `seed` must be a non-negative integer"):
        HarnessConfig().with_overrides(seed=1.0)
    assert HarnessConfig().with_overrides(profiles=None, seed=3).seed == 3


def test_the_endpoint_pattern_refuses_exactly_what_a_url_cannot_carry() -> None:
    """The schema's ``endpoint`` pattern spells out the characters ``str.isspace`` and the
    control range cover (what httpx refuses in a URL), so it must agree with them exactly."""
    endpoint = jsonschema_rs.validator_for(
        jsonschema_rs.dereference(settings_schema())["properties"]["endpoint"]
    )
    disagree = [
        hex(code)
        for code in range(0x3100)
        if endpoint.is_valid("/a" + chr(code) + "b")
        == (chr(code).isspace() or code < 0x20 or code == 0x7F)
    ]
    assert disagree == []


FLAG_FORMS = """
[flags]
on = true
off = false
red = "red"
rollout = { rollout_percentage = 12.5, active = true }
split = { variants = { a = 50, b = 50 }, payloads = { a = [1, 2] } }
pro = { properties = [{ key = "plan", operator = "icontains", value = "pro" }], payload = 1 }
org = { group_type = "company", properties = [{ key = "size", operator = "gt", value = 10, type = "group" }] }
dated = { payload = 1979-05-27 }
[flags.posthog-json]
key = "posthog-json"
id = 9
version = 3
filters = { groups = [{ properties = [], rollout_percentage = 100, variant = "b" }], multivariate = { variants = [{ key = "a", rollout_percentage = 50 }, { key = "b", rollout_percentage = 50 }] }, payloads = { b = "{\\"x\\": 1}" } }
"""


def test_every_flag_form_parse_flags_accepts_is_valid_for_ctph_and_an_editor(
    tmp_path: Path,
) -> None:
    from ctph_harness.posthog.flags import parse_flags

    config = load_config(write(tmp_path, FLAG_FORMS))
    parsed = {flag.key: flag for flag in parse_flags(config.flags)}
    assert list(parsed) == list(tomllib.loads(FLAG_FORMS)["flags"])
    assert parsed["posthog-json"].version == 3 and parsed["org"].group_type == "company"
    assert parsed["dated"].filters["payloads"] == {"true": '"1979-05-27"'}  # JSON has no dates
    assert editor().is_valid(tomllib.loads(FLAG_FORMS) | {"flags": config.flags})
    # per template they would mean nothing: they are the fake server's, not a template's
    assert config.for_template("a.liquid").flags == config.flags


def test_verify_accepts_and_ignores_flags(tmp_path: Path) -> None:
    """``ctph verify`` renders and checks templates; a CleverTap webhook asks no flags, so the
    table changes nothing in its verdict."""
    import io
    import shutil

    from ctph_harness.cli import main

    campaigns = ROOT / "fixtures" / "campaigns"
    shutil.copy(campaigns / "corrected-purchase.json.liquid", tmp_path)
    base = (campaigns / "ctph.toml").read_text(encoding="utf-8")
    plain, flagged = io.StringIO(), io.StringIO()
    write(tmp_path, base)
    code = main(["verify", "--profiles", "5", str(tmp_path)], out=plain)
    write(tmp_path, base + FLAG_FORMS)
    assert main(["verify", "--profiles", "5", str(tmp_path)], out=flagged) == code == 0
    assert flagged.getvalue() == plain.getvalue()
