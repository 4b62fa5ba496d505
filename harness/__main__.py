"""``python -m ctph_harness``: the ``ctph`` command, for environments where the console script
is not on ``PATH`` (a venv not activated, ``pipx run``, a CI step that names the interpreter).

It is the same :func:`ctph_harness.cli.main`, and its exit code (0 pass, 1 findings, 2 usage,
3 internal error) is the process's.
"""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
