"""The ``ctph`` command.

Each subcommand is a small function from parsed arguments to an exit code; errors the user can
cause are :class:`~ctph_harness.errors.HarnessError`s that carry their own exit code, so ``main``
never maps exception types. No traceback reaches the user: an unexpected exception prints one
line and the way to see more (``CTPH_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import HarnessError, InputError, UsageError
from .files import MAX_JSON_FILE_BYTES, STDIN, as_path, find_files, read_bytes
from .findings import Rule, catalogue
from .locate import located
from .redact import escape_controls, printable
from .reports.formats import WRITERS
from .reports.model import ItemReport, RunReport, sorted_findings
from .reports.text import to_text
from .terminal import protect, style_for
from .verdict import EXIT_FAIL, EXIT_OK, EXIT_USAGE, passed
from .version import __version__

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a UsageError (exit 2) like every other one."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")


def _port(text: str) -> int:
    """``--port``: 0 (a free port) to 65535. Python's socket would raise OverflowError on -1
    and quietly bind a random port for 65536."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: not a whole number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: must be 0 (a free port) to 65535")
    return port


_EXIT_CODES = (
    "exit status: 0 pass; 1 a finding fails the run (an error, or a warning with --strict); "
    "2 usage or input error; 3 internal error (a bug in ctph)"
)


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples keep their line breaks; option help wraps."""


def _command(
    sub: Any, name: str, summary: str, description: str, examples: Sequence[str], exits: str
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` says what it does, shows examples and its exit codes."""
    shown = "\n".join(f"  {example}" for example in examples)
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=f"{summary}.\n\n{description}",
        epilog=f"examples:\n{shown}\n\n{exits}",
        formatter_class=_Help,
    )
    return parser


def _report_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--format",
        choices=sorted(WRITERS),
        default=None,
        help=f"the {what}'s format on standard output (default text); with --output, the "
        "format of a FILE whose extension names none, or of `--output -`",
    )
    parser.add_argument(
        "--output",
        type=as_path,
        action="append",
        default=None,
        metavar="FILE",
        help=f"write the {what} to FILE, in the format its extension names (.json .xml "
        ".md .html .sarif .txt); repeat it for several formats in one run; `-` is standard "
        "output. With --output, standard output shows the text verdict",
    )


