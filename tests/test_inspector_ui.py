"""The inspector page (``/_ctph/ui/``) driven in headless Chromium, with real SDK traffic.

pytest-playwright's fixtures launch Debian's ``chromium`` through ``executable_path``
(Playwright's own browser download is not reachable here); without a Chromium on ``PATH``
every test here skips with that reason and the rest of the suite runs. Traffic comes from the
official posthog-python client, or raw HTTP where the case needs a body no SDK sends (a refused
request, a 10,000-event batch), against a real :class:`FakePostHog` over loopback.

No timed assertions: Playwright's ``expect`` waits (up to its timeout) for what the page must
show; how fast rows arrive is measured in ``bench/bench_inspector.py``.

``CTPH_SCREENSHOT=docs/inspector.png pytest tests/test_inspector_ui.py -k screenshot`` writes the
README's screenshot; without the variable the same test writes it into a temporary folder.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ctph_harness.posthog.server import FakePostHog

pytest.importorskip("playwright", reason="the browser tests need the test extra's playwright")
posthog = pytest.importorskip("posthog")

from playwright.sync_api import Dialog, Locator, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
XSS = "<img src=x onerror=alert(1)>"
WAIT_MS = 15_000
"""How long a step may wait for the page: a bound for a machine loaded by the rest of the suite
(CI runs these beside it), not a speed check; a passing step waits only as long as it takes."""
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, quiet: no sandbox (containers), no GPU, no background traffic."""
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium); browser tests skipped")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "permissions": ["clipboard-read", "clipboard-write"]}


@pytest.fixture
def sdk(fake: FakePostHog) -> Iterator[Any]:
    client = posthog.Posthog(KEY, host=fake.url, sync_mode=True)
    yield client
    client.shutdown()


def open_inspector(page: Page, fake: FakePostHog, query: str = "") -> Page:
    """Load the page and wait for the first paint of the view it shows."""
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{fake.url}/_ctph/ui/{query}")
    expect(page.locator('main [role=tabpanel]:not([hidden])[data-ready="1"]')).to_have_count(1)
    return page


def rows(page: Page) -> Any:
    return page.locator("#events-body tr")


def post(fake: FakePostHog, path: str, body: Any) -> httpx.Response:
    return fake.client().post(path, content=json.dumps(body).encode())


def batch(fake: FakePostHog, events: list[dict[str, Any]]) -> None:
    answer = post(fake, "/batch/", {"api_key": KEY, "batch": events})
    assert answer.status_code == 200, answer.text


def copied(page: Page, button: Locator) -> str:
    """Click a copy button and return the text the page handed to the clipboard, recorded by
    this page. Reading the clipboard back races: it is shared by the machine's browsers (one
    per xdist worker), so another worker's copy could be read instead (CI once read an empty
    string between this test's write and read); and whether the write is then granted depends
    on the page having focus, which a loaded machine's window manager decides, not the page."""
    page.evaluate(
        """() => {
          const clipboard = navigator.clipboard;
          if (!clipboard.ctphRecorded) {
            const write = clipboard.writeText.bind(clipboard);
            clipboard.writeText = (text) => { window.ctphCopied = text; return write(text); };
            clipboard.ctphRecorded = true;
          }
          window.ctphCopied = undefined;
        }"""
    )
    button.click()
    page.wait_for_function("() => window.ctphCopied !== undefined")
    return str(page.evaluate("window.ctphCopied"))


def wait_until(page: Page, ready: Any, what: str) -> None:
    """Wait (at most WAIT_MS, a bound for a loaded machine) for a condition the test reads on
    its side: what the server counts, what requests the page made."""
    for _ in range(WAIT_MS // 50):
        if ready():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"waited {WAIT_MS} ms for {what}")


# -- live -------------------------------------------------------------------------------------


