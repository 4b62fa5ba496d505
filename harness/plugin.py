"""pytest plugin entry point (``pytest -p ctph_harness``).

A switchboard only: it registers options here; collection, fixtures and reporting arrive with the
plugin issue. Top-level imports are stdlib and pytest only, so loading the plugin costs nothing.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ctph", "ctph-harness (CleverTap -> PostHog campaigns)")
    group.addoption("--ctph-profiles", type=int, default=None, help="profiles per template")
    group.addoption("--ctph-seed", type=int, default=None, help="seed for profile generation")
    group.addoption("--ctph-strict", action="store_true", default=None, help="warnings fail")