def _config_option(parser: argparse.ArgumentParser, what: str = "") -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"ctph.toml or pyproject.toml {what}(default: the nearest one)",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ctph",
        description="Contract tests for CleverTap -> PostHog webhook campaigns: render each "
        "template for many profiles, check every body against PostHog's capture contract, "
        "deliver it to a fake PostHog.",
        epilog=f"`ctph COMMAND --help` explains a command.\n{_EXIT_CODES}",
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"ctph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    verify = _command(
        sub,
        "verify",
        "render every campaign template for many profiles and check the results",
        "Each template (*.liquid under the folders given) is rendered for --profiles "
        "realistic and adversarial\nCleverTap profiles; every body is checked against "
        "PostHog's capture contract and delivered to a fake\nPostHog on loopback. Settings "
        "come from the nearest ctph.toml or [tool.ctph] in pyproject.toml;\nthe options "
        "below override them.",
        [
            "ctph verify campaigns/",
            "ctph verify campaigns/ --output ctph.sarif --output ctph-junit.xml",
            "ctph verify campaigns/ --format github --output - --output ctph.sarif",
            "cat purchase.json.liquid | ctph verify -",
        ],
        _EXIT_CODES,
    )
    verify.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="template files or folders; - reads one template from standard input",
    )
    verify.add_argument(
        "--profiles",
        type=int,
        default=None,
        metavar="N",
        help="profiles per template (default 200, or the settings file's)",
    )
    verify.add_argument(
        "--seed", type=int, default=None, metavar="S", help="profile seed (default 0)"
    )
    verify.add_argument("--strict", action="store_true", default=None, help="warnings fail too")
    _report_options(verify, "report")
    verify.add_argument(
        "--deliver",
        choices=["all", "shapes"],
        default=None,
        help="bodies sent to the fake PostHog: one per request shape plus every edge-case "
        "profile's (shapes, default) or every one (all)",
    )
    _config_option(verify)
    verify.add_argument(
        "-j",
        "--jobs",
        default="1",
        metavar="N",
        help="worker processes (auto: one per core; default 1, serial); same report either way",
    )
    verify.set_defaults(run=_verify)

    check = _command(
        sub,
        "check",
        "check rendered payload files against PostHog's capture contract",
        "Each file (*.json under the folders given) is one request body, as a webhook sends it.",
        [
            "ctph check payload.json",
            "ctph check bodies/ --endpoint /batch/ --output check.sarif",
            'echo \'{"event": "x"}\' | ctph check -',
        ],
        _EXIT_CODES,
    )
    check.add_argument(
        "paths",
        nargs="+",
        metavar="PAYLOAD",
        help="JSON files or folders of them; - reads one body from standard input",
    )
    _report_options(check, "report")
    check.add_argument(
        "--endpoint", default="/i/v0/e/", help="capture path the bodies go to (default /i/v0/e/)"
    )
    check.add_argument(
        "--project-key",
        default=None,
        metavar="KEY",
        help="the project key the bodies must carry (CTPH105); default: the "
        "CTPH_PROJECT_KEY environment variable, which keeps it out of `ps`",
    )
    check.add_argument("--strict", action="store_true", help="warnings fail too")
    check.set_defaults(run=_check)

    merge = _command(
        sub,
        "merge-reports",
        "merge the JSON reports of shards (CI jobs) into one report",
        "The reports come from `ctph verify --output x.json` or `pytest --ctph-report x.json` "
        "runs over\ndisjoint shards (--ctph-shard I/N); the merged report is the one an "
        "unsharded run writes.",
        ["ctph merge-reports shard-*.json --output ctph.html --output ctph.sarif"],
        _EXIT_CODES,
    )
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="JSON v1 reports")
    merge.add_argument("--strict", action="store_true", help="say so in the merged report")
    _report_options(merge, "merged report")
    merge.set_defaults(run=_merge_reports)

    render = _command(
        sub,
        "render",
        "render one template for one profile (offline preview)",
        "CleverTap's Preview & Test, offline: the body for one profile on standard output, "
        "the profile\nand what PostHog would make of the body on standard error.",
        [
            "ctph render purchase.json.liquid",
            "ctph render purchase.json.liquid --seed 0 --index 17",
            'echo \'{"Email": "a@b.co"}\' | ctph render purchase.json.liquid --profile -',
        ],
        "exit status: 0 the body passes; 1 a finding fails it; 2 usage or input error; "
        "3 internal error",
    )
    render.add_argument("template", type=as_path, metavar="TEMPLATE")
    source = render.add_mutually_exclusive_group()
    source.add_argument(
        "--profile",
        type=as_path,
        default=None,
        metavar="FILE",
        help="profile JSON file (- for standard input)",
    )
    source.add_argument(
        "--seed", type=int, default=None, metavar="S", help="generate the profile from a seed"
    )
    render.add_argument(
        "--index",
        type=int,
        default=None,
        metavar="I",
        help="with --seed: which profile of that run (default: its first realistic one)",
    )
    render.add_argument(
        "--event", type=as_path, default=None, metavar="FILE", help="Event properties JSON file"
    )
    _config_option(render)
    render.set_defaults(run=_render)

    serve = _command(
        sub,
        "serve",
        "run the fake PostHog capture server in the foreground",
        "Point an SDK or a staging webhook at the printed URL; /_ctph/ shows what it "
        "received.\nFeature flags start from the settings file's [flags].",
        ["ctph serve --port 8010", "ctph serve --open", "ctph serve --config ctph.toml"],
        "exit status: 0 stopped with Ctrl-C; 2 usage error (a port in use, a bad [flags])",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=0, help="port (default: a free one)")
    serve.add_argument(
        "--allow-remote", action="store_true", help="allow binding a non-loopback --host"
    )
    serve.add_argument(
        "--open", action="store_true", help="also open the inspector (/_ctph/ui/) in a browser"
    )
    _config_option(serve, "whose [flags] the fake starts with ")
    serve.set_defaults(run=_serve)

    _infer_command(sub)

    rules = _command(
        sub,
        "rules",
        "list the finding catalogue",
        "Every finding code ctph reports, with its severity and summary.",
        ["ctph rules", "ctph rules --format json"],
        "exit status: 0",
    )
    rules.add_argument("--format", choices=["text", "json"], default="text")
    rules.set_defaults(run=_rules)

    explain = _command(
        sub,
        "explain",
        "explain one finding code",
        "What the finding means, what PostHog does with such a body, and how to fix it.",
        ["ctph explain CTPH124", "ctph explain 124"],
        "exit status: 0; 2 an unknown code",
    )
    explain.add_argument("code", metavar="CODE", help="e.g. CTPH124")
    explain.set_defaults(run=_explain)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def _infer_command(sub: Any) -> None:
    infer = _command(
        sub,
        "infer",
        "learn [properties] declarations from CleverTap profile data, copying none of it",
        "Reads profile exports (Profiles API pages, a JSON array, NDJSON or CSV; each may be "
        "gzipped;\nthe format is detected from the content) or pulls profiles from the "
        "account with --from-api,\nand prints the [properties] declarations they imply as "
        "TOML: types, always, enums (a value\nonly when at least --k profiles hold it), id "
        "patterns from the values' shape, ranges rounded\noutward, personal data by kind "
        '(format = "email"). No value from the input is printed,\nwritten or logged except '
        "property names and enum values that passed the k rule. With\n--write, the "
        "declarations are merged into the settings file (comments, order and hand-written\n"
        "declarations kept) and the file says its [properties] are complete "
        "(properties_complete),\nso `ctph verify` reports a template reading a property the "
        "account does not have (CTPH181).",
        [
            "ctph infer profiles.ndjson.gz",
            "ctph infer export-*.json --write ctph.toml",
            "zcat profiles.ndjson.gz | ctph infer -",
            "CT_PASSCODE=... ctph infer --from-api --account-id W8R-... --passcode-env "
            "CT_PASSCODE --region in1 --write ctph.toml",
        ],
        "exit status: 0 declarations printed or written; 2 usage or input error (no profile "
        "record could be read, a settings file that is not valid TOML)",
    )
    infer.add_argument(
        "sources",
        nargs="*",
        type=as_path,
        metavar="SOURCE",
        help="export files (any of the formats above; - reads standard input)",
    )
    infer.add_argument(
        "--write",
        type=Path,
        default=None,
        metavar="FILE",
        help="merge into FILE (ctph.toml, or pyproject.toml's [tool.ctph]) instead of printing",
    )
    infer.add_argument(
        "--k",
        type=_positive,
        default=None,
        metavar="K",
        help="an enum value is written only when at least K distinct profiles hold it (default 10)",
    )
    infer.add_argument(
        "--limit",
        type=_positive,
        default=None,
        metavar="N",
        help="read at most N profiles (default: all of the files; 10,000 from the API)",
    )
    api = infer.add_argument_group("pulling from the account (read-only)")
    api.add_argument(
        "--from-api", action="store_true", help="pull profiles through the Profiles API"
    )
    api.add_argument("--account-id", default=None, metavar="ID", help="the account's id")
    api.add_argument(
        "--passcode-env",
        default=None,
        metavar="NAME",
        help="the environment variable holding the account's passcode (never given on the "
        "command line, never printed)",
    )
    api.add_argument(
        "--event",
        default="App Launched",
        metavar="NAME",
        help="profiles that did this event (default: App Launched)",
    )
    api.add_argument(
        "--days", type=_positive, default=30, metavar="N", help="in the last N days (default 30)"
    )
    where = api.add_mutually_exclusive_group()
    where.add_argument("--region", default=None, metavar="R", help="the regional API host (in1)")
    where.add_argument(
        "--api-url", default=None, metavar="URL", help="an API base URL (a proxy, a test server)"
    )
    infer.set_defaults(run=_infer)


