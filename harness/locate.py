"""Where in a template each JSON key is written: a payload finding's JSON pointer as a line.

The checker finds problems in the *rendered* body and names them by JSON pointer. A reviewer
(and a pull-request annotation, a SARIF viewer) needs the template line instead. A CleverTap
Custom Body is JSON with Liquid holes, so the template itself, with every Liquid tag blanked and
every output replaced by a same-length placeholder, still reads as JSON: its keys, scanned in
place, give each pointer the offset where the template spells it. Offsets never move, so line and
column are the template's own.

What cannot be read this way (a key produced by Liquid, an array element from a ``for`` loop)
falls back to the nearest enclosing key that is written literally; a pointer with nothing
literal above it keeps no line. Where ``if`` branches spell the same key twice, the first
spelling is the one shown.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import replace

from .findings import Finding
from .schemas import json_pointer

__all__ = ["LineIndex", "key_offsets", "located"]


class LineIndex:
    """Offset -> (line, column), both 1-based, in O(log n) (liquid's ``Span.line_col`` is O(n))."""

    __slots__ = ("_starts",)

    def __init__(self, source: str) -> None:
        self._starts = [0, *(m.end() for m in re.finditer("\n", source))]

    def position(self, index: int) -> tuple[int, int]:
        """1-based line and column of ``index`` in the source."""
        line = bisect.bisect_right(self._starts, index) - 1
        return line + 1, index - self._starts[line] + 1


_COMMENT_OPEN = re.compile(r"{%-?\s*comment\s*-?%}")
_COMMENT_CLOSE = re.compile(r"{%-?\s*endcomment\s*-?%}")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _blank(text: str, start: int, end: int, fill: str) -> str:
    return re.sub(r"[^\n]", fill, text[start:end])


def _blanked(source: str) -> str:
    """The template with Liquid removed in place: tags and comments become spaces, outputs a
    run of ``0`` (a number where a value stands, text inside a string).

    One pass with ``str.find``, so the time is linear in the source whatever it holds (a
    regex like ``{{.*?}}`` rescans to the end for every unclosed ``{{``: minutes for a few
    hundred kilobytes of them)."""
    out: list[str] = []
    i = 0
    while True:
        opening = source.find("{", i)
        while opening != -1 and source[opening + 1 : opening + 2] not in ("{", "%"):
            opening = source.find("{", opening + 1)
        if opening == -1:
            break
        out.append(source[i:opening])
        if source[opening + 1] == "{":
            close = source.find("}}", opening + 2)
            end, fill = (close + 2, "0") if close != -1 else (-1, "0")
        else:
            close = source.find("%}", opening + 2)
            end, fill = (close + 2, " ") if close != -1 else (-1, " ")
            comment = _COMMENT_OPEN.match(source, opening)
            if comment is not None:
                closing = _COMMENT_CLOSE.search(source, comment.end())
                end = closing.end() if closing is not None else -1
        if end == -1:  # never closed: the rest is Liquid too
            out.append(_blank(source, opening, len(source), fill))
            return "".join(out)
        out.append(_blank(source, opening, end, fill))
        i = end
    out.append(source[i:])
    return "".join(out)


def _string(text: str, start: int) -> tuple[str, int]:
    """The JSON string opening at ``start``, decoded leniently, and the offset after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out), i


def key_offsets(source: str, *, liquid: bool = True) -> dict[str, int]:
    """Pointer -> offset of the first place the template writes it (a key, or the start of a
    literal array element). ``liquid=False`` reads ``source`` as plain JSON (a payload file,
    where ``{{`` is just text)."""
    text = _blanked(source) if liquid else source
    offsets: dict[str, int] = {}
    # each open container: [pointer, is_object, array index, pending key's pointer]
    stack: list[list[object]] = []
    i = 0
    while i < len(text):
        char = text[i]
        top = stack[-1] if stack else None
        if char in " \t\r\n:":
            i += 1
            continue
        if char == ",":
            if top is not None and not top[1]:
                top[2] = int(top[2]) + 1  # type: ignore[call-overload]
            elif top is not None:
                top[3] = None
            i += 1
            continue
        if char in "}]":
            if stack:
                stack.pop()
            i += 1
            continue
        here = _value_pointer(top, offsets, i)
        if char == '"':
            value, end = _string(text, i)
            if top is not None and top[1] and top[3] is None:
                key = f"{top[0]}{json_pointer([value])}"
                top[3] = key
                offsets.setdefault(key, i)
            i = end
            continue
        if char in "{[":
            stack.append([here if here is not None else "", char == "{", 0, None])
            i += 1
            continue
        while i < len(text) and text[i] not in ' \t\r\n,:}]{["':
            i += 1
    return offsets


def _value_pointer(top: list[object] | None, offsets: dict[str, int], at: int) -> str | None:
    """The pointer of a value starting at ``at`` in ``top`` (recording array elements)."""
    if top is None:
        return None
    if top[1]:
        return top[3] if isinstance(top[3], str) else None
    pointer = f"{top[0]}/{top[2]}"
    offsets.setdefault(pointer, at)
    return pointer


def _offset(pointer: str, offsets: dict[str, int]) -> int | None:
    while pointer:
        if pointer in offsets:
            return offsets[pointer]
        pointer = pointer.rsplit("/", 1)[0]
    return None


def located(
    findings: Iterable[Finding],
    source: str,
    *,
    liquid: bool = True,
    index: LineIndex | None = None,
) -> list[Finding]:
    """``findings`` with a template line and column wherever only the JSON pointer was known
    (``liquid=False``: ``source`` is a rendered payload, not a template)."""
    out = list(findings)
    if not any(f.line is None and f.pointer for f in out):
        return out
    offsets = key_offsets(source, liquid=liquid)
    lines = index or LineIndex(source)
    for n, found in enumerate(out):
        if found.line is not None or not found.pointer:
            continue
        offset = _offset(found.pointer, offsets)
        if offset is not None:
            line, column = lines.position(offset)
            out[n] = replace(found, line=line, column=column)
    return out
