"""pytest plugin entry point (``pytest -p ctph_harness``): the hooks, and only the hooks.

Each hook hands over to the run's :class:`~.session.CtphSession` (kept in ``config.stash``),
the campaign items (:mod:`.items`) or the fixtures (:mod:`.fixtures`); the work happens in
:mod:`ctph_harness.engine`. Top-level imports are stdlib, pytest and the plugin's own light
modules, so a run that uses no ctph feature pays almost nothing.

The package's ``pytest11`` entry point loads this plugin wherever ctph-harness is installed, so
template *collection* is opt-in: it happens when the run names the plugin (``-p ctph_harness``)
or a ``ctph.toml`` / ``[tool.ctph]`` sits at the rootdir or next to a path the run was given.
Otherwise a ``*.liquid`` file (a Shopify theme, say) is never mistaken for a campaign.
"""

from __future__ import annotations

from collections.abc import Generator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from .marker import MARKER_LINE, check_markers
from .options import add_options
from .session import ctph_session

# The fake PostHog and campaign fixtures; the module imports only pytest and the plugin's own
# light modules (the server loads on first use).
pytest_plugins = ["ctph_harness.pytest_plugin.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_LINE)
    config.pluginmanager.register(_ResultListener(config), "ctph-results")
    ctph_session(config).check_start_up()


def pytest_unconfigure(config: pytest.Config) -> None:
    session = ctph_session(config)
    try:
        session.keep_open()  # --ctph-inspect
    finally:
        session.close()


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = ctph_session(config)
    line = session.header_line()
    return ([line] if line else []) + session.inspect_lines()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Tag the session server's requests with the running test's node id, setup to
    teardown (under xdist each worker's server tags its own tests)."""
    session = ctph_session(item.config)
    session.running(item.nodeid)
    try:
        return (yield)
    finally:
        session.running(None)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    session = ctph_session(parent.config)
    if not session.collecting:
        return None
    patterns = session.folder_settings(file_path.parent).templates
    if not any(fnmatch(file_path.name, pattern) for pattern in patterns):
        return None
    from .items import CampaignFile

    file: pytest.Collector = CampaignFile.from_parent(parent, path=file_path)
    return file


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """After every other hook (one may add ``ctph`` markers to campaign items); then
    ``--ctph-shard`` keeps this shard's templates."""
    check_markers(items)
    shard = config.getoption("ctph_shard", None)
    if shard is not None:
        from .items import CampaignItem
        from .shard import select_shard

        campaigns = [item for item in items if isinstance(item, CampaignItem)]
        select_shard(items, campaigns, shard, config, CampaignItem.display_path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the template's result to the report, as plain data, so it survives the trip from
    an xdist worker to the controller, which writes the report file."""
    report = yield
    if call.when == "call":
        from .items import CampaignItem

        if isinstance(item, CampaignItem):
            result = item.result_data()
            if result is not None:
                ctph_session(item.config).attach_result(report, result)
    return report


class _ResultListener:
    """``pytest_runtest_logreport`` gets no config: this listener, registered per run, carries
    it. On the xdist controller the reports are the workers', results included."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        ctph_session(self.config).take_result(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the report files; one that could not be written fails a run that passed."""
    if not ctph_session(session.config).write_report() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for line in ctph_session(config).summary_lines():
        terminalreporter.write_line(line)
