"""Access to the data under ``contracts/`` (shipped as ``ctph_harness.contracts``).

Everything the checker, the fake server, the docs and the CLI know about PostHog's capture
contract is read from here, once per process, so that no module keeps a second copy of a rule.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["capture_paths", "facts", "limit", "load", "merge_events", "openapi", "schema_resources"]

_PACKAGE = "ctph_harness.contracts"


def load(name: str) -> Any:
    """Parse one JSON file of the contracts package (e.g. ``"schemas/event.json"``)."""
    node = resources.files(_PACKAGE)
    for part in name.split("/"):
        node = node.joinpath(part)
    return json.loads(node.read_text("utf-8"))


@cache
def schema_resources() -> dict[str, dict[str, Any]]:
    """Every JSON Schema under ``schemas/``, keyed by its ``$id``."""
    folder = resources.files(_PACKAGE).joinpath("schemas")
    out: dict[str, dict[str, Any]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            schema = json.loads(entry.read_text("utf-8"))
            out[schema["$id"]] = schema
    return out


@cache
def facts() -> dict[str, Any]:
    """PostHog constants shared by checker and server (limits, illegal ids, paths)."""
    data: dict[str, Any] = load("posthog.json")
    return data


@cache
def limit(name: str) -> int:
    """One of PostHog's numeric limits (``facts()["limits"][name]``), looked up once: the
    checker and the fake server read several per request."""
    return int(facts()["limits"][name])


@cache
def capture_paths() -> frozenset[str]:
    """Every path capture answers events on (``/i/v0/e``, ``/batch`` ...), with and without the
    trailing slash: what the fake server routes and what a webhook URL must end in."""
    paths = facts()["capture_paths"]
    bases = [*paths["event"], *paths["batch"]]
    return frozenset([*bases, *(path + "/" for path in bases)])


@cache
def merge_events() -> frozenset[str]:
    """The events that merge two persons (``$identify``, ``$create_alias``,
    ``$merge_dangerously``)."""
    return frozenset(facts()["merge_events"])


@cache
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the capture endpoints."""
    data: dict[str, Any] = load("capture.openapi.json")
    return data