def test_events_arrive_live_without_a_reload(page: Page, fake: FakePostHog, sdk: Any) -> None:
    problems: list[str] = []  # script errors and Content-Security-Policy violations
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    open_inspector(page, fake)
    page.evaluate("window.sameDocument = true")
    sdk.capture("signed_up", distinct_id="user-1", properties={"$current_url": "https://a.test/x"})
    row = rows(page).filter(has_text="signed_up")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("user-1")
    expect(row).to_contain_text("https://a.test/x")
    expect(row).to_contain_text("posthog-python")
    expect(row).to_contain_text("/batch/")
    expect(row).to_contain_text("200")
    expect(page.locator("#count-accepted")).to_have_text("1")
    sdk.capture("second", distinct_id="user-1")
    expect(rows(page).first).to_contain_text("second")  # newest first
    assert page.evaluate("window.sameDocument") is True
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    assert problems == []


def test_pause_queues_arrivals_behind_a_marker(page: Page, fake: FakePostHog, sdk: Any) -> None:
    open_inspector(page, fake)
    page.get_by_role("button", name="Pause", exact=True).click()
    for n in range(3):
        sdk.capture(f"while_paused_{n}", distinct_id="user-1")
    expect(page.get_by_role("button", name="3 new")).to_be_visible()
    expect(rows(page)).to_have_count(0)
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(rows(page)).to_have_count(3)
    expect(rows(page).first).to_contain_text("while_paused_2")
    expect(page.get_by_role("button", name="3 new")).to_be_hidden()


def test_polling_when_the_stream_is_refused(
    page: Page, fake: FakePostHog, sdk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ctph_harness.posthog import live

    monkeypatch.setattr(live, "MAX_STREAMS", 0)  # every stream answered 503
    open_inspector(page, fake)
    expect(page.locator("#live-state")).to_contain_text("polling")
    sdk.capture("polled", distinct_id="user-1")
    expect(rows(page).filter(has_text="polled")).to_have_count(1)


# -- filters ----------------------------------------------------------------------------------


FILTER_CASES = [
    ("event", "checkout", {"checkout"}),
    ("distinct_id", "bob", {"viewed_bob"}),
    ("q", "Berlin", {"checkout"}),
    ("lib", "web", {"from_web"}),
    ("route", "/i/v0/e/", {"from_web"}),
    ("status", "2xx", {"checkout", "viewed_alice", "viewed_bob", "from_web"}),
]


@pytest.mark.parametrize(
    ("name", "value", "expected"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES]
)
def test_each_filter_and_its_url_round_trip(
    page: Page, fake: FakePostHog, sdk: Any, name: str, value: str, expected: set[str]
) -> None:
    sdk.capture("checkout", distinct_id="alice", properties={"city": "Berlin"})
    sdk.capture("viewed_alice", distinct_id="alice")
    sdk.capture("viewed_bob", distinct_id="bob")
    web = {"event": "from_web", "distinct_id": "carol", "properties": {"$lib": "web"}}
    assert post(fake, "/i/v0/e/", {"api_key": KEY, **web}).status_code == 200
    open_inspector(page, fake)
    expect(rows(page)).to_have_count(4)
    control = page.locator(f"#filters [name={name}]")
    if name == "status":
        control.select_option(value)
    else:
        control.fill(value)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(re.escape(urllib.parse.urlencode({name: value}))))
    expect(rows(page)).to_have_count(len(expected))
    shown = {t.strip() for t in page.locator("#events-body td.event").all_inner_texts()}
    assert shown == expected
    # a link reproduces the view
    link = page.url
    page.goto("about:blank")
    page.goto(link)
    expect(rows(page)).to_have_count(len(expected))
    expect(page.locator(f"#filters [name={name}]")).to_have_value(value)
    # "Copy API query" gives the JSON API's URL with the same meaning
    api = copied(page, page.get_by_role("button", name="Copy API query"))
    assert api.startswith(f"{fake.url}/_ctph/events?")
    assert {e["event"] for e in fake.client().get(api).json()} == expected


