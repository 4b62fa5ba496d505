"""Feature flags as PostHog's flags service evaluates them, for the flag kinds the fake supports.

A test sets flags (:meth:`.app.CaptureApp.set_flags`, ``POST /_ctph/flags``, or the ``[flags]``
table of ``ctph serve``); SDKs then ask ``/flags`` and get the answer PostHog would give for the
same definitions. Definitions are PostHog's own flag JSON (``{"filters": {"groups": [...],
"multivariate": {...}, "payloads": {...}}}``, what the local-evaluation API serves) or a short
form, turned into that JSON here (see :func:`parse_flags`).

Evaluation follows ``rust/feature-flags/src/flags/flag_matching.rs`` (PostHog/posthog), which
posthog-python's local evaluation mirrors (``posthog/feature_flags.py``: ``_hash``,
``variant_lookup_table``, ``is_condition_match``, ``match_property``):

* the bucketing value is the ``distinct_id``, or for a group flag the key of the group whose
  type sits at ``aggregation_group_type_index`` (no group of that type sent: not matched,
  reason ``no_group_type``);
* conditions with a variant override are tried first (a stable sort), the reported
  ``condition_index`` is the condition's own position;
* a condition matches when every property filter matches and
  ``_hash(key, bucketing) <= rollout_percentage / 100`` (sha1 of ``"key.bucketing"``, first 15
  hex digits over ``0xFFFFFFFFFFFFFFF``); the variant is the one whose cumulative range holds
  ``_hash(key, bucketing, "variant")``;
* the payload is ``filters.payloads[variant or "true"]``, only for a matched flag;
* person properties are the stored person's (what ingestion wrote) overlaid with the request's
  ``person_properties``; group properties likewise from the stored group. A property the
  person lacks matches only ``is_not_set`` (the server has every property it will get).

Not modelled (refused when set, so nothing silently evaluates differently): cohort filters,
flag-dependency filters, holdouts, early-access enrollment (super conditions), ``ensure
experience continuity``; date and semver operators. Encrypted payloads and remote-config-only
flags are not modelled either.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "OPERATORS",
    "Context",
    "Evaluation",
    "Flag",
    "evaluate",
    "flag_hash",
    "parse_flags",
]

_LONG_SCALE = float(0xFFFFFFFFFFFFFFF)

OPERATORS = frozenset(
    {
        "exact",
        "is_not",
        "icontains",
        "not_icontains",
        "regex",
        "not_regex",
        "gt",
        "gte",
        "lt",
        "lte",
        "is_set",
        "is_not_set",
    }
)
"""The property operators the fake evaluates (PostHog's ``OperatorType`` less dates, semver,
cohort and flag operators)."""

_SHORT_KEYS = frozenset(
    {"active", "rollout_percentage", "variants", "properties", "payload", "payloads", "group_type"}
)
_FULL_KEYS = frozenset(
    {"key", "id", "version", "active", "filters", "name", "deleted", "ensure_experience_continuity"}
)


def flag_hash(key: str, bucketing_value: str, salt: str = "") -> float:
    """PostHog's uniform [0, 1] hash of ``key.bucketing_value`` (posthog-python ``_hash``,
    flag_matching.rs ``calculate_hash``)."""
    digest = hashlib.sha1(f"{key}.{bucketing_value}{salt}".encode()).hexdigest()
    return int(digest[:15], 16) / _LONG_SCALE


@dataclass(frozen=True)
class Flag:
    """One flag definition, in PostHog's shape. ``group_type`` is the group type name a group
    flag aggregates by (the short form's way of naming ``aggregation_group_type_index``)."""

    key: str
    id: int
    filters: Mapping[str, Any]
    active: bool = True
    version: int = 1
    group_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The definition as the inspection API shows it (PostHog's flag JSON)."""
        out: dict[str, Any] = {
            "key": self.key,
            "id": self.id,
            "version": self.version,
            "active": self.active,
            "filters": self.filters,
        }
        if self.group_type is not None:
            out["group_type"] = self.group_type
        return out


@dataclass(frozen=True)
class Context:
    """What one ``/flags`` request evaluates against (already merged with stored state)."""

    distinct_id: str
    person_properties: Mapping[str, Any] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)
    group_properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    group_types: Sequence[str] = ()


@dataclass(frozen=True)
class Evaluation:
    """One flag's result, with what ``FlagDetails`` (rust ``api/types.rs``) reports."""

    key: str
    enabled: bool
    variant: str | None
    reason: str
    condition_index: int | None
    payload: str | None
    id: int
    version: int

    @property
    def value(self) -> bool | str:
        """The legacy value: the variant when there is one, else ``enabled``."""
        return self.variant if self.variant is not None else self.enabled

    @property
    def description(self) -> str:
        """``FlagDetails::get_reason_description``."""
        if self.reason == "condition_match":
            return f"Matched condition set {(self.condition_index or 0) + 1}"
        return _DESCRIPTIONS[self.reason]


_DESCRIPTIONS = {
    "no_condition_match": "No matching condition set",
    "out_of_rollout_bound": "Out of rollout bound",
    "no_group_type": "No group type",
}


# -- definitions ------------------------------------------------------------------------------


def parse_flags(spec: Mapping[str, Any]) -> tuple[Flag, ...]:
    """Flags from ``{key: definition}``; raises ``ValueError`` naming the flag and the problem.

    A definition is ``True`` (on for everyone), ``False`` (defined but inactive: PostHog leaves
    inactive flags out of every answer), a string (that variant for everyone), PostHog's flag
    JSON (a mapping with ``filters``), or a short form mapping with any of
    ``rollout_percentage`` (0-100, default 100), ``variants`` (``{name: percentage}``, summing
    to 100), ``properties`` (PostHog person property filters, ``[{"key", "operator", "value"}]``),
    ``payload`` (any JSON value, for a boolean flag) or ``payloads`` (``{variant: value}``),
    ``group_type`` (a group type name: a group flag) and ``active``.
    """
    if not isinstance(spec, Mapping):
        raise ValueError("flags must be a mapping of flag key to definition")
    return tuple(_parse_one(str(key), value, n) for n, (key, value) in enumerate(spec.items(), 1))


def _parse_one(key: str, value: Any, flag_id: int) -> Flag:
    where = f"flag {key!r}"
    if not key:
        raise ValueError("a flag key must not be empty")
    if isinstance(value, bool):
        return Flag(key, flag_id, _filters([_group([], 100)]), active=value)
    if isinstance(value, str):
        return Flag(key, flag_id, _filters([_group([], 100)], {value: 100}))
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: a definition is true/false, a variant name or a table")
    if "filters" in value:
        return _parse_full(key, value, flag_id, where)
    unknown = set(value) - _SHORT_KEYS
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {sorted(unknown)}; use {sorted(_SHORT_KEYS)}, or PostHog's "
            "flag JSON with 'filters'"
        )
    rollout = value.get("rollout_percentage", 100)
    if (
        isinstance(rollout, bool)
        or not isinstance(rollout, (int, float))
        or not 0 <= rollout <= 100
    ):
        raise ValueError(f"{where}: rollout_percentage must be a number from 0 to 100")
    properties = value.get("properties", [])
    variants = value.get("variants")
    payloads: dict[str, Any] = {}
    if "payload" in value:
        payloads["true"] = value["payload"]
    if "payloads" in value:
        if not isinstance(value["payloads"], Mapping):
            raise ValueError(f"{where}: payloads must be a table of variant to value")
        payloads.update({str(k): v for k, v in value["payloads"].items()})
    filters = _filters(
        [_group(properties, rollout)],
        variants,
        {k: json.dumps(v, ensure_ascii=False) for k, v in payloads.items()},
    )
    group_type = value.get("group_type")
    if group_type is not None and not isinstance(group_type, str):
        raise ValueError(f"{where}: group_type must be a group type name")
    active = value.get("active", True)
    if not isinstance(active, bool):
        raise ValueError(f"{where}: active must be true or false")
    flag = Flag(key, flag_id, filters, active=active, group_type=group_type)
    _check_filters(flag, where)
    return flag


