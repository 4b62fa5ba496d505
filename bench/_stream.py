"""The inspector's live stream (``/_ctph/stream``) as the benchmarks read it: a plain SSE client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx


def stream_messages(url: str, opened: threading.Event | None = None) -> Iterator[dict[str, Any]]:
    """Each ``data:`` message of the stream at ``url``, decoded, until the caller stops
    iterating (the connection closes with the generator); ``opened`` is set once it answered."""
    with httpx.Client(timeout=60) as client, client.stream("GET", url) as answer:
        if opened is not None:
            opened.set()
        for line in answer.iter_lines():
            if line.startswith("data: "):
                yield json.loads(line[6:])