def test_filter_by_test_groups_a_tests_requests(
    page: Page, ctph_fake_posthog_session: FakePostHog, request: pytest.FixtureRequest
) -> None:
    """The session server tags requests with the running test's node id."""
    fake = ctph_fake_posthog_session
    fake.reset()
    client = posthog.Posthog(KEY, host=fake.url, sync_mode=True)
    client.capture("inside_a_test", distinct_id="t-1")
    client.shutdown()
    nodeid = request.node.nodeid
    open_inspector(page, fake, "?" + urllib.parse.urlencode({"test": nodeid}))
    row = rows(page).filter(has_text="inside_a_test")
    expect(row).to_have_count(1)
    expect(row.locator("td.test")).to_have_text(request.node.name)
    page.locator("#filters [name=test]").fill(nodeid + "-not-this-one")
    page.get_by_role("button", name="Apply").click()
    expect(rows(page)).to_have_count(0)
    # the Requests view groups requests by test; a test's name leads to its events
    page.get_by_role("button", name="Clear filters").click()
    page.get_by_role("tab", name="Requests").click()
    group = page.get_by_role("region", name="Requests by test").locator("tr", has_text=nodeid)
    expect(group.locator("td").nth(1)).to_have_text("1")
    group.get_by_role("button", name=nodeid).click()
    expect(page.locator("#filters [name=test]")).to_have_value(nodeid)
    expect(rows(page).filter(has_text="inside_a_test")).to_have_count(1)


# -- detail -----------------------------------------------------------------------------------


def test_event_detail_tabs_and_copy_buttons(page: Page, fake: FakePostHog) -> None:
    gz = posthog.Posthog(KEY, host=fake.url, sync_mode=True, gzip=True)
    gz.capture("purchase", distinct_id="user-9", properties={"amount": "100", "plan": "pro"})
    gz.shutdown()
    open_inspector(page, fake)
    rows(page).filter(has_text="purchase").click()
    detail = page.locator("#detail")
    panel = page.locator("#detail-panel")
    expect(detail.get_by_role("tab", name="Properties")).to_have_attribute("aria-selected", "true")
    expect(panel).to_contain_text("plan")
    expect(panel).to_contain_text("$lib")
    page.get_by_label("Hide $ properties").check()
    expect(panel).to_contain_text("plan")
    expect(panel.locator("th", has_text="$lib")).to_have_count(0)

    detail.get_by_role("tab", name="Request", exact=True).click()
    expect(panel).to_contain_text("POST /batch/")
    steps = panel.locator("ol.steps > li > strong")
    expect(steps).to_have_text(["received", "gzip", "json"])
    expect(panel).not_to_contain_text(KEY)  # the key is redacted in every view

    detail.get_by_role("tab", name="Response").click()
    expect(panel).to_contain_text("Status 200")

    detail.get_by_role("tab", name="Contract").click()
    finding = panel.locator(".finding", has_text="CTPH161")
    expect(finding).to_contain_text("warning")
    expect(finding).to_contain_text("amount")

    line = copied(page, detail.get_by_role("button", name="Copy assert_event"))
    assert line == (
        'fake_posthog.assert_event("purchase", distinct_id="user-9", '
        'properties={"amount": "100", "plan": "pro"})'
    )
    # the line is real Python that passes against this very fake
    eval(line, {"fake_posthog": fake})
    assert (
        json.loads(copied(page, detail.get_by_role("button", name="Copy JSON")))["event"]
        == "purchase"
    )
    curl = copied(page, detail.get_by_role("button", name="Copy as curl"))
    assert curl.startswith(f"curl -X POST '{fake.url}/batch/'")
    assert KEY not in curl


# -- refusals, warnings, persons --------------------------------------------------------------


def test_refused_requests_show_posthogs_status_and_message(page: Page, fake: FakePostHog) -> None:
    refused = post(fake, "/i/v0/e/", {"api_key": KEY, "event": "no_id", "properties": {}})
    assert refused.status_code == 400
    open_inspector(page, fake)
    expect(page.locator("#count-refused")).to_have_text("1")
    page.get_by_role("tab", name="Requests").click()
    row = page.locator("#view-requests tr.refused")
    expect(row).to_have_count(1)
    expect(page.locator("#view-requests")).not_to_contain_text("null")
    expect(row).to_contain_text("400")
    expect(row).to_contain_text("event submitted without a distinct_id")
    page.get_by_role("button", name=re.compile("Details of request")).click()
    expect(page.locator("#detail-panel")).to_contain_text("POST /i/v0/e/")
    page.locator("#detail").get_by_role("tab", name="Contract").click()
    expect(page.locator("#detail-panel")).to_contain_text("CTPH121")


