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
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401
import pytest

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


SDK_PACKAGE = Path(__file__).resolve().parent / "sdk" / "package.json"

BROWSER_OPT_IN = (
    "posthog-js in headless chromium runs when CTPH_SDK_NODE_MODULES is set (tox -e "
    "contract-drift sets it): on a loaded machine chromium's virtual time can end before "
    "posthog-js's compressed sends leave, so it is not part of the everyday suite yet"
)


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


def run_posthog_js(page_html: str, query: dict[str, str], folder: Path) -> None:
    """Open ``page_html`` (which loads ``array.full.js``) in headless chromium with ``query``,
    and return once the browser has exited; skips when chromium or posthog-js is missing.
    Virtual time runs the page's timers without waiting for them and holds while requests are
    in flight, so what the page sent has landed when the browser exits."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed: the posthog-js tests need it")
    modules = os.environ.get("CTPH_SDK_NODE_MODULES")
    if not modules:
        pytest.skip(BROWSER_OPT_IN)
    shutil.copy(Path(modules) / "posthog-js" / "dist" / "array.full.js", folder / "array.full.js")
    (folder / "page.html").write_text(page_html)
    handler = functools.partial(_QuietFiles, directory=str(folder))
    pages = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{pages.server_address[1]}/page.html?"
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]
        subprocess.run(
            [browser, *flags, "--dump-dom", url + urllib.parse.urlencode(query)],
            capture_output=True,
            timeout=90,
            check=True,
        )
    finally:
        pages.shutdown()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
