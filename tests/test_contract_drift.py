"""Keeping the contract honest: the official SDKs in every capture mode, and a real PostHog.

Checks that the fake PostHog has not drifted from the real one:

* **posthog-python, unmodified, in each way it can send** (the SDK's own worker thread or
  ``sync_mode``, with and without gzip, and the v1 capture mode with each body compression the
  SDK offers). Every mode must land the same events, persons and groups.
* **posthog-node** (v0 gzip and plain, v1) and **posthog-js in headless chromium** (flags off,
  and its defaults): the versions pinned in ``tests/sdk/package.json``, installed with npm by
  the ``sdk_node_modules`` fixture (``tox -e contract-drift`` points ``CTPH_SDK_NODE_MODULES``
  at the newest instead); without node, npm or chromium they skip and say so.
* **A real self-hosted PostHog**, when ``CTPH_LIVE_POSTHOG`` (its base URL) and
  ``CTPH_LIVE_POSTHOG_KEY`` (a project key there) are set: every raw wire case of
  ``test_app_wire_cases.py`` goes to both the fake and the real service, and the statuses must
  agree. This is the only place the test suite talks to a real PostHog, and only when both
  variables are set, which is the explicit opt-in; otherwise it skips and says why.

"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import run_posthog_js
from test_app_wire_cases import CASES, KEY, Case

from ctph_harness.posthog.server import FakePostHog
from ctph_harness.redact import printable

posthog = pytest.importorskip("posthog")

MODES = [
    pytest.param({"sync_mode": True}, id="v0-sync"),
    pytest.param({"sync_mode": True, "gzip": True}, id="v0-sync-gzip"),
    pytest.param({}, id="v0-worker-thread"),
    pytest.param({"gzip": True}, id="v0-worker-thread-gzip"),
    *(
        pytest.param(
            {"sync_mode": True, "capture_mode": "v1", "capture_compression": compression},
            id=f"v1-{compression}",
        )
        for compression in ("none", "gzip", "deflate", "zstd")
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakePostHog]:
    with FakePostHog() as fake:
        yield fake


@pytest.mark.parametrize("mode", MODES)
def test_every_posthog_python_capture_mode_lands_the_same_state(
    mode: dict[str, Any], server: FakePostHog
) -> None:
    server.reset()
    # No retries: a refused mode must fail here, not back off for seconds and then drop events.
    sdk = posthog.Posthog(KEY, host=server.url, max_retries=0, **mode)
    try:
        sdk.capture("signup", distinct_id="anon-1", properties={"plan": "free", "n": 1})
        sdk.set(distinct_id="user-1", properties={"email": "a@example.com"})
        sdk.alias("anon-1", "user-1")
        sdk.group_identify("company", "acme", {"name": "Acme"})
        sdk.flush()
    finally:
        sdk.shutdown()

    server.assert_event("signup", distinct_id="anon-1", properties={"plan": "free", "n": 1})
    server.assert_event("$set", distinct_id="user-1", count=1)
    person = server.assert_person("user-1", {"email": "a@example.com"})
    assert set(person.distinct_ids) == {"anon-1", "user-1"}
    (group,) = server.groups()
    assert (group.type, group.key, dict(group.properties)) == ("company", "acme", {"name": "Acme"})
    assert server.event_count() == 4
    assert [entry.status for entry in server.journal() if entry.status != 200] == []
    server.check()


# --- a real PostHog, only when asked for ------------------------------------------------------


def _live() -> tuple[str, str]:
    return os.environ.get("CTPH_LIVE_POSTHOG", "").rstrip("/"), os.environ.get(
        "CTPH_LIVE_POSTHOG_KEY", ""
    )


def _send(client: httpx.Client, case: Case, key: str) -> httpx.Response:
    """The case's bytes, with its project key swapped for ``key`` where it is readable (a
    compressed body keeps the example key, which a self-hosted capture still accepts: capture
    checks a key's shape, not that the project exists)."""
    body = case.body.replace(KEY.encode(), key.encode())
    path = case.path.replace(KEY, key)
    return client.request(case.method, path, content=body, headers=case.headers)


def test_the_fake_answers_every_wire_case_with_the_real_status(server: FakePostHog) -> None:
    """One test, not one per case, so that an unset comparison is one clear skip."""
    url, key = _live()
    if not (url and key):
        pytest.skip(
            "no live PostHog to compare with: set CTPH_LIVE_POSTHOG (base URL of a self-hosted "
            "PostHog) and CTPH_LIVE_POSTHOG_KEY (a project key there) to run this comparison"
        )
    differ = []
    with (
        httpx.Client(base_url=url, timeout=30, trust_env=False) as live,
        httpx.Client(base_url=server.url, timeout=30, trust_env=False) as fake,
    ):
        for case in CASES:
            server.reset()
            real, ours = _send(live, case, key), _send(fake, case, key)
            if real.status_code != ours.status_code:
                differ.append(
                    f"{case.id}: the fake answered {ours.status_code} {ours.text[:160]!r}, "
                    f"PostHog answered {real.status_code} {real.text[:160]!r}"
                )
    assert differ == [], printable(
        f"{len(differ)} of {len(CASES)} wire cases differ from {url}:\n" + "\n".join(differ)
    )


# --- posthog-node, when tox -e contract-drift has installed it ---------------------------------

