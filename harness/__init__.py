"""ctph-harness: contract tests for CleverTap -> PostHog webhook campaigns.

The root stays light: importing it (as pytest does for the plugin) loads no faker, schemathesis,
hypothesis or liquid. Heavy functionality is reached through functions that import on call.
"""

from __future__ import annotations

from .errors import HarnessError, InputError, UsageError
from .findings import Catalogue, Finding, Rule, Severity, catalogue, finding

__version__ = "0.1.0"

__all__ = [
    "Catalogue",
    "Finding",
    "HarnessError",
    "InputError",
    "Rule",
    "Severity",
    "UsageError",
    "__version__",
    "catalogue",
    "finding",
]
