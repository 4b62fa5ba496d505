"""JSON documents (arrays, API pages), streamed. Placeholder until the scanner lands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .records import OnProblem, Problem, Record

__all__ = ["read_document"]


def read_document(stream: BinaryIO, source: str, on_problem: OnProblem) -> Iterator[Record]:
    on_problem(Problem(source, None, None, "JSON documents are not read yet"))
    return iter(())