_SHOWN_PROBLEMS = 20
"""Problems with the input printed one by one; past this many, only their count."""


def _infer(args: argparse.Namespace, out: TextIO) -> int:
    from .clevertap import export
    from .clevertap.infer import DEFAULT_K, infer_read

    problems = 0

    def on_problem(problem: export.Problem) -> None:  # a position, never a value
        nonlocal problems
        problems += 1
        if problems <= _SHOWN_PROBLEMS:
            print(f"ctph: warning: {escape_controls(str(problem))}", file=sys.stderr)

    progress = export.progress_for(sys.stderr)
    if args.from_api:
        read: Iterable[export.Record | export.Raw] = export.pull_records(
            _pull_options(args), on_problem, limit=args.limit, progress=progress
        )
    else:
        if not args.sources:
            raise UsageError("ctph infer needs SOURCE files, or --from-api")
        if args.sources.count(STDIN) > 1:
            raise UsageError("- (standard input) can be read only once")
        if args.account_id or args.passcode_env or args.region or args.api_url:
            raise UsageError("--account-id, --passcode-env, --region and --api-url need --from-api")
        read = export.read_raw(args.sources, on_problem, limit=args.limit, progress=progress)
    k = args.k or DEFAULT_K
    inference = infer_read(read, on_problem, k=k)  # NDJSON normalised by column: faster
    if problems > _SHOWN_PROBLEMS:
        print(
            f"ctph: warning: {problems - _SHOWN_PROBLEMS} more problems with the input",
            file=sys.stderr,
        )
    if inference.profiles == 0:
        raise InputError("no profile record could be read")
    for warning in inference.warnings:
        print(f"ctph: warning: {escape_controls(warning)}", file=sys.stderr)
    if args.write is None:
        from .clevertap.infer.tomlfile import render

        out.write(render(inference))
    else:
        _write_inferred(args.write, inference, out)
    counts = (
        f"{_count(inference.profiles, 'profile')} read",
        f"{_count(len(inference.declarations), 'property', 'properties')} declared",
        f"{_count(inference.held_back, 'value')} held back by the k rule (k={k})",
        f"{_count(inference.personal, 'property', 'properties')} flagged personal",
        _count(len(inference.warnings) + problems, "warning"),
    )
    print(f"ctph infer: {', '.join(counts)}", file=sys.stderr)
    return EXIT_OK