def test_copy_as_curl_quotes_an_odd_method(page: Page, fake: FakePostHog) -> None:
    """The journal keeps any method token; pasted into a shell it must stay one quoted word."""
    with socket.create_connection(fake.address, timeout=5) as sock:
        sock.sendall(b"X$(id) /i/v0/e/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 405")
    open_inspector(page, fake)
    page.get_by_role("tab", name="Requests").click()
    page.get_by_role("button", name=re.compile("Details of request")).click()
    assert copied(
        page, page.locator("#detail").get_by_role("button", name="Copy as curl")
    ).startswith(f"curl -X 'X$(ID)' '{fake.url}/i/v0/e/'")


def test_copy_as_curl_leaves_out_a_query_shown_as_a_note(page: Page, fake: FakePostHog) -> None:
    """``?data=`` holding the key is shown as the server's note: the URL must not carry it."""
    event = {"event": "viewed", "distinct_id": "u1", "api_key": KEY, "properties": {}}
    data = base64.b64encode(json.dumps(event).encode()).decode()
    assert fake.client().get("/e/", params={"data": data}).status_code == 200
    open_inspector(page, fake)
    rows(page).filter(has_text="viewed").click()
    curl = copied(page, page.locator("#detail").get_by_role("button", name="Copy as curl"))
    assert curl.startswith(f"curl -X GET '{fake.url}/e/' ") and "…(" not in curl, curl


def test_copy_buttons_wait_for_the_detail_and_late_answers_are_dropped(
    page: Page, fake: FakePostHog
) -> None:
    """A copy button clicked while the detail loads copied nothing, silently: the buttons are
    disabled until what they copy is there. And an answer for a row opened before the one now
    shown must not replace it (the first row's answers are held here until the second shows)."""
    post(fake, "/i/v0/e/", {"api_key": KEY, "event": "first", "distinct_id": "u1"})
    post(fake, "/i/v0/e/", {"api_key": KEY, "event": "second", "distinct_id": "u2"})
    open_inspector(page, fake)
    first_uuid = fake.events("first")[0].uuid
    held: list[Any] = []
    page.route(f"**/_ctph/events/{first_uuid}", lambda route: held.append(route))
    detail = page.locator("#detail")
    rows(page).filter(has_text="first").click()
    wait_until(page, lambda: len(held) == 1, "the first row's detail request")
    for name in ("Copy as curl", "Copy JSON", "Copy assert_event"):
        expect(detail.get_by_role("button", name=name)).to_be_disabled()
    rows(page).filter(has_text="second").click()
    expect(page.locator("#detail-title")).to_have_text("second")
    expect(detail.get_by_role("button", name="Copy JSON")).to_be_enabled()
    held[0].continue_()  # the first row's event arrives late
    page.wait_for_timeout(300)  # room for the stale answer to land, which it must not
    expect(page.locator("#detail-title")).to_have_text("second")
    assert '"second"' in copied(page, detail.get_by_role("button", name="Copy JSON"))


