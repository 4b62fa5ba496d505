"""Tracking plans (CTPH201-204): which events a campaign may send, with which properties.

A plan is declared in ``[plan]`` of ``ctph.toml`` (or ``[tool.ctph.plan]``)::

    [plan]
    strict = false                       # unplanned properties are errors, not warnings
    [plan.events.Purchase]
    value = { type = "number", required = true }
    currency = { enum = ["INR", "USD"], required = true }
    item_names = "string"

It is compiled to a JSON Schema whose constraints carry ``x-ctph`` annotations and checked by the
same :class:`~ctph_harness.schemas.AnnotatedSchema` that checks PostHog's contract, so a plan
violation is found, located and worded exactly like a contract violation. PostHog's own events
and properties (``$identify``, ``$set``, ...) are outside the plan unless it names them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .errors import UsageError
from .findings import Finding
from .schemas import AnnotatedSchema

__all__ = ["JSON_TYPES", "Plan", "PlannedProperty", "check_events", "plan_checker"]

JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
_PROPERTY_KEYS = ("type", "required", "enum", "pattern")


@dataclass(frozen=True)
class PlannedProperty:
    """One property of a planned event."""

    type: str | None = None
    required: bool = False
    enum: tuple[Any, ...] = ()
    pattern: str | None = None

    def schema(self, event: str, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        expected = []
        if self.type:
            out["type"] = self.type
            expected.append(self.type)
        if self.enum:
            out["enum"] = list(self.enum)
            expected.append("one of " + ", ".join(json.dumps(v) for v in self.enum))
        if self.pattern:
            out["pattern"] = self.pattern
            expected.append(f"matching {self.pattern}")
        out["x-ctph"] = {
            "code": "CTPH203",
            "message": f"`{name}` of {event} must be {' and '.join(expected)} (tracking plan)",
        }
        return out


@dataclass(frozen=True)
class Plan:
    """The events a campaign may send and their properties."""

    events: Mapping[str, Mapping[str, PlannedProperty]] = field(default_factory=dict)
    strict: bool = False

    @classmethod
    def from_config(cls, table: Mapping[str, Any], where: str) -> Plan:
        """Validate a ``[plan]`` table; every problem names its key."""
        unknown = sorted(set(table) - {"strict", "events"})
        if unknown:
            raise UsageError(f"{where}: unknown key `{unknown[0]}` (expected strict, events)")
        strict = table.get("strict", False)
        if not isinstance(strict, bool):
            raise UsageError(f"{where}: `strict` must be true or false")
        events = table.get("events", {})
        if not isinstance(events, Mapping) or not events:
            raise UsageError(f"{where}: `events` must be a table of planned events")
        parsed: dict[str, dict[str, PlannedProperty]] = {}
        for event, props in events.items():
            if not isinstance(props, Mapping):
                raise UsageError(f"{where}.events.{event}: must be a table of properties")
            parsed[event] = {
                name: _planned(spec, f"{where}.events.{event}.{name}")
                for name, spec in props.items()
            }
        return cls(parsed, strict)

    def schema(self, expected_event: str | None = None) -> dict[str, Any]:
        """The JSON Schema of one event under this plan (and, optionally, one expected name)."""
        parts: list[dict[str, Any]] = []
        if expected_event is not None:
            parts.append(
                {
                    "properties": {
                        "event": {
                            "const": expected_event,
                            "x-ctph": {
                                "code": "CTPH201",
                                "message": f"the campaign is configured to send {expected_event!r}",
                            },
                        }
                    }
                }
            )
        if self.events:
            parts.append(
                {
                    "properties": {
                        "event": {
                            "anyOf": [
                                {"enum": sorted(self.events)},
                                {"type": "string", "pattern": "^\\$"},
                            ],
                            "x-ctph": {
                                "code": "CTPH201",
                                "message": "the event is not in the tracking plan",
                            },
                        }
                    }
                }
            )
        for event, props in self.events.items():
            parts.append(
                {
                    "if": {"required": ["event"], "properties": {"event": {"const": event}}},
                    "then": self._event_schema(event, props),
                }
            )
        return {"type": "object", "allOf": parts}

    def _event_schema(self, event: str, props: Mapping[str, PlannedProperty]) -> dict[str, Any]:
        required = [name for name, prop in props.items() if prop.required]
        missing = {
            "code": "CTPH202",
            "message": f"a property the tracking plan requires for {event} is missing",
            "detail": True,
        }
        unplanned: dict[str, Any] = {
            "code": "CTPH204",
            "message": f"not in the tracking plan for {event}",
        }
        if self.strict:
            unplanned["severity"] = "error"
        inner: dict[str, Any] = {
            "properties": {name: prop.schema(event, name) for name, prop in props.items()},
            "patternProperties": {"^\\$": True},
            "additionalProperties": {"not": True, "x-ctph": unplanned},
        }
        if required:
            inner["required"] = required
            inner["x-ctph"] = {"required": missing}
            return {
                "required": ["properties"],
                "x-ctph": {"required": missing},
                "properties": {"properties": inner},
            }
        return {"properties": {"properties": inner}}


def _planned(spec: Any, where: str) -> PlannedProperty:
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        raise UsageError(f'{where}: expected a type name or a table such as {{type = "string"}}')
    unknown = sorted(set(spec) - set(_PROPERTY_KEYS))
    if unknown:
        raise UsageError(
            f"{where}: unknown key `{unknown[0]}` (expected {', '.join(_PROPERTY_KEYS)})"
        )
    kind = spec.get("type")
    if kind is not None and kind not in JSON_TYPES:
        raise UsageError(f"{where}: type {kind!r} is not one of {', '.join(JSON_TYPES)}")
    enum = spec.get("enum", [])
    if not isinstance(enum, list):
        raise UsageError(f"{where}: `enum` must be a list")
    pattern = spec.get("pattern")
    if pattern is not None:
        _check_pattern(pattern, where)
    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise UsageError(f"{where}: `required` must be true or false")
    if kind is None and not enum and pattern is None:
        raise UsageError(f"{where}: give a type, an enum or a pattern")
    return PlannedProperty(kind, required, tuple(enum), pattern)


def _check_pattern(pattern: Any, where: str) -> None:
    """A plan's ``pattern`` is matched by jsonschema-rs (ECMA-262 syntax, in linear time or with
    a backtracking limit), so it is validated by compiling it there: Python's ``re`` accepts
    ``\\Z`` and ``(?P=name)``, which it refuses, and raises OverflowError on ``a{0,4294967296}``."""
    import jsonschema_rs

    if not isinstance(pattern, str):
        raise UsageError(f"{where}: `pattern` must be a string")
    try:
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
    except ValueError:
        raise UsageError(
            f"{where}: `pattern` {pattern!r} is not a regular expression JSON Schema accepts "
            "(ECMA-262 syntax: no \\Z, (?P=name) or possessive repeats)"
        ) from None


@lru_cache(maxsize=64)
def _compiled(plan_json: str, expected_event: str | None) -> AnnotatedSchema:
    table = json.loads(plan_json)
    plan = Plan.from_config(table, "[plan]") if table else Plan()
    return AnnotatedSchema(plan.schema(expected_event), fallback="CTPH203")


def plan_checker(
    plan: Mapping[str, Any] | None, expected_event: str | None
) -> AnnotatedSchema | None:
    """The compiled check for a plan table and/or an expected event name (``None``: nothing to
    check). Compiled once per distinct plan."""
    if not plan and expected_event is None:
        return None
    return _compiled(json.dumps(plan or {}, sort_keys=True, default=str), expected_event)


def check_events(checker: AnnotatedSchema, events: Sequence[tuple[str, Any]]) -> list[Finding]:
    """Plan findings for the events of one payload (``(pointer, event)`` pairs)."""
    found: list[Finding] = []
    for prefix, event in events:
        if isinstance(event, dict) and not checker.is_valid(event):
            found += checker.findings(event, prefix)
    return found