def _parse_full(key: str, value: Mapping[str, Any], flag_id: int, where: str) -> Flag:
    unknown = set(value) - _FULL_KEYS - {"group_type"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} next to 'filters'")
    if value.get("ensure_experience_continuity"):
        raise ValueError(f"{where}: experience continuity is not modelled by the fake")
    filters = value["filters"]
    if not isinstance(filters, Mapping):
        raise ValueError(f"{where}: filters must be a mapping")
    given_key = value.get("key", key)
    if given_key != key:
        raise ValueError(f"{where}: its 'key' says {given_key!r}")
    flag = Flag(
        key,
        int(value.get("id", flag_id)),
        json.loads(json.dumps(filters)),
        active=bool(value.get("active", True)) and not value.get("deleted", False),
        version=int(value.get("version", 1)),
        group_type=value.get("group_type"),
    )
    _check_filters(flag, where)
    return flag


def _group(properties: Any, rollout: float) -> dict[str, Any]:
    return {"properties": properties, "rollout_percentage": rollout, "variant": None}


def _filters(
    groups: list[dict[str, Any]],
    variants: Any = None,
    payloads: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"groups": groups, "payloads": dict(payloads or {})}
    if variants is not None:
        if not isinstance(variants, Mapping) or not variants:
            raise ValueError("variants must be a table of variant name to percentage")
        out["multivariate"] = {
            "variants": [
                {"key": str(name), "rollout_percentage": pct} for name, pct in variants.items()
            ]
        }
    return out