def test_persons_after_identify_and_their_events(page: Page, fake: FakePostHog, sdk: Any) -> None:
    sdk.capture("anon_view", distinct_id="anon-1")
    identify = {"$anon_distinct_id": "anon-1", "$set": {"plan": "team"}}
    sdk.capture("$identify", distinct_id="user@example.test", properties=identify)
    sdk.capture("unrelated", distinct_id="someone-else")
    open_inspector(page, fake, "#persons")
    person = page.locator("#view-persons tr", has_text="anon-1")
    expect(person).to_contain_text("user@example.test")
    expect(person).to_contain_text('"plan": "team"')
    person.get_by_role("button", name=re.compile("Events of person")).click()
    expect(page.get_by_role("tab", name="Events")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#filters [name=person]")).not_to_have_value("")
    expect(rows(page).filter(has_text="anon_view")).to_have_count(1)
    expect(rows(page).filter(has_text="unrelated")).to_have_count(0)


# -- actions ----------------------------------------------------------------------------------


def test_reset_asks_first(page: Page, fake: FakePostHog, sdk: Any) -> None:
    sdk.capture("kept", distinct_id="user-1")
    open_inspector(page, fake)
    expect(rows(page)).to_have_count(1)
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert fake.event_count() == 1
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_role("button", name="Reset everything").click()
    expect(rows(page)).to_have_count(0)
    assert fake.event_count() == 0
    sdk.capture("after_reset", distinct_id="user-1")  # the stream goes on after a reset
    expect(rows(page).filter(has_text="after_reset")).to_have_count(1)


def test_export_streams_the_current_view_as_ndjson(page: Page, fake: FakePostHog, sdk: Any) -> None:
    sdk.capture("wanted", distinct_id="a")
    sdk.capture("other", distinct_id="b")
    open_inspector(page, fake, "?event=wanted")
    expect(rows(page)).to_have_count(1)
    page.get_by_label("Export format").select_option("ndjson")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["wanted"]
    assert "format=ndjson" in download.value.url and "event=wanted" in download.value.url


# -- safety and accessibility -----------------------------------------------------------------


def test_request_values_are_text_never_html(page: Page, fake: FakePostHog) -> None:
    dialogs: list[Dialog] = []
    page.on("dialog", lambda d: (dialogs.append(d), d.dismiss()))
    batch(fake, [{"event": XSS, "distinct_id": XSS, "properties": {XSS: XSS}}])
    open_inspector(page, fake)
    expect(rows(page).first.locator("td.event")).to_have_text(XSS)
    rows(page).first.click()
    expect(page.locator("#detail-title")).to_have_text(XSS)
    expect(page.locator("#detail-panel")).to_contain_text(XSS)
    assert page.locator("main img").count() == 0
    assert dialogs == []


def test_controls_have_accessible_names_and_keys(page: Page, fake: FakePostHog, sdk: Any) -> None:
    sdk.capture("keyboard", distinct_id="user-1")
    open_inspector(page, fake)
    for name in ("Events", "Persons", "Groups", "Requests", "Warnings"):
        expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
    for name in ("Pause", "Reset", "Export", "Copy API query"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("searchbox", name="Filter")).to_be_visible()
    page.get_by_role("tab", name="Events").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Persons")).to_be_focused()
    expect(page.get_by_role("tab", name="Persons")).to_have_attribute("aria-selected", "true")
    expect(page).to_have_url(re.compile("#persons$"))
    page.keyboard.press("ArrowLeft")
    rows(page).first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text("keyboard")


@pytest.mark.slow
def test_ten_thousand_events_page_in(page: Page, fake: FakePostHog) -> None:
    batch(fake, [{"event": f"bulk_{n}", "distinct_id": f"u{n % 50}"} for n in range(10_000)])
    open_inspector(page, fake)
    expect(rows(page)).to_have_count(200)
    expect(rows(page).first).to_contain_text("bulk_9999")
    expect(page.locator("#older-line")).to_have_text("9,800 older events not shown")
    page.get_by_role("button", name="Load older").click()
    expect(rows(page)).to_have_count(400)
    expect(page.locator("#older-line")).to_have_text("9,600 older events not shown")
    expect(rows(page).last).to_contain_text("bulk_9600")


def test_screenshot_for_the_readme(page: Page, fake: FakePostHog, tmp_path: Path) -> None:
    """Writes the README's screenshot where CTPH_SCREENSHOT says (else into tmp)."""
    web = posthog.Posthog(KEY, host=fake.url, sync_mode=True)
    web.capture("$identify", distinct_id="ada@example.test", properties={"$set": {"plan": "team"}})
    web.capture(
        "$pageview",
        distinct_id="ada@example.test",
        properties={"$current_url": "https://shop.example/"},
    )
    web.capture(
        "checkout_started", distinct_id="ada@example.test", properties={"cart_value": "49.90"}
    )
    web.shutdown()
    post(fake, "/i/v0/e/", {"api_key": KEY, "event": "webhook_campaign", "properties": {}})
    batch(
        fake,
        [
            {
                "event": "order_completed",
                "distinct_id": "ada@example.test",
                "properties": {"$lib": "clevertap-webhook", "total": 49.9},
            }
        ],
    )
    page.set_viewport_size({"width": 1360, "height": 600})
    open_inspector(page, fake)
    expect(rows(page)).to_have_count(4)
    rows(page).filter(has_text="checkout_started").click()
    page.locator("#detail").get_by_role("tab", name="Contract").click()
    expect(page.locator("#detail-panel")).to_contain_text("CTPH161")
    target = Path(os.environ.get("CTPH_SCREENSHOT") or tmp_path / "inspector.png")
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000


# -- export per view --------------------------------------------------------------------------

PERSONAL = "phx_9fK2mQ7xLp4sT8vW1yZ3bN6cR0dH5jEq"


def export_view(page: Page, tab: str, format: str) -> tuple[str, str, str]:
    """Show ``tab``, click Export in ``format``: the download's URL, file name and text."""
    page.get_by_role("tab", name=tab).click()
    expect(page.locator(f'#view-{tab.lower()}[data-ready="1"]')).to_be_visible()
    page.get_by_label("Export format").select_option(format)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()
    got = download.value
    return got.url, got.suggested_filename, Path(got.path()).read_text()


def test_export_on_persons_downloads_the_persons_shown(
    page: Page, fake: FakePostHog, sdk: Any
) -> None:
    """The Persons view and its export are the server's ``/_ctph/persons`` with the page's
    person filters (here ``q``); event-level ones (``status``) are not passed on; keys masked."""
    sdk.capture("anon_view", distinct_id="anon-1")
    identify = {"$anon_distinct_id": "anon-1", "$set": {"note": f"key {PERSONAL}"}}
    sdk.capture("$identify", distinct_id="user@example.test", properties=identify)
    sdk.capture("unrelated", distinct_id="someone-else")
    with page.expect_request(re.compile(r"/_ctph/persons\?")) as asked:
        open_inspector(page, fake, "?q=ANON-1&status=2xx#persons")
    assert asked.value.url.endswith("/_ctph/persons?q=ANON-1")  # the server filters the view
    expect(page.locator("#view-persons tbody tr")).to_have_count(1)
    expect(page.locator("#view-persons tbody tr")).to_contain_text("user@example.test")
    url, name, text = export_view(page, "Persons", "ndjson")
    assert name == "ctph-persons.ndjson"
    assert urllib.parse.urlsplit(url).path == "/_ctph/persons"
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query) == {
        "q": ["ANON-1"],
        "format": ["ndjson"],
    }
    (person,) = [json.loads(line) for line in text.splitlines()]
    assert sorted(person["distinct_ids"]) == ["anon-1", "user@example.test"]
    assert PERSONAL not in text and person["properties"]["note"].startswith("key phx_…")


