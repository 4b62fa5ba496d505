"""schemathesis against the fake PostHog, from the contract's own OpenAPI document.

The document is loaded by path (``contracts/capture.openapi.json``), so its relative ``$ref`` to
``schemas/capture-request.json`` and that schema's references to ``request.json`` and
``event.json`` resolve as files, offline. Every operation (POST body, GET ``data``, OPTIONS) is
one pytest item; requests go in-process to a :class:`CaptureApp` (WSGI), ``max_examples`` per
operation and generation mode is bounded and derandomised. Phases: the document's examples and
fuzzing (the coverage phase ignores ``max_examples``). A 404/405 is a PostHog-like answer, but a
handler exception inside the fake fails the item.

Checks, all of them with PostHog's real behaviour as the oracle:

* ``positive_data_acceptance``: a body valid under ``capture-request.json`` gets 2xx. That schema
  states what capture answers 200 (204 with ``beacon=1``) to: request.json's shapes, event.json's
  constraints capture enforces, a project key capture accepts (trimmed, 1-64 bytes, ASCII, no
  NUL, not ``phx_``; research/posthog-capture.md §3) where capture looks for it.
* ``negative_data_rejection``: a body invalid under it gets 4xx. One narrowing, because JSON
  Schema cannot say "these values are equal": in an array of events PostHog needs the set of
  keys the events carry to be exactly one (events without a key are ignored, §3), the schema
  admits only the form SDKs send (the first event carries it, the others none), so an invalid
  array whose events all carry the same valid key, or whose key sits in a later event, is one
  PostHog really accepts: such a 2xx is not held against the server (``_posthog_accepts_array``
  re-states PostHog's rule; anything else about the array is still checked).
  A second, for capture v1 (issue 12): a batch whose events repeat a uuid is refused whole
  (``duplicate_event_uuid``), a rule JSON Schema cannot state either, so that 400 is not held
  against a positive case (``_v1_repeats_a_uuid``). The v1 headers carry patterns that are
  capture's own acceptance rules (a key capture refuses is a 401, which both checks allow).
* ``status_code_conformance``, ``response_schema_conformance``, ``content_type_conformance``:
  every answer is a documented status with the documented body and media type.

Bugs this test found in the fake server (a 500 on a huge ``offset``, Python's ``strip()`` instead
of Rust's ``trim()`` for keys) are fixed and kept as regression tests at the end of the file.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from werkzeug.test import Client

from ctph_harness.posthog.app import CaptureApp
from ctph_harness.posthog.keys import TOKEN_KEYS, token_problem
from ctph_harness.posthog.serde import parse_uuid

schemathesis = pytest.importorskip("schemathesis")
checks = pytest.importorskip("schemathesis.specs.openapi.checks")

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("CTPH_SCHEMATHESIS_EXAMPLES", "25"))
"""Per operation and generation mode (positive, negative); 74 operations. ``tox -e
contract-drift`` raises it (the default keeps the everyday suite quick)."""

OPENAPI = importlib.resources.files("ctph_harness.contracts") / "capture.openapi.json"

# Rust's str::trim strips Unicode White_Space; Python's str.strip also strips U+001C-U+001F.

APP = CaptureApp(journal_size=100)


@schemathesis.serializer("text/plain")
def _text_plain_is_json(ctx: Any, value: Any) -> bytes:
    """A ``text/plain`` capture body is JSON text (posthog-js sends JSON, or gzip, under that
    type). schemathesis before 4.3x writes ``str(value)``, a Python repr PostHog would refuse,
    so the wire form is stated here and every version sends the same bodies."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode("utf-8")


SCHEMA = schemathesis.openapi.from_path(str(OPENAPI))
SCHEMA.app = APP
SCHEMA.config.generation.update(
    modes=["positive", "negative"], max_examples=MAX_EXAMPLES, deterministic=True
)
# The coverage phase ignores max_examples (it enumerates every boundary the schema has); the
# bounded phases are the document's examples and hypothesis fuzzing.
SCHEMA.config.phases.update(phases=["examples", "fuzzing"])

CHECKS = [
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
    checks.status_code_conformance,
    checks.response_schema_conformance,
    checks.content_type_conformance,
]


def _payload(case: Any) -> Any:
    """The request JSON: the POST body, or the GET ``data`` parameter."""
    if case.method.upper() == "GET":
        data = (case.query or {}).get("data")
        if isinstance(data, str):
            try:
                return json.loads(data)
            except ValueError:
                return data
        return data
    return case.body


