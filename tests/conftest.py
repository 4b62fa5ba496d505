"""Shared fixtures, and what in-process pytester runs would otherwise import first.

``pytester.runpytest_inprocess`` restores ``sys.modules`` after each run. httpx imports httpcore's
exception classes lazily, on its first request, and caches them: if that first request happens
inside a pytester run, the cache keeps classes of a module the restore drops, later requests
raise the classes of a fresh import, and httpx no longer maps them (a dropped connection then
surfaces as ``httpcore.RemoteProtocolError`` instead of ``httpx.TransportError``). Importing both
here, once per process, keeps one httpcore for the whole session.

The tests never reach the network. schemathesis before 4.32 resolves a contract schema's
relative ``$ref`` against the schema's ``$id`` (``https://ctph.invalid/contracts/...``) and
fetches it with ``requests``; the ``.invalid`` host never answers, but each failed lookup took
0.18 s here (630 of them: two minutes of a Python 3.10 run, where pip picks schemathesis 4.30).
:func:`_serve_contracts_offline` answers those URLs from the files they name, before any test
module loads a schema.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401
import httpx
import pytest

from ctph_harness.posthog.app import CaptureApp
from ctph_harness.posthog.server import FakePostHog

CONTRACTS_URL = "https://ctph.invalid/contracts/"
CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"


def _serve_contracts_offline() -> None:
    """Make ``requests`` answer ``https://ctph.invalid/contracts/<file>`` from ``contracts/``."""
    try:
        import requests
        from requests.adapters import HTTPAdapter
    except ImportError:  # only schemathesis brings requests
        return
    send = HTTPAdapter.send

    def offline(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        url = str(request.url)
        if not url.startswith(CONTRACTS_URL):
            return send(self, request, *args, **kwargs)
        path = CONTRACTS / url[len(CONTRACTS_URL) :]
        response = requests.Response()
        response.url, response.request = url, request
        response.status_code = 200 if path.is_file() else 404
        response._content = path.read_bytes() if path.is_file() else b""
        response.headers["Content-Type"] = "application/json"
        return response

    HTTPAdapter.send = offline  # type: ignore[method-assign]


_serve_contracts_offline()


@pytest.fixture(autouse=True)
def _no_nested_soft_assertions(request: pytest.FixtureRequest) -> None:
    """pytest runs inside a pytester test leave pytest-playwright's soft assertions out.

    Since 0.10 its ``pytest_runtest_call`` wraps every test in Playwright's soft-assertion
    scope, which refuses to nest: each test of an in-process pytester run failed with "nested
    soft assertion scopes are not supported". The hook skips the scope when its module's
    ``_soft_scope`` is None (pytest_playwright/pytest_playwright.py, microsoft/playwright-pytest);
    only tests/test_inspector_ui.py uses Playwright, and it runs no pytest inside itself.
    """
    if "pytester" not in request.fixturenames:
        return
    plugin = sys.modules.get("pytest_playwright.pytest_playwright")
    if plugin is not None:
        request.getfixturevalue("monkeypatch").setattr(plugin, "_soft_scope", None, raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[FakePostHog]:
    """One fake PostHog per test module (a module may define its own ``server``)."""
    with FakePostHog() as fake:
        yield fake


@pytest.fixture
def fake(server: FakePostHog) -> Iterator[FakePostHog]:
    """The module's fake PostHog, empty before and after the test."""
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def app() -> CaptureApp:
    """A fake PostHog's app in this process, for tests that read its state directly."""
    return CaptureApp()


@pytest.fixture
def client(app: CaptureApp) -> Iterator[httpx.Client]:
    """HTTP to :func:`app` without a socket (a module may define its own ``client``)."""
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://posthog") as http:
        yield http


SDK_PACKAGE = Path(__file__).resolve().parent / "sdk" / "package.json"


@pytest.fixture(scope="session")
def sdk_node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``node_modules`` holding posthog-node and posthog-js: ``CTPH_SDK_NODE_MODULES`` when
    set (``tox -e contract-drift`` installs the newest there), else the versions pinned in
    ``tests/sdk/package.json``, installed with npm once per run (xdist workers share the
    folder: each installs into its own and renames it into place, the first one wins). Without
    npm, or when the registry cannot be reached, the tests that need it skip and say why."""
    given = os.environ.get("CTPH_SDK_NODE_MODULES")
    if given:
        return Path(given)
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the JavaScript SDK tests need it (tests/sdk)")
    digest = hashlib.sha256(SDK_PACKAGE.read_bytes()).hexdigest()[:12]
    shared = tmp_path_factory.getbasetemp().parent / f"ctph-sdk-{digest}"
    modules = shared / "node_modules"
    if (modules / "posthog-node").is_dir() and (modules / "posthog-js").is_dir():
        return modules
    work = tmp_path_factory.mktemp("sdk-install")
    shutil.copy(SDK_PACKAGE, work / "package.json")
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", "--no-package-lock"],
            cwd=work,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=240,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install of tests/sdk took over 240 s (is the npm registry reachable?)")
    if done.returncode != 0:
        pytest.skip(f"npm install of tests/sdk failed: {done.stderr.strip()[-300:]}")
    try:
        work.rename(shared)
    except OSError:  # another worker was first: use its copy
        shutil.rmtree(work, ignore_errors=True)
    return modules


def run_posthog_js(
    page_html: str,
    query: dict[str, str],
    folder: Path,
    modules: Path,
    fake: FakePostHog,
    until: Callable[[], bool],
    *,
    deadline: float = 60.0,
) -> None:
    """Open ``page_html`` (which loads posthog-js's ``array.full.js`` from ``modules``) in
    headless chromium with ``query``, and close it once ``until()`` holds and ``fake``'s journal
    has been still for half a second; skips when chromium is missing.

    The page runs in real time and the browser stays open until the fake has what the test
    waits for. Chromium's virtual time (``--virtual-time-budget`` with ``--dump-dom``) ended
    the page before posthog-js's compressed sends left on a loaded machine (1 run in 4 lost
    the events after ``$identify``): a wall-clock budget cannot know when the page is done,
    the fake can."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed: the posthog-js tests need it")
    shutil.copy(modules / "posthog-js" / "dist" / "array.full.js", folder / "array.full.js")
    (folder / "page.html").write_text(page_html)
    handler = functools.partial(_QuietFiles, directory=str(folder))
    pages = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{pages.server_address[1]}/page.html?" + urllib.parse.urlencode(query)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        # keeps the browser open on the page (and its profile apart from other xdist workers')
        "--remote-debugging-port=0",
        f"--user-data-dir={folder / 'chromium-profile'}",
    ]
    log = (folder / "chromium.log").open("wb")
    process = subprocess.Popen(
        [browser, *flags, url], stdin=subprocess.DEVNULL, stdout=log, stderr=log
    )
    try:
        _wait_for_page(process, fake, until, deadline, folder / "chromium.log")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        pages.shutdown()
        pages.server_close()


def _wait_for_page(
    process: subprocess.Popen[bytes],
    fake: FakePostHog,
    until: Callable[[], bool],
    deadline: float,
    log: Path,
) -> None:
    """Poll until ``until()`` holds, then until the journal stops growing (a send still in
    flight when the browser closes would reach the fake cut short)."""
    give_up = time.monotonic() + deadline
    while not until():
        if process.poll() is not None:
            pytest.fail(f"chromium exited ({process.returncode}): {_tail(log)}")
        if time.monotonic() > give_up:
            seen = [f"{e.method} {e.path} -> {e.status}" for e in fake.journal()]
            pytest.fail(f"the page did not finish in {deadline:.0f} s; the fake saw {seen}")
        time.sleep(0.05)
    size, still_since = len(fake.journal()), time.monotonic()
    while time.monotonic() - still_since < 0.5:
        time.sleep(0.05)
        if len(fake.journal()) != size:
            size, still_since = len(fake.journal()), time.monotonic()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace").strip()[-500:]


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
