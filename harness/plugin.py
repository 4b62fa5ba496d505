"""pytest plugin entry point (``pytest -p ctph_harness``).

A switchboard: options, the run's :class:`~ctph_harness.config.HarnessConfig` (built once, kept
in ``config.stash``), collection of campaign templates, the header line and the report file.
The work happens in :mod:`ctph_harness.engine`; top-level imports are stdlib and pytest only, so
a run that uses no ctph feature pays almost nothing.

The package's ``pytest11`` entry point loads this plugin wherever ctph-harness is installed, so
template *collection* is opt-in: it happens when the run names the plugin (``-p ctph_harness``)
or the rootdir has a ``ctph.toml`` / ``[tool.ctph]``. Otherwise a ``*.liquid`` file (a Shopify
theme, say) is never mistaken for a campaign.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# The fake PostHog fixtures; the module imports only pytest (the server loads on first use).
pytest_plugins = ["ctph_harness.fixtures"]

if TYPE_CHECKING:
    from collections.abc import Callable

    from .config import ConfigFinder, HarnessConfig
    from .posthog.server import FakePostHog

_FINDER = pytest.StashKey["ConfigFinder"]()
_ENABLED = pytest.StashKey[bool]()
_SERVER = pytest.StashKey["FakePostHog"]()

_INI = {
    "ctph_profiles": "profiles per template",
    "ctph_seed": "seed for profile generation",
    "ctph_strict": "warnings fail too (true/false)",
    "ctph_report": "write a report file (.json, .md, .html, .xml)",
    "ctph_config": "path of ctph.toml (default: the nearest one, or [tool.ctph])",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ctph", "ctph-harness (CleverTap -> PostHog campaigns)")
    group.addoption("--ctph-profiles", type=int, dest="ctph_profiles", help=_INI["ctph_profiles"])
    group.addoption("--ctph-seed", type=int, dest="ctph_seed", help=_INI["ctph_seed"])
    group.addoption(
        "--ctph-strict",
        action="store_true",
        default=None,
        dest="ctph_strict",
        help=_INI["ctph_strict"],
    )
    group.addoption("--ctph-report", dest="ctph_report", metavar="FILE", help=_INI["ctph_report"])
    group.addoption(
        "--ctph-transport",
        choices=("inprocess", "http"),
        default="inprocess",
        dest="ctph_transport",
        help="deliver through the in-process transport (default; the first profile of each "
        "template still goes over loopback HTTP) or everything over loopback HTTP",
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
    group.addoption("--ctph-config", dest="ctph_config", metavar="FILE", help=_INI["ctph_config"])
    for name, help_text in _INI.items():
        parser.addini(name, help_text, default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ctph(profiles=None, seed=None, strict=None, ignore=()): per-test ctph settings"
    )
    config.pluginmanager.register(_Results(config), "ctph-results")
    _check_live_url(config)
    _check_report_file(config)


def _check_live_url(config: pytest.Config) -> None:
    """``--ctph-live`` read once, at start-up, by the same check as ``webhook_url``."""
    from .config import check_url
    from .errors import UsageError

    live = config.getoption("ctph_live", None)
    if live:
        try:
            check_url(live, "--ctph-live", sendable=True)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None


def _check_report_file(config: pytest.Config) -> None:
    """``--ctph-report`` checked at start-up (a known extension, a folder that can be made), so
    a bad name is a usage error now, not a traceback or a lost report after the run."""
    target = _option(config, "ctph_report")
    if target:
        from .errors import UsageError
        from .reports.output import check_report_file

        try:
            check_report_file(Path(target))
        except UsageError as exc:
            raise pytest.UsageError(f"ctph: {exc}") from None


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name, default=None)
    return value if value is not None else config.getini(name)


def _finder(config: pytest.Config) -> ConfigFinder:
    """Options over ini values over each template's nearest ``ctph.toml``, read once."""
    if _FINDER not in config.stash:
        from .config import ConfigFinder
        from .errors import UsageError

        def number(name: str) -> int | None:
            raw = _option(config, name)
            if raw is None or isinstance(raw, int):
                return raw
            try:
                return int(raw)
            except ValueError:
                raise UsageError(f"{name} must be an integer, not {raw!r}") from None

        strict = _option(config, "ctph_strict")
        if isinstance(strict, str):
            strict = strict.strip().lower() in ("1", "true", "yes", "on")
        path = _option(config, "ctph_config")
        try:
            config.stash[_FINDER] = ConfigFinder(
                Path(path) if path else None,
                profiles=number("ctph_profiles"),
                seed=number("ctph_seed"),
                strict=strict,
            )
        except UsageError as exc:
            raise pytest.UsageError(f"ctph: {exc}") from None
    return config.stash[_FINDER]


