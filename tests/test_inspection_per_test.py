"""The inspector's pytest and command-line side (issue 16): the session server tags every
request with the running test's node id (the real posthog-python client and ``ctph_campaign``
deliveries), ``--ctph-inspect`` prints the inspector's URL and never waits without a terminal
or under CI, and ``ctph serve`` prints the inspector's URL first (``--open`` opens it)."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

import httpx
import pytest

from ctph_harness.posthog.standalone import serve
from ctph_harness.pytest_plugin.inspect_wait import keep_open

pytest.importorskip("posthog")

CONFTEST = 'pytest_plugins = ["ctph_harness.pytest_plugin.fixtures"]\n'
TESTS = """
import json, os
import httpx
import posthog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
TEMPLATE = '{"event": "campaign_sent", "distinct_id": "{{ Profile.Email }}", "api_key": "%s"}' % KEY


def test_a_campaign(ctph_campaign):  # its fake_posthog resets the server: first
    reply = ctph_campaign(TEMPLATE).deliver({"Email": "a@example.com"})
    assert reply.status == 200


def test_b_sdk(ctph_fake_posthog_session):
    sdk = posthog.Posthog(KEY, host=ctph_fake_posthog_session.url, sync_mode=True)
    sdk.capture("from_sdk", distinct_id="u1")
    sdk.shutdown()


def test_zz_report(ctph_fake_posthog_session):
    url = ctph_fake_posthog_session.url
    events = httpx.get(url + "/_ctph/events").json()
    prefix = httpx.get(url + "/_ctph/events", params={"test": "test_tagged.py::"}).json()
    with open(os.environ["CTPH_DUMP"], "w") as out:
        json.dump({"events": events, "prefix": len(prefix)}, out)
"""


def test_requests_carry_the_running_tests_node_id(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = pytester.path / "dump.json"
    monkeypatch.setenv("CTPH_DUMP", str(dump))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_tagged=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    found = json.loads(dump.read_text())
    tagged = {e["event"]: e["test"] for e in found["events"]}
    assert tagged == {
        "from_sdk": "test_tagged.py::test_b_sdk",
        "campaign_sent": "test_tagged.py::test_a_campaign",
    }
    assert found["prefix"] == 2
    sdk_event = next(e for e in found["events"] if e["event"] == "from_sdk")
    assert sdk_event["route"] == "/batch/" and sdk_event["status"] == 200


def test_ctph_inspect_prints_the_url_and_does_not_wait_without_a_terminal(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--ctph-inspect")
    result.assert_outcomes(passed=1)
    result.stdout.re_match_lines([r"ctph inspector: http://127\.0\.0\.1:\d+/_ctph/ui/"])
    result.stdout.fnmatch_lines(["*not waiting (stdin is not a terminal)*"])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_keep_open_waits_for_enter_on_a_terminal_only() -> None:
    url = "http://127.0.0.1:1/_ctph/ui/"
    out = io.StringIO()
    assert keep_open(url, _Terminal("\n"), {}, out) is True
    assert "press Enter or Ctrl-C" in out.getvalue()
    out = io.StringIO()
    assert keep_open(url, _Terminal("\n"), {"CI": "true"}, out) is False
    assert "not waiting (CI is set)" in out.getvalue()
    out = io.StringIO()
    assert keep_open(url, io.StringIO("\n"), {}, out) is False
    assert "stdin is not a terminal" in out.getvalue()
    assert keep_open(url, None, {}, io.StringIO()) is False


def _serving(**kwargs: Any) -> tuple[io.StringIO, threading.Event, threading.Thread]:
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(
        target=serve, args=("127.0.0.1", 0, False, out), kwargs={"stop": stop, **kwargs}
    )
    thread.start()
    for _ in range(250):
        if "Ctrl-C" in out.getvalue():
            break
        time.sleep(0.02)
    return out, stop, thread


def test_serve_prints_the_inspector_url_first_and_open_opens_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    out, stop, thread = _serving(open_browser=True)
    try:
        lines = out.getvalue().splitlines()
        assert lines[0].startswith("ctph inspector: http://127.0.0.1:")
        url = lines[0].split()[-1]
        assert url.endswith("/_ctph/ui/") and lines[1].startswith("fake PostHog listening on ")
        assert opened == [url]
        assert httpx.get(url.removesuffix("/_ctph/ui/") + "/_ctph/events").json() == []
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_serve_without_open_opens_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    out, stop, thread = _serving()
    stop.set()
    thread.join(5)
    assert opened == [] and out.getvalue().startswith("ctph inspector: ")
