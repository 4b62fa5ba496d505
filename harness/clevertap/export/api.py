"""Pulling profiles from CleverTap's Profiles API. Interface only; the client lands next."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .records import OnProblem, Progress, Record

__all__ = ["PullOptions", "pull_records"]


@dataclass(frozen=True, slots=True)
class PullOptions:
    account_id: str
    passcode: str = field(repr=False)
    event: str = "App Launched"
    days: int = 30
    region: str | None = None
    api_url: str | None = None
    batch_size: int = 5000
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def pull_records(
    options: PullOptions,
    on_problem: OnProblem,
    *,
    limit: int = 10_000,
    progress: Progress | None = None,
) -> Iterator[Record]:
    raise NotImplementedError
    yield  # pragma: no cover
