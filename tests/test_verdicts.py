"""Verdicts that were once wrong (issue 9), each judged through `ctph verify` on a realistic
campaign and account config under tests/data/verdicts/, with the near miss that must keep its
finding beside it."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from liquid.exceptions import UndefinedError

from ctph_harness.clevertap.dialect import NEVER_BLANK_FILTERS, environment, shifted_clock
from ctph_harness.clevertap.profiles import Profile
from ctph_harness.clevertap.settings import DialectSettings
from ctph_harness.cli import main
from ctph_harness.config import HarnessConfig
from ctph_harness.delivery import delivering
from ctph_harness.findings import Finding, finding
from ctph_harness.posthog import server as server_module
from ctph_harness.posthog.server import FakePostHog
from ctph_harness.profile_outcome import ProfileOutcome

DATA = Path(__file__).parent / "data" / "verdicts"
KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"


def verify(path: Path) -> dict[str, list[dict[str, Any]]]:
    """`ctph verify --seed 7` (the run issue 9 was reproduced with): findings by template."""
    out = io.StringIO()
    main(["verify", "--format", "json", "--seed", "7", str(path)], out=out)
    report = json.loads(out.getvalue())
    return {Path(item["path"]).name: item["findings"] for item in report["templates"]}


def codes(findings: list[dict[str, Any]]) -> set[str]:
    return {f["code"] for f in findings}


def messages(findings: list[dict[str, Any]], code: str) -> list[str]:
    return [f["message"] for f in findings if f["code"] == code]


def unguarded(findings: list[dict[str, Any]]) -> set[str]:
    """The property paths CTPH005 says may render blank."""
    return {
        path for m in messages(findings, "CTPH005") for path in re.findall(r"outputs `([^`]+)`", m)
    }


# --- CTPH144: a timestamp from the clock differs per send --------------------------------------


def test_timestamp_from_now_or_today_is_not_one_constant_timestamp() -> None:
    found = verify(DATA / "clock")
    assert "CTPH144" not in codes(found["now-purchase.json.liquid"])
    assert "CTPH144" not in codes(found["today-assigned.json.liquid"])


def test_hard_coded_timestamp_is_still_constant_when_the_body_uses_now_elsewhere() -> None:
    (stamp,) = messages(verify(DATA / "clock")["fixed-stamp.json.liquid"], "CTPH144")
    assert "'2024-05-01T10:00:00Z'" in stamp


def test_a_hard_coded_timestamp_stays_constant_when_the_shifted_render_sends_nothing(
    tmp_path: Path,
) -> None:
    """A campaign with a sunset (`abort` after this year): the clock-shifted render sends
    nothing, which says nothing about the timestamp, so CTPH144 stays."""
    year = datetime.now().year
    sunset = (
        (DATA / "clock" / "fixed-stamp.json.liquid")
        .read_text("utf-8")
        .replace(
            "{% unless",
            f'{{% assign year = "now" | date: "%Y" | plus: 0 %}}{{% if year > {year} %}}{{% abort %}}'
            "{% endif %}{% unless",
            1,
        )
    )
    (tmp_path / "sunset.json.liquid").write_text(sunset, "utf-8")
    (tmp_path / "ctph.toml").write_text((DATA / "clock" / "ctph.toml").read_text("utf-8"))
    (stamp,) = messages(verify(tmp_path)["sunset.json.liquid"], "CTPH144")
    assert "'2024-05-01T10:00:00Z'" in stamp


def test_shifted_clock_moves_now_and_today_only_inside_the_block() -> None:
    template = environment().from_string('{{ "now" | date: "%Y" }} {{ "today" | date: "%Y" }}')
    before = template.render()
    with shifted_clock(timedelta(days=367)):
        later = template.render()
    year = int(before.split()[0])
    assert later == f"{year + 1} {year + 1}"
    assert template.render() == before


# --- CTPH005: properties the account guarantees ------------------------------------------------


def test_always_present_properties_need_no_default() -> None:
    found = verify(DATA / "always")["tier-sync.json.liquid"]
    # Tier (both namespaces), Profile.Plan and the required Segment are guaranteed; Event.Plan
    # (Plan is declared for profiles only) and the undeclared City may be missing.
    assert unguarded(found) == {"Event.Plan", "Profile.City"}


# --- CTPH005: filters that never render blank --------------------------------------------------


def test_outputs_ending_in_size_or_math_need_no_default() -> None:
    found = verify(DATA / "filters")["charged-summary.json.liquid"]
    # `size` and `times | round` render 0 for a missing value; `upcase` and `date` render blank.
    assert unguarded(found) == {"Profile.Name", "Event.Date"}


ARGUMENTS = {"plus": 1, "minus": 1, "times": 2, "divided_by": 2, "modulo": 2, "at_least": 1}
ARGUMENTS |= {"at_most": 1, "round": 2}
MISSING_OR_NIL: tuple[dict[str, Any], ...] = ({"Event": {}}, {}, {"Event": {"X": None}})


@pytest.mark.parametrize("missing", ["blank", "error"])
@pytest.mark.parametrize("name", sorted(NEVER_BLANK_FILTERS))
def test_never_blank_filters_render_a_value_for_missing_and_nil(name: str, missing: str) -> None:
    """The list analysis trusts is python-liquid's behaviour in this dialect: a missing key, a
    missing Event and a nil value all render a number (with `missing = "error"` a missing one
    may fail the send instead, which is CTPH003, never a blank)."""
    arg = f": {ARGUMENTS[name]}" if name in ARGUMENTS else ""
    settings = DialectSettings(missing="error" if missing == "error" else "blank")
    template = environment(settings).from_string("{{ Event.X | " + name + arg + " }}")
    for context in MISSING_OR_NIL:
        try:
            rendered = template.render(**context)
        except UndefinedError:
            assert missing == "error" and context != {"Event": {"X": None}}
            continue
        assert rendered.strip(), (name, context)


@pytest.mark.parametrize("chain", ["upcase", 'date: "%Y-%m-%d"', "first", 'append: ""'])
def test_other_filters_render_blank_for_a_missing_value(chain: str) -> None:
    """Why CTPH005 still warns for them."""
    assert environment().from_string("{{ Event.X | " + chain + " }}").render(Event={}) == ""


# --- CTPH301: what the fake PostHog did against what the contract check predicted ---------------


def test_body_dropped_at_ingestion_is_answered_200_as_predicted() -> None:
    found = verify(DATA / "delivery")["quiet-identify.json.liquid"]
    assert "CTPH153" in codes(found)
    assert "CTPH301" not in codes(found), messages(found, "CTPH301")


def test_broken_json_refused_with_400_was_predicted() -> None:
    found = verify(DATA / "delivery")["greeting.json.liquid"]
    assert "CTPH004" in codes(found)
    assert "CTPH301" not in codes(found), messages(found, "CTPH301")


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Every fake PostHog `ctph verify` starts answers with the fault the test sets."""
    fault: dict[str, Any] = {}

    class Faulty(FakePostHog):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.inject(count=100_000, **fault)

    monkeypatch.setattr(server_module, "FakePostHog", Faulty)
    yield fault


