"""The plugin's command-line options and ini keys, and reading them back typed.

An option given on the command line wins over its ini key; an ini key is typed by pytest
(``int``, ``bool``, ``paths`` relative to the ini file), so a bad value is pytest's usage error
naming the file and the key before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .shard import parse_shard

__all__ = ["add_options", "option", "path_option", "paths_option"]

_INI: dict[str, tuple[str, str]] = {
    "ctph_profiles": ("int", "profiles per template"),
    "ctph_seed": ("int", "seed for profile generation"),
    "ctph_strict": ("bool", "warnings fail too (true/false)"),
    "ctph_report": (
        "paths",
        "report files to write, format from each suffix (.xml JUnit, .json, .md, .html, .sarif)",
    ),
    "ctph_config": ("paths", "path of ctph.toml (default: the nearest one, or [tool.ctph])"),
}


def _help(name: str) -> str:
    return _INI[name][1]


def add_options(parser: pytest.Parser) -> None:
    """Register the ``--ctph-*`` options and their ini keys."""
    group = parser.getgroup("ctph", "ctph-harness (CleverTap -> PostHog campaigns)")
    group.addoption("--ctph-profiles", type=int, dest="ctph_profiles", help=_help("ctph_profiles"))
    group.addoption("--ctph-seed", type=int, dest="ctph_seed", help=_help("ctph_seed"))
    group.addoption(
        "--ctph-strict",
        action="store_true",
        default=None,
        dest="ctph_strict",
        help=_help("ctph_strict"),
    )
    group.addoption(
        "--no-ctph-strict",
        action="store_false",
        default=None,
        dest="ctph_strict",
        help="warnings do not fail, whatever ctph_strict or ctph.toml say",
    )
    group.addoption(
        "--ctph-report",
        action="append",
        dest="ctph_report",
        metavar="FILE",
        help="write a report file, format from its suffix (.xml JUnit, .json, .md, .html, "
        ".sarif); repeatable, one run writes them all",
    )
    group.addoption(
        "--ctph-transport",
        choices=("inprocess", "http"),
        default="inprocess",
        dest="ctph_transport",
        help="deliver through the in-process transport (default; the first profile of each "
        "template still goes over loopback HTTP) or everything over loopback HTTP",
    )
    group.addoption(
        "--ctph-deliver",
        choices=("all", "shapes"),
        default=None,
        dest="ctph_deliver",
        help="which bodies campaign items send to the fake PostHog: one per request shape plus "
        "every edge-case profile's (shapes, the default) or every one (all); overrides "
        "`deliver` in ctph.toml",
    )
    group.addoption(
        "--ctph-live",
        metavar="URL",
        dest="ctph_live",
        help="also send one rendered test payload per template to URL (needs --ctph-allow-live)",
    )
    group.addoption(
        "--ctph-allow-live",
        action="store_true",
        default=False,
        dest="ctph_allow_live",
        help="allow --ctph-live to reach a non-loopback host (never settable from config)",
    )
    group.addoption("--ctph-config", dest="ctph_config", metavar="FILE", help=_help("ctph_config"))
    group.addoption(
        "--ctph-shard",
        type=parse_shard,
        default=None,
        dest="ctph_shard",
        metavar="I/N",
        help="run only shard I of N of the campaign templates (a CI matrix: one job per I; "
        "`ctph merge-reports` joins their --ctph-report JSON files)",
    )
    group.addoption(
        "--ctph-inspect",
        action="store_true",
        default=False,
        dest="ctph_inspect",
        help="print the session fake PostHog's inspector URL at the start and, after the run, "
        "keep it up until Enter or Ctrl-C (never waits when stdin is not a terminal or CI is set)",
    )
    for name, (kind, help_text) in _INI.items():
        parser.addini(name, help_text, type=kind, default=None)  # type: ignore[arg-type]


def option(config: pytest.Config, name: str) -> Any:
    """The command line's value of ``name``, else its ini key's (``None`` when neither)."""
    value = config.getoption(name, default=None)
    return value if value is not None else _ini(config, name)


def _ini(config: pytest.Config, name: str) -> Any:
    """The ini key, typed by pytest; a bad value's error names the key (pytest's message for
    an ini-file integer does not)."""
    try:
        return config.getini(name)
    except pytest.UsageError as exc:
        raise pytest.UsageError(f"ctph: ini key {name}: {exc}") from None


def path_option(config: pytest.Config, name: str) -> Path | None:
    """A file option: as given on the command line (relative to the working directory), or
    the ini key's one path (relative to the ini file)."""
    given = config.getoption(name, default=None)
    if given is not None:
        return Path(given)
    paths = _ini(config, name)
    if not paths:
        return None
    if len(paths) > 1:
        shown = " ".join(str(p) for p in paths)
        raise pytest.UsageError(f"ctph: {name} takes one file, not {shown!r}")
    return Path(paths[0])


def paths_option(config: pytest.Config, name: str, flag: str) -> list[Path]:
    """A repeatable file option: every ``flag FILE`` on the command line (relative to the
    working directory), else the ini key's paths (relative to the ini file), in the order
    given. Two that name the same file (once resolved) are a usage error: the second would
    silently overwrite the first."""
    given = config.getoption(name, default=None)
    if given:
        shown, where = [str(p) for p in given], flag
    else:
        shown, where = [str(p) for p in _ini(config, name) or ()], f"ini key {name}"
    seen: dict[Path, str] = {}
    for text in shown:
        key = _resolved(Path(text))
        first = seen.get(key)
        seen[key] = text
        if first is not None:
            twice = (
                f"{text} is given twice"
                if first == text
                else f"{first} and {text} are the same file"
            )
            raise pytest.UsageError(f"ctph: {where}: {twice}; give each file once")
    return [Path(text) for text in shown]


def _resolved(path: Path) -> Path:
    """``path`` with symlinks and ``..`` resolved, as far as the file system allows."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare it as written
        return path.absolute()