def _undo_double_encoding(case: Any) -> None:
    """schemathesis 4.32's examples phase JSON-encodes an ``application/json`` query parameter
    that is already JSON text, so GET ``data`` arrives as a JSON string holding the payload.
    Seen only in that phase and only for a string that decodes to a string; undone there."""
    if case.meta is None or case.meta.phase.name.lower() != "examples" or not case.query:
        return
    data = case.query.get("data")
    if isinstance(data, str):
        try:
            inner = json.loads(data)
        except ValueError:
            return
        if isinstance(inner, str):
            case.query["data"] = inner


def _events(payload: Any) -> Iterator[Any]:
    if isinstance(payload, list):
        yield from payload
    elif isinstance(payload, dict):
        batch = payload.get("batch")
        yield from batch if isinstance(batch, list) else [payload]


def _posthog_accepts_array(payload: Any) -> bool:
    """PostHog's array key rule (utils.rs extract_and_verify_token): the keys the events carry
    (top-level token/$token/api_key, else a string properties.token) form exactly one value,
    and that value passes validate_token."""
    if not isinstance(payload, list):
        return False
    present: set[str] = set()
    for event in payload:
        if not isinstance(event, dict):
            return False
        key = next((event[k] for k in TOKEN_KEYS if event.get(k) is not None), None)
        props = event.get("properties")
        if key is None and isinstance(props, dict) and isinstance(props.get("token"), str):
            key = props["token"]
        if key is not None:
            if not isinstance(key, str):
                return False
            present.add(key)
    return len(present) == 1 and token_problem(present.pop()) is None


def _v1_repeats_a_uuid(case: Any, payload: Any) -> bool:
    """capture v1 refuses a batch whose events repeat a uuid (``v1/analytics/process.rs``,
    ``duplicate_event_uuid``); JSON Schema cannot say "these fields differ" (``uniqueItems``
    compares whole events), so the schema admits such a batch and its 400 is PostHog's answer."""
    if not case.path.startswith("/i/v1/") or not isinstance(payload, dict):
        return False
    batch = payload.get("batch")
    if not isinstance(batch, list):
        return False
    seen = [
        parse_uuid(e["uuid"].strip())  # the same uuid in another of Uuid::parse_str's forms
        for e in batch
        if isinstance(e, dict) and isinstance(e.get("uuid"), str)
    ]
    return len(seen) != len(set(seen))


@SCHEMA.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_capture_api_conforms(case: Any) -> None:
    _undo_double_encoding(case)
    payload = _payload(case)
    response = case.call()
    try:
        excluded = []
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        if negative and response.status_code < 300 and _posthog_accepts_array(payload):
            excluded.append(checks.negative_data_rejection)
        if not negative and response.status_code == 400 and _v1_repeats_a_uuid(case, payload):
            excluded.append(checks.positive_data_acceptance)
        case.validate_response(response, checks=[c for c in CHECKS if c not in excluded])
        errors = [p.describe() for p in APP.problems() if p.kind == "error"]
        assert errors == [], "the fake server raised:\n" + "\n".join(errors)
    finally:
        APP.reset()


# --- regressions: bugs this test found in the fake server, now fixed ------------------------


def _post(body: Any) -> tuple[int, str]:
    response = Client(CaptureApp()).post(
        "/i/v0/e/", data=json.dumps(body), content_type="application/json"
    )
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("offset", "status"), [(2**62, 200), (-(2**62), 200), (2**63, 400), (-(2**63) - 1, 400)]
)
def test_huge_offset_is_accepted_or_refused_like_an_i64(offset: int, status: int) -> None:
    """`offset` is an i64: in range it only moves the computed time (a year outside 0-9999
    becomes the epoch), beyond it serde refuses the request. It once answered 500."""
    assert (
        _post({"event": "e", "distinct_id": "u", "token": "phc_k", "offset": offset})[0] == status
    )


@pytest.mark.parametrize("key", ["\x1f", "\x1e\x1c", "\x1fphx_k"])
def test_key_is_trimmed_like_rusts_str_trim(key: str) -> None:
    """token.rs trims Unicode White_Space only; Python's str.strip also removes U+001C-U+001F,
    which once made the fake refuse keys PostHog accepts."""
    assert _post({"event": "e", "distinct_id": "u", "token": key}) == (200, '{"status":"Ok"}')
