"""Inferred declarations as TOML, and their merge into a settings file.

tomlkit (python-poetry/tomlkit) keeps a document's comments, order and formatting through a
parse-edit-dump round trip, which ``tomllib`` cannot: a user's hand-written ``ctph.toml`` stays
theirs. An inferred entry carries the comment :data:`MARK`, so a later run can tell it from a
hand-written one: a hand-written declaration is never touched; an inferred one is updated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import tomlkit
from tomlkit.items import InlineTable, Table

from ...errors import UsageError
from .declare import Inference

__all__ = ["COMPLETE_KEY", "MARK", "Change", "merge", "render"]

MARK: Final = "inferred by ctph infer"
COMPLETE_KEY: Final = "properties_complete"
"""The setting that says ``[properties]`` lists every property the account has."""

Action = Literal["added", "updated", "kept", "unchanged"]


@dataclass(frozen=True)
class Change:
    """What a merge did with one property (``kept``: a hand-written declaration won)."""

    name: str
    action: Action


def _inline(table: Mapping[str, Any]) -> InlineTable:
    item = tomlkit.inline_table()
    for key, value in table.items():
        item[key] = list(value) if isinstance(value, (list, tuple)) else value
    return item


def render(inference: Inference) -> str:
    """The ``[properties]`` table for ``inference`` as a TOML document (what stdout shows)."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"{MARK}: {inference.profiles} profiles read"))
    table = tomlkit.table()
    for declaration in inference.declarations:
        table[declaration.name] = _inline(declaration.table)
    doc["properties"] = table
    return tomlkit.dumps(doc)


def _is_inferred(item: Any) -> bool:
    trivia = getattr(item, "trivia", None)
    return MARK in (getattr(trivia, "comment", "") or "")


def merge(text: str, inference: Inference, *, pyproject: bool = False) -> tuple[str, list[Change]]:
    """``text`` (a ``ctph.toml``, or a ``pyproject.toml`` with ``pyproject``) with the inferred
    declarations merged into its ``[properties]`` and :data:`COMPLETE_KEY` set, plus what
    changed, by property name in the inference's order."""
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # tomlkit's errors say line and column, never the text
        raise UsageError(f"not valid TOML: {type(exc).__name__}") from None
    root: Any = doc
    if pyproject:
        tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
        if not isinstance(tool, (Table, InlineTable)):  # `tool = 1`: no .setdefault
            raise UsageError("`tool` is not a table")
        root = tool.setdefault("ctph", tomlkit.table())
    if not isinstance(root, (Table, tomlkit.TOMLDocument)):
        raise UsageError(
            "`tool.ctph` is not a table" if pyproject else "the settings are not a table"
        )
    if root.get(COMPLETE_KEY) is not True:
        root[COMPLETE_KEY] = True  # tomlkit places a plain key before the sub-tables
    props = root.get("properties")
    if props is None:
        props = tomlkit.table()
        root["properties"] = props
    if not isinstance(props, (Table, InlineTable)):
        raise UsageError("`properties` is not a table")
    changes: list[Change] = []
    for declaration in inference.declarations:
        new = _inline(declaration.table)
        new.comment(MARK)
        old = props.get(declaration.name)
        if old is None:
            props[declaration.name] = new
            changes.append(Change(declaration.name, "added"))
        elif not _is_inferred(old):
            changes.append(Change(declaration.name, "kept"))
        elif _plain(old) == _plain(new):
            changes.append(Change(declaration.name, "unchanged"))
        else:
            props[declaration.name] = new
            changes.append(Change(declaration.name, "updated"))
    return tomlkit.dumps(doc), changes


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item
