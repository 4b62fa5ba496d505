"""CSV exports: a header row of property names, then one profile a row, streamed.

Cells are typed by their shape, as CleverTap's own CSV upload does: empty is missing, ``12`` an
integer (``007`` stays text: a leading zero is an id, not a number), ``1.5`` a float,
``true``/``false`` a boolean, ``$D_<epoch>`` a date, ``["a", "b"]`` a multi-value list. A
column whose header carries a date format, ``Signup <dd/MM/yyyy HH:MM:SS>`` (CleverTap's
upload CSV, developer.clevertap.com/docs/csv-upload), is a date column named ``Signup``; its
cells are read with that format as UTC. Quoted cells may hold newlines (the ``csv`` module
joins the lines); a row the ``csv`` module refuses, or with more cells than the header, is a
problem and reading goes on. The record number is the data row's (the header not counted).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import BinaryIO, Final

from .ndjson import MAX_LINE_BYTES
from .records import (
    _DATE_PREFIX,
    OUT_OF_RANGE,
    Date,
    OnProblem,
    Problem,
    Record,
    Value,
    _date,
    in_range,
)

__all__ = ["date_format", "read_csv"]

_DATED: Final = re.compile(r"(.*?)\s*<([^<>]+)>\s*")
_INT: Final = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT: Final = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_TOKENS: Final = re.compile(r"yyyy|yy|MM|dd|HH|hh|mm|ss|SS|a|[A-Za-z]+|[^A-Za-z]+")
_SIMPLE: Final = {
    "yyyy": "%Y",
    "yy": "%y",
    "dd": "%d",
    "HH": "%H",
    "hh": "%I",
    "mm": "%M",
    "ss": "%S",
    "SS": "%S",
    "a": "%p",
}


def date_format(pattern: str) -> str | None:
    """The ``strptime`` format for a CleverTap/Java date pattern, or ``None`` when it holds
    something else. ``MM`` is the month, except right after ``HH:``/``hh:`` where CleverTap's
    documented ``HH:MM:SS`` means minutes."""
    out: list[str] = []
    previous = ""
    for token in _TOKENS.findall(pattern):
        if token == "MM":
            out.append("%M" if previous.endswith(("HH:", "hh:")) else "%m")
        elif token in _SIMPLE:
            out.append(_SIMPLE[token])
        elif token.isalpha():
            return None
        else:
            out.append(token.replace("%", "%%"))
        previous += token
    return "".join(out) if out else None


def _cell(text: str) -> Value:
    if not text:
        return None
    first = text[0]
    if first.isdigit() or first == "-":
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            return float(text)
        return text
    if first in "tTfF":
        lowered = text.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        return text
    if first == "$":  # the API's date spelling, read by the one rule every reader uses
        return (_date(text) or text) if text.startswith(_DATE_PREFIX) else text
    if first == "[" and text[-1] == "]":
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):
            return text
        if isinstance(items, list) and all(type(item) is str for item in items):
            return items
    return text


def _lines(stream: BinaryIO, source: str, on_problem: OnProblem, row: list[int]) -> Iterator[str]:
    """Decoded lines for ``csv.reader``; invalid UTF-8 is replaced and reported for the row
    being read, an overlong line is cut (the ``csv`` module then refuses the row)."""
    readline = stream.readline
    while True:
        line = readline(MAX_LINE_BYTES)
        if not line:
            return
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            on_problem(
                Problem(source, row[0] + 1, None, "not valid UTF-8; the bad bytes were replaced")
            )
            yield line.decode("utf-8", "replace")


_VALUE_LIKE: Final = re.compile(r"[-+0-9\s().,/:]*[0-9][-+0-9\s().,/:]*|\$D_.*|true|false|\[.*\]")
"""A header cell no CleverTap property name looks like: a number, phone, card or date (digits
and punctuation only, no letter), a ``$D_`` date, a boolean or a multi-value list."""


def _value_like(cell: str) -> bool:
    text = cell.strip()
    return "@" in text or _VALUE_LIKE.fullmatch(text.lower()) is not None


def _not_a_header(cells: list[str]) -> int | None:
    """The 1-based column of the first cell that looks like a value, not a property name, or
    None. A CSV without a header row would otherwise have its first profile's values (emails,
    phones, names) taken as property names and printed: a leak. Names may hold spaces
    (``Customer Type``), so a cell is refused by its shape only, never for its spaces."""
    for index, cell in enumerate(cells):
        if _value_like(cell):
            return index + 1
    return None


def _header(
    cells: list[str], source: str, on_problem: OnProblem
) -> list[tuple[str, str | None] | None]:
    """Per column: (property name, date format or None), or None for a column left out."""
    columns: list[tuple[str, str | None] | None] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        name, fmt = cell.strip(), None
        dated = _DATED.fullmatch(name)
        if dated:
            name = dated.group(1)
            fmt = date_format(dated.group(2))
            if fmt is None:
                on_problem(
                    Problem(
                        source,
                        None,
                        name,
                        "the date format in its header is not understood; "
                        "its cells are read by shape",
                    )
                )
        if not name or name in seen:
            what = "an empty column name" if not name else "a second column of the same name"
            on_problem(
                Problem(source, None, name or None, f"{what} (column {index + 1}); left out")
            )
            columns.append(None)
            continue
        seen.add(name)
        columns.append((name, fmt))
    return columns


def read_csv(stream: BinaryIO, source: str, on_problem: OnProblem) -> Iterator[Record]:
    row = [0]
    reader = csv.reader(_lines(stream, source, on_problem, row), strict=False)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        on_problem(Problem(source, None, None, "the header row cannot be read"))
        return
    bad = _not_a_header(header)
    if bad is not None:
        on_problem(
            Problem(
                source, None, None, f"the first row does not look like a header row (cell {bad})"
            )
        )
        return
    columns = _header(header, source, on_problem)
    width = len(columns)
    while True:
        number = row[0] + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            row[0] = number
            # csv's messages name only its own dialect characters, but are not passed on
            on_problem(Problem(source, number, None, "not a valid CSV row; skipped"))
            continue
        if not cells:
            continue  # a blank line
        row[0] = number
        if len(cells) > width:
            on_problem(
                Problem(
                    source,
                    number,
                    None,
                    f"has {len(cells)} cells, the header {width}; the extra cells are left out",
                )
            )
        properties: dict[str, Value] = {}
        for column, text in zip(columns, cells, strict=False):
            if column is None:
                continue
            name, fmt = column
            if fmt is not None and text:
                try:
                    moment = datetime.strptime(text.strip(), fmt).replace(tzinfo=timezone.utc)
                except ValueError:
                    on_problem(
                        Problem(source, number, name, "not a date in the header's format; left out")
                    )
                    continue
                properties[name] = Date(int(moment.timestamp()))
            else:
                value = _cell(text)
                if type(value) is float and not in_range(value):  # 1.0e999 is infinity
                    on_problem(Problem(source, number, name, f"{OUT_OF_RANGE}; left out"))
                    continue
                properties[name] = value
        yield Record(source, number, properties)
