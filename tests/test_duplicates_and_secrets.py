"""Issue 9's blind spots on the PostHog side: a field given twice in one object (two ``{% if %}``
where ``{% elsif %}`` was meant) and a personal API key anywhere in the body.

Capture parses with serde into derived structs, which refuse a repeated field; the checker and
the fake server both read bodies through ``posthog/serde.py``, and these tests hold them to one
answer over real loopback HTTP, through ``ctph verify`` and through ``ctph check``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest

from ctph_harness.cli import main
from ctph_harness.posthog.checker import check
from ctph_harness.posthog.server import FakePostHog

DATA = Path(__file__).parent / "data"
KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
PERSONAL = "phx_9fK2mQ7xLp4sT8vW1yZ3bN6cR0dH5jEq"
NO_VARIANT = "failed to parse request: data did not match any variant of untagged enum RawRequest"
NOT_ENGAGE = (
    "failed to hydrate events from request: non-engage request missing event name attribute"
)


def verify(path: Path, *more: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    code = main(["verify", str(path), "--seed", "7", "--format", "json", *more], out=out)
    return code, json.loads(out.getvalue())


def findings(report: dict[str, object]) -> list[dict[str, object]]:
    (template,) = report["templates"]  # type: ignore[misc]
    return list(template["findings"])


# --------------------------------------------------------------------------- repeated fields


def test_two_ifs_that_both_print_distinct_id_are_refused() -> None:
    code, report = verify(DATA / "duplicates" / "signup-two-ifs.json.liquid")
    repeated = [f for f in findings(report) if f["code"] == "CTPH133"]
    assert code == 1
    assert len(repeated) == 1
    (item,) = repeated
    assert item["severity"] == "error"
    assert item["pointer"] == "/distinct_id"
    assert "given twice" in str(item["message"])
    # only users with both an Identity and an Email render the key twice
    profile = item["profile"]
    assert isinstance(profile, dict) and {"Identity", "Email"} <= profile.keys()
    assert not [f for f in findings(report) if f["code"] == "CTPH301"]  # the fake agreed


def test_the_elsif_version_is_not_flagged() -> None:
    _, report = verify(DATA / "duplicates" / "signup-elsif.json.liquid")
    assert not [f for f in findings(report) if f["code"] == "CTPH133"]


def body(**fields: object) -> str:
    return json.dumps(fields)


def twice(text: str, key: str, value: object) -> str:
    """``text`` (a JSON object) with ``key`` given once more, first, as a template would."""
    return "{" + json.dumps(key) + ": " + json.dumps(value) + ", " + text[1:]


ONE = body(event="Signed Up", api_key=KEY, distinct_id="u-42", properties={"plan": "pro"})

# (name, path, body, PostHog's answer: status and text)
WIRE_CASES = [
    ("distinct_id twice", "/i/v0/e/", twice(ONE, "distinct_id", "ana@example.com"), 400, NO_VARIANT),
    ("event twice", "/i/v0/e/", twice(ONE, "event", "Other"), 400, NOT_ENGAGE),
    ("properties twice", "/i/v0/e/", twice(ONE, "properties", {}), 400, NO_VARIANT),
    ("api_key twice", "/i/v0/e/", twice(ONE, "api_key", KEY), 400, NO_VARIANT),
    ("$set twice", "/i/v0/e/", twice(twice(ONE, "$set", {"a": 1}), "$set", {}), 400, NO_VARIANT),
    ("unknown key twice", "/i/v0/e/", twice(twice(ONE, "campaign", "a"), "campaign", "b"), 200, '{"status":"Ok"}'),
    ("a property twice", "/i/v0/e/", ONE.replace('{"plan": "pro"}', '{"plan": "free", "plan": "pro"}'), 200, '{"status":"Ok"}'),
    ("batch item", "/batch/", json.dumps({"api_key": KEY, "batch": [json.loads(ONE)]}).replace('"distinct_id": "u-42"', '"distinct_id": "u-1", "distinct_id": "u-42"'), 400, NOT_ENGAGE),
    ("batch key twice", "/batch/", '{"batch": [], ' + json.dumps({"api_key": KEY, "batch": [json.loads(ONE)]})[1:], 400, NOT_ENGAGE),
    ("array item", "/e/", "[" + twice(ONE, "distinct_id", "x") + "]", 400, NO_VARIANT),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "text", "status", "answer"),
    [c[1:] for c in WIRE_CASES],
    ids=[c[0] for c in WIRE_CASES],
)
def test_the_fake_answers_a_repeated_field_as_capture_and_the_checker_predicts_it(
    fake: FakePostHog, path: str, text: str, status: int, answer: str
) -> None:
    reply = httpx.post(fake.url + path, content=text.encode())
    assert (reply.status_code, reply.text) == (status, answer)
    refused = {f.rejection for f in check(text, endpoint=path) if f.rejection}
    if status == 200:
        assert refused == set()
        assert fake.event_count() == 1
    else:
        assert refused == {(status, answer)}
        assert fake.event_count() == 0


def test_a_repeated_property_keeps_the_last_value_as_serde_maps_do(fake: FakePostHog) -> None:
    text = ONE.replace('{"plan": "pro"}', '{"plan": "free", "plan": "pro"}')
    assert httpx.post(fake.url + "/i/v0/e/", content=text.encode()).status_code == 200
    (event,) = fake.events("Signed Up")
    assert event.properties["plan"] == "pro"


def test_a_nameless_engage_body_with_event_twice_becomes_identify(fake: FakePostHog) -> None:
    text = twice(ONE, "event", "Other")
    assert httpx.post(fake.url + "/engage/", content=text.encode()).status_code == 200
    (event,) = fake.events()
    assert event.event == "$identify"
    (item,) = [f for f in check(text, endpoint="/engage/") if f.code == "CTPH133"]
    assert item.rejection is None and "$identify" in item.message


# --------------------------------------------------------------------------- check == serve


BODIES = [
    ("NaN", ONE.replace('"pro"', "NaN")),
    ("Infinity", ONE.replace('"pro"', "-Infinity")),
    ("out of f64 range", ONE.replace('"pro"', "1e400")),
    ("BOM", "\ufeff" + ONE),
    ("lone surrogate", ONE.replace('"pro"', '"\\ud800"')),
    ("clean", ONE),
]


@pytest.mark.parametrize("text", [b for _, b in BODIES], ids=[n for n, _ in BODIES])
def test_ctph_check_and_the_fake_never_disagree(
    fake: FakePostHog, tmp_path: Path, text: str
) -> None:
    reply = httpx.post(fake.url + "/i/v0/e/", content=text.encode())
    payload = tmp_path / "payload.json"
    payload.write_bytes(text.encode())
    out = io.StringIO()
    code = main(["check", "--format", "json", str(payload)], out=out)
    (item,) = json.loads(out.getvalue())["payloads"]
    refused = {f.rejection for f in check(text) if f.rejection}
    if reply.status_code == 200:
        assert (code, item["findings"], refused) == (0, [], set())
    else:
        assert code == 1 and [f["code"] for f in item["findings"]] == ["CTPH004"]
        assert refused == {(reply.status_code, reply.text)}


# --------------------------------------------------------------------------- personal keys


TICKET = DATA / "secrets" / "ticket-with-personal-key.json.liquid"


def test_a_personal_key_in_a_property_is_a_leaked_secret() -> None:
    code, report = verify(TICKET)
    (item,) = [f for f in findings(report) if f["code"] == "CTPH103"]
    assert code == 1
    assert item["severity"] == "error"
    assert item["pointer"] == "/properties/token"
    assert "stores it with the event" in str(item["message"])
    # PostHog accepts the request (the key is not the project key), so nothing else is wrong
    assert [f["code"] for f in findings(report) if f["severity"] == "error"] == ["CTPH103"]


def test_a_personal_key_in_a_property_name_or_a_nested_value_is_found() -> None:
    event = json.loads(ONE)
    event["properties"] = {"debug": {"headers": [f"Bearer {PERSONAL}"]}, PERSONAL: 1}
    found = [f for f in check(json.dumps(event)) if f.code == "CTPH103"]
    assert sorted(f.pointer for f in found) == [
        "/properties/debug/headers/0",
        f"/properties/phx_…{PERSONAL[-4:]}",  # a key in a name is masked in the pointer too
    ]
    assert all(PERSONAL not in f.message + f.pointer for f in found)


def test_the_key_position_is_reported_once_with_capture_s_401() -> None:
    event = json.loads(ONE)
    event["api_key"] = PERSONAL
    (item,) = [f for f in check(json.dumps(event)) if f.code == "CTPH103"]
    assert item.pointer == "/api_key"
    assert item.rejection == (401, "API key is not valid: personal_api_key")


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown", "html"])
def test_no_report_format_shows_the_personal_key(fmt: str) -> None:
    out = io.StringIO()
    main(["verify", str(TICKET), "--seed", "7", "--format", fmt], out=out)
    assert "phx_" in out.getvalue()  # shown masked
    assert PERSONAL not in out.getvalue()


def test_ctph_render_masks_the_personal_key(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["render", str(TICKET), "--profile", str(DATA / "secrets" / "user.json")])
    shown = capsys.readouterr()
    assert code == 1
    assert f'"token": "phx_…{PERSONAL[-4:]}"' in shown.out
    assert "CTPH103" in shown.err
    assert PERSONAL not in shown.out + shown.err


def test_a_performance_event_is_judged_only_as_serde_reads_it(fake: FakePostHog) -> None:
    """Capture drops ``$performance_event`` right after parsing: a missing distinct_id on one is
    no refusal (found by the verdicts suite: the checker predicted 400, the fake answered 200)."""
    first = {"event": "$performance_event", "properties": {}}
    text = json.dumps({"api_key": KEY, "batch": [first, json.loads(ONE)]})
    assert httpx.post(fake.url + "/batch/", content=text.encode()).status_code == 200
    assert [f.code for f in check(text, endpoint="/batch/")] == []
    broken = text.replace('"properties": {}', '"properties": []', 1)  # serde still reads it
    reply = httpx.post(fake.url + "/batch/", content=broken.encode())
    predicted = {f.rejection for f in check(broken, endpoint="/batch/")}
    assert predicted == {(reply.status_code, reply.text)} == {(400, NO_VARIANT)}
