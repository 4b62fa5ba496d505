"""The run's ctph state: one :class:`CtphSession` per pytest run, kept in ``config.stash``.

As syrupy keeps its snapshot session, everything a run shares lives on one object the hooks,
the items and the fixtures reach through :func:`ctph_session`: the settings finder (options over
ini keys over each template's ``ctph.toml``), whether templates are collected at all, the
session's fake PostHog, how items deliver, and the template results that become the
``--ctph-report`` files. Nothing is kept at module level, so two runs in one process (pytester)
never share state, and no module of the plugin needs to import the hooks module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import pytest

from .options import option, path_option, paths_option

if TYPE_CHECKING:
    from ..config import ConfigFinder, HarnessConfig
    from ..posthog.server import FakePostHog

__all__ = ["RESULT_FIELD", "CtphSession", "ctph_session"]

_T = TypeVar("_T")

_SESSION = pytest.StashKey["CtphSession"]()

RESULT_FIELD: Final = "_ctph_item"
"""The report attribute carrying one template's result as plain data. pytest serialises a
report's whole ``__dict__`` for xdist, so the result reaches the controller without going
through ``user_properties`` (which ``--junitxml`` would print as a property)."""


def ctph_session(config: pytest.Config) -> CtphSession:
    """The run's :class:`CtphSession` (made on first use, so the fixtures also work where only
    they were registered)."""
    if _SESSION not in config.stash:
        config.stash[_SESSION] = CtphSession(config)
    return config.stash[_SESSION]


class CtphSession:
    """Settings, collection switch, fake PostHog, delivery and results of one pytest run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[dict[str, Any]] = []
        """Each template's result (on the xdist controller: every worker's)."""
        self.written: list[Path] = []
        """The ``--ctph-report`` files written, in the order given."""
        self.unwritten: list[str] = []
        """Why each ``--ctph-report`` file that could not be written was not."""
        self._finder: ConfigFinder | None = None
        self._collecting: bool | None = None
        self._server: FakePostHog | None = None
        self._server_options: dict[str, Any] = {}
        self._test: str | None = None

    # -- settings -----------------------------------------------------------------------------

    @property
    def finder(self) -> ConfigFinder:
        """Options over ini values over each template's nearest ``ctph.toml``, read once."""
        if self._finder is None:
            from ..config import ConfigFinder

            explicit = path_option(self.config, "ctph_config")
            self._finder = _usage(
                lambda: ConfigFinder(
                    explicit,
                    profiles=option(self.config, "ctph_profiles"),
                    seed=option(self.config, "ctph_seed"),
                    strict=option(self.config, "ctph_strict"),
                    deliver=self.config.getoption("ctph_deliver", None),
                )
            )
        return self._finder

    def run_settings(self) -> HarnessConfig:
        """The run-level settings (header, report, fixtures): those that apply where the run
        starts (its first path, else the rootdir)."""
        return _usage(lambda: self.finder.near(self._first_folder()))

    def folder_settings(self, folder: Path) -> HarnessConfig:
        """The settings in ``folder`` before per-template overrides (which files are
        templates is a folder setting, never a per-template one)."""
        return _usage(lambda: self.finder.near(folder))

    def template_settings(self, path: Path) -> HarnessConfig:
        """The settings for one template: its nearest config file, the run's options on top."""
        return _usage(lambda: self.finder.template(path))

    def _first_folder(self) -> Path:
        for folder in self._given_folders():
            return folder
        return self.config.rootpath

    def _given_folders(self) -> list[Path]:
        """The folders of the paths the run was given (a file's parent), in order."""
        folders = []
        for arg in self.config.args:
            candidate = Path(str(arg).split("::")[0])
            if candidate.exists():
                resolved = candidate.resolve()
                folders.append(resolved if resolved.is_dir() else resolved.parent)
        return folders

    # -- collection ---------------------------------------------------------------------------

    @property
    def collecting(self) -> bool:
        """Whether ``*.liquid`` files are campaign templates in this run: the run names the
        plugin (``-p ctph_harness``), or a ``ctph.toml`` / ``[tool.ctph]`` sits at the rootdir
        or next to (or above, up to the rootdir) a path the run was given. The plugin loads
        wherever ctph-harness is installed, so a Shopify theme's templates stay quiet."""
        if self._collecting is None:
            self._collecting = "ctph_harness" in (self.config.option.plugins or []) or any(
                self._config_between(folder)
                for folder in (self.config.rootpath, *self._given_folders())
            )
        return self._collecting

    def _config_between(self, folder: Path) -> bool:
        """A config file in ``folder`` or above it, up to and including the rootdir."""
        from ..config import find_config_file

        found = find_config_file(folder)
        if found is None:
            return False
        root = self.config.rootpath.resolve()
        where = found.parent.resolve()
        return where == folder.resolve() or where.is_relative_to(root)

    # -- the fake PostHog ---------------------------------------------------------------------

    @property
    def server(self) -> FakePostHog:
        """The session's fake PostHog (one per xdist worker) that campaign items and the
        fixtures deliver to; started on first use, stopped when the run ends."""
        if self._server is None:
            from ..posthog.server import FakePostHog

            try:
                self._server = FakePostHog(**self._server_options)
            except TypeError as exc:
                raise pytest.UsageError(f"ctph_fake_posthog_options: {exc}") from None
            self._server.app.set_test(self._test)
        return self._server

    def running(self, node_id: str | None) -> None:
        """Tag the session server's requests with the test ``node_id`` from now on (``None``:
        between tests); the inspector groups and filters by it (issue 16)."""
        self._test = node_id
        if self._server is not None:
            self._server.app.set_test(node_id)

    @property
    def inspecting(self) -> bool:
        """``--ctph-inspect`` on a process that owns a session server (not the xdist
        controller, whose workers each own theirs)."""
        return bool(self.config.getoption("ctph_inspect", False)) and not self._is_controller()

    def _is_controller(self) -> bool:
        dist = self.config.getoption("dist", "no")
        return not hasattr(self.config, "workerinput") and dist not in (None, "no")

    def inspect_lines(self) -> list[str]:
        """What ``--ctph-inspect`` prints at the start: the inspector's URL (the server is
        started for it), or why there is none in this process."""
        if not self.config.getoption("ctph_inspect", False):
            return []
        if self._is_controller():
            return [
                "ctph inspector: each xdist worker has its own fake PostHog; "
                "run without -n to inspect the session's server"
            ]
        self.server.start()
        return [f"ctph inspector: {self.server.url}/_ctph/ui/"]

    def configured_server(self, options: Mapping[str, Any]) -> FakePostHog:
        """The session's fake PostHog made with ``options`` (the ``ctph_fake_posthog_options``
        fixture). A server already made with other options is an error, not a silent
        mismatch between what the test configured and what it talks to."""
        wanted = dict(options)
        if self._server is not None and wanted != self._server_options:
            raise pytest.UsageError(
                "ctph_fake_posthog_options: the session's fake PostHog was already started "
                f"with {self._server_options or 'the defaults'} (a hook reached it first)"
            )
        self._server_options = wanted
        return self.server

    def check_start_up(self) -> None:
        """``--ctph-live`` and every ``--ctph-report`` checked when the run starts (the live URL
        by the same check as ``webhook_url``; each report's extension and folder, and no file
        named twice), so a bad value is a usage error now, not a traceback or a lost report
        after the run."""
        live = self.config.getoption("ctph_live", None)
        if live:
            from ..config import check_url

            _usage(lambda: check_url(live, "--ctph-live", sendable=True))
        targets = self.report_targets()
        if targets:
            from ..reports.output import check_report_file

            for target in targets:
                _usage(partial(check_report_file, target))

    def delivery_options(self) -> dict[str, Any]:
        """How campaign items deliver: transport and the explicit live opt-in (options only,
        never settable from a config file)."""
        return {
            "over_http": self.config.getoption("ctph_transport", "inprocess") == "http",
            "live": self.config.getoption("ctph_live", None),
            "allow_live": bool(self.config.getoption("ctph_allow_live", False)),
        }

    # -- results and the report file ----------------------------------------------------------

    @staticmethod
    def attach_result(report: pytest.TestReport, result: Mapping[str, Any]) -> None:
        """Put one template's result on its report, as plain data, for the trip from an xdist
        worker to the controller."""
        report.__dict__[RESULT_FIELD] = dict(result)

    def take_result(self, report: pytest.TestReport) -> None:
        """Keep the template result a report carries (if any)."""
        result = report.__dict__.get(RESULT_FIELD)
        if isinstance(result, dict):
            self.results.append(result)

    def report_targets(self) -> list[Path]:
        """The ``--ctph-report`` files (command line, else the ``ctph_report`` ini key), each
        named once."""
        return paths_option(self.config, "ctph_report", "--ctph-report")

    def write_report(self) -> bool:
        """Write every ``--ctph-report`` file from one report (on the controller: a worker's
        results travel to it), each atomically. One that cannot be written (its folder turned
        into a file during the run, say) does not stop the others; it is kept in
        :attr:`unwritten` and the result is ``False``, so the run fails instead of a
        traceback or a silently missing file."""
        if hasattr(self.config, "workerinput") or not self.collecting:
            return True
        targets = self.report_targets()
        if not targets:
            return True
        from ..errors import InputError
        from ..reports.output import write_report_file
        from ..reports.rebuild import report_from_dicts

        settings = self.run_settings()
        report = report_from_dicts(self.results, seed=settings.seed, strict=settings.strict)
        for target in targets:
            try:
                write_report_file(target, report)
            except InputError as exc:
                self.unwritten.append(f"ctph: error: {exc}")
            else:
                self.written.append(target)
        return not self.unwritten

    def summary_lines(self) -> list[str]:
        """The terminal summary's lines: where each report went, and any that could not be
        written."""
        return [f"ctph report written to {path}" for path in self.written] + self.unwritten

    def keep_open(self) -> None:
        """``--ctph-inspect``: keep the session server up after the run until Enter or
        Ctrl-C, unless stdin is not a terminal or ``CI`` is set (then say so)."""
        if not self.inspecting or self._server is None or hasattr(self.config, "workerinput"):
            return
        import os
        import sys

        from .inspect_wait import keep_open

        capture = self.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(in_=True)
        try:
            keep_open(f"{self._server.url}/_ctph/ui/", sys.stdin, os.environ, sys.stdout)
        finally:
            if capture is not None:
                capture.resume_global_capture()

    def header_line(self) -> str | None:
        """The header line: seed, profile count and config file, when templates are on."""
        if not self.collecting:
            return None
        settings = self.run_settings()
        source = f", config {settings.source}" if settings.source else ""
        return f"ctph: seed {settings.seed}, {settings.profiles} profiles per template{source}"

    def close(self) -> None:
        """Stop the fake PostHog, if one was started."""
        if self._server is not None:
            self._server.stop()


def _usage(make: Callable[[], _T]) -> _T:
    """``make()``, with ctph's usage errors (a bad config file or option) as pytest's."""
    from ..errors import UsageError

    try:
        return make()
    except UsageError as exc:
        raise pytest.UsageError(f"ctph: {exc}") from None