def _count(number: int, one: str, many: str = "") -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"


def _pull_options(args: argparse.Namespace) -> Any:
    from .clevertap.export import PullOptions

    if not args.account_id:
        raise UsageError("--from-api needs --account-id")
    if not args.passcode_env:
        raise UsageError("--from-api needs --passcode-env NAME (the passcode is read from $NAME)")
    passcode = os.environ.get(args.passcode_env)
    if not passcode:
        raise UsageError(f"--passcode-env names {args.passcode_env}, which is not set")
    if args.sources:
        raise UsageError("give SOURCE files or --from-api, not both")
    # they go into HTTP headers, which hold ASCII only; the messages never quote them
    if not (args.account_id.isascii() and args.account_id.isprintable()):
        raise UsageError("--account-id must be printable ASCII")
    if not (passcode.isascii() and passcode.isprintable()):
        raise UsageError(f"the passcode in ${args.passcode_env} must be printable ASCII")
    return PullOptions(
        account_id=args.account_id,
        passcode=passcode,
        event=args.event,
        days=args.days,
        region=args.region,
        api_url=args.api_url,
    )


def _write_inferred(path: Path, inference: Any, out: TextIO) -> None:
    """Merge into ``path`` (created when missing), check the result loads, then replace the
    file in one step, so a failed merge never leaves a half-written settings file."""
    from .clevertap.infer.tomlfile import merge
    from .config import load_config, read_settings_text
    from .files import write_text

    text = read_settings_text(path) if path.exists() else ""
    try:
        merged, changes = merge(text, inference, pyproject=path.name == "pyproject.toml")
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    with tempfile.TemporaryDirectory() as folder:
        checked = Path(folder) / path.name  # the same name: pyproject.toml reads [tool.ctph]
        checked.write_text(merged, encoding="utf-8")
        try:
            load_config(checked)
        except UsageError as exc:
            raise UsageError(str(exc).replace(str(checked), str(path))) from None
    write_text(path, merged, make_folders=False)
    by_action: dict[str, list[str]] = {}
    for change in changes:
        by_action.setdefault(change.action, []).append(change.name)
    out.write(f"{path}: properties_complete = true\n")
    for action in ("added", "updated", "kept", "unchanged"):
        names = by_action.get(action, [])
        if names:
            label = "kept (hand-written)" if action == "kept" else action
            out.write(f"  {label}: {', '.join(map(escape_controls, names))}\n")


def _check(args: argparse.Namespace, out: TextIO) -> int:
    from .posthog.checker import check

    targets = _targets(args.output, args.format)
    key = args.project_key or os.environ.get("CTPH_PROJECT_KEY") or None
    items = []
    for path in find_files(args.paths, ["*.json"], "payload files"):
        raw = read_bytes(path, limit=MAX_JSON_FILE_BYTES, what="payload files")
        found = check(raw, endpoint=args.endpoint, project_key=key)
        text = raw.decode("utf-8", "replace")
        findings = sorted_findings(located(found, text, liquid=False))
        items.append(ItemReport(str(path), findings, passed(findings, strict=args.strict)))
    return _emit(RunReport(tuple(items), kind="payloads", strict=args.strict), targets, out)


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    from .config import ConfigFinder, HarnessConfig
    from .runner import jobs_from, verify

    jobs = jobs_from(args.jobs)
    targets = _targets(args.output, args.format)
    given = {"profiles": args.profiles, "seed": args.seed, "deliver": args.deliver}
    HarnessConfig().with_overrides(flags={key: f"--{key}" for key in given}, **given)
    config = ConfigFinder(args.config, strict=args.strict, **given)
    progress = Progress(sys.stderr) if sys.stderr.isatty() else None
    report = verify(args.paths, config, progress=progress, jobs=jobs)
    if progress is not None:
        progress.done()
    return _emit(report, targets, out)


