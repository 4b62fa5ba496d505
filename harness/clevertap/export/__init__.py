"""Reading CleverTap profile data for ``ctph infer``: export files and the Profiles API.

Everything here yields :class:`Record` s of normalised values and reports bad input as
:class:`Problem` s that name a position, never a value: the PII-safety of ``infer`` starts with
its readers. Files are read streaming, in bounded memory, whatever their size.

Modules, each importing only the ones before it: ``records`` (the vocabulary), ``wording``
(error phrases that quote nothing), ``opening`` (gzip, BOM, format by content), ``ndjson``,
``document`` (JSON arrays and API pages, streamed), ``table`` (CSV), ``reading``
(:func:`read_records`), ``progress`` (a terminal progress line), ``api`` (:func:`pull_records`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .progress import TerminalProgress, progress_for
from .reading import Raw, read_raw, read_records
from .records import MAX_PROPERTIES, Date, OnProblem, Problem, Progress, Record, Value

if TYPE_CHECKING:
    from .api import PullOptions, pull_records

__all__ = [
    "MAX_PROPERTIES",
    "Date",
    "OnProblem",
    "Problem",
    "Progress",
    "PullOptions",
    "Raw",
    "Record",
    "TerminalProgress",
    "Value",
    "progress_for",
    "pull_records",
    "read_raw",
    "read_records",
]

_LAZY = {
    "PullOptions": "api",
    "pull_records": "api",
}


def __getattr__(name: str) -> Any:
    """The API pull (httpx) loads on first use only: reading files does not need it."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
