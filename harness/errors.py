"""The harness's own exceptions.

Everything a user can trigger (a bad path, a bad config value, an unreadable file) is a
:class:`HarnessError` whose message says where and why, and which knows the CLI exit code it
maps to, so the CLI never needs a table of exception types::

    HarnessError (exit 2)
     +-- UsageError        bad arguments or config values
     +-- InputError        a file that cannot be read or decoded
"""

from __future__ import annotations

__all__ = ["HarnessError", "InputError", "UsageError"]


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""

    exit_code = 2


class UsageError(HarnessError):
    """The user asked for something the harness cannot do (unknown code, bad option)."""


class InputError(HarnessError):
    """A template, payload or profile file cannot be read or decoded."""