def _merge_reports(args: argparse.Namespace, out: TextIO) -> int:
    from .reports.merge import MAX_REPORT_BYTES, merge_reports

    targets = _targets(args.output, args.format)
    texts = [
        (str(path), read_bytes(path, limit=MAX_REPORT_BYTES, what="reports"))
        for path in args.reports
    ]
    return _emit(merge_reports(texts, strict=args.strict), targets, out)


_Targets = tuple[str, list[tuple[Path, str]]]
"""What standard output shows, and each ``--output`` file with its format."""


def _targets(outputs: Sequence[Path] | None, fmt: str | None) -> _Targets:
    """Where the report goes, decided (and checked) before any work is done.

    Each file's format is the one its extension names; ``--format`` is standard output's, or
    the format of ``--output -`` and of a file whose extension names none. A ``--format`` that
    would reach none of them contradicts the files' extensions (``--format json --output
    r.html``) and is a usage error rather than a report silently written in another format."""
    from .reports.formats import format_for
    from .reports.output import check_report_file

    if not outputs:
        return fmt or "text", []
    stdout = "text"  # the verdict, when the report itself goes to files
    files: list[tuple[Path, str]] = []
    used = fmt is None
    seen: set[Path] = set()
    for path in outputs:
        if path is STDIN:
            stdout, used = fmt or "text", True
            continue
        named = format_for(path)
        if named is None and fmt is not None:
            named, used = fmt, True
        elif named == fmt:
            used = True
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop: writing will say what is wrong
            resolved = path.absolute()
        if resolved in seen:
            raise UsageError(f"--output {path} is given twice")
        seen.add(resolved)
        files.append((path, check_report_file(path, named)))
    if not used:
        shown = ", ".join(f"{path} is {name}" for path, name in files)
        raise UsageError(
            f"--format {fmt} contradicts the --output extensions ({shown}); to show {fmt} on "
            "standard output as well, add --output -"
        )
    return stdout, files


def _emit(report: RunReport, targets: _Targets, out: TextIO) -> int:
    """Write ``report`` to every ``--output`` file and to standard output; exit 1 when it
    failed."""
    stdout, files = targets
    if files:
        from .reports.output import write_report_file

        for path, fmt in files:
            write_report_file(path, report, fmt)
    _show(report, stdout, out)
    return EXIT_OK if report.passed else EXIT_FAIL


def _show(report: RunReport, fmt: str, out: TextIO) -> None:
    """A report on the terminal (or pipe) ``out``: the text one styled for it."""
    out.write(to_text(report, style_for(out)) if fmt == "text" else WRITERS[fmt](report))


