"""``ctph verify``: the runner of many templates around one fake PostHog.

The run finds the templates, gives each the settings nearest to it, reads it, and hands it to
the pure per-template pipeline (:func:`ctph_harness.engine.verify_template`) together with a
delivery hook; it owns the fake server's lifetime (started once for the run, stopped at its end)
and gathers the results into one :class:`~ctph_harness.reports.model.RunReport`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from .config import ConfigFinder, HarnessConfig
from .delivery import delivering
from .engine import verify_template
from .files import find_files, read_bytes
from .reports.model import RunReport

__all__ = ["verify"]


def verify(
    paths: Iterable[str],
    config: HarnessConfig | ConfigFinder,
    *,
    deliver: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> RunReport:
    """``ctph verify``: every template under ``paths``, delivered to a fake PostHog, one report.

    ``config`` is one configuration for every template, or a :class:`ConfigFinder` that gives
    each template the settings nearest to it. ``progress(done, total, path)`` is called after
    each template."""
    paths = list(paths)
    finder = config if isinstance(config, ConfigFinder) else None
    run = finder.near(_start(paths)) if finder is not None else config
    assert isinstance(run, HarnessConfig)
    now = datetime.now(timezone.utc)
    items = []
    templates = find_files(paths, run.templates, "templates")
    with delivering(enabled=deliver) as make:
        for done, path in enumerate(templates, 1):
            settings = finder.template(path) if finder is not None else run.for_file(path)
            result = verify_template(
                read_bytes(path), str(path), settings, now=now, deliver=make(settings)
            )
            items.append(result.item(strict=settings.strict))
            if progress is not None:
                progress(done, len(templates), str(path))
    return RunReport(tuple(items), kind="templates", seed=run.seed, strict=run.strict)


def _start(paths: Sequence[str]) -> Path:
    first = Path(paths[0]) if paths else Path.cwd()
    return first if first.is_dir() else first.parent
