"""``ctph verify``: the runner of many templates, each delivered to a fake PostHog.

The run finds the templates, gives each the settings nearest to it, reads it, and hands it to
the pure per-template pipeline (:func:`ctph_harness.engine.verify_template`) together with a
delivery hook. It owns the fake servers' lifetimes and gathers the results into one
:class:`~ctph_harness.reports.model.RunReport`.

Two properties make ``--jobs N`` give the serial run's report byte for byte:

- the fake PostHog is *reset* after every template (events, persons, warnings, journal), so
  each template meets it as it was made and what a template is told (CTPH301's stored counts
  and ingestion warnings) never depends on which templates ran before it in the same process;
- results are taken back in template order, whatever order the workers finish in.

Results stream: each template's result is reduced to its :class:`ItemReport` (findings, one
example body) as soon as it is judged, and the fake forgets the template's events before the
next, so a run's memory does not grow with the number of templates times profiles. With
``jobs > 1`` at most a few templates per worker are in flight ahead of the one being reported.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ConfigFinder, HarnessConfig
from .delivery import delivering
from .engine import verify_template
from .errors import HarnessError, UsageError
from .files import STDIN, find_files, read_bytes
from .reports.model import ItemReport, RunReport

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .posthog.server import FakePostHog

__all__ = ["WorkerDied", "jobs_from", "verify"]

AHEAD = 4
"""Templates queued per worker beyond the one it runs: enough that no worker waits for the
next task, few enough that results waiting for an earlier, slower template stay a handful."""


class WorkerDied(HarnessError):
    """A ``--jobs`` worker process ended without answering (killed, out of memory, crashed)."""

    exit_code = 3


@dataclass(frozen=True)
class _Task:
    """One template to judge: what a worker process needs, all of it picklable."""

    path: str
    settings: HarnessConfig
    source: bytes | None = None
    """The template itself when the run read it already (standard input: a worker process
    cannot read the parent's)."""


def jobs_from(text: str) -> int:
    """``--jobs`` as given: a whole number from 1, or ``auto`` (the cores this process may
    use)."""
    if text.strip().lower() == "auto":
        return _cores()
    try:
        jobs = int(text)
    except ValueError:
        raise UsageError(f"--jobs {text!r}: a whole number from 1, or auto") from None
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be 1 (serial) or more")
    return jobs


def _cores() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def verify(
    paths: Iterable[str],
    config: HarnessConfig | ConfigFinder,
    *,
    deliver: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    jobs: int = 1,
    start_method: str | None = None,
) -> RunReport:
    """``ctph verify``: every template under ``paths``, delivered to a fake PostHog, one report.

    ``config`` is one configuration for every template, or a :class:`ConfigFinder` that gives
    each template the settings nearest to it. ``progress(done, total, path)`` is called after
    each template, in template order. ``jobs > 1`` judges templates in that many worker
    processes (each with its own fake PostHog; ``start_method`` overrides the
    :mod:`multiprocessing` start method, see :func:`_start_method`); the report is the same as
    the serial one's."""
    paths = list(paths)
    finder = config if isinstance(config, ConfigFinder) else None
    run = finder.near(_start(paths)) if finder is not None else config
    assert isinstance(run, HarnessConfig)
    now = datetime.now(timezone.utc)
    templates = find_files(paths, run.templates, "templates")
    tasks = (
        _Task(
            str(path),
            finder.template(path) if finder is not None else run.for_file(path),
            read_bytes(path) if path is STDIN else None,
        )
        for path in templates
    )
    if jobs > 1 and len(templates) > 1:
        workers = min(jobs, len(templates))
        results = _parallel(tasks, workers, deliver, now, start_method or _start_method())
    else:
        results = _serial(tasks, deliver, now)
    items = []
    for done, item in enumerate(results, 1):
        items.append(item)
        if progress is not None:
            progress(done, len(templates), item.path)
    return RunReport(tuple(items), kind="templates", seed=run.seed, strict=run.strict)


def _start(paths: Sequence[str]) -> Path:
    first = Path(paths[0]) if paths else Path.cwd()
    return first if first.is_dir() else first.parent


class _Judge:
    """Judges templates one after another against one fake PostHog (made here, reset after
    every template, stopped by :meth:`close`): the serial run, and each worker process."""

    def __init__(self, deliver: bool) -> None:
        self.deliver = deliver
        self.server: FakePostHog | None = None
        if deliver:
            from .posthog.server import FakePostHog

            self.server = FakePostHog()

    def __call__(self, task: _Task, now: datetime) -> ItemReport:
        try:
            with delivering(enabled=self.deliver, server=self.server) as make:
                result = verify_template(
                    task.source if task.source is not None else read_bytes(Path(task.path)),
                    task.path,
                    task.settings,
                    now=now,
                    deliver=make(task.settings),
                )
        finally:  # after, not before: a fake made with faults (a test's) keeps them for one
            if self.server is not None:
                self.server.reset()
        return result.item(strict=task.settings.strict)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def _serial(tasks: Iterable[_Task], deliver: bool, now: datetime) -> Iterator[ItemReport]:
    judge = _Judge(deliver)
    try:
        for task in tasks:
            yield judge(task, now)
    finally:
        judge.close()


# -- worker processes ---------------------------------------------------------------------------
# Module-level functions and picklable arguments only, so any start method works (spawn
# re-imports this module in each worker; nothing here runs at import).

_WORKER: list[_Judge] = []
"""This worker process's judge (empty in the parent)."""


def _start_worker(deliver: bool) -> None:
    """Worker initializer: its own fake PostHog, stopped when the worker exits. Ctrl-C reaches
    every process of the terminal's group: a worker then ends quietly (no traceback of its own)
    and the parent alone says ``ctph: interrupted``."""
    from multiprocessing.util import Finalize

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    judge = _Judge(deliver)
    _WORKER.append(judge)
    Finalize(judge, judge.close, exitpriority=10)


def _judge_in_worker(task: _Task, now: datetime) -> ItemReport:
    return _WORKER[0](task, now)


def _start_method() -> str:
    """``fork`` on Linux when this process has no other thread (workers start in
    milliseconds, with everything already imported); ``spawn`` otherwise (macOS, Windows, and
    a multi-threaded parent, where fork may copy a lock another thread holds)."""
    if sys.platform.startswith("linux") and _os_threads() == 1:
        return "fork"
    return "spawn"


def _os_threads() -> int:
    """Threads of this process as the OS counts them (``os.fork`` warns, and may deadlock,
    when there is more than one, including threads ``threading`` does not know about)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _parallel(
    tasks: Iterable[_Task], jobs: int, deliver: bool, now: datetime, method: str
) -> Iterator[ItemReport]:
    """The tasks' results in task order, judged by ``jobs`` worker processes. A worker that
    dies is a :class:`WorkerDied`; on any exception (Ctrl-C included) queued templates are
    cancelled and the pool is left without waiting. (multiprocessing and the pool are imported
    here: a serial run, the common case, does not pay for them.)"""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(deliver,),
    )
    pending: deque[tuple[str, Future[ItemReport]]] = deque()
    oldest = ""  # the first template not yet answered: the dead worker held it or a later one
    try:
        try:
            for task in tasks:
                oldest = pending[0][0] if pending else task.path
                pending.append((task.path, pool.submit(_judge_in_worker, task, now)))
                if len(pending) >= jobs * (1 + AHEAD):
                    oldest, future = pending.popleft()
                    yield future.result()
            while pending:
                oldest, future = pending.popleft()
                yield future.result()
        except BrokenProcessPool:
            # raised by result() for the template a dead worker held, and by submit() once
            # the pool has noticed a death before any result was asked for
            raise WorkerDied(
                f"a --jobs worker process ended without answering while {oldest} or a template "
                "after it was being verified (killed, out of memory, or crashed); run with "
                "--jobs 1 to see which template it was"
            ) from None
    except WorkerDied:
        # the workers are gone, so joining is quick; a pool left running would race the
        # interpreter's exit (concurrent.futures' atexit wakeup then wrote to a closed pipe
        # and printed a traceback after ctph's own error line)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    except BaseException:  # Ctrl-C and the like: leave at once
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
