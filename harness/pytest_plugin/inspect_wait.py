"""``pytest --ctph-inspect``: after the run, keep the session's fake PostHog up so a failing
campaign's deliveries can be looked at in the inspector, until Enter or Ctrl-C.

It never waits where nobody can answer: when stdin is not a terminal (a pipe, ``/dev/null``,
a CI runner) or the ``CI`` environment variable is set, it prints one line saying why and
returns at once, so ``--ctph-inspect`` left in an addopts line cannot hang a pipeline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Protocol, TextIO

__all__ = ["keep_open"]


class _Input(Protocol):
    def isatty(self) -> bool: ...

    def readline(self) -> str: ...


def keep_open(url: str, stdin: _Input | None, env: Mapping[str, str], out: TextIO) -> bool:
    """Wait for Enter (or Ctrl-C, or end of input) with ``url`` printed; ``False`` (and a
    line saying why) when it does not wait."""
    if env.get("CI"):
        print(f"ctph inspector: not waiting (CI is set); it was at {url}", file=out, flush=True)
        return False
    if stdin is None or not _is_tty(stdin):
        print(
            f"ctph inspector: not waiting (stdin is not a terminal); it was at {url}",
            file=out,
            flush=True,
        )
        return False
    print(f"ctph inspector: {url} is still up; press Enter or Ctrl-C to stop", file=out, flush=True)
    with contextlib.suppress(KeyboardInterrupt, EOFError, OSError):
        stdin.readline()
    return True


def _is_tty(stream: _Input) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError):  # a closed or detached stream
        return False
