"""Shared helpers for the benchmarks: timing by best-of-N and a plain-text table.

Benchmarks report ratios against a baseline measured in the same run, so that a slow or busy
machine moves both numbers together; absolute times are printed for context only.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Sequence


def best_of(func: Callable[[], object], *, number: int, repeat: int = 7) -> float:
    """Seconds per call: the minimum over ``repeat`` runs of ``number`` calls (least noise)."""
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
