"""Remote config and feature flags (issue 12): the fake answers ``/array/<token>/config``,
``config.js``, ``/flags`` (v1 and v2) and ``/decide`` as PostHog Cloud does for a default
project, and evaluates flags a test sets the way PostHog's flags service does. The real
posthog-python client asks for them (remote evaluation: no personal API key), and posthog-js
in headless Chromium gets them with its default settings.
"""

from __future__ import annotations

import json
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import run_posthog_js

from ctph_harness.posthog.flags import Context, flag_hash, parse_flags
from ctph_harness.posthog.flags import evaluate as evaluate_flag
from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"

FLAGS: dict[str, Any] = {
    "beta": True,
    "retired": False,
    "checkout": {
        "variants": {"control": 50, "test": 50},
        "payloads": {"control": {"color": "blue"}, "test": {"color": "red"}},
    },
    "pro-only": {
        "properties": [{"key": "plan", "operator": "exact", "value": ["pro", "team"]}],
        "payload": 42,
    },
    "half": {"rollout_percentage": 50},
}


@pytest.fixture
def fake(server: FakePostHog) -> Iterator[FakePostHog]:
    server.reset()
    server.set_flags(FLAGS)
    yield server
    server.check()
    assert {e.status for e in server.journal()} <= {200}
    server.reset()


def _expected_variant(key: str, distinct_id: str) -> str:
    """posthog-python's ``get_matching_variant`` for a 50/50 control/test split."""
    return "control" if flag_hash(key, distinct_id, "variant") < 0.5 else "test"


def _in_rollout(key: str, distinct_id: str, percentage: float) -> bool:
    return flag_hash(key, distinct_id) <= percentage / 100


# -- the hash, checked against posthog-python's own ---------------------------------------


def test_hash_and_variant_match_posthog_pythons_local_evaluation() -> None:
    feature_flags = pytest.importorskip("posthog.feature_flags")
    (flag,) = parse_flags({"checkout": FLAGS["checkout"]})
    definition = {"key": "checkout", "filters": dict(flag.filters)}
    for n in range(200):
        distinct_id = f"user-{n}"
        assert flag_hash("checkout", distinct_id) == feature_flags._hash("checkout", distinct_id)
        ours = evaluate_flag(flag, Context(distinct_id)).variant
        assert ours == feature_flags.get_matching_variant(definition, distinct_id)


def test_property_operators_and_missing_properties() -> None:
    flags = parse_flags(
        {
            "gt": {"properties": [{"key": "age", "operator": "gt", "value": 30}]},
            "icontains": {
                "properties": [{"key": "email", "operator": "icontains", "value": "@ACME."}]
            },
            "regex": {"properties": [{"key": "email", "operator": "regex", "value": r"^a\w+@"}]},
            "unset": {"properties": [{"key": "nope", "operator": "is_not_set"}]},
            "is-not": {"properties": [{"key": "plan", "operator": "is_not", "value": "free"}]},
        }
    )
    context = Context("u", {"age": "41", "email": "ann@acme.io"})
    assert {f.key: evaluate_flag(f, context).enabled for f in flags} == {
        "gt": True,
        "icontains": True,
        "regex": True,
        "unset": True,
        # the server knows every property it will get: a missing one fails "is_not"
        "is-not": False,
    }


def test_definitions_the_fake_cannot_evaluate_are_refused() -> None:
    with pytest.raises(ValueError, match="cohort"):
        parse_flags({"c": {"properties": [{"key": "id", "type": "cohort", "value": 3}]}})
    with pytest.raises(ValueError, match="add up to 90"):
        parse_flags({"v": {"variants": {"a": 40, "b": 50}}})
    with pytest.raises(ValueError, match="is_date_before"):
        parse_flags({"d": {"properties": [{"key": "x", "operator": "is_date_before"}]}})


# -- raw HTTP -------------------------------------------------------------------------------


def test_remote_config_routes_answer_a_default_projects_config(fake: FakePostHog) -> None:
    client = fake.client()
    answer = client.get(f"/array/{KEY}/config")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "public, max-age=300"
    config = answer.json()
    assert config["supportedCompression"] == ["gzip", "gzip-js"]
    assert config["analytics"] == {"endpoint": "/i/v0/e/"}
    assert config["hasFeatureFlags"] is True
    assert config["sessionRecording"] is False and config["surveys"] is False
    assert answer.text == json.dumps(config, sort_keys=True, separators=(",", ":"))
    script = client.get(f"/array/{KEY}/config.js")
    assert script.headers["content-type"] == "application/javascript"
    assert script.text.startswith("(function() {\n  window._POSTHOG_REMOTE_CONFIG = ")
    assert f"window._POSTHOG_REMOTE_CONFIG['{KEY}'] = {{\n    config: {{" in script.text
    assert "siteApps" not in script.text.split("siteApps: []")[0]
    assert client.get("/array/bad.token/config").text == "Invalid token"
    fake.reset()  # no flags: hasFeatureFlags false, so posthog-js skips its first /flags
    assert client.get(f"/array/{KEY}/config").json()["hasFeatureFlags"] is False
    fake.set_flags(FLAGS)


