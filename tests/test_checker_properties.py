"""Properties of the checker over generated input.

1. It never raises, whatever JSON (or bytes) it is given.
2. It never reports an error on a payload built to be valid. The generator builds events from the
   shapes PostHog accepts, and every generated payload is first confirmed valid against the
   contract schema itself (``advice.json`` dereferenced: ``event.json`` plus the degradation
   lints), so the property is "schema-valid implies no error-level finding" rather than "my
   generator agrees with my checker".
"""

from __future__ import annotations

import json
import string
from typing import Any

import jsonschema_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctph_harness import Severity
from ctph_harness.contract import schema_resources
from ctph_harness.posthog.checker import check

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
any_json = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
# Keys PostHog knows are mixed in so that the generator reaches the interesting branches.
known = st.sampled_from(
    [
        "event",
        "distinct_id",
        "$distinct_id",
        "api_key",
        "token",
        "$token",
        "properties",
        "uuid",
        "timestamp",
        "offset",
        "$set",
        "$set_once",
        "batch",
        "alias",
        "$group_key",
        "$anon_distinct_id",
    ]
)
event_like = st.dictionaries(known | st.text(max_size=6), any_json, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        any_json,
        event_like,
        st.lists(event_like, max_size=3),
        st.builds(
            lambda events, key: {"api_key": key, "batch": events},
            st.lists(event_like, max_size=3),
            any_json,
        ),
    )
)
def test_never_raises_on_arbitrary_json(payload: Any) -> None:
    for item in check(payload):
        assert item.code.startswith("CTPH") and item.message
    check(json.dumps(payload))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_never_raises_on_arbitrary_text(raw: bytes | str) -> None:
    check(raw)


# --------------------------------------------------------------------------- valid by construction

KEY = "phc_" + "Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"[:43]
ILLEGAL = {
    "anonymous",
    "guest",
    "distinctid",
    "distinct_id",
    "id",
    "not_authenticated",
    "email",
    "undefined",
    "true",
    "false",
    "[object object]",
    "nan",
    "none",
    "null",
    "0",
}
ident = st.text(string.ascii_letters + string.digits + "@._-", min_size=1, max_size=40).filter(
    lambda s: s.lower() not in ILLEGAL and s.strip("'\"").lower() not in ILLEGAL
)
name = st.text(string.ascii_letters + "_ ", min_size=1, max_size=30).filter(
    lambda s: not s.startswith("$") and s.lower() not in ("true", "false")
)
plain_value = (
    st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.booleans()
    | st.none()
    | st.text(string.ascii_letters + " ,.!?'\"\\\n", max_size=30).filter(
        lambda s: s.strip().lower() not in ("true", "false")
    )
)
values = st.dictionaries(
    st.text(string.ascii_lowercase + "_", min_size=1, max_size=12), plain_value, max_size=5
)
timestamp = st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)).map(
    lambda d: d.isoformat()
)


@st.composite
def valid_event(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["plain", "$identify", "$create_alias", "$groupidentify"]))
    event: dict[str, Any] = {"api_key": KEY, "distinct_id": draw(ident)}
    properties = draw(values)
    if kind == "plain":
        event["event"] = draw(name)
    elif kind == "$identify":
        event["event"] = "$identify"
        event["$set"] = draw(values.filter(bool))
    elif kind == "$create_alias":
        event["event"] = "$create_alias"
        properties["alias"] = draw(ident)
    else:
        event["event"] = "$groupidentify"
        properties.update(
            {"$group_type": "company", "$group_key": draw(ident), "$group_set": draw(values)}
        )
    event["properties"] = properties
    if draw(st.booleans()):
        event["timestamp"] = draw(timestamp.filter(lambda t: t < "2026"))
    if draw(st.booleans()):
        event["uuid"] = str(draw(st.uuids()))
    return event


_ADVICE = "https://ctph.invalid/contracts/schemas/advice.json"
_registry = jsonschema_rs.Registry(list(schema_resources().items()))
_schema = jsonschema_rs.validator_for(
    schema_resources()[_ADVICE], registry=_registry, base_uri=_ADVICE
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(valid_event(), st.lists(valid_event(), min_size=1, max_size=3)))
def test_schema_valid_payloads_get_no_error(payload: Any) -> None:
    events = payload if isinstance(payload, list) else [payload]
    for event in events:
        assert _schema.is_valid(event), list(_schema.iter_errors(event))
    errors = [f for f in check(payload) if f.severity is Severity.ERROR]
    assert errors == []
    assert [f for f in check(json.dumps(payload)) if f.severity is Severity.ERROR] == []