def _check_filters(flag: Flag, where: str) -> None:
    """Refuse what the fake does not evaluate, rather than evaluate it differently."""
    filters = flag.filters
    if filters.get("holdout") or filters.get("holdout_groups"):
        raise ValueError(f"{where}: holdouts are not modelled by the fake")
    if filters.get("super_groups") or filters.get("feature_enrollment"):
        raise ValueError(f"{where}: early-access enrollment is not modelled by the fake")
    groups = filters.get("groups") or []
    if not isinstance(groups, list):
        raise ValueError(f"{where}: filters.groups must be a list of conditions")
    for group in groups:
        if not isinstance(group, Mapping):
            raise ValueError(f"{where}: each condition must be a mapping")
        rollout = group.get("rollout_percentage")
        if rollout is not None and (
            isinstance(rollout, bool) or not isinstance(rollout, (int, float))
        ):
            raise ValueError(f"{where}: rollout_percentage must be a number")
        props = group.get("properties") or []
        if not isinstance(props, list):
            raise ValueError(f"{where}: a condition's properties must be a list of filters")
        for prop in props:
            _check_property(prop, where)
    variants = (filters.get("multivariate") or {}).get("variants") or []
    if variants:
        total = sum(float(v.get("rollout_percentage", 0)) for v in variants)
        if not math.isclose(total, 100.0):
            raise ValueError(f"{where}: variant percentages add up to {total:g}, not 100")
    payloads = filters.get("payloads") or {}
    if not isinstance(payloads, Mapping):
        raise ValueError(f"{where}: filters.payloads must be a mapping")


def _check_property(prop: Any, where: str) -> None:
    if not isinstance(prop, Mapping) or not isinstance(prop.get("key"), str):
        raise ValueError(f"{where}: a property filter is {{'key', 'operator', 'value'}}")
    kind = prop.get("type", "person")
    if kind not in ("person", "group"):
        raise ValueError(f"{where}: {kind!r} property filters are not modelled by the fake")
    operator = prop.get("operator") or "exact"
    if operator not in OPERATORS:
        raise ValueError(
            f"{where}: operator {operator!r} is not modelled by the fake "
            f"(supported: {', '.join(sorted(OPERATORS))})"
        )
    if operator in ("regex", "not_regex"):
        try:
            re.compile(str(prop.get("value")))
        except re.error as exc:
            raise ValueError(f"{where}: bad regex {prop.get('value')!r}: {exc}") from None


# -- evaluation -------------------------------------------------------------------------------


def evaluate(flag: Flag, context: Context) -> Evaluation:
    """One active flag for one request (``FeatureFlagMatcher::get_match``)."""
    filters = flag.filters
    bucketing = context.distinct_id
    properties: Mapping[str, Any] = context.person_properties
    group_type = _group_type(flag, context)
    if group_type is not _PERSON:
        if group_type is None or group_type not in context.groups:
            return _result(flag, False, None, "no_group_type", None)
        bucketing = str(context.groups[group_type])
        properties = context.group_properties.get(group_type, {})
    conditions = list(enumerate(filters.get("groups") or []))
    conditions.sort(key=lambda pair: 0 if pair[1].get("variant") else 1)
    variant_keys = [v["key"] for v in _variants(flag)]
    reason, reason_index = "no_condition_match", None
    for index, condition in conditions:
        matched, why = _condition_match(flag, condition, properties, bucketing)
        if matched:
            override = condition.get("variant")
            variant = override if override in variant_keys else _variant(flag, bucketing)
            return _result(flag, True, variant, "condition_match", index)
        if why == "out_of_rollout_bound" and reason == "no_condition_match":
            reason, reason_index = why, index
    return _result(flag, False, None, reason, reason_index)


