"""Person properties as PostHog's ingestion sets them (issue 12).

``personInitialAndUTMProperties`` (PostHog/posthog nodejs/src/utils/db/utils.ts) lifts device,
page and campaign properties onto the person with ``$initial_*`` first-touch copies;
``FILTERED_PERSON_UPDATE_PROPERTIES`` (nodejs/src/common/persons/person-property-utils.ts) keeps
their changes from writing the person on their own; a refused merge still marks the target
identified (person-merge-service.ts ``mergeDistinctIds``). Checked on the project directly and
through the fake server with the real posthog-python client.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from ctph_harness.posthog.project import Project
from ctph_harness.posthog.server import FakePostHog

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"


def send(project: Project, event: str, distinct_id: str, **props: Any) -> Any:
    body = {"event": event, "distinct_id": distinct_id, "properties": props}
    return project.ingest(body, "phc_test", NOW, None, None)


def person(project: Project, distinct_id: str) -> Any:
    found = project.person_for(distinct_id)
    assert found is not None
    return found


def test_browser_event_gives_the_person_current_and_initial_properties() -> None:
    p = Project()
    event = send(
        p,
        "$pageview",
        "u1",
        **{
            "$browser": "Chrome",
            "$os": "Mac OS X",
            "$current_url": "https://example.com/?utm_source=news",
            "$referrer": "$direct",
            "utm_source": "news",
            "gclid": "G-1",
            "utm_medium": None,  # browsers send absent campaign params as null
            "custom": "not lifted",
        },
    )
    props = person(p, "u1").properties
    assert props == {
        "$browser": "Chrome",
        "$os": "Mac OS X",
        "$current_url": "https://example.com/?utm_source=news",
        "$referrer": "$direct",
        "utm_source": "news",
        "gclid": "G-1",
        "utm_medium": None,  # $set keeps nulls ...
        "$initial_browser": "Chrome",
        "$initial_os": "Mac OS X",
        "$initial_current_url": "https://example.com/?utm_source=news",
        "$initial_referrer": "$direct",
        "$initial_utm_source": "news",
        "$initial_gclid": "G-1",
        # ... $set_once never writes a null first touch
    }
    # the stored event stays as the client sent it (see project._lifted)
    assert "$set" not in event.properties


def test_event_set_wins_and_initial_is_first_touch() -> None:
    p = Project()
    send(p, "$pageview", "u1", **{"$browser": "Chrome", "$set": {"$browser": "Mine"}})
    assert person(p, "u1").properties["$browser"] == "Mine"
    assert person(p, "u1").properties["$initial_browser"] == "Chrome"
    send(p, "$pageview", "u1", **{"utm_source": "ads", "$set": {"plan": "pro"}})
    send(p, "$pageview", "u1", **{"utm_source": "mail", "$set": {"plan": "max"}})
    props = person(p, "u1").properties
    assert props["utm_source"] == "mail"
    assert props["$initial_utm_source"] == "ads"


@pytest.mark.parametrize("name", ["$snapshot", "$performance_event"])
def test_snapshot_and_performance_events_lift_nothing(name: str) -> None:
    p = Project()
    send(p, "$pageview", "u1", custom=1)
    send(p, name, "u1", **{"$browser": "Chrome", "utm_source": "x"})
    assert person(p, "u1").properties == {}


def test_server_events_keep_the_host_os_off_the_person() -> None:
    p = Project()
    send(
        p, "done", "u1", **{"$is_server": True, "$os": "Linux", "$os_version": "6", "$browser": "B"}
    )
    assert person(p, "u1").properties == {"$browser": "B", "$initial_browser": "B"}


def test_os_name_is_an_alias_of_os() -> None:
    p = Project()
    send(p, "e", "u1", **{"$os_name": "iOS"})
    assert person(p, "u1").properties == {"$os": "iOS", "$initial_os": "iOS"}


def test_filtered_properties_alone_do_not_update_the_person() -> None:
    p = Project()
    send(p, "$pageview", "u1", **{"$browser": "Chrome", "$current_url": "https://a/"})
    before = person(p, "u1")
    # a new page and browser: only filtered keys change, so no person write
    send(p, "$pageview", "u1", **{"$browser": "Firefox", "$current_url": "https://b/"})
    after = person(p, "u1")
    assert after.version == before.version
    assert after.properties["$browser"] == "Chrome"
    assert after.properties["$current_url"] == "https://a/"
    # a change that counts writes every change of that event
    send(p, "$pageview", "u1", **{"$browser": "Safari", "$set": {"plan": "pro"}})
    after = person(p, "u1")
    assert after.version == before.version + 1
    assert after.properties["$browser"] == "Safari"
    assert after.properties["plan"] == "pro"
    # a new filtered key is new: it writes
    send(p, "$pageview", "u1", **{"$pathname": "/x"})
    assert person(p, "u1").version == before.version + 2
    # a $set event always writes (PERSON_EVENTS)
    send(p, "$set", "u1", **{"$browser": "Edge"})
    assert person(p, "u1").properties["$browser"] == "Edge"
    assert person(p, "u1").version == before.version + 3


def test_unchanged_values_do_not_write_but_objects_always_do() -> None:
    p = Project()
    send(p, "e", "u1", **{"$set": {"plan": "pro", "tags": ["a"]}})
    version = person(p, "u1").version
    send(p, "e", "u1", **{"$set": {"plan": "pro"}})
    assert person(p, "u1").version == version
    send(p, "e", "u1", **{"$set": {"tags": ["a"]}})  # JavaScript: [] !== []
    assert person(p, "u1").version == version + 1


def test_refused_merge_still_marks_the_target_identified() -> None:
    p = Project()
    send(p, "$identify", "known", **{"$anon_distinct_id": "anon-0"})  # known: identified
    send(p, "$pageview", "other")  # other: anonymous person
    assert not person(p, "other").is_identified
    version = person(p, "other").version
    send(p, "$create_alias", "other", alias="known")
    assert [w.type for w in p.warnings()] == ["cannot_merge_already_identified"]
    target = person(p, "other")
    assert target.is_identified
    assert target.version == version + 1
    assert person(p, "known").id != target.id


# -- through the fake server, with the real client ---------------------------------------------

posthog = pytest.importorskip("posthog")


@pytest.fixture(scope="module")
def server() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


def test_posthog_python_events_lift_campaign_but_not_the_host_os(server: FakePostHog) -> None:
    server.reset()
    sdk = posthog.Posthog(KEY, host=server.url, sync_mode=True)
    try:
        sdk.capture(
            "signed_up",
            distinct_id="py-1",
            properties={"utm_campaign": "launch", "$current_url": "https://x/"},
        )
    finally:
        sdk.shutdown()
    server.check()
    (event,) = server.events("signed_up")
    assert event.properties.get("$is_server") is True
    props = server.person("py-1").properties  # type: ignore[union-attr]
    assert props["utm_campaign"] == "launch"
    assert props["$initial_utm_campaign"] == "launch"
    assert props["$initial_current_url"] == "https://x/"
    assert "$os" not in props and "$initial_os" not in props
    assert all(entry.status == 200 for entry in server.journal())