NODE_SCRIPT = r"""
const { PostHog } = require('posthog-node');
const [host, key, compression] = process.argv.slice(1);
const client = new PostHog(key, {
  host, flushAt: 1, flushInterval: 0, fetchRetryCount: 0, disableCompression: compression === 'off',
});
client.on('error', (err) => { console.error(String(err)); process.exitCode = 1; });
client.capture({ distinctId: 'anon-1', event: 'signup', properties: { plan: 'free', n: 1 } });
client.identify({ distinctId: 'user-1', properties: { email: 'a@example.com' } });
client.alias({ distinctId: 'user-1', alias: 'anon-1' });
client.groupIdentify({ groupType: 'company', groupKey: 'acme', properties: { name: 'Acme' } });
client.shutdown().catch((err) => { console.error(String(err)); process.exitCode = 1; });
"""

NODE_MODES = [
    pytest.param("v0", "on", id="v0-gzip"),
    pytest.param("v0", "off", id="v0-plain"),
    pytest.param("v1", "on", id="v1-gzip"),
]


@pytest.mark.parametrize(("capture_mode", "compression"), NODE_MODES)
def test_every_posthog_node_capture_mode_lands_the_same_state(
    capture_mode: str, compression: str, server: FakePostHog, request: pytest.FixtureRequest
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the posthog-node tests need it")
    modules = str(request.getfixturevalue("sdk_node_modules"))  # only once node is there
    server.reset()
    env = {**os.environ, "NODE_PATH": modules, "POSTHOG_CAPTURE_MODE": capture_mode}
    run = subprocess.run(
        [node, "-e", NODE_SCRIPT, server.url, KEY, compression],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    server.assert_event("signup", distinct_id="anon-1", properties={"plan": "free", "n": 1})
    person = server.assert_person("user-1", {"email": "a@example.com"})
    assert set(person.distinct_ids) == {"anon-1", "user-1"}
    (group,) = server.groups()
    assert (group.type, group.key, dict(group.properties)) == ("company", "acme", {"name": "Acme"})
    statuses = [entry.status for entry in server.journal()]
    assert statuses and set(statuses) == {200}
    if compression == "on":
        assert {e.headers.get("Content-Encoding") for e in server.journal()} == {"gzip"}
    server.check()


# --- posthog-js in a real browser, when tox -e contract-drift has installed it -----------------

PAGE = """<!doctype html><html><body><script src="array.full.js"></script><script>
const q = new URLSearchParams(location.search);
posthog.init(q.get('key'), {
  api_host: q.get('host'), autocapture: false, capture_pageview: false,
  capture_pageleave: false, disable_session_recording: true, disable_surveys: true,
  request_batching: false, opt_out_useragent_filter: true,
  advanced_disable_flags: q.get('mode') === 'legacy',
  loaded: (ph) => {
    let done = false;
    const act = () => {
      if (done) return;
      done = true;
      ph.identify('user-1', {email: 'a@example.com'});
      ph.capture('signup', {plan: 'free', n: 1});
      ph.group('company', 'acme', {name: 'Acme'});
    };
    // with its defaults, act once remote config (and flags, when the project has any) have
    // loaded, as a page's later events do in production: events sent before then still take
    // the pre-config path (/e/, uncompressed).
    if (q.get('mode') === 'legacy') act(); else { ph.onFeatureFlags(act); setTimeout(act, 2000); }
  },
});
</script></body></html>"""


@pytest.mark.parametrize(
    "mode",
    [
        # flags off: posthog-js posts each event to /e/ (the path the fake serves today)
        pytest.param("legacy", id="flags-off"),
        # its defaults: remote config and /flags first, which turn on gzip and /i/v0/e/
        pytest.param("default", id="defaults"),
    ],
)
@pytest.mark.browser
def test_posthog_js_in_chromium_lands_the_same_state(
    mode: str, server: FakePostHog, sdk_node_modules: Path, tmp_path: Path
) -> None:
    server.reset()

    def landed() -> bool:
        return (
            bool(server.events("signup"))
            and bool(server.groups())
            and any(person.properties.get("email") for person in server.persons())
        )

    query = {"key": KEY, "host": server.url, "mode": mode}
    run_posthog_js(PAGE, query, tmp_path, sdk_node_modules, server, landed)
    server.assert_event("signup", distinct_id="user-1", properties={"plan": "free", "n": 1})
    server.assert_person("user-1", {"email": "a@example.com"})
    (group,) = server.groups()
    assert (group.type, group.key, dict(group.properties)) == ("company", "acme", {"name": "Acme"})
    assert {entry.status for entry in server.journal()} <= {200, 204}
    if mode == "default":
        # remote config turned on production's path: gzip bodies to /i/v0/e/
        sent = [e for e in server.journal() if e.kind == "capture"]
        assert sent and {e.path for e in sent} == {"/i/v0/e/"}
        # gzip (posthog-js marks it by the body's magic bytes alone, no query parameter): each
        # body on the wire is shorter than the compact JSON it decoded to
        for entry in sent:
            compact = json.dumps(entry.body, separators=(",", ":"), ensure_ascii=False)
            assert int(entry.headers["Content-Length"]) < len(compact.encode()) / 2, entry
        assert {e.path.rsplit("/", 1)[-1] for e in server.journal() if e.kind == "config"} <= {
            "config",
            "config.js",
        }
    server.check()