def test_flags_answers_each_version_in_its_shape(fake: FakePostHog) -> None:
    client = fake.client()
    body = {"token": KEY, "distinct_id": "user-7", "person_properties": {"plan": "pro"}}
    variant = _expected_variant("checkout", "user-7")

    v2 = client.post("/flags/?v=2", json=body).json()
    assert set(v2) == {"errorsWhileComputingFlags", "flags", "requestId", "evaluatedAt"}
    assert set(v2["flags"]) == {"beta", "checkout", "pro-only", "half"}  # inactive: left out
    checkout = v2["flags"]["checkout"]
    assert checkout["enabled"] is True and checkout["variant"] == variant
    assert checkout["reason"] == {
        "code": "condition_match",
        "condition_index": 0,
        "description": "Matched condition set 1",
    }
    color = "red" if variant == "test" else "blue"
    assert json.loads(checkout["metadata"]["payload"]) == {"color": color}

    v1 = client.post("/flags/?v=1", json=body).json()
    assert v1["featureFlags"]["checkout"] == variant and v1["featureFlags"]["beta"] is True
    assert json.loads(v1["featureFlagPayloads"]["pro-only"]) == 42
    assert "supportedCompression" not in v1

    default = client.post("/flags", json=body).json()  # no v, no config: v2 with config
    assert "flags" in default and default["supportedCompression"] == ["gzip", "gzip-js"]

    decide = client.post("/decide/", json=body).json()  # legacy decide v1: active keys
    assert sorted(decide["featureFlags"]) == sorted(
        k for k, f in v2["flags"].items() if f["enabled"]
    )
    decide2 = client.post("/decide/?v=2", json=body).json()
    assert decide2["featureFlags"]["checkout"] == variant

    get = client.get("/flags/?v=2").json()
    assert get["flags"] == {} and get["sessionRecording"] is False


