"""``order=desc`` and ``total`` on the inspection API's lists, and ``GET /_ctph/counts``: what
the inspector page reads for its first paint (the newest page, never the whole list) and its
header's counters. Real HTTP to the fake."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"


def send(fake: FakePostHog, names: list[str]) -> None:
    batch = [{"event": n, "distinct_id": "u1"} for n in names]
    body = json.dumps({"api_key": KEY, "batch": batch}).encode()
    assert fake.client().post("/batch/", content=body).status_code == 200


def get(fake: FakePostHog, path: str, **params: Any) -> Any:
    answer = fake.client().get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_events_newest_first_page_by_page_while_more_arrive(fake: FakePostHog) -> None:
    send(fake, [f"e{n}" for n in range(7)])
    first = get(fake, "/_ctph/events", limit=3, order="desc")
    assert [e["event"] for e in first["results"]] == ["e6", "e5", "e4"]
    assert (first["has_more"], first["total"]) == (True, 7)
    send(fake, ["late"])  # arrivals do not shift the older pages
    second = get(fake, "/_ctph/events", limit=3, order="desc", cursor=first["cursor"])
    assert [e["event"] for e in second["results"]] == ["e3", "e2", "e1"]
    third = get(fake, "/_ctph/events", limit=3, order="desc", cursor=second["cursor"])
    assert ([e["event"] for e in third["results"]], third["has_more"]) == (["e0"], False)
    assert second["total"] == 8
    # unpaged: the whole list reversed; ascending pages gain total too
    assert get(fake, "/_ctph/events", order="desc")[0]["event"] == "late"
    assert get(fake, "/_ctph/events", limit=2)["total"] == 8
    # filters combine with it
    only = get(fake, "/_ctph/events", limit=5, order="desc", event="e2")
    assert ([e["event"] for e in only["results"]], only["total"]) == (["e2"], 1)


def test_a_desc_cursor_is_refused_after_a_reset_or_by_the_other_order(fake: FakePostHog) -> None:
    send(fake, ["a", "b", "c"])
    cursor = get(fake, "/_ctph/events", limit=1, order="desc")["cursor"]
    other = fake.client().get("/_ctph/events", params={"limit": 1, "cursor": cursor})
    assert other.status_code == 400 and "cursor" in other.text
    fake.reset()
    send(fake, ["x"])
    stale = fake.client().get(
        "/_ctph/events", params={"limit": 1, "order": "desc", "cursor": cursor}
    )
    assert stale.status_code == 400 and "start again without a cursor" in stale.text


@pytest.mark.parametrize("value", ["newest", "DESC", ""])
def test_a_bad_order_is_a_400_naming_it(fake: FakePostHog, value: str) -> None:
    answer = fake.client().get("/_ctph/events", params={"order": value})
    assert answer.status_code == 400
    assert "order must be asc or desc" in answer.text


def test_requests_newest_first_with_total(fake: FakePostHog) -> None:
    send(fake, ["one"])
    refused = fake.client().post(
        "/i/v0/e/", content=b'{"api_key": "%s", "event": "x"}' % KEY.encode()
    )
    assert refused.status_code == 400
    send(fake, ["two"])
    page = get(fake, "/_ctph/requests", limit=1, order="desc", kind="capture")
    assert page["total"] == 3 and page["has_more"] is True
    (newest,) = page["results"]
    older = get(
        fake, "/_ctph/requests", limit=5, order="desc", kind="capture", cursor=page["cursor"]
    )
    assert [r["seq"] for r in older["results"]] == [newest["seq"] - 1, newest["seq"] - 2]
    assert older["has_more"] is False
    only = get(fake, "/_ctph/requests", limit=5, order="desc", status="4xx")
    assert [r["status"] for r in only["results"]] == [400] and only["total"] == 1


def test_counts_are_the_streams_counters(fake: FakePostHog) -> None:
    assert get(fake, "/_ctph/counts") == {"accepted": 0, "refused": 0, "warnings": 0}
    send(fake, ["a", "b"])
    fake.client().post("/i/v0/e/", content=b'{"event": "no key"}')
    assert get(fake, "/_ctph/counts") == {"accepted": 2, "refused": 1, "warnings": 0}