def test_export_on_warnings_downloads_the_warnings(page: Page, fake: FakePostHog) -> None:
    """Warnings export warnings (it exported events before), whatever filters the page has."""
    merge = {"$anon_distinct_id": "undefined"}  # an illegal id: the merge is refused
    batch(fake, [{"event": "$identify", "distinct_id": "user-1", "properties": merge}])
    open_inspector(page, fake, "?event=%24identify#warnings")
    expect(page.locator("#view-warnings tbody tr")).to_have_count(1)
    url, name, text = export_view(page, "Warnings", "json")
    assert name == "ctph-warnings.json"
    assert urllib.parse.urlsplit(url)[2:4] == ("/_ctph/warnings", "")
    assert [w["type"] for w in json.loads(text)] == ["cannot_merge_with_illegal_distinct_id"]


# -- long sessions ------------------------------------------------------------------------------


def test_the_pages_polling_takes_no_journal_slot(
    page: Page, fake: FakePostHog, sdk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page left open in polling mode reads ``/_ctph/requests`` every second; those reads
    must not evict capture requests from the bounded journal. A curl-style read (no page
    header) is journaled as before."""
    from ctph_harness.posthog import live

    monkeypatch.setattr(live, "MAX_STREAMS", 0)  # every stream answered 503: the page polls
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/_ctph/requests?" in r.url else None)
    open_inspector(page, fake)
    expect(page.locator("#live-state")).to_contain_text("polling")
    sdk.capture("polled", distinct_id="user-1")
    expect(rows(page).filter(has_text="polled")).to_have_count(1)
    wait_until(page, lambda: len(polls) >= 4, "a few of the page's one-a-second polls")
    kinds = [(entry.kind, entry.path) for entry in fake.journal()]
    assert kinds == [("capture", "/batch/")]  # posthog-python sends /batch/
    assert fake.client().get("/_ctph/counts").status_code == 200
    assert [(entry.kind, entry.path) for entry in fake.journal()][-1] == (
        "inspect",
        "/_ctph/counts",
    )


LIVE_IN_PAGE = """async () => {
  // a second Live in the page, its EventSources counted while open
  const Real = window.EventSource;
  window.ctphSources = [];
  window.EventSource = class extends Real {
    constructor(...args) { super(...args); window.ctphSources.push(this); }
  };
  const { Live } = await import("/_ctph/ui/live.js");
  const noop = () => {};
  window.ctphLive = new Live({
    request: noop, reset: noop, warning: noop, gap: noop, state: noop, poll: noop,
  });
}"""


def open_streams(page: Page) -> int:
    return int(page.evaluate("window.ctphSources.filter((s) => s.readyState !== 2).length"))


def test_stop_and_start_leave_one_stream(
    page: Page, fake: FakePostHog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ctph_harness.posthog import live

    monkeypatch.setattr(live, "HEARTBEAT", 0.2)  # the server notices a closed stream soon
    open_inspector(page, fake)
    page.evaluate(LIVE_IN_PAGE)
    page.evaluate(
        "() => { const live = window.ctphLive; live.start(); live.start(); live.start(); }"
    )
    assert open_streams(page) == 1
    page.evaluate(
        """() => {
          const live = window.ctphLive;
          live.stop(); live.start(); live.stop(); live.stop(); live.start(); live.start();
        }"""
    )
    assert open_streams(page) == 1
    # the server frees the slots of the closed ones: the page's own stream and this one remain
    wait_until(page, lambda: fake.app.streams.open == 2, "two open streams on the server")
    page.evaluate("window.ctphLive.stop()")
    assert open_streams(page) == 0


def test_a_reset_while_a_poll_is_in_flight_leaves_one_polling_loop(
    page: Page, fake: FakePostHog
) -> None:
    """The poll that was in flight when polling restarted (after a reset) must not go on as a
    second loop beside the new one. Poll requests are held here, so exactly one loop's
    request is ever outstanding."""
    held: list[Any] = []
    page.route(
        lambda url: "/_ctph/requests?limit=1000&" in url or url.endswith("limit=1000"),
        lambda route: held.append(route),
    )

    def wait_held(count: int) -> None:
        wait_until(page, lambda: len(held) >= count, f"{count} poll requests")

    more = json.dumps({"results": [], "cursor": "held", "has_more": True, "dropped": 0})
    open_inspector(page, fake)
    page.evaluate(LIVE_IN_PAGE)
    page.evaluate("window.ctphLive.startPolling('test')")
    wait_held(1)
    page.evaluate("window.ctphLive.restartPolling()")  # as after a reset
    wait_held(2)
    # the old loop's poll answers "more follows": a live old loop would ask again at once
    held[0].fulfill(status=200, content_type="application/json", body=more)
    held[1].fulfill(status=200, content_type="application/json", body=more)
    wait_held(3)
    page.wait_for_timeout(300)  # room for a second loop's request, which must not come
    assert len(held) == 3
    page.evaluate("window.ctphLive.stop()")
    for route in held[2:]:
        route.abort()


KEEP_400 = """async () => {
  const { keepAtMost } = await import("/_ctph/ui/events.js");  // the page's own module
  keepAtMost(400);
}"""


def load_all_older(page: Page) -> list[str]:
    """Click "Load older" until every matching event is shown; the rows' uuids, top down."""
    button = page.get_by_role("button", name="Load older")
    while button.is_visible():
        count = rows(page).count()
        button.click()
        expect(rows(page)).not_to_have_count(count)
    expect(page.locator("#older-line")).to_have_text("All matching events shown")
    return list(page.eval_on_selector_all("#events-body tr", "trs => trs.map(t => t.dataset.uuid)"))


def test_the_page_keeps_a_bounded_number_of_rows_and_loads_the_rest_again(
    page: Page, fake: FakePostHog
) -> None:
    """Past its cap (400 here, 2,000 in use) the page forgets the oldest rows it saw live;
    "Load older" fetches them again from the server: no gap, no duplicate, the counts true."""
    events_read: list[str] = []
    page.on("request", lambda r: events_read.append(r.url) if "/_ctph/events?" in r.url else None)
    open_inspector(page, fake)
    page.evaluate(KEEP_400)
    first_paint = len(events_read)
    for start in range(0, 1000, 250):  # 1,000 events arrive live, in four requests
        batch(fake, [{"event": f"live_{n}", "distinct_id": "u"} for n in range(start, start + 250)])
    expect(page.locator("#older-line")).to_have_text("800 older events not shown")
    expect(rows(page).first).to_contain_text("live_999")
    assert len(events_read) == first_paint  # live rows came from the stream alone
    button = page.get_by_role("button", name="Load older")
    button.click()  # rows 200-399: still kept, no request
    expect(page.locator("#older-line")).to_have_text("600 older events not shown")
    assert len(events_read) == first_paint
    button.click()  # rows 400-599 were forgotten: asked for again
    expect(page.locator("#older-line")).to_have_text("400 older events not shown")
    assert len(events_read) > first_paint
    expect(rows(page).last).to_contain_text("live_400")
    uuids = load_all_older(page)
    stored = [event.uuid for event in reversed(fake.events())]
    assert uuids == stored  # every event, newest first, once


@pytest.mark.parametrize("before", [0, 50])
def test_a_paused_page_keeps_a_bounded_queue_and_says_how_many_are_new(
    page: Page, fake: FakePostHog, before: int
) -> None:
    """Paused through more arrivals than it keeps, the page counts them all as new; resumed,
    it shows the newest, and the ones it forgot (and the older rows) load again."""
    events_read: list[str] = []
    page.on("request", lambda r: events_read.append(r.url) if "/_ctph/events?" in r.url else None)
    open_inspector(page, fake)
    page.evaluate(KEEP_400)
    if before:
        batch(fake, [{"event": f"before_{n}", "distinct_id": "u"} for n in range(before)])
    expect(rows(page)).to_have_count(before)
    page.get_by_role("button", name="Pause", exact=True).click()
    for start in range(0, 600, 200):
        batch(
            fake, [{"event": f"paused_{n}", "distinct_id": "u"} for n in range(start, start + 200)]
        )
    expect(page.get_by_role("button", name="600 new")).to_be_visible()  # 400 kept, 200 counted
    expect(page.locator("#older-line")).to_have_text(
        "All matching events shown" if before else "No events yet"
    )
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(rows(page).first).to_contain_text("paused_599")
    expect(page.locator("#older-line")).to_have_text(f"{400 + before} older events not shown")
    first_paint = len(events_read)
    uuids = load_all_older(page)
    assert len(events_read) > first_paint  # the forgotten ones were asked for again
    assert uuids == [event.uuid for event in reversed(fake.events())]
