"""``ctph serve``: the fake PostHog in the foreground, for SDKs and manual poking.

It prints the base URL an SDK takes as ``host`` and the inspection endpoints, then serves
until Ctrl-C (or until ``stop`` is set, which is how tests drive it). It refuses to bind a
non-loopback interface unless told to: the fake accepts any request from anyone.

The feature flags it starts with come from the settings file's ``[flags]`` table (read by
:mod:`ctph_harness.config`, which already refused a definition the fake cannot evaluate);
``POST /_ctph/reset`` returns to them, ``POST /_ctph/flags`` replaces them until then.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, TextIO

from ..errors import UsageError

__all__ = ["INSPECTION_ROUTES", "serve"]

INSPECTION_ROUTES = (
    ("GET", "/_ctph/ui/", "the inspector: live events, requests, persons (a browser page)"),
    ("GET", "/_ctph/stream", "the journal as Server-Sent Events (?since=N)"),
    ("GET", "/_ctph/events", "stored events (?event=&distinct_id=&person=&status=&q=&wait=...)"),
    ("GET", "/_ctph/counts", "accepted events, refused requests, warnings"),
    ("GET", "/_ctph/persons", "persons after merges"),
    ("GET", "/_ctph/groups", "groups from $groupidentify"),
    ("GET", "/_ctph/warnings", "ingestion warnings"),
    ("GET", "/_ctph/recordings", "session replay snapshots from /s/ (?session_id=ID)"),
    ("GET", "/_ctph/requests", "the request journal (keys redacted); /_ctph/requests/N: one"),
    ("GET", "/_ctph/flags", "the feature flags /flags evaluates (POST to replace them)"),
    ("POST", "/_ctph/reset", "forget everything, back to the start flags"),
)


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    out: TextIO | None = None,
    *,
    stop: threading.Event | None = None,
    flags: Mapping[str, Any] | None = None,
    flags_source: str | None = None,
    open_browser: bool = False,
) -> int:
    """Run the fake PostHog until Ctrl-C or ``stop``; returns the exit code (0).

    ``port=0`` picks a free port; the URL printed first is the one to use. ``flags`` are the
    start flags (``{key: definition}``, :func:`.flags.parse_flags`), ``flags_source`` the file
    they came from, named in the refusal of one the fake cannot evaluate. The first line
    printed is the inspector's URL (issue 16); ``open_browser`` also opens it with
    :func:`webbrowser.open`.
    """
    import sys

    from .server import FakePostHog, is_loopback

    stream = out if out is not None else sys.stdout
    if not allow_remote and not is_loopback(host):
        raise UsageError(
            f"refusing to listen on {host}: the fake PostHog has no authentication; "
            "use a loopback address or pass --allow-remote"
        )
    try:
        server = FakePostHog(host=host, port=port, allow_remote=allow_remote, flags=flags)
    except ValueError as exc:  # parse_flags names the flag and the problem
        raise UsageError(f"{flags_source or 'flags'}: `flags`: {exc}") from None
    try:
        server.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    inspector = f"{server.url}/_ctph/ui/"
    print(f"ctph inspector: {inspector}", file=stream)
    print(f"fake PostHog listening on {server.url}", file=stream)
    print(f"  capture: POST {server.url}/i/v0/e/ , {server.url}/batch/ , ...", file=stream)
    if flags:
        print(f"  flags: {', '.join(flags)} (from {flags_source or 'the caller'})", file=stream)
    for method, route, what in INSPECTION_ROUTES:
        print(f"  {method:<4} {server.url}{route}  {what}", file=stream)
    print("Ctrl-C to stop.", file=stream, flush=True)
    if open_browser:
        import webbrowser

        if not webbrowser.open(inspector):
            print(f"could not open a browser; open {inspector} yourself", file=stream, flush=True)
    waiter = stop if stop is not None else threading.Event()
    try:
        while not waiter.wait(0.2):
            pass
    except KeyboardInterrupt:
        print("stopped.", file=stream)
    finally:
        server.stop()
    return 0
