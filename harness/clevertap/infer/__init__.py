"""``ctph infer``: learn an account's ``[properties]`` from its profile data, copying none of it.

Pure functions over records (the readers in :mod:`..export` do the I/O): ``shapes`` (what a
value's shape says), ``accumulate`` (one pass, bounded per-property counters), ``declare`` (the
rules of issue 17: type, always, enum under the k rule, id patterns, ranges rounded outward,
personal data by kind) and ``tomlfile`` (the declarations as TOML, and their merge into a settings
file with tomlkit, which is imported only here, so ``ctph verify`` never loads it).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..export.reading import Raw
from ..export.records import OnProblem, Record
from ..profiles.guess import STANDARD_FIELDS
from .accumulate import Accumulator
from .declare import DEFAULT_K, Declaration, Inference, declare

__all__ = ["DEFAULT_K", "Declaration", "Inference", "infer", "infer_read"]

_STANDARD = frozenset(STANDARD_FIELDS)
_STANDARD_BY_LOWER = {name.lower(): name for name in STANDARD_FIELDS}
"""System fields as templates spell them, by any case (``email`` is ``Email``)."""


def infer(records: Iterable[Mapping[str, Any]], *, k: int = DEFAULT_K) -> Inference:
    """Declarations for the properties of ``records`` (each a record's ``properties``).

    CleverTap's system fields are matched case-insensitively (``email`` is ``Email``), the way
    templates address them; every other name is kept as written."""
    acc = Accumulator(_STANDARD_BY_LOWER, counted=_STANDARD)
    acc.add_all(records)
    return declare(acc, k=k, standard=_STANDARD)


def infer_read(
    items: Iterable[Record | Raw], on_problem: OnProblem, *, k: int = DEFAULT_K
) -> Inference:
    """:func:`infer` over what :func:`~..export.read_raw` yields: the same declarations as
    ``infer(r.properties for r in read_records(...))``, faster (NDJSON values are normalised
    by column); bad values of NDJSON records go to ``on_problem`` as the batch is folded."""
    acc = Accumulator(_STANDARD_BY_LOWER, counted=_STANDARD)
    with _no_cycle_collection():
        acc.add_read(items, on_problem)
    return declare(acc, k=k, standard=_STANDARD)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Reading an export allocates millions of containers (each decoded record's dict and
    lists) that reference counting alone frees, since decoded JSON holds no cycles; the cyclic
    collector, woken every few hundred allocations, would only traverse them and the
    accumulator's growing tables again and again (6-7 % of ``ctph infer``'s time, measured
    with bench/bench_infer.py). It is switched off for the pass and back on after, as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
