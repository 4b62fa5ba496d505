"""Every single-payload and cross-payload CTPH1xx rule: a payload that triggers it and a near-miss
that must not. The near-misses matter as much as the triggers: each is the closest payload PostHog
treats as fine, so a rule that fires too eagerly fails here too."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ctph_harness import Severity
from ctph_harness.posthog.checker import check, check_many, check_text, refusals, size_bound

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
UUID = "018a981f-4b35-7c66-825e-8b0eeae65714"


def ev(**changes: Any) -> dict[str, Any]:
    """A clean purchase event with some keys changed (a value of ... deletes the key)."""
    event: dict[str, Any] = {
        "api_key": KEY,
        "event": "purchase",
        "distinct_id": "ann@example.com",
        "properties": {"value": 100, "currency": "INR"},
    }
    for key, value in changes.items():
        key = key.replace("__", "$")
        if value is ...:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def props(**values: Any) -> dict[str, Any]:
    return {key.replace("__", "$"): value for key, value in values.items()}


def codes(payload: Any, **kwargs: Any) -> set[str]:
    return {f.code for f in check(payload, now=NOW, **kwargs)}


def test_clean_event_has_no_findings() -> None:
    assert check(ev(), now=NOW) == []
    assert check(json.dumps(ev()), now=NOW) == []


# (code, trigger, near-miss, check() keyword arguments)
CASES: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("CTPH101", ev(api_key=...), ev(api_key=..., properties={"token": KEY}), {}),
    ("CTPH101", {"batch": [ev(api_key=...)]}, {"api_key": KEY, "batch": [ev(api_key=...)]}, {}),
    ("CTPH102", ev(api_key="<ph_project_api_key>"), ev(), {}),
    ("CTPH102", ev(api_key="YOUR_PROJECT_API_KEY"), ev(api_key="phc_Y0urT3amK3yq9ZbW"), {}),
    ("CTPH102", ev(api_key="phc_abc {{ key }}"), ev(), {}),
    ("CTPH103", ev(api_key="phx_" + "a" * 43), ev(api_key="phc_" + "a" * 43), {}),
    ("CTPH104", ev(api_key="phc_" + "a" * 61), ev(api_key="phc_" + "a" * 60), {}),
    ("CTPH104", ev(api_key="phc_abc\0def"), ev(api_key="phc_abcdef"), {}),
    ("CTPH104", ev(api_key="phc_äbc"), ev(api_key="phc_abc"), {}),
    ("CTPH104", ev(api_key="   "), ev(api_key=f"  {KEY}  "), {}),
    ("CTPH105", ev(api_key="phc_" + "b" * 43), ev(api_key=f" {KEY}"), {"project_key": KEY}),
    ("CTPH105", [ev(), ev(api_key="phc_" + "b" * 43)], [ev(), ev(api_key=...)], {}),
    ("CTPH111", ev(event=""), ev(event="x"), {}),
    ("CTPH111", ev(event=...), ev(event=...), {"endpoint": "/engage/"}),
    ("CTPH112", ev(event="e" * 201), ev(event="e" * 200), {}),
    ("CTPH113", ev(event=5), ev(event="5"), {}),
    ("CTPH121", ev(distinct_id=""), ev(distinct_id=..., properties={"distinct_id": "a"}), {}),
    ("CTPH121", ev(distinct_id=None), ev(distinct_id=None, properties={"distinct_id": "a"}), {}),
    ("CTPH121", ev(distinct_id="  "), ev(distinct_id=" a "), {}),
    ("CTPH121", ev(distinct_id=...), ev(distinct_id=..., __distinct_id="a"), {}),
    ("CTPH122", ev(distinct_id="anonymous"), ev(distinct_id=" anonymous"), {}),
    ("CTPH122", ev(distinct_id='"undefined"'), ev(distinct_id="nan"), {}),
    ("CTPH122", ev(distinct_id="GUEST"), ev(distinct_id="NULL"), {}),
    ("CTPH123", ev(distinct_id="é" * 101), ev(distinct_id="é" * 100), {}),
    ("CTPH125", ev(distinct_id=123), ev(distinct_id="123"), {}),
    ("CTPH131", ev(properties=[]), ev(properties={}), {}),
    ("CTPH131", ev(properties=None), ev(properties=...), {}),
    ("CTPH131", ev(timestamp=1714557600), ev(timestamp="2024-05-01T10:00:00Z"), {}),
    ("CTPH131", ev(offset=1.5), ev(offset=1500), {}),
    ("CTPH131", ev(__set="plan"), ev(__set={"plan": "gold"}), {}),
    (
        "CTPH131",
        ev(properties=props(__cookieless_mode="yes")),
        ev(properties=props(__cookieless_mode=True)),
        {},
    ),
    ("CTPH131", [], [ev()], {}),
    ("CTPH131", {"api_key": KEY, "batch": []}, {"api_key": KEY, "batch": [ev()]}, {}),
    ("CTPH132", ev(**{"user distinct_id": "a"}), ev(properties={"user distinct_id": "a"}), {}),
    ("CTPH132", ev(__unset=["a"]), ev(properties=props(__unset=["a"])), {}),
    ("CTPH133", ev(token=KEY), ev(), {}),
    ("CTPH133", ev(__distinct_id="a"), ev(distinct_id=..., __distinct_id="a"), {}),
    ("CTPH141", ev(timestamp="next tuesday"), ev(timestamp="2024-05-01T10:00:00Z"), {}),
    ("CTPH142", ev(timestamp="2024-05-01T10:00:00"), ev(timestamp="2024-05-01T10:00:00+05:30"), {}),
    ("CTPH142", ev(timestamp="2024-05-01 10:00:00"), ev(timestamp="2024-05-01T10:00:00+03"), {}),
    (
        "CTPH143",
        ev(timestamp=(NOW + timedelta(hours=24)).isoformat()),
        ev(timestamp=(NOW + timedelta(hours=22)).isoformat()),
        {},
    ),
    ("CTPH151", ev(event="$identify"), ev(event="$identify", __set_once={"a": 1}), {}),
    (
        "CTPH151",
        ev(event="$identify", properties=props(__set={})),
        ev(event="$identify", properties=props(__set={"a": 1})),
        {},
    ),
    ("CTPH152", ev(properties=props(__set="x")), ev(properties=props(__set={"x": 1})), {}),
    ("CTPH152", ev(properties=props(__unset=5)), ev(properties=props(__unset=["a"])), {}),
    (
        "CTPH153",
        ev(event="$identify", __set={"a": 1}, properties=props(__process_person_profile=False)),
        ev(properties=props(__process_person_profile=False)),
        {},
    ),
    (
        "CTPH154",
        ev(event="$create_alias"),
        ev(event="$create_alias", properties={"alias": "b"}),
        {},
    ),
    (
        "CTPH154",
        ev(event="$merge_dangerously", properties={"alias": ""}),
        ev(event="$merge_dangerously", properties={"alias": "b"}),
        {},
    ),
    (
        "CTPH155",
        ev(event="$groupidentify", properties=props(__group_type="company")),
        ev(event="$groupidentify", properties=props(__group_type="company", __group_key="acme")),
        {},
    ),
    (
        "CTPH155",
        ev(event="$groupidentify", properties=props(__group_type="c", __group_key="k" * 401)),
        ev(event="$groupidentify", properties=props(__group_type="c", __group_key="k" * 400)),
        {},
    ),
    (
        "CTPH155",
        ev(event="$groupidentify", properties=props(__group_type="c", __group_key=7)),
        ev(event="$groupidentify", properties=props(__group_type="c", __group_key="7")),
        {},
    ),
    (
        "CTPH155",
        ev(
            event="$groupidentify",
            properties=props(__group_type="c", __group_key="k", __group_set=[]),
        ),
        ev(
            event="$groupidentify",
            properties=props(__group_type="c", __group_key="k", __group_set={}),
        ),
        {},
    ),
    ("CTPH161", ev(properties={"value": "100"}), ev(properties={"value": 100}), {}),
    ("CTPH161", ev(properties={"value": "-1.5e3"}), ev(properties={"zip": "02139"}), {}),
    ("CTPH161", ev(__set={"ltv": "18234.25"}), ev(__set={"phone": "919876543210"}), {}),
    (
        "CTPH161",
        ev(properties={"order": {"total": "9"}}),
        ev(properties={"order": "1714557600_2"}),
        {},
    ),
    ("CTPH162", ev(properties={"vip": "true"}), ev(properties={"vip": True}), {}),
    ("CTPH162", ev(properties=props(__set={"vip": "False"})), ev(properties={"vip": "truly"}), {}),
    (
        "CTPH171",
        ev(properties={"blob": "x" * 1_000_000}),
        ev(properties={"blob": "x" * 999_800}),
        {},
    ),
    ("CTPH173", ev(uuid="not-a-uuid"), ev(uuid=UUID), {}),
    ("CTPH173", ev(uuid=42), ev(uuid=""), {}),
    ("CTPH173", ev(uuid=UUID + "0"), ev(uuid="{" + UUID + "}"), {}),
]


@pytest.mark.parametrize(
    ("code", "trigger", "near_miss", "kwargs"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_rule_fires_on_trigger_not_on_near_miss(
    code: str, trigger: Any, near_miss: Any, kwargs: dict[str, Any]
) -> None:
    if code == "CTPH111" and kwargs.get("endpoint") == "/engage/":
        # /engage names a nameless body $identify (capture's Engage shape): no CTPH111 there,
        # but the same body elsewhere is missing its event name.
        assert "CTPH111" in codes(trigger)
        assert "CTPH111" not in codes(near_miss, **kwargs)
        return
    assert code in codes(trigger, **kwargs), check(trigger, now=NOW, **kwargs)
    assert code not in codes(near_miss, **kwargs), check(near_miss, now=NOW, **kwargs)


def test_every_single_payload_rule_is_covered() -> None:
    covered = {case[0] for case in CASES} | {"CTPH172"}
    wanted = {f"CTPH{n}" for n in (101, 102, 103, 104, 105, 111, 112, 113, 121, 122, 123, 125)}
    wanted |= {f"CTPH{n}" for n in (131, 132, 133, 141, 142, 143, 151, 152, 153, 154, 155)}
    wanted |= {"CTPH161", "CTPH162", "CTPH171", "CTPH173"}
    assert wanted <= covered


def test_request_over_20_mib_is_ctph172_and_413() -> None:
    big = json.dumps(ev(properties={"blob": "x" * (20 * 1024 * 1024)}))
    found = {f.code: f for f in check(big, now=NOW)}
    assert found["CTPH172"].rejection == (413, "maximum event size exceeded")
    near = json.dumps([ev(properties={"blob": "x" * 900_000}) for _ in range(20)])
    assert "CTPH172" not in codes(near)


def test_illegal_id_is_an_error_on_merge_events_and_a_warning_otherwise() -> None:
    merge = ev(event="$identify", distinct_id="anonymous", __set={"a": 1})
    plain = ev(distinct_id="anonymous")
    assert [f.severity for f in check(merge, now=NOW) if f.code == "CTPH122"] == [Severity.ERROR]
    assert [f.severity for f in check(plain, now=NOW) if f.code == "CTPH122"] == [Severity.WARNING]


def test_alias_and_anon_id_are_checked_for_illegal_ids() -> None:
    alias = ev(event="$create_alias", properties={"alias": "guest"})
    found = [f for f in check(alias, now=NOW) if f.code == "CTPH122"]
    assert [f.pointer for f in found] == ["/properties/alias"]
    anon = ev(event="$identify", __set={"a": 1}, properties={"$anon_distinct_id": "'none'"})
    assert [f.pointer for f in check(anon, now=NOW) if f.code == "CTPH122"] == [
        "/properties/$anon_distinct_id"
    ]


def test_rejections_carry_posthog_status_and_body() -> None:
    def rejection(payload: Any, code: str) -> tuple[int, str] | None:
        return next(f.rejection for f in check(payload, now=NOW) if f.code == code)

    assert rejection(ev(api_key=...), "CTPH101") == (401, "event submitted without an api_key")
    assert rejection(ev(api_key="phx_" + "a" * 40), "CTPH103") == (
        401,
        "API key is not valid: personal_api_key",
    )
    assert rejection(ev(api_key="a" * 65), "CTPH104") == (401, "API key is not valid: too_long")
    assert rejection(ev(event=""), "CTPH111") == (400, "event submitted with an empty event name")
    assert rejection(ev(distinct_id=""), "CTPH121") == (
        400,
        "event submitted without a distinct_id",
    )
    assert rejection([ev(), ev(api_key="phc_other")], "CTPH105") == (
        401,
        "batch submitted with inconsistent api_key values",
    )
    assert rejection([], "CTPH131") == (400, "request holds no event")
    assert rejection(ev(properties=props(__cookieless_mode=1)), "CTPH131") == (
        400,
        "event submitted with invalid cookieless mode",
    )
    assert rejection(ev(timestamp=5), "CTPH131")[0] == 400  # type: ignore[index]
    # Accepted-but-degraded findings never claim a rejection.
    assert all(f.rejection is None for f in check(ev(properties={"v": "1"}), now=NOW))


def test_pointers_locate_the_value_inside_batches_and_arrays() -> None:
    batch = {"api_key": KEY, "batch": [ev(api_key=...), ev(api_key=..., event="")]}
    assert [f.pointer for f in check(batch, now=NOW)] == ["/batch/1/event"]
    array = [ev(), ev(properties={"n": "5"})]
    assert [f.pointer for f in check(array, now=NOW)] == ["/1/properties/n"]


def test_keys_are_redacted_in_every_message() -> None:
    personal = "phx_" + "S3cr3t" * 7
    other = "phc_" + "Z" * 43
    messages = [f.message for f in check(ev(api_key=personal), now=NOW)]
    messages += [f.message for f in check(ev(api_key=other), now=NOW, project_key=KEY)]
    messages += [f.message for f in check([ev(), ev(api_key=other)], now=NOW)]
    assert messages
    for message in messages:
        assert personal not in message and other not in message and KEY not in message
        assert personal[4:] not in message


def test_raw_text_that_is_not_json_is_ctph004() -> None:
    found = check('{"event": "x", "distinct_id": "Ann "The" O"}', now=NOW)
    assert [f.code for f in found] == ["CTPH004"]
    assert "line 1 column" in found[0].message
    assert found[0].rejection is not None and found[0].rejection[0] == 400
    assert [f.code for f in check(b"\xff\xfe\x00garbage", now=NOW)] == ["CTPH004"]
    assert [f.code for f in check("[" * 100_000, now=NOW)] == ["CTPH004"]


# --------------------------------------------------------------------------- many profiles


def test_distinct_id_collapse_ctph124() -> None:
    same = [ev(distinct_id="test@gmail.com"), ev(distinct_id="test@gmail.com"), ev()]
    found = [f for f in check_many(same) if f.code == "CTPH124"]
    assert len(found) == 1 and found[0].count == 2 and "test@gmail.com" in found[0].message
    # The same user rendered twice is not a collapse; distinct ids are not either.
    assert not [f for f in check_many(same, users=["u1", "u1", "u2"]) if f.code == "CTPH124"]
    assert not check_many([ev(distinct_id="a"), ev(distinct_id="b")])


def test_constant_timestamp_ctph144() -> None:
    stamp = "2020-08-16T09:03:11.913767"
    found = [f for f in check_many([ev(timestamp=stamp, distinct_id=str(i)) for i in range(3)])]
    assert [f.code for f in found] == ["CTPH144"] and found[0].count == 3
    varied = [ev(timestamp=f"2024-05-0{i + 1}T10:00:00Z", distinct_id=str(i)) for i in range(3)]
    assert not check_many(varied)
    assert not check_many([ev(timestamp=stamp)])  # one profile proves nothing


def test_type_drift_ctph163() -> None:
    drift = [ev(distinct_id="a", properties={"v": 1}), ev(distinct_id="b", properties={"v": "x"})]
    found = check_many(drift)
    assert [(f.code, f.pointer, f.count) for f in found] == [("CTPH163", "/properties/v", 1)]
    steady = [ev(distinct_id="a", properties={"v": 1}), ev(distinct_id="b", properties={"v": 2.5})]
    assert not check_many(steady)
    missing = [
        ev(distinct_id="a", properties={"v": 1}),
        ev(distinct_id="b", properties={"v": None}),
    ]
    assert not check_many(missing)


def test_cross_findings_carry_the_smallest_affected_profile() -> None:
    payloads = [
        ev(distinct_id="x"),
        ev(distinct_id="x"),
        ev(distinct_id="y", properties={"v": "s"}),
    ]
    payloads[1]["properties"] = {"v": 1}
    profiles = [{"Email": "a-long@example.com", "Name": "Ann"}, {}, {"Email": "b@example.com"}]
    found = {f.code: f for f in check_many(payloads, examples=profiles)}
    assert found["CTPH124"].profile == {} and found["CTPH124"].count == 2
    drift = found["CTPH163"]
    assert drift.pointer == "/properties/v" and drift.count == 1


def test_mistyped_edge_profiles_do_not_count_as_drift() -> None:
    payloads = [
        ev(distinct_id="a", properties={"v": 1}),
        ev(distinct_id="b", properties={"v": "1x"}),
    ]
    assert [f.code for f in check_many(payloads)] == ["CTPH163"]
    assert check_many(payloads, typed=[True, False]) == []


def test_exponent_numbers_grow_when_re_serialised_so_size_is_measured() -> None:
    """``1e15`` (4 bytes) comes back as ``1000000000000000.0`` (18): a 500 KB body can hold
    an event over PostHog's 1 MB limit, so the body's own size proves nothing then."""

    def body(number: str) -> str:
        head = json.dumps(ev(properties={}))[:-3]  # up to the empty properties' brace
        return head + '{"numbers": [' + ", ".join([number] * 100_000) + "]}}"

    grown, plain = body("1e15"), body("1000")
    assert len(grown.encode()) < 1_000_000 and len(plain) == len(grown)
    assert "CTPH171" in {f.code for f in check(grown, now=NOW)}
    assert "CTPH171" not in {f.code for f in check(plain, now=NOW)}


@pytest.mark.parametrize(
    ("text", "bounded"),
    [
        ('{"n": 1e5}', False),
        ('{"n": [1, -2.5E3]}', False),
        ('{"uuid": "018a981f-4b35-7c66-825e-8b0eeae65714", "n": 15}', True),
        (b'{"n": 0.5}', True),
    ],
)
def test_size_bound_refuses_only_bodies_with_exponent_numbers(
    text: str | bytes, bounded: bool
) -> None:
    # ``size`` as if the body were large: below a fifth of the event limit no body can grow
    # past it, so small bodies are bounded without a look.
    assert size_bound(text, 100) == 100
    assert (size_bound(text, 300_000) == 300_000) is bounded


@pytest.mark.parametrize("payload", [case[1] for case in CASES] + [case[2] for case in CASES])
def test_refusals_are_the_checkers_refusals_without_the_key_rules(payload: Any) -> None:
    """The fake server's narrower question: the same refusals the checker reports, except the
    key rules (classify resolves the key as capture does), and nothing without a refusal."""
    key_rules = {"CTPH101", "CTPH102", "CTPH103", "CTPH104", "CTPH105"}
    wanted = {
        (f.code, f.pointer, f.rejection)
        for f in check(payload, now=NOW)
        if f.rejection is not None and f.code not in key_rules
    }
    found = refusals(payload)
    assert all(f.rejection is not None for f in found)
    assert {(f.code, f.pointer, f.rejection) for f in found} == wanted


def test_check_text_returns_the_events_it_split() -> None:
    """The tracking plan reuses the checker's split of a body instead of splitting it again."""
    batch = json.dumps({"api_key": KEY, "batch": [ev(), ev(event="Second")]})
    assert [(p, e["event"]) for p, e in check_text(batch, now=NOW).events] == [
        ("/batch/0", "purchase"),
        ("/batch/1", "Second"),
    ]
    assert check_text("{not json", now=NOW).events == ()


@pytest.mark.parametrize("key", ["00", "-0", "0", "007", " 1"])
def test_integer_looking_keys_are_named_as_written(key: str) -> None:
    """jsonschema-rs reports a key that reads as an integer as that integer ("00" -> 0): the
    finding names the key the body really has, and nothing raises (hypothesis found "00")."""
    found = check(json.dumps({key: None}).encode())
    (unknown,) = [f for f in found if f.code == "CTPH132"]
    assert unknown.pointer == "/" + key and f"`{key}`" in unknown.message
