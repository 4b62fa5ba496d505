"""``--ctph-shard i/n``: this CI job's share of the campaign templates.

Templates are dealt round-robin by their index in report order (path by path component, the
order :func:`~ctph_harness.reports.rebuild.path_order` gives): template k goes to shard
``k % n + 1``. By index rather than by a hash of the path because a CI matrix wants shards of
equal size (a hash deals 50 templates into 3 shards of anything from about 12 to 22), and
every job of one matrix run sees the same files, so the index is as stable as a hash where it
matters; round-robin rather than in blocks so a folder of heavy templates is spread over the
shards. Only campaign items are dealt out: hand-written tests run in every shard.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pytest

__all__ = ["Shard", "parse_shard", "select_shard"]

_Campaign = TypeVar("_Campaign", bound=pytest.Item)


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"2/3"`` -> ``Shard(2, 3)``; anything else is argparse's (pytest's) usage error."""
    left, slash, right = text.partition("/")
    try:
        index, count = int(left), int(right)
    except ValueError:
        index = count = 0
    if not slash or not 1 <= index <= count:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a shard: give i/n with 1 <= i <= n, e.g. 2/3"
        )
    return Shard(index, count)


def select_shard(
    items: list[pytest.Item],
    campaigns: Sequence[_Campaign],
    shard: Shard,
    config: pytest.Config,
    path: Callable[[_Campaign], str],
) -> None:
    """Keep, in ``items`` (in place), this shard's ``campaigns`` and every other test; the
    rest are reported as deselected, as ``-k`` does. ``path`` is a campaign's report path."""
    from ..reports.rebuild import path_order

    ordered = sorted(campaigns, key=lambda item: (path_order(path(item)), item.name))
    others = {id(item) for k, item in enumerate(ordered) if k % shard.count != shard.index - 1}
    if not others:
        return
    config.hook.pytest_deselected(items=[item for item in items if id(item) in others])
    items[:] = [item for item in items if id(item) not in others]