_PERSON = object()


def _group_type(flag: Flag, context: Context) -> Any:
    """The group type name a group flag aggregates by, ``None`` when its index names no known
    type, or :data:`_PERSON` for a person flag."""
    if flag.group_type is not None:
        return flag.group_type
    index = flag.filters.get("aggregation_group_type_index")
    if index is None:
        return _PERSON
    types = list(context.group_types)
    return types[index] if isinstance(index, int) and 0 <= index < len(types) else None


def _condition_match(
    flag: Flag, condition: Mapping[str, Any], properties: Mapping[str, Any], bucketing: str
) -> tuple[bool, str]:
    for prop in condition.get("properties") or []:
        if not match_property(prop, properties):
            return False, "no_condition_match"
    rollout = condition.get("rollout_percentage")
    if rollout is not None and flag_hash(flag.key, bucketing) > rollout / 100:
        return False, "out_of_rollout_bound"
    return True, "condition_match"


def _variants(flag: Flag) -> list[Mapping[str, Any]]:
    return list((flag.filters.get("multivariate") or {}).get("variants") or [])


def _variant(flag: Flag, bucketing: str) -> str | None:
    """``get_matching_variant``: the variant whose cumulative range holds the variant hash."""
    value = flag_hash(flag.key, bucketing, salt="variant")
    low = 0.0
    for variant in _variants(flag):
        high = low + float(variant["rollout_percentage"]) / 100
        if low <= value < high:
            return str(variant["key"])
        low = high
    return None


def _result(
    flag: Flag, enabled: bool, variant: str | None, reason: str, index: int | None
) -> Evaluation:
    payload = None
    if enabled:
        stored = (flag.filters.get("payloads") or {}).get(variant or "true")
        payload = stored if stored not in (None, "") else None
    return Evaluation(flag.key, enabled, variant, reason, index, payload, flag.id, flag.version)


def match_property(prop: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """One property filter against the known properties (``property_matching.rs``
    ``match_property`` with every property known: a missing one matches only ``is_not_set``)."""
    key = prop["key"]
    operator = prop.get("operator") or "exact"
    expected = prop.get("value")
    if key not in values:
        return operator == "is_not_set"
    if operator in ("is_set", "is_not_set"):
        return operator == "is_set"
    actual = values[key]
    if operator in ("exact", "is_not"):
        matched = _exact(expected, actual)
        return matched if operator == "exact" else not matched
    if actual is None:
        return False
    if operator in ("icontains", "not_icontains"):
        found = _text(expected).lower() in _text(actual).lower()
        return found if operator == "icontains" else not found
    if operator in ("regex", "not_regex"):
        try:
            hit = re.search(str(expected), _text(actual)) is not None
        except re.error:
            return False
        return hit if operator == "regex" else not hit
    return _numeric(operator, expected, actual)


def _text(value: Any) -> str:
    """A property value as the matcher compares it: JSON for booleans and null, else ``str``."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _exact(expected: Any, actual: Any) -> bool:
    if isinstance(expected, list):
        return _text(actual).lower() in [_text(item).lower() for item in expected]
    return _text(expected).lower() == _text(actual).lower()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _numeric(operator: str, expected: Any, actual: Any) -> bool:
    """gt/gte/lt/lte on numbers; a value that is not a number matches nothing
    (posthog-python ``_match_numeric_property``)."""
    want, got = _number(expected), _number(actual)
    if want is None or got is None:
        return False
    return _compare(operator, got, want)


def _compare(operator: str, got: Any, want: Any) -> bool:
    if operator == "gt":
        return bool(got > want)
    if operator == "gte":
        return bool(got >= want)
    if operator == "lt":
        return bool(got < want)
    return bool(got <= want)
