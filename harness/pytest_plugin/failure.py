"""What a failing campaign item prints.

A finding is not a bug in the user's test code, so no traceback is shown: the failing findings
in a fixed order (code and message, the template line with a caret, the rendered payload around
the JSON pointer, the smallest profile, the hint, and the command that reproduces it), then the
others in one line. Nor is a traceback shown for a bug in ctph itself unless asked for: the
pipeline is deep, and its traceback ran to 1,300 lines.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine import TemplateResult
    from ..findings import Finding

__all__ = ["describe_failure", "internal_error"]


def internal_error(path: str, exc: BaseException) -> str:
    """The short failure text for an exception that is a bug in ctph, not a finding."""
    from ..redact import printable

    return printable(
        f"ctph: internal error while verifying {path}: {type(exc).__name__}: {exc}\n"
        "(this is a bug in ctph; rerun with --tb=long or -v, or set CTPH_DEBUG=1, for the "
        "traceback)"
    )


def _reproduce(path: str, item: Finding, seed: int) -> str:
    if item.profile is None:
        return f"ctph render {shlex.quote(path)} --seed {seed}"
    profile = json.dumps(dict(item.profile), ensure_ascii=False)
    return f"echo {shlex.quote(profile)} | ctph render {shlex.quote(path)} --profile -"


def describe_failure(result: TemplateResult, *, seed: int, strict: bool) -> str:
    """The failure text for one template: failing findings in full, the others in one line."""
    from ..excerpts import payload_excerpt, template_excerpt
    from ..redact import printable
    from ..verdict import failing

    blocks: list[str] = []
    failing_findings = [f for f in result.findings if failing(f, strict=strict)]
    for item in failing_findings:
        count = f" ({item.count} of {result.profiles} profiles)" if item.count > 1 else ""
        lines = [f"{item.code} {item.severity.value}: {item.message}{count}"]
        if item.line is not None:
            lines += ["", template_excerpt(result.source, item.line, item.column)]
        body = result.body_for(item)
        if body is not None and item.code != "CTPH001":
            lines += ["", f"payload{' at ' + item.pointer if item.pointer else ''}:"]
            lines.append(payload_excerpt(body, item.pointer))
        if item.profile is not None:
            shown = json.dumps(dict(item.profile), ensure_ascii=False)
            lines += ["", f"smallest profile: {shown}"]
        lines += ["", f"hint: {item.hint}", f"reproduce: {_reproduce(result.path, item, seed)}"]
        blocks.append("\n".join(lines))
    others = [f for f in result.findings if not failing(f, strict=strict)]
    if others:
        blocks.append(
            "also: " + ", ".join(f"{f.code} {f.severity.value} ({f.count})" for f in others)
        )
    return printable("\n\n".join(blocks))
