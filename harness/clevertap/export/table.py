"""CSV exports. Placeholder until the reader lands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .records import OnProblem, Problem, Record

__all__ = ["read_csv"]


def read_csv(stream: BinaryIO, source: str, on_problem: OnProblem) -> Iterator[Record]:
    on_problem(Problem(source, None, None, "CSV is not read yet"))
    return iter(())
