"""Excerpts that show a finding in context: the template line with a caret, and the rendered
payload around a JSON pointer. Pure text functions, shared by the pytest failure output and
the reports."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["payload_excerpt", "template_excerpt"]


def template_excerpt(source: str, line: int, column: int | None, *, context: int = 1) -> str:
    """The template lines around ``line`` (1-based) with a caret under ``column`` (1-based)."""
    lines = source.splitlines() or [""]
    if not 1 <= line <= len(lines):
        return ""
    first, last = max(1, line - context), min(len(lines), line + context)
    width = len(str(last))
    out = []
    for number in range(first, last + 1):
        text = lines[number - 1]
        out.append(f"{number:>{width}} | {_clip(text, column if number == line else None)}")
        if number == line and column is not None:
            offset = min(column - 1, 80) if len(text) > 100 else column - 1
            out.append(f"{'':>{width}} | {' ' * max(offset, 0)}^")
    return "\n".join(out)


def _clip(text: str, column: int | None, limit: int = 100) -> str:
    if len(text) <= limit:
        return text
    if column is None or column <= 80:
        return text[:limit] + "…"
    start = column - 80
    return "…" + text[start : start + limit] + "…"


def _pretty(doc: Any) -> tuple[list[str], dict[str, int]]:
    """``json.dumps(doc, indent=2)`` as lines, plus the line where each pointer's value sits."""
    lines: list[str] = []
    where: dict[str, int] = {}

    def emit(value: Any, pointer: str, indent: int, prefix: str, suffix: str) -> None:
        pad = "  " * indent
        where[pointer] = len(lines)
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{prefix}{{")
            items = list(value.items())
            for i, (key, item) in enumerate(items):
                escaped = str(key).replace("~", "~0").replace("/", "~1")
                comma = "," if i < len(items) - 1 else ""
                emit(item, f"{pointer}/{escaped}", indent + 1, json.dumps(key) + ": ", comma)
            lines.append(f"{pad}}}{suffix}")
        elif isinstance(value, list) and value:
            lines.append(f"{pad}{prefix}[")
            for i, item in enumerate(value):
                emit(item, f"{pointer}/{i}", indent + 1, "", "," if i < len(value) - 1 else "")
            lines.append(f"{pad}]{suffix}")
        else:
            lines.append(f"{pad}{prefix}{json.dumps(value, ensure_ascii=False)}{suffix}")

    emit(doc, "", 0, "", "")
    return lines, where


def payload_excerpt(body: str, pointer: str, *, context: int = 3) -> str:
    """The rendered body around ``pointer``, pretty-printed, the pointed line marked with ``>``.

    A body that is not JSON is shown raw (its first lines), since there is no structure to
    point into; a pointer to a missing key marks the closest existing parent."""
    try:
        doc = json.loads(body)
    except ValueError:
        raw = body.splitlines()[: 2 * context + 1]
        return "\n".join(f"  {_clip(line, None)}" for line in raw)
    lines, where = _pretty(doc)
    target = pointer
    while target not in where and target:
        target = target.rsplit("/", 1)[0]
    index = where.get(target, 0)
    first, last = max(0, index - context), min(len(lines), index + context + 1)
    return "\n".join(
        f"{'>' if i == index else ' '} {_clip(lines[i], None)}" for i in range(first, last)
    )
