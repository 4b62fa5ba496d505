"""The official posthog-python client, unmodified, against the fake PostHog over loopback.

Each SDK call must show up as PostHog would show it: the event with its name, distinct id and
properties, and the person state (``$set``/``$set_once``, alias merges, groups). Run with and
without the client's gzip option, which adds ``Content-Encoding: gzip``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ctph_harness.posthog.server import FakePostHog

posthog = pytest.importorskip("posthog")

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"


@pytest.fixture(scope="module")
def server() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


@pytest.fixture(params=[False, True], ids=["plain", "gzip"])
def client(request: pytest.FixtureRequest, server: FakePostHog) -> Iterator[Any]:
    server.reset()
    sdk = posthog.Posthog(KEY, host=server.url, sync_mode=True, gzip=request.param)
    yield sdk
    sdk.shutdown()
    server.check()
    # every request the SDK made was a capture request PostHog accepted
    assert all(entry.status == 200 for entry in server.journal())
    if request.param:
        assert all(e.headers.get("Content-Encoding") == "gzip" for e in server.journal())


def test_capture(client: Any, server: FakePostHog) -> None:
    client.capture(
        "purchase_completed", distinct_id="user-1", properties={"amount": 49.9, "currency": "EUR"}
    )
    (event,) = server.assert_event(
        "purchase_completed",
        distinct_id="user-1",
        properties={"amount": 49.9, "currency": "EUR"},
        count=1,
    )
    assert event.token == KEY
    assert event.properties["$lib"] == "posthog-python"
    assert "$sent_at" in event.properties  # the SDK's body-level sent_at is honoured
    assert server.journal()[0].path == "/batch/"
    # the SDK's own uuid is kept
    assert len(event.uuid) == 36
    assert server.person("user-1") is not None


def test_set_and_set_once(client: Any, server: FakePostHog) -> None:
    client.set(distinct_id="user-2", properties={"plan": "free", "email": "a@example.com"})
    client.set_once(
        distinct_id="user-2", properties={"first_seen": "2024-01-01", "plan": "ignored"}
    )
    client.set(distinct_id="user-2", properties={"plan": "pro"})
    client.set_once(distinct_id="user-2", properties={"first_seen": "2099-01-01"})
    server.assert_event("$set", distinct_id="user-2", count=2)
    server.assert_event("$set_once", distinct_id="user-2", count=2)
    server.assert_person(
        "user-2", {"plan": "pro", "email": "a@example.com", "first_seen": "2024-01-01"}
    )


def test_alias_merges_two_persons(client: Any, server: FakePostHog) -> None:
    client.capture("page_viewed", distinct_id="anon-3", properties={"$set": {"seen": True}})
    client.set(distinct_id="user-3", properties={"plan": "pro"})
    client.alias("anon-3", "user-3")
    # posthog-python sends the previous id as distinct_id and the new one as alias
    server.assert_event(
        "$create_alias", distinct_id="anon-3", properties={"alias": "user-3"}, count=1
    )
    person = server.assert_person("user-3", {"plan": "pro", "seen": True})
    assert set(person.distinct_ids) == {"anon-3", "user-3"}
    assert server.person("anon-3") == person
    assert len(server.persons()) == 1


def test_group_identify(client: Any, server: FakePostHog) -> None:
    client.group_identify("company", "acme", {"name": "Acme", "employees": 12})
    client.group_identify("company", "acme", {"employees": 13})
    server.assert_event(
        "$groupidentify", properties={"$group_type": "company", "$group_key": "acme"}, count=2
    )
    (group,) = server.groups()
    assert (group.type, group.key, dict(group.properties)) == (
        "company",
        "acme",
        {"name": "Acme", "employees": 13},
    )
    assert group.index == 0


def test_capture_with_groups_and_personless(client: Any, server: FakePostHog) -> None:
    client.capture("report_run", distinct_id="user-4", groups={"company": "acme"})
    client.capture(
        "anon_ping", distinct_id="visitor-9", properties={"$process_person_profile": False}
    )
    (event,) = server.assert_event("report_run", properties={"$groups": {"company": "acme"}})
    (ping,) = server.events(name="anon_ping")
    assert ping.person_id is None
    assert server.person("visitor-9") is None
    assert event.person_id is not None
    assert server.warnings() == []
