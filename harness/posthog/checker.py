"""How PostHog's capture service will treat a payload, as findings.

:func:`check` judges one request body; :func:`check_many` judges the bodies one template rendered
for many profiles (the rules no single payload can decide). Both are pure.

Hard rules (PostHog rejects or drops) come from the JSON Schemas in ``contracts/schemas``: each
constraint carries an ``x-ctph`` annotation with its finding code, message and, where capture
refuses the request, the exact ``(status, body)``. A valid payload costs one Rust-side
``is_valid`` call; the annotated error walk runs only when something fails. Silent degradations
(unknown keys, stringly numbers, zone-less timestamps) are lints below, because PostHog accepts
them and the schema must stay exactly what PostHog accepts (the fake server and schemathesis use
it too).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from functools import cache
from typing import Any, NamedTuple

from ..contract import limit as contract_limit
from ..contract import merge_events, schema_resources
from ..findings import Finding, Severity, finding
from ..redact import PERSONAL_KEY, redact, redact_text
from ..schemas import AnnotatedSchema, json_pointer, json_type, short_value
from . import keys
from .answer import BAD_UTF8, INVALID_KEY, MIXED_KEYS, NO_EVENT, NO_KEY, NO_VARIANT, NOT_ENGAGE
from .ids import as_text, is_illegal, raw_distinct_id
from .memos import request_memo
from .serde import (
    BATCH_FIELDS,
    BATCH_TOKEN_KEYS,
    ENGAGE_FIELDS,
    EVENT_FIELDS,
    PERFORMANCE_EVENT,
    NotSerdeJson,
    read,
    repeated_field,
    variant,
)
from .timestamps import future_tolerance, read_timestamp

__all__ = [
    "DEFAULT_ENDPOINT",
    "Checked",
    "check",
    "check_many",
    "check_text",
    "event_items",
    "event_refusals",
    "refusals",
    "size_bound",
]

DEFAULT_ENDPOINT = "/i/v0/e/"
_ADVICE_SCHEMA = "https://ctph.invalid/contracts/schemas/advice.json"
_CAPTURE_SCHEMA = "https://ctph.invalid/contracts/schemas/event.json"
_UTC = timezone.utc
_BATCH_TOKENS = frozenset(BATCH_TOKEN_KEYS)  # without one, capture reads a single event
_BATCH_KEYS = frozenset(name for names in BATCH_FIELDS for name in names)


# --------------------------------------------------------------------------- schema side


@cache
def _annotated(schema_id: str) -> AnnotatedSchema:
    """One contract schema, dereferenced, as an annotated validator."""
    import jsonschema_rs

    resources = schema_resources()
    registry = jsonschema_rs.Registry(list(resources.items()))
    schema = jsonschema_rs.dereference(resources[schema_id], registry=registry, base_uri=schema_id)
    return AnnotatedSchema(schema, fallback="CTPH131")


@cache
def _contract() -> AnnotatedSchema:
    """``advice.json``: PostHog's contract plus its silent degradations (the checker's)."""
    return _annotated(_ADVICE_SCHEMA)


# --------------------------------------------------------------------------- request shape


def _events(doc: Any, endpoint: str) -> tuple[list[tuple[str, Any]], Any, list[Finding]]:
    """Split a body into ``(pointer, event)`` pairs the way capture's RawRequest does.

    Returns the batch-level token too (``None`` when the body is not a batch object)."""
    if type(doc) is dict and "event" in doc and "batch" not in doc:
        return [("", doc)], None, []  # the common case: one named event
    problems: list[Finding] = _repeated_fields(doc, endpoint)
    if isinstance(doc, list):
        if not doc:
            problems.append(
                finding(
                    "CTPH131",
                    "the request is an empty list: it holds no event",
                    rejection=(400, NO_EVENT),
                )
            )
        return [(f"/{i}", e) for i, e in enumerate(doc)], None, problems
    if isinstance(doc, dict) and isinstance(doc.get("batch"), list) and _BATCH_TOKENS & doc.keys():
        batch = doc["batch"]
        if not batch:
            problems.append(
                finding(
                    "CTPH131",
                    "`batch` is empty: the request holds no event",
                    pointer="/batch",
                    rejection=(400, NO_EVENT),
                )
            )
        if "token" in doc and "api_key" in doc:
            problems.append(
                finding(
                    "CTPH133",
                    "the batch has both `token` and `api_key`",
                    rejection=(400, NO_VARIANT),
                )
            )
        key = "token" if "token" in doc else "api_key"
        token = (f"/{key}", doc[key]) if doc.get(key) is not None else None
        unknown = sorted(set(doc) - _BATCH_KEYS)
        for key in unknown:
            problems.append(
                finding(
                    "CTPH132",
                    f"unknown batch key {key!r}: PostHog ignores it",
                    pointer=json_pointer([key]),
                )
            )
        return [(f"/batch/{i}", e) for i, e in enumerate(batch)], token, problems
    if isinstance(doc, dict) and "event" not in doc and endpoint.startswith("/engage"):
        doc = {**doc, "event": "$identify"}  # capture names nameless /engage bodies
    return [("", doc)], None, problems


def _repeated_fields(doc: Any, endpoint: str) -> list[Finding]:
    """CTPH133 for a field given twice in one object (two ``{% if %}`` where ``{% elsif %}`` was
    meant): Python keeps the last value, but capture's derived structs refuse the object, so
    serde tries the next body shape (:func:`.serde.variant`) and usually finds none. Only the
    struct levels count: ``properties`` and ``$set`` are maps, which keep the last value."""
    if isinstance(doc, list):
        structs = [(f"/{i}", item, EVENT_FIELDS) for i, item in enumerate(doc)]
    elif not isinstance(doc, dict):
        return []
    elif isinstance(doc.get("batch"), list) and _BATCH_TOKENS & doc.keys():
        structs = [("", doc, BATCH_FIELDS)]
        structs += [(f"/batch/{i}", item, EVENT_FIELDS) for i, item in enumerate(doc["batch"])]
    else:
        structs = [("", doc, EVENT_FIELDS if "event" in doc else ENGAGE_FIELDS)]
    # a field and its alias (token + api_key) are event.json's CTPH133; this is the literal kind
    repeated = [(prefix, name) for prefix, obj, fields in structs
                if (name := repeated_field(obj, fields)) is not None]  # fmt: skip
    if not repeated:
        return []
    if variant(doc) is None:
        effect, rejection = "answers 400", (400, NO_VARIANT)
    elif not endpoint.startswith("/engage"):
        effect, rejection = "sees a nameless /engage update and answers 400", (400, NOT_ENGAGE)
    else:
        effect, rejection = "reads the body as a nameless /engage update ($identify)", None
    return [
        finding(
            "CTPH133",
            f"`{name}` is given twice in one object: PostHog's JSON parser (serde) refuses a "
            f"repeated field, so PostHog {effect}",
            pointer=prefix + json_pointer([name]),
            rejection=rejection,
        )
        for prefix, name in repeated
    ]


def event_items(doc: Any, endpoint: str = DEFAULT_ENDPOINT) -> list[tuple[str, Any]]:
    """The ``(JSON pointer, event)`` pairs of a body, split the way capture splits it."""
    return _events(doc, endpoint)[0]


# --------------------------------------------------------------------------- keys


def _key_findings(
    events: Sequence[tuple[str, Any]], batch_token: tuple[str, Any] | None, project_key: str | None
) -> Sequence[Finding]:
    """CTPH101-105 on the one token capture resolves for the request (see keys.py)."""
    if batch_token is None and len(events) == 1 and isinstance(events[0][1], dict):
        found = keys.event_token(events[0][1])  # the common case: one event, one key
        if found is not None:
            pointer = events[0][0] + found[0]
            return _token_findings(pointer, found[1], project_key) if type(found[1]) is str else ()
    tokens: list[tuple[str, Any]] = []
    if batch_token is not None:
        tokens.append(batch_token)
    else:
        for prefix, event in events:
            found = keys.event_token(event) if isinstance(event, dict) else None
            if found is not None:
                tokens.append((prefix + found[0], found[1]))
    if not tokens:
        if not events:
            return ()
        return (
            finding(
                "CTPH101",
                'no project key: add "api_key" (or token) with your project API key',
                pointer="/api_key",
                rejection=(401, NO_KEY),
            ),
        )
    pointer, token = tokens[0]
    verdict = _token_findings(pointer, token, project_key) if type(token) is str else ()
    if len(tokens) == 1:
        return verdict
    distinct = {t for _, t in tokens if isinstance(t, str)}
    if len(distinct) < 2:
        return verdict
    shown = ", ".join(sorted(redact(t) for t in distinct))
    mixed = finding(
        "CTPH105",
        f"one request carries {len(distinct)} different keys ({shown})",
        rejection=(401, MIXED_KEYS),
    )
    return (mixed, *verdict)


@request_memo(maxsize=1024)
def _token_findings(pointer: str, token: str, project_key: str | None) -> tuple[Finding, ...]:
    """The verdict on one key. Memoised: a campaign renders the same key for every profile."""
    shown = redact(token)
    problem = keys.token_problem(token)
    if problem == "personal_api_key":
        return (
            finding(
                "CTPH103",
                f"the key {shown} is a personal API key: a leaked secret, and PostHog answers 401",
                pointer=pointer,
                rejection=(401, INVALID_KEY.format("personal_api_key")),
            ),
        )
    if problem is not None:
        return (
            finding(
                "CTPH104",
                f"the key {shown or '(empty)'} is not a valid key: {problem.replace('_', ' ')}",
                pointer=pointer,
                rejection=(401, INVALID_KEY.format(problem)),
            ),
        )
    if keys.is_placeholder(token):
        return (
            finding(
                "CTPH102",
                f"the key {short_value(token, 40)} is a placeholder, not a project API key",
                pointer=pointer,
            ),
        )
    if project_key is not None and keys.trimmed(token) != keys.trimmed(project_key):
        return (
            finding(
                "CTPH105",
                f"the key {shown} is not the configured project key {redact(project_key)}",
                pointer=pointer,
            ),
        )
    return ()


# --------------------------------------------------------------------------- lints


def _merge_ids(event: dict[str, Any], name: Any) -> list[tuple[str, str, str]]:
    """``(pointer, id, label)`` of the other ids a merge event names ($anon_distinct_id, alias)."""
    props = event.get("properties")
    if not isinstance(name, str) or name not in merge_events() or not isinstance(props, dict):
        return []
    if name == "$identify":
        anon = props.get("$anon_distinct_id")
        return (
            [("/properties/$anon_distinct_id", anon, "$anon_distinct_id")]
            if isinstance(anon, str)
            else []
        )
    alias = props.get("alias")
    return [] if alias is None else [("/properties/alias", as_text(alias), "alias")]


def _idjson_pointer(event: dict[str, Any]) -> str:
    for key in ("distinct_id", "$distinct_id"):
        if event.get(key) is not None:
            return "/" + key
    return "/properties/distinct_id"


def _id_findings(event: dict[str, Any], prefix: str) -> list[Finding]:
    """CTPH122 (illegal ids) and CTPH123 (over 200 bytes). Most events have one ordinary id,
    so the common path is two set lookups and a length test."""
    raw = raw_distinct_id(event)
    if raw is None:
        return []  # missing ids are the schema's CTPH121
    name = event.get("event")
    value = raw if type(raw) is str else as_text(raw)
    candidates = [("", value, "distinct_id")]
    if type(name) is str and name in merge_events():
        candidates += _merge_ids(event, name)
    found: list[Finding] = []
    for where, candidate, label in candidates:
        if candidate.strip() and is_illegal(candidate):
            merge = isinstance(name, str) and name in merge_events()
            consequence = (
                "PostHog refuses the merge (cannot_merge_with_illegal_distinct_id)"
                if merge
                else "every user with it pools into one person"
            )
            found.append(
                finding(
                    "CTPH122",
                    f"`{label}` is {candidate!r}, an id PostHog treats as illegal: {consequence}",
                    pointer=prefix + (where or _idjson_pointer(event)),
                    severity=Severity.ERROR if merge else Severity.WARNING,
                )
            )
    limit = contract_limit("distinct_id_max_bytes")
    if len(value) > limit // 4 and len(value.encode("utf-8")) > limit:
        found.append(
            finding(
                "CTPH123",
                f"`distinct_id` is {len(value.encode('utf-8'))} bytes: PostHog cuts it to "
                f"{limit} characters",
                pointer=prefix + _idjson_pointer(event),
            )
        )
    return found


def _timestamp_findings(value: str, pointer: str, now: datetime) -> Iterator[Finding]:
    parsed, zoned = read_timestamp(value)
    if parsed is None:
        yield finding(
            "CTPH141",
            f"`timestamp` {short_value(value)} does not parse: PostHog uses the server time",
            pointer=pointer,
        )
        return
    if not zoned:
        yield finding(
            "CTPH142",
            f"`timestamp` {short_value(value)} has no timezone: PostHog reads it as UTC",
            pointer=pointer,
        )
    if parsed > now + future_tolerance():
        yield finding(
            "CTPH143",
            f"`timestamp` {short_value(value)} is more than 23 h in the future: PostHog clamps it "
            "to the time it arrives",
            pointer=pointer,
        )


def _person_updates(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    props = event.get("properties")
    for where, holder in (("", event), ("/properties", props)):
        if not isinstance(holder, dict):
            continue
        for key in ("$set", "$set_once"):
            value = holder.get(key)
            if isinstance(value, dict):
                yield f"{where}/{key}", value


def _lint(event: dict[str, Any], prefix: str, now: datetime) -> list[Finding]:
    """The rules a schema cannot state: illegal ids, byte lengths, timestamp parsing."""
    found = _id_findings(event, prefix)
    timestamp = event.get("timestamp")
    if type(timestamp) is str and timestamp:
        found += _timestamp_findings(timestamp, prefix + "/timestamp", now)
    return found


# --------------------------------------------------------------------------- entry points


class Checked(NamedTuple):
    """A body read the way capture reads it: the parsed document (``None`` when it is not JSON),
    every finding, and its events as ``(pointer, event)``. Lets callers that need the document
    or the events (cross-profile checks, the tracking plan) avoid parsing or splitting twice.
    (A NamedTuple: as immutable as a frozen dataclass, and built once per profile on the hot
    path, where a frozen dataclass's ``__init__`` showed up.)"""

    document: Any
    findings: list[Finding]
    events: Sequence[tuple[str, Any]] = ()


def check_text(
    text: str | bytes,
    *,
    endpoint: str = DEFAULT_ENDPOINT,
    project_key: str | None = None,
    now: datetime | None = None,
) -> Checked:
    """Parse and check one raw body (see :func:`check`)."""
    size = len(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    too_large = size > contract_limit("request_max_bytes")
    found: list[Finding] = [_too_large(size)] if too_large else []
    try:
        body = text if isinstance(text, str) else text.decode("utf-8")
        doc: Any = read(body)
    except UnicodeDecodeError:
        found.append(_not_json("invalid UTF-8", BAD_UTF8))
        return Checked(None, found)
    except NotSerdeJson as exc:
        found.append(_not_json(exc.detail, f"failed to parse request: {exc.detail}"))
        return Checked(None, found)
    # where a personal key can show after parsing: in the text, or behind a \u escape
    secrets = "phx_" in body or ("\\" in body and "\\u" in body)
    bound = size_bound(body, size)
    events, more = _check_document(doc, bound, endpoint, project_key, now, secrets)
    return Checked(doc, found + more, events)


_MAX_GROWTH = 5  # "1e15," -> "1000000000000000.0,": the most re-serialising adds (4.5x)
_EXPONENT_PATTERN = r"[:\[,][ \t\n\r]*-?[0-9]+(?:\.[0-9]+)?[eE]"
_EXPONENT = re.compile(_EXPONENT_PATTERN)
_EXPONENT_BYTES = re.compile(_EXPONENT_PATTERN.encode())


def size_bound(text: str | bytes, size: int) -> int | None:
    """``size``, the byte count of ``text``, when it bounds every event's re-serialised size,
    else ``None``. Re-serialising JSON only shortens it (escapes, spacing, float digits) except
    for exponent numbers: ``1e15`` comes back as ``1000000000000000.0``, at most 4.5 times its
    length. So a body a fifth of the event limit proves it without looking; a larger one only
    when nothing in it looks like an exponent number where a value starts (conservatively,
    inside strings too; a uuid's ``5e8b`` does not count)."""
    if size * _MAX_GROWTH <= contract_limit("event_max_bytes"):
        return size
    found = _EXPONENT.search(text) if isinstance(text, str) else _EXPONENT_BYTES.search(text)
    return None if found else size


def _too_large(size: int) -> Finding:
    return finding(
        "CTPH172",
        f"the body is {size:,} bytes; PostHog accepts at most "
        f"{contract_limit('request_max_bytes'):,}",
        rejection=(413, "maximum event size exceeded"),
    )


def check(
    payload: str | bytes | Mapping[str, Any] | Sequence[Any],
    *,
    endpoint: str = DEFAULT_ENDPOINT,
    project_key: str | None = None,
    now: datetime | None = None,
    size: int | None = None,
) -> list[Finding]:
    """Every finding PostHog's capture contract gives for one request body.

    ``payload`` is raw text/bytes (as rendered) or already-parsed JSON. ``endpoint`` is the
    capture path the body is sent to (``/engage`` names nameless bodies ``$identify``);
    ``project_key`` enables CTPH105; ``now`` pins the clock for the future-timestamp rule.
    ``size`` is an upper bound of parsed JSON's text in bytes when the caller knows one (the
    uncompressed body it came from): at most 1,000,000 spares re-serialising every event.
    """
    if isinstance(payload, (str, bytes)):
        return check_text(payload, endpoint=endpoint, project_key=project_key, now=now).findings
    return _check_document(payload, size, endpoint, project_key, now)[1]


def _check_document(
    doc: Any,
    size: int | None,
    endpoint: str,
    project_key: str | None,
    now: datetime | None,
    secrets: bool = True,
) -> tuple[list[tuple[str, Any]], list[Finding]]:
    """The body's events and their findings. ``size`` is the raw body's byte count when known:
    under 1,000,000 it proves no event is too large without serialising any. ``secrets=False``
    skips the walk for personal keys, for a caller whose raw text already shows none."""
    events, batch_token, found = _events(doc, endpoint)
    when = now or datetime.now(_UTC)
    contract = _contract()
    valid = contract.validator.is_valid
    for prefix, event in events:
        dropped = isinstance(event, dict) and event.get("event") == PERFORMANCE_EVENT
        if not valid(event):  # the one Rust call a clean event costs
            problems = list(contract.findings(event, prefix))
            if dropped:  # only serde's refusals: capture drops the event before any check
                problems = [f for f in problems if f.rejection and f.rejection[1] == NO_VARIANT]
            found += problems
        if isinstance(event, dict) and not dropped:
            found += _lint(event, prefix, when)
    keyed = _key_findings(events, batch_token, project_key)
    found += keyed
    if secrets:
        reported = {f.pointer for f in keyed if f.code == "CTPH103"}
        found += [f for f in _personal_keys(doc) if f.pointer not in reported]
    if size is None or size > contract_limit("event_max_bytes"):
        found += _oversized(events, contract_limit("event_max_bytes"))
    return events, found


def _personal_keys(doc: Any) -> list[Finding]:
    """CTPH103 for a personal API key anywhere in the body, in a value or a property name. Where
    it is not the request's key, PostHog accepts it and stores it with the event: a leaked
    secret that everyone with access to the project can read."""
    found: list[Finding] = []
    stack: list[tuple[list[str | int], Any]] = [([], doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append(([*path, key], item))
                if "phx_" in key:  # the pointer names the key: it shows masked
                    found += _personal_key(key, [*path, redact_text(key)])
        elif isinstance(value, list):
            stack.extend(([*path, i], item) for i, item in enumerate(value))
        elif isinstance(value, str) and "phx_" in value:
            found += _personal_key(value, path)
    return sorted(found, key=lambda f: f.pointer)


def _personal_key(text: str, path: list[str | int]) -> list[Finding]:
    match = PERSONAL_KEY.search(text)
    if match is None:
        return []
    return [
        finding(
            "CTPH103",
            f"a personal API key ({redact(match.group(0))}) is in the body: PostHog stores it "
            "with the event, where everyone with access to the project can read it",
            pointer=json_pointer(path),
        )
    ]


def refusals(
    payload: Any, *, endpoint: str = DEFAULT_ENDPOINT, size: int | None = None
) -> list[Finding]:
    """Only what capture refuses, each finding with its ``(status, body)``: the body's shape,
    ``event.json`` (capture's own contract) and event sizes. The fake server's question: it
    needs no advice, no clock, and no key rules (:func:`.batch.classify` resolves the key the
    way capture does), so it skips their cost on every request. ``size`` as in :func:`check`.
    """
    events, _, found = _events(payload, endpoint)
    return [f for f in found if f.rejection is not None] + event_refusals(events, size=size)


def event_refusals(events: Sequence[tuple[str, Any]], *, size: int | None = None) -> list[Finding]:
    """:func:`refusals` for events already split out of a request, as ``(pointer, event)``."""
    found: list[Finding] = []
    contract = _annotated(_CAPTURE_SCHEMA)
    for prefix, event in events:
        if not contract.validator.is_valid(event):
            found += contract.findings(event, prefix)
    if size is None or size > contract_limit("event_max_bytes"):
        found += _oversized(events, contract_limit("event_max_bytes"))
    return found


def _oversized(events: Sequence[tuple[str, Any]], limit: int) -> Iterator[Finding]:
    for prefix, event in events:
        size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())
        if size > limit:
            yield finding(
                "CTPH171",
                f"the event is {size:,} bytes; PostHog drops events over {limit:,}",
                pointer=prefix,
                rejection=(413, "maximum event size exceeded"),
            )


def _not_json(detail: str, refusal: str) -> Finding:
    """CTPH004 in the words of capture's own parser (:mod:`.serde`), which is what PostHog
    answers: Python's ``json`` would pass ``NaN``, ``1e400`` or a BOM that PostHog refuses."""
    return finding("CTPH004", f"the body is not valid JSON: {detail}", rejection=(400, refusal))


# --------------------------------------------------------------------------- many profiles


def _leaves(values: Mapping[str, Any], pointer: str) -> Iterator[tuple[str, str]]:
    for key, value in values.items():
        where = pointer + json_pointer([key])
        if isinstance(value, dict) and not key.startswith("$"):
            yield from _leaves(value, where)
        elif value is not None:
            yield where, json_type(value)


def _first_event(doc: Any) -> dict[str, Any] | None:
    if isinstance(doc, dict) and isinstance(doc.get("batch"), list) and _BATCH_TOKENS & doc.keys():
        doc = doc["batch"]
    if isinstance(doc, list):
        doc = doc[0] if doc else None
    return doc if isinstance(doc, dict) else None


def check_many(
    payloads: Sequence[Any],
    *,
    users: Sequence[Any] | None = None,
    typed: Sequence[bool] | None = None,
    examples: Sequence[Mapping[str, Any]] | None = None,
) -> list[Finding]:
    """Rules only a set of renderings can show: CTPH124, CTPH144, CTPH163.

    ``payloads`` are parsed bodies of one template for different profiles (``None`` for a
    profile that rendered nothing). Optional, each the same length:

    - ``users`` says which payloads belong to distinct users (default: each is its own user);
    - ``typed`` marks the payloads whose property types count for CTPH163 (default: all), so
      deliberately mistyped edge-case profiles do not pass for type drift of the template;
    - ``examples`` are the profiles behind the payloads: each finding then carries the
      smallest affected one.

    Each finding's ``count`` is the number of profiles affected.
    """
    n = len(payloads)
    owners = list(users) if users is not None else list(range(n))
    counted = list(typed) if typed is not None else [True] * n
    by_id: dict[str, list[int]] = defaultdict(list)
    by_stamp: dict[str, list[int]] = defaultdict(list)
    by_type: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    rendered = 0
    for i, (doc, typing) in enumerate(zip(payloads, counted, strict=True)):
        event = _first_event(doc)
        if event is None:
            continue
        rendered += 1
        raw = raw_distinct_id(event)
        if raw is not None and as_text(raw).strip():
            by_id[as_text(raw)].append(i)
        if isinstance(event.get("timestamp"), str):
            by_stamp[event["timestamp"]].append(i)
        if typing:
            for where, values in [
                ("/properties", event.get("properties")),
                *_person_updates(event),
            ]:
                if isinstance(values, dict):
                    for pointer, kind in _leaves(values, where):
                        by_type[pointer][kind].append(i)

    def example(indices: Sequence[int]) -> Mapping[str, Any] | None:
        if examples is None:
            return None
        return min((examples[i] for i in indices), key=lambda e: len(json.dumps(e, default=str)))

    def counted_finding(item: Finding, indices: Sequence[int]) -> Finding:
        return replace(item, count=len(indices), profile=example(indices))

    found: list[Finding] = []
    for value, indices in by_id.items():
        people = {owners[i] for i in indices}
        if len(people) > 1:
            message = (
                f"{len(people)} different profiles render the same distinct_id "
                f"{short_value(value)}: PostHog merges them into one person"
            )
            found.append(
                counted_finding(finding("CTPH124", message, pointer="/distinct_id"), indices)
            )
    if rendered > 1 and len(by_stamp) == 1:
        ((stamp, indices),) = by_stamp.items()
        if len(indices) == rendered:
            message = (
                f"every profile renders the same timestamp {short_value(stamp)}: every event is "
                "dated the same"
            )
            found.append(
                counted_finding(finding("CTPH144", message, pointer="/timestamp"), indices)
            )
    for pointer, kinds in by_type.items():
        if len(kinds) > 1:
            detail = ", ".join(f"{kind} ×{len(ix)}" for kind, ix in kinds.items())
            majority = max(kinds, key=lambda k: len(kinds[k]))
            minority = [i for kind, ix in kinds.items() if kind != majority for i in ix]
            message = f"`{pointer}` renders as different JSON types across profiles ({detail})"
            found.append(counted_finding(finding("CTPH163", message, pointer=pointer), minority))
    return found
