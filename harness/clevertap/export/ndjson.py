"""NDJSON exports: one record a line, read line by line in bounded memory.

A bad line costs that record only: a line that is not JSON, not an object, not UTF-8 or longer
than :data:`MAX_LINE_BYTES` is a :class:`~.records.Problem` and reading goes on with the next
one. Blank lines are skipped. The record number is the line number, so a problem points at a
line an editor can jump to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO, Final

from .records import OnProblem, Problem, Record, record_from
from .wording import json_error

__all__ = ["MAX_LINE_BYTES", "read_ndjson", "read_ndjson_raw"]

MAX_LINE_BYTES: Final = 64 << 20
"""The longest line read. A CleverTap profile is a few KB (256 custom properties, values of at
most 512 characters, lists of at most 100); a record with 10,000 keys is well under this. A
longer line is skipped (in pieces, never held whole) rather than filling memory."""

_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""The C scanner under :func:`json.loads`, called directly: a line starting with ``{`` skips
``loads``' type checks and leading-whitespace pass, which is measurable at 200,000 lines."""


def read_ndjson(stream: BinaryIO, source: str, on_problem: OnProblem) -> Iterator[Record]:
    for _, number, data in read_ndjson_raw(stream, source, on_problem):
        record = record_from(source, number, data, on_problem)
        if record is not None:
            yield record


def read_ndjson_raw(
    stream: BinaryIO, source: str, on_problem: OnProblem
) -> Iterator[tuple[str, int, object]]:
    """``(source, line number, decoded object)`` for each line that is a JSON object, not
    normalised (``ctph infer`` normalises by column: ``columns``); bad lines are problems."""
    readline = stream.readline
    number = 0
    while True:
        line = readline(MAX_LINE_BYTES)
        if not line:
            return
        number += 1
        if len(line) == MAX_LINE_BYTES and line[-1:] != b"\n":
            while line and line[-1:] != b"\n":
                line = readline(MAX_LINE_BYTES)
            on_problem(
                Problem(
                    source, number, None, f"line longer than {MAX_LINE_BYTES >> 20} MB, skipped"
                )
            )
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            on_problem(
                Problem(
                    source, number, None, f"not valid UTF-8 (at byte {error.start + 1} of the line)"
                )
            )
            continue
        data: object
        try:
            if text[:1] == "{":
                data, end = _scan(text, 0)
                if end != len(text) and not text[end:].isspace():
                    raise ValueError
            elif text.isspace():
                continue
            else:
                data = json.loads(text)
        except (ValueError, StopIteration, RecursionError):
            on_problem(Problem(source, number, None, _why(text)))
            continue
        if type(data) is dict:
            yield source, number, data
        else:
            record_from(source, number, data, on_problem)  # the problem: not an object


def _why(text: str) -> str:
    """What is wrong with a line the fast path refused, worded from the error's kind only."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        if not text.endswith("\n"):
            return "not valid JSON: the line is cut off (the file ends inside a record)"
        return f"not valid JSON: {json_error(error)}"
    except ValueError:  # int() refuses over 4,300 digits (sys.get_int_max_str_digits)
        return "a number too long to read"
    except RecursionError:
        return "not valid JSON"
    return "not valid JSON"  # pragma: no cover - the fast path refused it, so loads does too