def _first_path(config: pytest.Config) -> Path:
    for arg in config.args:
        candidate = Path(str(arg).split("::")[0])
        if candidate.exists():
            return candidate.resolve() if candidate.is_dir() else candidate.resolve().parent
    return config.rootpath


def harness_config(config: pytest.Config) -> HarnessConfig:
    """The run-level settings (header, report, fixtures): those that apply where the run
    starts (its first path, else the rootdir)."""
    return _found_config(config, lambda finder: finder.near(_first_path(config)))


def template_config(config: pytest.Config, path: Path) -> HarnessConfig:
    """The settings for one template: its nearest config file, the run's options on top."""
    return _found_config(config, lambda finder: finder.template(path))


def _found_config(
    config: pytest.Config, pick: Callable[[ConfigFinder], HarnessConfig]
) -> HarnessConfig:
    from .errors import UsageError

    try:
        return pick(_finder(config))
    except UsageError as exc:
        raise pytest.UsageError(f"ctph: {exc}") from None


def fake_posthog(config: pytest.Config) -> FakePostHog:
    """The session's fake PostHog for campaign items (one per xdist worker), started on first
    use and stopped when the session ends."""
    if _SERVER not in config.stash:
        from .posthog.server import FakePostHog

        config.stash[_SERVER] = FakePostHog()
    return config.stash[_SERVER]


def delivery_options(config: pytest.Config) -> dict[str, Any]:
    """How campaign items deliver: transport and the explicit live opt-in (options only)."""
    return {
        "over_http": config.getoption("ctph_transport", "inprocess") == "http",
        "live": config.getoption("ctph_live", None),
        "allow_live": bool(config.getoption("ctph_allow_live", False)),
    }


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER, None)
    if server is not None:
        server.stop()


def _collecting(config: pytest.Config) -> bool:
    if _ENABLED not in config.stash:
        named = "ctph_harness" in (config.option.plugins or [])
        if not named:
            from .config import find_config_file

            named = find_config_file(config.rootpath) is not None
        config.stash[_ENABLED] = named
    return config.stash[_ENABLED]


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _collecting(config):
        return None
    settings = harness_config(config)
    source = f", config {settings.source}" if settings.source else ""
    return f"ctph: seed {settings.seed}, {settings.profiles} profiles per template{source}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _collecting(parent.config):
        return None
    # which files are templates is a folder setting (never per template): no overrides merge
    patterns = _found_config(parent.config, lambda finder: finder.near(file_path.parent)).templates
    if not any(fnmatch(file_path.name, pattern) for pattern in patterns):
        return None
    from .collect import CampaignFile

    file: pytest.Collector = CampaignFile.from_parent(parent, path=file_path)
    return file


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the template's result to the report, as plain data, so it survives the trip from
    an xdist worker to the controller, which writes the report file."""
    report = yield
    if call.when == "call" and _collecting(item.config):
        from .collect import ERROR_KEY, RESULT_KEY, SETTINGS_KEY, CampaignItem

        if isinstance(item, CampaignItem) and RESULT_KEY in item.stash:
            strict = item.stash[SETTINGS_KEY].strict  # the template's own, not the run's
            payload = item.stash[RESULT_KEY].item(strict=strict).to_dict()
            report.user_properties.append(("ctph", payload))
        elif isinstance(item, CampaignItem) and ERROR_KEY in item.stash:
            from .reports.model import ItemReport

            errored = ItemReport(item.display_path(), (), False, error=item.stash[ERROR_KEY])
            report.user_properties.append(("ctph", errored.to_dict()))
    return report


class _Results:
    """Collects every template's result from the reports (on the xdist controller those come
    from the workers) and writes ``--ctph-report`` at the end of the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.items: list[dict[str, Any]] = []
        self.written: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == "ctph" and isinstance(value, dict):
                self.items.append(value)

    def pytest_sessionfinish(self) -> None:
        config = self.config
        if hasattr(config, "workerinput") or not _collecting(config):
            return  # a worker's results travel to the controller, which writes the file
        target = _option(config, "ctph_report")
        if not target:
            return
        from .reports.output import write_report_file
        from .reports.rebuild import report_from_dicts

        settings = harness_config(config)
        report = report_from_dicts(self.items, seed=settings.seed, strict=settings.strict)
        write_report_file(Path(target), report)
        self.written = str(target)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.written is not None:
            terminalreporter.write_line(f"ctph report written to {self.written}")
