"""Campaign templates as pytest items.

``campaigns/purchase.json.liquid::contract`` runs the whole pipeline for one template (the
engine does the work) and fails with the findings, shown in a fixed order: code and message, the
template line with a caret, the rendered payload around the JSON pointer, the smallest profile,
the hint, and the command that reproduces it. A finding is not a bug in the user's test code,
so no traceback is shown; nor is one for a bug in ctph itself unless asked for (``--tb=long``,
``-v`` or ``CTPH_DEBUG=1``): the pipeline is deep, and its traceback ran to 1,300 lines.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from .config import HarnessConfig
    from .engine import TemplateResult
    from .findings import Finding

__all__ = ["CampaignFailed", "CampaignFile", "CampaignItem", "apply_marker", "describe_failure"]


class CampaignFailed(Exception):
    """A template has failing findings (raised by :class:`CampaignItem`, never shown raw)."""

    def __init__(self, result: TemplateResult) -> None:
        super().__init__(result.path)
        self.result = result


class CampaignInputError(Exception):
    """The file is not a template at all (binary, not UTF-8, too large)."""


class CampaignFile(pytest.File):
    """One template file; its items are the checks run on it."""

    def collect(self) -> Iterator[pytest.Item]:
        yield CampaignItem.from_parent(self, name="contract")


class CampaignItem(pytest.Item):
    """Render, check and judge one template (``::contract``)."""

    def runtest(self) -> None:
        from .delivery import delivering
        from .engine import verify_template
        from .errors import HarnessError
        from .files import read_bytes
        from .outcome import passed
        from .plugin import delivery_options, fake_posthog, template_config

        config = apply_marker(self, template_config(self.config, self.path))
        server = fake_posthog(self.config)
        try:
            source = read_bytes(self.path)
            with delivering(server=server, **delivery_options(self.config)) as make:
                result = verify_template(source, self.display_path(), config, deliver=make(config))
        except HarnessError as exc:
            self.stash[ERROR_KEY] = str(exc)
            raise CampaignInputError(str(exc)) from None
        except Exception as exc:
            self.stash[ERROR_KEY] = f"ctph internal error: {type(exc).__name__}: {exc}"
            raise
        self.stash[RESULT_KEY] = result
        self.stash[SETTINGS_KEY] = config
        if not passed(result.findings, strict=config.strict):
            raise CampaignFailed(result)

    def display_path(self) -> str:
        """The template's path as reports show it (relative to the rootdir when inside it)."""
        try:
            return str(self.path.relative_to(self.config.rootpath))
        except ValueError:
            return str(self.path)

    def repr_failure(
        self, excinfo: ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, CampaignFailed):
            settings = self.stash[SETTINGS_KEY]  # the template's own, marker and overrides in
            return describe_failure(
                excinfo.value.result, seed=settings.seed, strict=settings.strict
            )
        if isinstance(excinfo.value, CampaignInputError):
            return f"ctph: {excinfo.value}"
        if self._wants_traceback():
            return super().repr_failure(excinfo, style=style)
        return _internal_error(self.display_path(), excinfo.value)

    def _wants_traceback(self) -> bool:
        """``--tb=long``/``--tb=native``, ``-v`` or ``CTPH_DEBUG``: whoever asked for detail."""
        tb = self.config.getoption("tbstyle", "auto")
        verbose = int(self.config.getoption("verbose", 0) or 0)
        return tb in ("long", "native") or verbose > 0 or bool(os.environ.get("CTPH_DEBUG"))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"ctph contract: {self.display_path()}"


def _internal_error(path: str, exc: BaseException) -> str:
    """The short failure text for an exception that is a bug in ctph, not a finding."""
    from .redact import printable

    return printable(
        f"ctph: internal error while verifying {path}: {type(exc).__name__}: {exc}\n"
        "(this is a bug in ctph; rerun with --tb=long or -v, or set CTPH_DEBUG=1, for the "
        "traceback)"
    )


RESULT_KEY = pytest.StashKey["TemplateResult"]()
ERROR_KEY = pytest.StashKey[str]()
"""Why a template could not be judged (not a template, or a bug in ctph): the report still
lists it, as an errored item."""
SETTINGS_KEY = pytest.StashKey["HarnessConfig"]()
"""The settings the template was judged with, for its failure text and report entry."""


def apply_marker(item: pytest.Item, config: HarnessConfig) -> HarnessConfig:
    """Apply ``@pytest.mark.ctph(profiles=, seed=, strict=, ignore=)`` (on a hand-written
    test, or added to campaign items by a ``pytest_collection_modifyitems`` hook)."""
    marker = item.get_closest_marker("ctph")
    if marker is None:
        return config
    ignore = marker.kwargs.get("ignore")
    return config.with_overrides(
        profiles=marker.kwargs.get("profiles"),
        seed=marker.kwargs.get("seed"),
        strict=marker.kwargs.get("strict"),
        ignore=(*config.ignore, *ignore) if ignore else None,
    )


def _reproduce(path: str, item: Finding, seed: int) -> str:
    if item.profile is None:
        return f"ctph render {shlex.quote(path)} --seed {seed}"
    profile = json.dumps(dict(item.profile), ensure_ascii=False)
    return f"echo {shlex.quote(profile)} | ctph render {shlex.quote(path)} --profile -"


def describe_failure(result: TemplateResult, *, seed: int, strict: bool) -> str:
    """The failure text for one template: failing findings in full, the others in one line."""
    from .excerpts import payload_excerpt, template_excerpt
    from .outcome import failing
    from .redact import printable

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
