"""``--from-api`` against a local fake of CleverTap's Profiles API (issue 17): real HTTP on
loopback (pytest-httpserver), never the network; waits are injected, so the tests are instant."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ctph_harness.clevertap.export import Date, Problem, PullOptions, Record, pull_records
from ctph_harness.clevertap.export.api import REGIONS, PullError, base_url
from ctph_harness.errors import HarnessError

PASSCODE = "PASS-7f3e-never-shown"
PATH = "/1/profiles.json"


class FakeCleverTap:
    """The two documented calls; ``script`` maps a cursor ("" for the POST) to the answers to
    give in turn (the last one repeats)."""

    def __init__(self, server: HTTPServer, script: dict[str, list[Callable[[], Response]]]) -> None:
        self.script = script
        self.seen: list[tuple[str, str, dict[str, object] | None]] = []
        server.expect_request(PATH).respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        assert request.headers["X-CleverTap-Account-Id"] == "ACC-1"
        assert request.headers["X-CleverTap-Passcode"] == PASSCODE
        cursor = request.args.get("cursor", "")
        body = json.loads(request.data) if request.method == "POST" else None
        self.seen.append((request.method, cursor or request.args.get("batch_size", ""), body))
        answers = self.script[cursor]
        return (answers.pop(0) if len(answers) > 1 else answers[0])()


def ok(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Callable[[], Response]:
    return lambda: Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def cut() -> Response:
    response = Response(b'{"status": "succ', content_type="application/json")
    response.headers["Content-Length"] = "500"
    response.automatically_set_content_length = False
    return response


def page(*identities: str, next_cursor: str | None = None) -> Callable[[], Response]:
    records = [
        {
            "identity": i,
            "email": f"{i}@example.com",
            "profileData": {"points": 3, "seen": "$D_1700000000"},
        }
        for i in identities
    ]
    body: dict[str, object] = {"status": "success", "records": records}
    if next_cursor:
        body["next_cursor"] = next_cursor
    return ok(body)


def options(server: HTTPServer, sleeps: list[float], **extra: object) -> PullOptions:
    return PullOptions(
        "ACC-1",
        PASSCODE,
        api_url=server.url_for(""),
        sleep=sleeps.append,
        today=lambda: date(2026, 12, 7),
        **extra,  # type: ignore[arg-type]
    )


def pull(opts: PullOptions, **kw: object) -> tuple[list[Record], list[Problem]]:
    problems: list[Problem] = []
    return list(pull_records(opts, problems.append, **kw)), problems  # type: ignore[arg-type]


def test_pages_are_followed_until_no_next_cursor_and_still_preparing_is_waited_for(
    httpserver: HTTPServer,
) -> None:
    fake = FakeCleverTap(
        httpserver,
        {
            "": [ok({"status": "success"}, status=202), ok({"status": "success", "cursor": "c1"})],
            "c1": [
                ok({"status": "fail", "code": 2, "error": "x"}),
                page("a", "b", next_cursor="c2"),
            ],
            "c2": [page("c")],
        },
    )
    sleeps: list[float] = []
    records, problems = pull(options(httpserver, sleeps, event="Charged", days=7))
    assert problems == []
    assert [(r.source, r.number, r.properties["identity"]) for r in records] == [
        ("api page 1", 1, "a"),
        ("api page 1", 2, "b"),
        ("api page 2", 1, "c"),
    ]
    assert records[0].properties["seen"] == Date(1700000000)
    assert fake.seen[0] == (
        "POST",
        "5000",
        {"event_name": "Charged", "from": 20261130, "to": 20261207},
    )
    assert [s[:2] for s in fake.seen[2:]] == [("GET", "c1"), ("GET", "c1"), ("GET", "c2")]
    assert sleeps == [2.0, 2.0]


def test_the_limit_stops_the_pull_and_sizes_the_batch(httpserver: HTTPServer) -> None:
    fake = FakeCleverTap(
        httpserver,
        {
            "": [ok({"status": "success", "cursor": "c1"})],
            "c1": [page("a", "b", "c", next_cursor="c2")],
        },
    )
    records, _ = pull(options(httpserver, []), limit=2)
    assert len(records) == 2
    assert fake.seen[0][1] == "2" and len(fake.seen) == 2


def test_429_honours_retry_after_in_seconds_and_as_an_http_date(httpserver: HTTPServer) -> None:
    FakeCleverTap(
        httpserver,
        {
            "": [
                ok({"status": "fail"}, status=429, headers={"Retry-After": "7"}),
                ok(
                    {"status": "fail"},
                    status=429,
                    headers={"Retry-After": "Mon, 07 Dec 2026 10:00:30 GMT"},
                ),
                ok({"status": "success", "cursor": "c1"}),
            ],
            "c1": [page("a")],
        },
    )
    sleeps: list[float] = []
    opts = options(httpserver, sleeps, now=lambda: 1796637600.0)  # 2026-12-07 10:00:00 UTC
    records, _ = pull(opts)
    assert len(records) == 1 and sleeps == [7.0, 30.0]


def test_a_cut_connection_is_retried_with_backoff_then_named_by_page(
    httpserver: HTTPServer,
) -> None:
    FakeCleverTap(
        httpserver,
        {
            "": [ok({"status": "success", "cursor": "c1"})],
            "c1": [cut, page("a", next_cursor="c2")],
            "c2": [cut],
        },
    )
    sleeps: list[float] = []
    got: list[Record] = []
    with pytest.raises(PullError) as raised:
        got.extend(pull_records(options(httpserver, sleeps, retries=3), lambda p: None))
    assert [r.properties["identity"] for r in got] == ["a"]
    assert "api page 2" in str(raised.value) and "cut" in str(raised.value)
    assert sleeps == [1.0, 1.0, 2.0]
    assert isinstance(raised.value, HarnessError) and raised.value.exit_code == 2


def test_a_download_never_ready_is_a_clear_error_within_the_bounded_wait(
    httpserver: HTTPServer,
) -> None:
    FakeCleverTap(httpserver, {"": [ok({"status": "success"}, status=202)]})
    sleeps: list[float] = []
    with pytest.raises(PullError, match="still preparing"):
        pull(options(httpserver, sleeps, max_wait=60))
    assert sum(sleeps) <= 60


def test_refused_credentials_never_show_the_passcode(httpserver: HTTPServer) -> None:
    FakeCleverTap(
        httpserver,
        {"": [ok({"status": "fail", "error": f"bad passcode {PASSCODE}", "code": 1}, status=401)]},
    )
    opts = options(httpserver, [])
    with pytest.raises(PullError) as raised:
        pull(opts)
    text = f"{raised.value} {raised.value!r} {opts!r}"
    assert "HTTP 401" in text and "--account-id" in text
    assert PASSCODE not in text and "bad passcode" not in text


def test_regions_are_clevertaps_documented_hosts() -> None:
    assert base_url(PullOptions("a", "p")) == "https://api.clevertap.com"
    assert base_url(PullOptions("a", "p", region="IN1")) == "https://in1.api.clevertap.com"
    assert (
        base_url(PullOptions("a", "p", region="in1", api_url="http://127.0.0.1:9/"))
        == "http://127.0.0.1:9"
    )
    assert set(REGIONS) == {"eu1", "in1", "sg1", "us1", "aps3", "mec1"}
    with pytest.raises(PullError, match="unknown CleverTap region"):
        base_url(PullOptions("a", "p", region="mars1"))
