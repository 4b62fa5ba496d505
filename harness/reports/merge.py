"""``ctph merge-reports``: the JSON reports of several shards read back as one run's report.

A CI matrix runs one shard per job (``pytest -p ctph_harness --ctph-shard i/n --ctph-report
shard-i.json``); a last job merges the shard reports. Each shard report is JSON v1, read back
through :mod:`.rebuild`; the merged items are put in report order (:func:`.rebuild.path_order`,
the order one unsharded run lists them in) and the summary is counted again, so the merged
report is the unsharded run's. Shards that disagree on the seed, or that both judged one
template, are an error rather than a report that quietly means something else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..errors import InputError
from .model import ItemReport, RunReport
from .rebuild import item_from_dict, path_order

__all__ = ["MAX_REPORT_BYTES", "merge_reports"]

MAX_REPORT_BYTES: Final = 1024 * 1024 * 1024
"""The largest shard report read (about 200,000 templates' worth)."""

_KINDS: Final = ("templates", "payloads")


def merge_reports(reports: Iterable[tuple[str, bytes]], *, strict: bool = False) -> RunReport:
    """One report from ``(name, JSON v1 bytes)`` pairs; ``strict`` is what the merged report
    says about warnings (JSON does not carry it; the items' verdicts already do)."""
    items: list[ItemReport] = []
    owner: dict[str, str] = {}
    seeds: dict[int | None, str] = {}
    kinds: dict[str, str] = {}
    for name, raw in reports:
        data = _document(name, raw)
        kind = next(k for k in _KINDS if k in data)
        kinds.setdefault(kind, name)
        seeds.setdefault(data.get("seed"), name)
        for entry in data[kind]:
            item = _item(name, entry)
            if item.path in owner:
                raise InputError(
                    f"{item.path} is in both {owner[item.path]} and {name}: shards must not "
                    "overlap (same --ctph-shard n in every job, each i once)"
                )
            owner[item.path] = name
            items.append(item)
    if len(kinds) > 1:
        raise InputError("cannot merge a report of templates with one of payload files")
    if len(seeds) > 1:
        shown = ", ".join(f"{seed} ({name})" for seed, name in seeds.items())
        raise InputError(f"the reports were made with different seeds: {shown}")
    items.sort(key=lambda item: path_order(item.path))
    return RunReport(
        tuple(items),
        kind=next(iter(kinds), "templates"),
        seed=next(iter(seeds), None),
        strict=strict,
    )


def _document(name: str, raw: bytes) -> Mapping[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        raise InputError(f"report {name} is not UTF-8 (byte {exc.start})") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"report {name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise InputError(f'report {name} is not a ctph JSON report (no "version": 1)')
    kinds = [k for k in _KINDS if isinstance(data.get(k), list)]
    if len(kinds) != 1:
        raise InputError(f"report {name} has no list of templates (or of payloads)")
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise InputError(f"report {name}: seed {seed!r} is not a whole number")
    return data


def _item(name: str, entry: Any) -> ItemReport:
    try:
        if not isinstance(entry, dict):
            raise TypeError("not an object")
        return item_from_dict(entry)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        shown = entry.get("path", "?") if isinstance(entry, dict) else "?"
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        message = f"report {name}: entry {shown!r} is not a report entry ({detail})"
        raise InputError(message) from None