class Progress:
    """A one-line ``[12/50] path`` indicator on a terminal, shown only once a run has taken
    longer than ``after`` seconds, so quick runs print nothing extra."""

    def __init__(
        self, stream: TextIO, *, after: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self.after = after
        self.shown = False

    def __call__(self, done: int, total: int, path: str) -> None:
        if self.clock() - self.start < self.after:
            return
        line = f"[{done}/{total}] {path}"
        self.stream.write("\r" + (line if len(line) <= 78 else line[:75] + "...").ljust(79))
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()


def _json_file(path: Path, what: str) -> Any:
    """A JSON file's content; ``-`` reads standard input (the reproduce lines use it). Read by
    the same bounded reader and JSON reader as payloads (serde's depth, number and surrogate
    limits), so no file can make decoding recurse or run out of memory."""
    from .posthog.serde import MAX_DEPTH, NotSerdeJson, read

    raw = read_bytes(path, limit=MAX_JSON_FILE_BYTES, what=f"{what} files")
    shown = "standard input" if path is STDIN else str(path)
    try:
        return read(raw.decode("utf-8").removeprefix("\ufeff"))  # an editor's BOM is no harm
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {shown} is not UTF-8 (byte {exc.start})") from None
    except NotSerdeJson as exc:
        deep = f" (nested {MAX_DEPTH} deep or more)" if "recursion" in exc.detail else ""
        raise InputError(f"{what} {shown} is not valid JSON: {exc.detail}{deep}") from None


def _render(args: argparse.Namespace, out: TextIO) -> int:
    from .clevertap.profiles import Profile
    from .config import ConfigFinder
    from .engine import preview

    config = ConfigFinder(args.config).template(args.template)
    if args.index is not None and args.seed is None:
        raise UsageError("--index needs --seed (it picks a profile of that seed's run)")
    readers = [a for a in (args.template, args.profile, args.event) if a is STDIN]
    if len(readers) > 1:
        raise UsageError("standard input (-) can feed only one of TEMPLATE, --profile, --event")
    profile = (
        Profile.from_json(_json_file(args.profile, "profile")) if args.profile is not None else None
    )
    event = _json_file(args.event, "event") if args.event is not None else None
    if event is not None and not isinstance(event, dict):
        raise InputError(f"event {args.event} must be a JSON object")
    result = preview(
        read_bytes(args.template),
        str(args.template),
        config.with_overrides(flags={"seed": "--seed"}, seed=args.seed),
        profile=profile,
        index=args.index,
        event=event,
    )
    err = sys.stderr  # everything below is shown to a person: keys masked (printable)
    shown = json.dumps(result.profile, ensure_ascii=False)
    err.write(escape_controls(printable(f"profile: {shown}\n"), keep="\n"))
    if result.aborted:
        err.write("{% abort %}: CleverTap sends nothing for this profile\n")
    if result.body is not None:
        out.write(printable(result.body if result.body.endswith("\n") else result.body + "\n"))
    for item in result.findings:
        where = f" at {item.pointer}" if item.pointer else ""
        line = f" (line {item.line}:{item.column})" if item.line else ""
        told = f"{item.code} {item.severity.value}: {item.message}{where}{line}"
        err.write(escape_controls(printable(told)) + "\n")
    return EXIT_OK if passed(result.findings) else EXIT_FAIL


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    from .config import load_config
    from .posthog.standalone import serve

    config = load_config(args.config)  # refuses a flag the fake cannot evaluate, naming it
    return serve(
        args.host,
        args.port,
        args.allow_remote,
        out,
        flags=config.flags,
        flags_source=config.source,
        open_browser=args.open,
    )


def _rule_dict(rule: Rule) -> dict[str, str]:
    return {
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity.value,
        "summary": rule.summary,
        "posthog": rule.posthog,
        "hint": rule.hint,
        "source": rule.source,
    }


def _rules(args: argparse.Namespace, out: TextIO) -> int:
    rules = list(catalogue().values())
    if args.format == "json":
        out.write(json.dumps([_rule_dict(r) for r in rules], indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    for rule in rules:
        out.write(f"{rule.code}  {rule.severity.value:<7}  {rule.name:<32}  {rule.summary}\n")
    return EXIT_OK


def _explain(args: argparse.Namespace, out: TextIO) -> int:
    code = args.code.strip().upper()
    if code.isdigit():
        code = f"CTPH{code:0>3}"
    if code not in catalogue():
        raise UsageError(f"unknown finding code {args.code!r}; `ctph rules` lists them all")
    rule = catalogue()[code]
    out.write(
        f"{rule.code} {rule.name} ({rule.severity.value})\n\n"
        f"{rule.summary}\n\n"
        f"What PostHog does: {rule.posthog}\n"
        f"Fix: {rule.hint}\n"
        f"Source: {rule.source}\n" + (f"More: {rule.docs}\n" if rule.docs else "")
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``ctph`` and return its exit code (the console script exits with it)."""
    stream = out or sys.stdout
    if stream is None:  # started with stdout closed (`ctph rules >&-`): nowhere to answer
        if sys.stderr is not None:
            print("ctph: error: standard output is closed", file=sys.stderr)
        return EXIT_USAGE
    for shown in (stream, sys.stderr):
        protect(shown)  # a template's text the encoding cannot hold is escaped, never a crash
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(stream)
            return EXIT_USAGE
        code: int = args.run(args, stream)
        return code
    except HarnessError as exc:  # paths in it come from the user: no raw control characters
        print(f"ctph: error: {escape_controls(str(exc), keep=chr(10))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ctph: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ctph rules | head`: the reader left, which is not an error
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("CTPH_DEBUG"):
            raise
        print(
            f"ctph: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug in ctph; run with CTPH_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
