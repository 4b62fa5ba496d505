"""JSON v1: the machine-readable report (the shape README documents, ``"version": 1``)."""

from __future__ import annotations

import json

from ..redact import printable
from .model import RunReport

__all__ = ["to_json"]


def to_json(report: RunReport) -> str:
    return printable(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)) + "\n"
