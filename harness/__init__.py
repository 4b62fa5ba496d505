"""ctph-harness: contract tests for CleverTap -> PostHog webhook campaigns.

The root stays light: importing it (as pytest does for the plugin) loads no faker, liquid,
jsonschema-rs, werkzeug or httpx. The finding types are imported eagerly; everything else is
resolved on first use (PEP 562), so ``from ctph_harness import check`` works and costs only
what ``check`` needs.
"""

from __future__ import annotations

import importlib
import typing

from .errors import HarnessError, InputError, UsageError
from .findings import Catalogue, Finding, Rule, Severity, catalogue, finding
from .version import __version__

if typing.TYPE_CHECKING:
    from .clevertap.profiles import Profile, PropertySpec, generate
    from .config import ConfigFinder, HarnessConfig, load_config
    from .engine import TemplateResult, preview, verify_template
    from .posthog.checker import check, check_many, check_text
    from .posthog.server import FakePostHog
    from .reports.model import RunReport
    from .runner import verify

_LAZY = {
    "ConfigFinder": "ctph_harness.config",
    "FakePostHog": "ctph_harness.posthog.server",
    "HarnessConfig": "ctph_harness.config",
    "Profile": "ctph_harness.clevertap.profiles",
    "PropertySpec": "ctph_harness.clevertap.profiles",
    "RunReport": "ctph_harness.reports.model",
    "TemplateResult": "ctph_harness.engine",
    "check": "ctph_harness.posthog.checker",
    "check_many": "ctph_harness.posthog.checker",
    "check_text": "ctph_harness.posthog.checker",
    "generate": "ctph_harness.clevertap.profiles",
    "load_config": "ctph_harness.config",
    "preview": "ctph_harness.engine",
    "verify": "ctph_harness.runner",
    "verify_template": "ctph_harness.engine",
}

__all__ = [
    "Catalogue",
    "ConfigFinder",
    "FakePostHog",
    "Finding",
    "HarnessConfig",
    "HarnessError",
    "InputError",
    "Profile",
    "PropertySpec",
    "Rule",
    "RunReport",
    "Severity",
    "TemplateResult",
    "UsageError",
    "__version__",
    "catalogue",
    "check",
    "check_many",
    "check_text",
    "finding",
    "generate",
    "load_config",
    "preview",
    "verify",
    "verify_template",
]


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ctph_harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
