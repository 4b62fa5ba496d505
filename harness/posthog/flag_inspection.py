"""``/_ctph/flags``: read and set the fake's feature flags over HTTP, for ``ctph serve`` users
and SDK tests in other languages. ``GET`` answers the definitions (PostHog's flag JSON, in
order); ``POST`` a JSON object ``{key: definition}`` (see :func:`.flags.parse_flags`) replaces
them all and answers the new definitions; a definition the fake cannot evaluate answers 400
saying why, and changes nothing. ``POST /_ctph/reset`` puts back the flags the server started
with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .answer import JSON, TEXT, Answer
from .exchange import Incoming, UnreadableBody
from .flags import Flag
from .serde import read
from .serialise import dumps

__all__ = ["FlagHolder", "flag_route"]

_MAX_BODY = 1024 * 1024


class FlagHolder(Protocol):
    """What the route reads and writes (:class:`.app.CaptureApp` provides it)."""

    def flag_definitions(self) -> tuple[Flag, ...]: ...

    def set_flags(self, flags: Mapping[str, Any]) -> tuple[Flag, ...]: ...


def flag_route(state: FlagHolder, incoming: Incoming) -> Answer:
    """Answer ``GET``/``POST /_ctph/flags``; other methods are problems (405)."""
    if incoming.method == "GET":
        return _listing(state.flag_definitions())
    if incoming.method != "POST":
        return Answer(405, "", kind="unexpected")
    try:
        raw = incoming.body(_MAX_BODY)
    except UnreadableBody:
        return Answer(400, "ctph: the request body could not be read", TEXT, kind="inspect")
    if len(raw) > _MAX_BODY:
        return Answer(413, f"ctph: flag definitions over {_MAX_BODY} bytes", TEXT, kind="inspect")
    try:
        spec = read((raw or b"{}").decode("utf-8"))
    except ValueError as exc:
        return Answer(400, f"ctph: the body is not JSON: {exc}", TEXT, kind="inspect")
    if not isinstance(spec, dict):
        return Answer(400, "ctph: send a JSON object {flag key: definition}", TEXT, kind="inspect")
    try:
        flags = state.set_flags(spec)
    except ValueError as exc:
        return Answer(400, f"ctph: {exc}", TEXT, kind="inspect")
    return _listing(flags)


def _listing(flags: tuple[Flag, ...]) -> Answer:
    return Answer(200, dumps([flag.to_dict() for flag in flags]), JSON, kind="inspect")