def test_refusal_the_check_did_not_predict(faulty: dict[str, Any]) -> None:
    faulty["status"] = 503
    found = verify(DATA / "delivery" / "purchase.json.liquid")["purchase.json.liquid"]
    (message,) = messages(found, "CTPH301")
    assert message.startswith(
        "the fake PostHog refused this body: 503 'transient error, please retry' (after 2 "
        "attempts), which the contract check did not predict"
    )
    assert "it predicted 200 (accepted)" in message


def test_unreachable_fake_says_what_was_predicted(faulty: dict[str, Any]) -> None:
    faulty["drop"] = True
    found = verify(DATA / "delivery" / "purchase.json.liquid")["purchase.json.liquid"]
    unreachable = messages(found, "CTPH301")
    assert unreachable  # over the socket and in process: one group each
    for message in unreachable:
        assert message.startswith("the fake PostHog could not be reached (after 2 attempts: ")
        assert message.endswith("; the contract check predicted 200 (accepted)")


def deliver(document: dict[str, Any], *findings: Finding) -> list[Finding]:
    """Deliver one body to a real fake PostHog as if the contract check had found
    ``findings``: how delivery reads a check that disagrees with the server."""
    body = json.dumps(document)
    outcome = ProfileOutcome(Profile(0, "random"), body, document, False, findings)
    with delivering(server=FakePostHog()) as make:
        send = make(HarnessConfig(project_key=KEY))
        assert send is not None
        return send([outcome])


def test_body_accepted_though_the_check_predicted_a_refusal() -> None:
    refusal = (400, "event submitted without a distinct_id")
    predicted = finding("CTPH121", "`distinct_id` is missing", rejection=refusal)
    (found,) = deliver({"api_key": KEY, "event": "x", "distinct_id": "u-1"}, predicted)
    assert (found.code, found.count) == ("CTPH301", 1)
    assert found.message == (
        'the fake PostHog accepted this body (200 \'{"status":"Ok"}\') but the contract '
        "check predicted 400 'event submitted without a distinct_id' (CTPH121)"
    )


def test_events_accepted_but_not_stored_say_what_was_predicted() -> None:
    """A body ingestion drops, as if the check had missed CTPH153."""
    quiet = {"$process_person_profile": False}
    (found,) = deliver(
        {"api_key": KEY, "event": "$identify", "distinct_id": "u-1", "properties": quiet}
    )
    assert found.code == "CTPH301"
    assert found.message == (
        "the fake PostHog stored 0 of the 1 events it accepted (ingestion warnings: "
        "invalid_event_when_process_person_profile_is_false), but the contract check "
        "predicted it would store all of them"
    )