def test_flags_bodies_in_every_encoding_posthog_js_uses(fake: FakePostHog) -> None:
    import base64
    import gzip

    client = fake.client()
    raw = json.dumps({"token": KEY, "distinct_id": "user-7"}).encode()
    form = "data=" + urllib.parse.quote(base64.b64encode(raw).decode())
    answers = [
        client.post("/flags/?v=2", content=gzip.compress(raw)),
        client.post(
            "/flags/?v=2&compression=base64",
            content=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        client.post("/flags/?v=2", content=raw, headers={"Content-Type": "text/plain"}),
    ]
    assert [a.json()["flags"]["beta"]["enabled"] for a in answers] == [True, True, True]


def test_flags_refusals_carry_the_services_texts(server: FakePostHog) -> None:
    server.reset()
    client = server.client()
    missing = client.post("/flags/?v=2", json={"token": KEY})
    assert missing.status_code == 400
    assert missing.text.startswith("The distinct_id field is missing")
    no_token = client.post("/flags/?v=2", json={"distinct_id": "x"})
    assert no_token.status_code == 401 and no_token.json()["code"] == "not_authenticated"
    garbage = client.post("/flags/?v=2", content=b"{nope")
    assert garbage.status_code == 400 and "invalid JSON" in garbage.text
    server.reset()


def test_stored_person_properties_feed_evaluation(fake: FakePostHog) -> None:
    client = fake.client()
    batch = {
        "api_key": KEY,
        "batch": [{"event": "$identify", "distinct_id": "ann", "$set": {"plan": "team"}}],
    }
    assert client.post("/batch/", json=batch).status_code == 200
    flags = client.post("/flags/?v=2", json={"token": KEY, "distinct_id": "ann"}).json()
    assert flags["flags"]["pro-only"]["enabled"] is True
    # what the request sends wins over what is stored
    sent = {"token": KEY, "distinct_id": "ann", "person_properties": {"plan": "free"}}
    flags = client.post("/flags/?v=2", json=sent).json()
    assert flags["flags"]["pro-only"]["reason"]["code"] == "no_condition_match"


def test_group_flags_bucket_by_the_group_key(fake: FakePostHog) -> None:
    fake.set_flags({"org-beta": {"group_type": "company", "rollout_percentage": 100}})
    client = fake.client()
    alone = client.post("/flags/?v=2", json={"token": KEY, "distinct_id": "u"}).json()
    assert alone["flags"]["org-beta"]["reason"]["code"] == "no_group_type"
    grouped = {"token": KEY, "distinct_id": "u", "groups": {"company": "acme"}}
    assert client.post("/flags/?v=2", json=grouped).json()["flags"]["org-beta"]["enabled"]


def test_inspection_api_sets_and_reads_flags(fake: FakePostHog) -> None:
    client = fake.client()
    listed = client.get("/_ctph/flags").json()
    assert [f["key"] for f in listed] == list(FLAGS)
    assert client.post("/_ctph/flags", json={"only": "blue"}).status_code == 200
    answer = client.post("/flags/?v=1", json={"token": KEY, "distinct_id": "z"}).json()
    assert answer["featureFlags"] == {"only": "blue"}
    refused = client.post("/_ctph/flags", json={"bad": {"rollout_percentage": 120}})
    assert refused.status_code == 400 and "rollout_percentage" in refused.text
    assert [f["key"] for f in client.get("/_ctph/flags").json()] == ["only"]
    assert client.post("/_ctph/reset").status_code == 200
    assert client.get("/_ctph/flags").json() == []  # reset: the start state, no flags
    fake.set_flags(FLAGS)


# -- posthog-python, remote evaluation -------------------------------------------------------


def test_posthog_python_feature_flag_calls(fake: FakePostHog) -> None:
    posthog = pytest.importorskip("posthog")
    sdk = posthog.Posthog(KEY, host=fake.url, sync_mode=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 7.x steers to evaluate_flags
            people = {"plan": "pro"}
            assert sdk.feature_enabled("beta", "user-1") is True
            # an inactive flag is left out of PostHog's answer: the SDK says None
            assert sdk.feature_enabled("retired", "user-1") is None
            variant = _expected_variant("checkout", "user-1")
            assert sdk.get_feature_flag("checkout", "user-1") == variant
            color = "red" if variant == "test" else "blue"
            assert sdk.get_feature_flag_payload("checkout", "user-1") == {"color": color}
            assert sdk.get_feature_flag("pro-only", "user-1") is False
            assert sdk.get_feature_flag("pro-only", "user-1", person_properties=people) is True
            payload = sdk.get_feature_flag_payload("pro-only", "user-1", person_properties=people)
            assert payload == 42
            everything = sdk.get_all_flags("user-1", person_properties=people)
    finally:
        sdk.shutdown()
    assert everything == {
        "beta": True,
        "checkout": variant,
        "pro-only": True,
        "half": _in_rollout("half", "user-1", 50),
    }
    flag_calls = [e for e in fake.journal() if e.kind == "flags"]
    assert flag_calls and {e.path for e in flag_calls} == {"/flags/"}
    # feature_enabled/get_feature_flag report $feature_flag_called, as against PostHog
    called = fake.events("$feature_flag_called", distinct_id="user-1")
    assert {e.properties["$feature_flag"] for e in called} >= {"beta", "checkout"}


# -- posthog-js in Chromium, with its defaults ------------------------------------------------

PAGE = """<!doctype html><html><body><script src="array.full.js"></script><script>
const q = new URLSearchParams(location.search);
posthog.init(q.get('key'), {
  api_host: q.get('host'), autocapture: false, capture_pageview: false,
  capture_pageleave: false, request_batching: false, opt_out_useragent_filter: true,
  loaded: (ph) => {
    ph.identify('user-1', {plan: 'pro'});
    ph.onFeatureFlags(() => {
      if (window.done) return;
      window.done = true;
      ph.capture('seen', {checkout: ph.getFeatureFlag('checkout'),
                          payload: ph.getFeatureFlagPayload('checkout'),
                          pro: ph.isFeatureEnabled('pro-only')});
    });
  },
});
</script></body></html>"""


@pytest.mark.browser
def test_posthog_js_defaults_get_the_flags_set_on_the_fake(
    fake: FakePostHog, sdk_node_modules: Path, tmp_path: Path
) -> None:
    def seen_landed() -> bool:
        return bool(fake.events("seen"))

    run_posthog_js(
        PAGE, {"key": KEY, "host": fake.url}, tmp_path, sdk_node_modules, fake, seen_landed
    )
    variant = _expected_variant("checkout", "user-1")
    color = "red" if variant == "test" else "blue"
    (seen,) = fake.events("seen")
    assert seen.properties["checkout"] == variant
    assert seen.properties["payload"] == {"color": color}
    assert seen.properties["pro"] is True  # the identify's $set reached the evaluation
    assert seen.properties["$feature/checkout"] == variant
    assert seen.properties["$feature/beta"] is True
    # sent after remote config loaded: production's path (the identify before it took /e/)
    carried = [e for e in fake.journal() if e.kind == "capture" and '"seen"' in json.dumps(e.body)]
    assert [e.path for e in carried] == ["/i/v0/e/"]


def test_transport_reaches_the_same_routes(fake: FakePostHog) -> None:
    with httpx.Client(transport=fake.transport(), base_url="http://posthog") as client:
        answer = client.post("/flags/?v=2", json={"token": KEY, "distinct_id": "q"})
    assert answer.json()["flags"]["beta"]["enabled"] is True
