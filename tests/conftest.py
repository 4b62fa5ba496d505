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
