"""JSON Schemas whose constraints say which finding they stand for.

A constraint's ``x-ctph`` annotation names the finding code, the message, optionally a pointer
suffix, a severity override, ``detail`` (append the validator's own wording, e.g. which
required property is missing) and ``rejection`` (PostHog's exact ``[status, body]`` where capture
refuses the request). An annotation applies to every keyword of its subschema, or, written as
``{keyword: annotation}``, to one keyword. Used for PostHog's contract (``contracts/schemas``)
and for tracking plans, so both turn validation errors into findings the same way; and for the
settings file (``contracts/ctph-config.schema.json``), whose annotations carry only a message
because a bad setting is a usage error, not a finding (:meth:`AnnotatedSchema.explained`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .findings import Finding, Severity, finding

__all__ = ["AnnotatedSchema", "json_pointer", "json_type", "resolved", "short_value"]


@dataclass(frozen=True)
class _Annotation:
    code: str
    message: str
    pointer: str = ""
    severity: Severity | None = None
    detail: bool = False
    rejection: tuple[int, str] | None = None


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer for path segments."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed JSON value (``bool`` is not a number here)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


def short_value(value: Any, limit: int = 60) -> str:
    """A value as it should appear inside a message: quoted, and cut when long."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MISSING = object()


def resolved(doc: Any, parts: Sequence[str | int]) -> tuple[tuple[str | int, ...], Any]:
    """An instance path as the document spells it, and the value there.

    jsonschema-rs reports an object key that reads as an integer as that integer, so ``"0"``,
    ``"00"`` and ``"-0"`` all come back as ``0``: each such part is matched against the object's
    own keys (the exact spelling first), so the pointer names the key that is really there."""
    path: list[str | int] = []
    for part in parts:
        if isinstance(doc, dict):
            key = str(part)
            if key not in doc and isinstance(part, int):
                key = next((k for k in doc if _integer(k) == part), key)
            path.append(key)
            doc = doc.get(key, _MISSING)
        elif isinstance(doc, list) and isinstance(part, int) and 0 <= part < len(doc):
            path.append(part)
            doc = doc[part]
        else:
            path.append(part)
            doc = _MISSING
    return tuple(path), doc


def _integer(key: str) -> int | None:
    """The integer jsonschema-rs reads ``key`` as ("0", "00", "-0", "+5"), else ``None``."""
    digits = key[1:] if key[:1] in "+-" else key
    return int(key) if digits.isascii() and digits.isdigit() else None


class AnnotatedSchema:
    """A validator plus the lookup from a failing constraint to its finding.

    ``schema`` must be free of ``$ref`` (dereference it first) so that an error's schema path
    can be walked; ``fallback`` is the code for a constraint that carries no annotation."""

    def __init__(self, schema: Mapping[str, Any], fallback: str) -> None:
        import jsonschema_rs

        self.schema = schema
        self.fallback = fallback
        self.validator = jsonschema_rs.validator_for(dict(schema))
        self._annotations: dict[tuple[str | int, ...], _Annotation] = {}
        self._explanations: dict[tuple[str | int, ...], str | None] = {}

    def is_valid(self, instance: Any) -> bool:
        """The fast path: one call into Rust, no Python objects for a valid instance."""
        valid: bool = self.validator.is_valid(instance)
        return valid

    def findings(self, instance: Any, prefix: str = "") -> Iterator[Finding]:
        """Findings for an instance :meth:`is_valid` rejected, one per code and location."""
        seen: set[tuple[str, str]] = set()
        for error in self.validator.iter_errors(instance):
            ann = self._annotation(tuple(error.schema_path), error.message)
            path, value = resolved(instance, error.instance_path)
            pointer = prefix + json_pointer(path) + ann.pointer
            if (ann.code, pointer) in seen:
                continue
            seen.add((ann.code, pointer))
            message = ann.message
            if path and not ann.pointer and not ann.detail:
                if not message.startswith("`"):
                    where = ".".join(str(part) for part in path)
                    message = f"`{where}`: {message}"
                if value is not _MISSING:
                    message += f" (got {short_value(value)})"
            if ann.detail:
                message += f" ({error.message})"
            yield _shared(ann.code, message, pointer, ann.severity, ann.rejection)

    def explained(self, instance: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Each violation as its instance path and the annotation's message (else the
        validator's own wording), for callers that raise instead of reporting findings."""
        for error in self.validator.iter_errors(instance):
            path = tuple(error.schema_path)
            if path not in self._explanations:
                found = self._lookup(path)
                self._explanations[path] = found.message if found else None
            yield (
                resolved(instance, error.instance_path)[0],
                self._explanations[path] or error.message,
            )

    def _annotation(self, path: tuple[str | int, ...], fallback_message: str) -> _Annotation:
        if path not in self._annotations:
            self._annotations[path] = self._lookup(path) or _Annotation(
                self.fallback, fallback_message
            )
        return self._annotations[path]

    def _lookup(self, path: tuple[str | int, ...]) -> _Annotation | None:
        trail: list[Any] = [self.schema]
        for segment in path[:-1]:
            trail.append(trail[-1][segment])
        keyword = path[-1] if path else ""
        for depth, node in enumerate(reversed(trail)):
            ann = node.get("x-ctph") if isinstance(node, Mapping) else None
            if not ann:
                continue
            if "message" not in ann:  # {keyword: annotation}
                if depth or keyword not in ann:
                    continue
                ann = ann[keyword]
            rejection = ann.get("rejection")
            severity = ann.get("severity")
            return _Annotation(
                code=ann.get("code", self.fallback),
                message=ann["message"],
                pointer=ann.get("pointer", ""),
                severity=Severity(severity) if severity else None,
                detail=bool(ann.get("detail")),
                rejection=(rejection[0], rejection[1]) if rejection else None,
            )
        return None


@lru_cache(maxsize=4096)
def _shared(
    code: str,
    message: str,
    pointer: str,
    severity: Severity | None,
    rejection: tuple[int, str] | None,
) -> Finding:
    """Findings are immutable and a template's profiles mostly repeat the same ones, so one
    object per distinct finding is built and shared."""
    return finding(code, message, pointer=pointer, severity=severity, rejection=rejection)
