"""The in-memory project: persons, merges, groups, timestamps (research §4, §7, §8, §9)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ctph_harness.posthog.ids import is_illegal as is_distinct_id_illegal
from ctph_harness.posthog.project import (
    Project,
    uuid7,
)
from ctph_harness.posthog.timestamps import parse_timestamp

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
TOKEN = "phc_test"


def send(project: Project, event: str, distinct_id: str, **fields: Any) -> Any:
    props = fields.pop("properties", {})
    body = {"event": event, "distinct_id": distinct_id, "properties": props, **fields}
    sent_at = body.pop("sent_at", None)
    return project.ingest(body, TOKEN, NOW, sent_at, None)


def types(project: Project) -> list[str]:
    return [w.type for w in project.warnings()]


# -- merges ------------------------------------------------------------------------------------


def test_identify_merges_anonymous_person_into_the_user() -> None:
    p = Project()
    send(p, "$pageview", "anon-1", properties={"$set": {"seen": 1, "plan": "free"}})
    send(p, "$pageview", "user-1", properties={"$set": {"plan": "pro"}})
    event = send(p, "$identify", "user-1", properties={"$anon_distinct_id": "anon-1"})
    person = p.person_for("anon-1")
    assert person is not None and person == p.person_for("user-1")
    assert set(person.distinct_ids) == {"anon-1", "user-1"}
    assert person.properties == {"seen": 1, "plan": "pro"}  # target wins on conflicts
    assert person.is_identified
    assert len(p.persons()) == 1
    assert event.person_id == person.id


def test_identify_with_neither_person_creates_one_identified_person() -> None:
    p = Project()
    send(p, "$identify", "u", properties={"$anon_distinct_id": "a", "$set": {"x": 1}})
    (person,) = p.persons()
    assert set(person.distinct_ids) == {"u", "a"} and person.is_identified
    assert person.properties == {"x": 1}


def test_alias_attaches_to_the_existing_person() -> None:
    p = Project()
    send(p, "$pageview", "123")
    send(p, "$create_alias", "123", properties={"alias": "456"})
    person = p.person_for("456")
    assert person is not None and set(person.distinct_ids) == {"123", "456"}


def test_already_identified_source_is_refused_unless_merge_dangerously() -> None:
    p = Project()
    send(p, "$identify", "user-a", properties={"$anon_distinct_id": "anon-a"})
    send(p, "$identify", "user-b", properties={"$anon_distinct_id": "anon-b"})
    send(p, "$create_alias", "user-b", properties={"alias": "user-a"})
    assert types(p) == ["cannot_merge_already_identified"]
    assert p.warnings()[0].details["sourcePersonDistinctId"] == "user-a"
    assert len(p.persons()) == 2
    assert len(p.events(name="$create_alias")) == 1  # the event is still ingested

    older = p.person_for("user-a")
    newer = p.person_for("user-b")
    assert older is not None and newer is not None
    send(p, "$merge_dangerously", "user-b", properties={"alias": "user-a"})
    merged = p.person_for("user-a")
    assert merged is not None and merged.id == newer.id
    assert set(merged.distinct_ids) == {"user-a", "anon-a", "user-b", "anon-b"}
    assert merged.version == max(older.version, newer.version) + 1
    assert merged.created_at == min(older.created_at, newer.created_at)


@pytest.mark.parametrize(
    "bad",
    [
        "anonymous",
        "Anonymous",
        "GUEST",
        "null",
        '"null"',
        "'undefined'",
        "0",
        "NaN",
        "None",
        "[object Object]",
        "",
        "   ",
        '"ANONYMOUS"',
    ],
)
def test_illegal_ids_refuse_the_merge_but_keep_the_event(bad: str) -> None:
    assert is_distinct_id_illegal(bad)
    p = Project()
    send(p, "$identify", "user-1", properties={"$anon_distinct_id": bad})
    assert types(p) == ["cannot_merge_with_illegal_distinct_id"]
    assert p.warnings()[0].details["illegalDistinctId"] == bad
    assert len(p.events()) == 1
    assert bad == "" or bad.strip() == "" or p.person_for(bad) is None


@pytest.mark.parametrize("ok", [" anonymous", "nan", "NULL", "none ", "user-0", "Null"])
def test_legal_lookalikes(ok: str) -> None:
    assert not is_distinct_id_illegal(ok)


def test_illegal_target_and_ordinary_events_under_illegal_ids() -> None:
    p = Project()
    send(p, "$create_alias", "anonymous", properties={"alias": "real"})
    assert p.warnings()[0].details == {
        "illegalDistinctId": "anonymous",
        "otherDistinctId": "real",
        "eventUuid": p.events()[0].uuid,
    }
    assert p.person_for("anonymous") is not None  # ordinary person under the illegal id


def test_non_string_anon_id_drops_the_event() -> None:
    p = Project()
    assert send(p, "$identify", "u", properties={"$anon_distinct_id": 5}) is None
    assert types(p) == ["invalid_anon_distinct_id"]
    assert p.events() == []
    for value in ({"id": 1}, ["a"], True):
        send(p, "$create_alias", "u", properties={"alias": value})
    # validate-event-properties.ts names an array as such, anything else by its typeof
    assert [w.details["receivedType"] for w in p.warnings()] == [
        "number",
        "object",
        "array",
        "boolean",
    ]


# -- person properties -------------------------------------------------------------------------


def test_set_set_once_unset() -> None:
    p = Project()
    send(p, "e", "u", properties={"$set": {"a": 1}, "$set_once": {"first": "x"}})
    send(p, "e", "u", properties={"$set": {"a": 2}, "$set_once": {"first": "y", "b": 3}})
    person = p.person_for("u")
    assert person is not None and person.properties == {"a": 2, "first": "x", "b": 3}
    send(p, "e", "u", properties={"$unset": ["a", "missing"]})
    send(p, "e", "u", properties={"$unset": {"b": None}})
    person = p.person_for("u")
    assert person is not None and person.properties == {"first": "x"}
    assert person.version == 3


def test_top_level_set_wins_over_properties_set() -> None:
    p = Project()
    event = send(p, "e", "u", properties={"$set": {"a": 1, "b": 1}}, **{"$set": {"a": 9}})
    assert event.properties["$set"] == {"a": 9, "b": 1}
    person = p.person_for("u")
    assert person is not None and person.properties == {"a": 9, "b": 1}


def test_process_person_profile_false() -> None:
    p = Project()
    event = send(p, "e", "u", properties={"$process_person_profile": False, "$set": {"a": 1}})
    assert event.person_id is None and "$set" not in event.properties
    assert p.persons() == []
    assert send(p, "$identify", "u", properties={"$process_person_profile": False}) is None
    assert types(p) == ["invalid_event_when_process_person_profile_is_false"]
    kept = send(p, "e", "u", properties={"$process_person_profile": "no"})
    assert kept.person_id is not None
    assert types(p)[-1] == "invalid_process_person_profile"


def test_performance_events_are_dropped() -> None:
    p = Project()
    assert send(p, "$performance_event", "u") is None
    assert p.events() == [] and p.persons() == []


# -- groups ------------------------------------------------------------------------------------


def gid(p: Project, group_type: Any, key: Any, **group_set: Any) -> Any:
    props = {"$group_type": group_type, "$group_key": key, "$group_set": group_set}
    return send(p, "$groupidentify", "u", properties={**props, "$set": {"leak": 1}})


def test_groupidentify_and_sixth_type() -> None:
    p = Project()
    gid(p, "company", "acme", name="Acme")
    gid(p, "company", "acme", size=10)
    (group,) = p.groups()
    assert (group.type, group.key, group.index) == ("company", "acme", 0)
    assert group.properties == {"name": "Acme", "size": 10}
    person = p.person_for("u")
    assert person is not None and person.properties == {}  # $set stripped
    for n in range(2, 6):
        gid(p, f"type{n}", "k")
    assert len(p.group_types()) == 5
    event = gid(p, "type6", "k")
    assert event is not None  # the event is kept...
    assert ("type6", "k") not in {(g.type, g.key) for g in p.groups()}  # ...the group is not


def test_group_checks() -> None:
    p = Project()
    assert gid(p, "company", "x" * 401) is None
    assert gid(p, "company", 5) is None
    assert gid(p, 5, "k") is None
    assert gid(p, "company", "x" * 400) is not None
    assert types(p) == ["group_key_too_long", "invalid_group_key", "invalid_group_type"]


# -- timestamps and uuids -------------------------------------------------------------------------


def test_clock_skew_correction() -> None:
    p = Project()
    sent_at = NOW + timedelta(hours=2)  # the client clock runs two hours fast
    event = send(p, "e", "u", timestamp="2024-05-01T13:59:00Z", sent_at=sent_at)
    assert event.timestamp == NOW - timedelta(minutes=1)
    assert event.properties["$sent_at"] == "2024-05-01T14:00:00Z"


def test_ignore_sent_at_and_offset() -> None:
    p = Project()
    skewed = NOW + timedelta(hours=2)
    event = send(
        p,
        "e",
        "u",
        timestamp="2024-05-01T10:00:00Z",
        sent_at=skewed,
        properties={"$ignore_sent_at": True},
    )
    assert event.timestamp == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    event = send(p, "e", "u", timestamp="2020-01-01T00:00:00Z", offset=1500)
    assert event.timestamp == NOW - timedelta(milliseconds=1500)


def test_future_timestamps_are_clamped() -> None:
    p = Project()
    near = send(p, "e", "u", timestamp="2024-05-02T10:59:59Z")
    assert near.timestamp == datetime(2024, 5, 2, 10, 59, 59, tzinfo=timezone.utc)
    far = send(p, "e", "u", timestamp="2024-05-02T11:00:01Z")
    assert far.timestamp == NOW
    assert types(p) == ["event_timestamp_in_future"]


def test_unparseable_timestamp_falls_back_to_now() -> None:
    p = Project()
    event = send(p, "e", "u", timestamp="yesterday-ish")
    assert event.timestamp == NOW
    assert types(p) == ["ignored_invalid_timestamp"]
    assert p.warnings()[0].details["value"] == "yesterday-ish"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),  # zone-less: UTC
        ("2024-05-01T13:00:00+03", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        (
            "2024-05-01T13:00:00.5+03:00",
            datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=timezone.utc),
        ),
        ("2024-05-01 10:00:00", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=timezone.utc)),
        ("2024/05/01 10:00", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("Wed, 01 May 2024 10:00:00 +0000", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("1714557600", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("1714557600000", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("not a date", None),
        ("2024-13-01T00:00:00Z", None),
    ],
)
def test_parse_timestamp(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


def test_uuid_generation_and_validation() -> None:
    p = Project()
    event = send(p, "e", "u")
    generated = uuid.UUID(event.uuid)
    assert generated.version == 7
    assert generated.int >> 80 == int(NOW.timestamp() * 1000)
    kept = send(p, "e", "u", uuid="018A981F-4B35-7C66-825E-8B0EEAE65714")
    assert kept.uuid == "018a981f-4b35-7c66-825e-8b0eeae65714"
    assert send(p, "e", "u", uuid="not-a-uuid") is None
    assert types(p) == ["skipping_event_invalid_uuid"]
    assert uuid7(NOW) != uuid7(NOW)


def test_accessors_and_reset() -> None:
    p = Project()
    send(p, "a", "u1")
    send(p, "b", "u2")
    assert [e.event for e in p.events(distinct_id="u2")] == ["b"]
    assert [e.distinct_id for e in p.events(name="a")] == ["u1"]
    assert p.events()[0].token == TOKEN
    p.reset()
    assert (p.events(), p.persons(), p.groups(), p.warnings()) == ([], [], [], [])


def test_stored_values_are_the_projects_own() -> None:
    """Ingestion copies what it keeps: a client reusing its dicts, or a test editing what it
    got back, cannot change stored events or persons."""
    p = Project()
    prefs = {"channels": ["email"], "quiet": {"from": 22}}
    body = {"event": "e", "distinct_id": "u", "properties": {"$set": {"prefs": prefs}}}
    stored = p.ingest(body, TOKEN, NOW, None, None)
    prefs["channels"].append("sms")
    prefs["quiet"]["from"] = 0
    stored.properties["$set"]["prefs"]["channels"].append("push")
    person = p.person_for("u")
    assert person is not None
    assert person.properties == {"prefs": {"channels": ["email"], "quiet": {"from": 22}}}
    assert p.events()[0].properties["$set"]["prefs"]["quiet"] == {"from": 22}
    assert uuid.UUID(person.id).version == 4
    assert p.event_count() == 1
