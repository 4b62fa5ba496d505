"""serde_json's limits, which PostHog's capture answers 400 and Python's ``json`` does not: nesting
(128 levels), numbers out of ``f64`` range, integers too long for Python's ``int``.

``posthog/serde.py`` is the one reader of the checker and the fake server, so each case is held to
one answer: the fake's over real loopback HTTP, the checker's prediction and ``ctph check``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest

from ctph_harness.cli import main
from ctph_harness.posthog.checker import check
from ctph_harness.posthog.serde import MAX_DEPTH, NotSerdeJson, read
from ctph_harness.posthog.server import FakePostHog

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
OK = (200, '{"status":"Ok"}')


def event(value: str) -> str:
    """A capture body whose ``properties.value`` is the raw JSON text ``value``."""
    head = json.dumps({"event": "Signed Up", "api_key": KEY, "distinct_id": "u-42"})
    return head[:-1] + ', "properties": {"value": ' + value + "}}"


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


# properties and the event are 2 levels, so the value may nest MAX_DEPTH - 3 more
CASES = [
    ("deepest serde reads", event(nested(MAX_DEPTH - 3)), OK),
    ("one level deeper", event(nested(MAX_DEPTH - 2)), (400, "failed to parse request: recursion limit exceeded")),
    ("brackets inside a string", event(json.dumps("[" * 500)), OK),
    ("u64 max", event(str(2**64 - 1)), OK),
    ("past u64: read as f64", event(str(2**64)), OK),
    ("309 digits", event("9" * 309), (400, "failed to parse request: number out of range")),
    ("5,000 digits", event("1" * 5000), (400, "failed to parse request: number out of range")),
    ("negative 400 digits", event("-" + "1" * 400), (400, "failed to parse request: number out of range")),
]  # fmt: skip


@pytest.mark.parametrize(("text", "answer"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fake_checker_and_ctph_check_agree(
    fake: FakePostHog, tmp_path: Path, text: str, answer: tuple[int, str]
) -> None:
    reply = httpx.post(fake.url + "/i/v0/e/", content=text.encode())
    assert (reply.status_code, reply.text) == answer
    predicted = {f.rejection for f in check(text) if f.rejection}
    assert predicted == (set() if answer == OK else {answer})
    payload = tmp_path / "body.json"
    payload.write_text(text, "utf-8")
    out = io.StringIO()
    assert main(["check", "--format", "json", str(payload)], out=out) == (0 if answer == OK else 1)
    # the server keeps answering, and its journal can still be read
    assert httpx.get(fake.url + "/_ctph/requests").status_code == 200
    assert fake.event_count() == (1 if answer == OK else 0)


def test_an_integer_past_u64_is_stored_as_the_float_serde_makes_of_it(fake: FakePostHog) -> None:
    httpx.post(fake.url + "/i/v0/e/", content=event(str(2**64)).encode())
    (stored,) = fake.events()
    assert stored.properties["value"] == float(2**64)
    assert isinstance(stored.properties["value"], float)


def test_deep_text_is_refused_before_python_recurses() -> None:
    with pytest.raises(NotSerdeJson, match="recursion limit exceeded"):
        read("[" * 1_000_000)
    with pytest.raises(NotSerdeJson, match="recursion limit exceeded"):
        read('{"a":' * 200_000)
