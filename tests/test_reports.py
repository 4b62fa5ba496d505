"""Report writers (text, json, junit, markdown, html) on a real ``verify`` run of the example
campaigns, plus a hostile report whose template text tries to break out of every format. The HTML
is also opened in a real headless Chromium when one is installed."""

from __future__ import annotations

import html.parser
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest

from ctph_harness.config import load_config
from ctph_harness.findings import Finding, Severity, catalogue
from ctph_harness.reports.formats import WRITERS, format_for
from ctph_harness.reports.html import COLOURS, to_html
from ctph_harness.reports.json_v1 import to_json
from ctph_harness.reports.junit import classname, to_junit
from ctph_harness.reports.markdown import code_span, to_markdown
from ctph_harness.reports.model import ItemReport, RunReport, sorted_findings
from ctph_harness.reports.text import to_text
from ctph_harness.runner import verify

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"

SECRET = "phx_" + "Zq8LmN2pR4sT6uV8wX0yA1bC3dE5"
PROJECT_KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
HOSTILE_PATH = 'campaigns/<img src="https://evil.example/x.png">|`tick`.json.liquid'
HOSTILE_MESSAGE = f"<script>alert(1)</script> a | pipe, a `tick`,\na newline, \x01 and {SECRET}"


@pytest.fixture(scope="module")
def report() -> RunReport:
    return verify([str(CAMPAIGNS)], load_config(CAMPAIGNS / "ctph.toml", profiles=40))


@pytest.fixture(scope="module")
def hostile() -> RunReport:
    bad = Finding(
        code="CTPH121",
        severity=Severity.ERROR,
        message=HOSTILE_MESSAGE,
        pointer="/a|b/`c`",
        hint=f"never paste {SECRET} into a template </td></tr></table>",
        line=3,
        column=7,
        profile={"Identity": "</pre><script>x()</script>", "token": SECRET},
        count=5,
    )
    note = Finding("CTPH142", Severity.WARNING, "half an emoji \ud83d here", pointer="/timestamp")
    item = ItemReport(
        HOSTILE_PATH,
        sorted_findings([note, bad]),
        passed=False,
        profiles=5,
        example=f'{{"api_key": "{SECRET}", "x": "</pre><script>y()</script>"}}',
    )
    fine = ItemReport("campaigns/fine.json.liquid", (), passed=True, profiles=5, example="{}")
    return RunReport((item, fine), seed=7)


def failing_paths(run: RunReport) -> set[str]:
    return {item.path for item in run.items if not item.passed}


# --- registry and compatibility ----------------------------------------------------------------


def test_every_format_is_registered_and_old_imports_still_work() -> None:
    assert set(WRITERS) == {"text", "json", "junit", "markdown", "html", "sarif", "github"}
    assert WRITERS["text"] is to_text and WRITERS["json"] is to_json
    assert WRITERS["junit"] is to_junit
    assert WRITERS["markdown"] is to_markdown
    assert WRITERS["html"] is to_html


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("out/report.json", "json"),
        ("report.XML", "junit"),
        ("sign-off.md", "markdown"),
        ("report.html", "html"),
        ("report.htm", "html"),
        ("report.txt", "text"),
        ("scan.sarif", "sarif"),
        ("report", None),
        ("report.pdf", None),
    ],
)
def test_format_is_inferred_from_the_output_extension(name: str, expected: str | None) -> None:
    assert format_for(name) == expected


def test_the_example_run_has_failing_and_passing_templates(report: RunReport) -> None:
    """The assertions below mean something only if the run has both verdicts."""
    assert len(report.items) >= 5
    assert failing_paths(report) == {
        str(CAMPAIGNS / "guide-identify.json.liquid"),
        str(CAMPAIGNS / "guide-purchase.json.liquid"),
    }


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_no_key_survives_in_any_format(fmt: str, hostile: RunReport, report: RunReport) -> None:
    for run in (hostile, report):
        out = WRITERS[fmt](run)
        assert SECRET not in out
        assert SECRET[4:] not in out
        assert PROJECT_KEY not in out
    assert "phx_…" + SECRET[-4:] in WRITERS[fmt](hostile)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_format_writes_encodable_text_even_for_half_an_emoji(
    fmt: str, hostile: RunReport
) -> None:
    out = WRITERS[fmt](hostile)
    out.encode("utf-8")  # a lone surrogate would raise here
    assert "\\ud83d" in out


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_format_handles_an_empty_run(fmt: str) -> None:
    out = WRITERS[fmt](RunReport(()))
    assert out.endswith("\n") and out.strip()


# --- JUnit -------------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_template_and_fails_exactly_the_failing_ones(
    report: RunReport,
) -> None:
    root = ET.fromstring(to_junit(report).encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["ctph"]
    suite = suites[0]
    cases = suite.findall("testcase")
    assert len(cases) == len(report.items) == int(suite.get("tests", "-1"))
    failed = {case.get("file") for case in cases if case.find("failure") is not None}
    assert failed == failing_paths(report)
    assert int(suite.get("failures", "-1")) == len(failed) == int(root.get("failures", "-1"))
    assert suite.get("errors") == "0" and suite.get("skipped") == "0"
    assert all(case.get("name") == "contract" for case in cases)
    assert all(case.find("error") is None and case.find("skipped") is None for case in cases)
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["seed"] == "0" and props["strict"] == "false"


def test_junit_failure_names_the_first_error_and_lists_every_finding(report: RunReport) -> None:
    root = ET.fromstring(to_junit(report))
    by_file = {case.get("file"): case for case in root.iter("testcase")}
    for item in report.items:
        case = by_file[item.path]
        failure = case.find("failure")
        if item.passed:
            assert failure is None
            continue
        assert failure is not None
        first_error = next(f for f in item.findings if f.severity is Severity.ERROR)
        assert failure.get("message", "").startswith(f"{first_error.code}: ")
        assert failure.get("type") == first_error.code
        assert all(f.code in (failure.text or "") for f in item.findings)
        notes = [f for f in item.findings if f.severity is not Severity.ERROR]
        out = case.find("system-out")
        assert (out is not None) == bool(notes)
        if out is not None:
            assert {f.code for f in notes} <= set(re.findall(r"CTPH\d+", out.text or ""))


def test_junit_classnames_group_by_folder_like_jenkins_expects() -> None:
    assert classname("fixtures/campaigns/guide-identify.json.liquid") == (
        "fixtures.campaigns.guide-identify"
    )
    assert classname("/abs/v1.2/promo.v2.json") == "abs.v1_2.promo_v2"
    assert classname("C:\\camp\\a.json.liquid") == "camp.a"
    assert classname("./x.liquid") == "x"


def test_junit_survives_hostile_text_and_control_characters(hostile: RunReport) -> None:
    text = to_junit(hostile)
    root = ET.fromstring(text.encode("utf-8"))  # \x01 would make a naive writer unparsable
    failure = next(root.iter("failure"))
    assert "<script>" in failure.get("message", "")  # as text, after parsing
    assert "\\x01" in failure.get("message", "")
    assert "<script>" not in text


# --- Markdown ----------------------------------------------------------------------------------


def _cells(row: str) -> list[str]:
    """GFM's own row split: on pipes not escaped with a backslash."""
    inner = row.strip()[1:-1]
    return re.split(r"(?<!\\)\|", inner)


def _tables(markdown: str) -> list[list[str]]:
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


@pytest.mark.parametrize("which", ["report", "hostile"])
def test_markdown_tables_have_consistent_columns(
    which: str, request: pytest.FixtureRequest
) -> None:
    run: RunReport = request.getfixturevalue(which)
    tables = _tables(to_markdown(run))
    assert len(tables) == 1 + len(failing_paths(run))
    for rows in tables:
        widths = {len(_cells(row)) for row in rows}
        assert widths == {5}, rows
        assert re.fullmatch(r"\|( -{3}:? \|)+", rows[1])


def test_markdown_summary_row_per_template_and_a_section_per_failing_one(
    report: RunReport,
) -> None:
    text = to_markdown(report)
    summary = _tables(text)[0]
    assert [c.strip() for c in _cells(summary[0])] == [
        "Template",
        "Status",
        "Profiles",
        "Errors",
        "Warnings",
    ]
    assert len(summary) == 2 + len(report.items)
    for item in report.items:
        if item.passed:
            assert f"- ✅ {code_span(item.path, in_table=False)}" in text
        else:
            assert f"### ❌ {code_span(item.path, in_table=False)}" in text
            assert all(f.hint.split(" ")[0] in text for f in item.findings if f.hint)


_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def test_markdown_escapes_pipes_backticks_newlines_and_html(hostile: RunReport) -> None:
    text = to_markdown(hostile)
    row = next(line for line in text.splitlines() if "alert(1)" in line)
    assert r"a \| pipe" in row and r"a \`tick\`" in row and "<br>a newline" in row
    assert "&lt;script&gt;" in row and "<script>" not in text
    # the hostile path is shown only inside code spans (literal text in Markdown), each fenced
    # longer than the backtick run it contains
    assert "<img" in text and "<" not in _CODE_SPAN.sub("", text).replace("<br>", "")
    assert '``campaigns/<img src="https://evil.example/x.png">\\|`tick`.json.liquid``' in text


def test_code_span_survives_backticks() -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("a|b") == r"`a\|b`" and code_span("a|b", in_table=False) == "`a|b`"


# --- HTML --------------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "source", "wbr", "col", "area", "base"}


class _Walker(html.parser.HTMLParser):
    """Collects start tags with attributes and checks every element closes in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def walk(page: str) -> _Walker:
    walker = _Walker()
    walker.feed(page)
    walker.close()
    assert walker.errors == [] and walker.stack == []
    return walker


def _with(walker: _Walker, tag: str, cls: str) -> list[dict[str, str | None]]:
    return [a for t, a in walker.tags if t == tag and cls in (a.get("class") or "").split()]


def test_html_is_balanced_and_has_the_promised_parts(report: RunReport) -> None:
    page = to_html(report)
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    walker = walk(page)
    names = [t for t, _ in walker.tags]
    assert names.count("html") == names.count("head") == names.count("body") == 1
    assert names.count("main") == 1 and names.count("svg") == 1
    assert len(_with(walker, "table", "summary")) == 1
    assert len(_with(walker, "article", "item")) == len(report.items)
    assert len(_with(walker, "article", "fail")) == len(failing_paths(report))
    payloads = _with(walker, "pre", "payload")
    assert len(payloads) == sum(item.example is not None for item in report.items)
    assert "script" not in names


def test_html_loads_nothing_from_the_network(report: RunReport, hostile: RunReport) -> None:
    for run in (report, hostile):
        page = to_html(run)
        walker = walk(page)
        for tag, attrs in walker.tags:
            for name in ("src", "href", "srcset", "action", "poster", "data"):
                value = attrs.get(name)
                assert value is None or value.startswith("#"), (tag, name, value)
        assert not re.search(r"url\(|@import|<link|<script|<img|<iframe", page, re.I)
        assert "default-src 'none'" in page  # CSP: a browser refuses any load that slips in


def test_html_chart_has_one_bar_per_code_coloured_by_severity(report: RunReport) -> None:
    walker = walk(to_html(report))
    bars = _with(walker, "rect", "bar")
    codes = {f.code for item in report.items for f in item.findings}
    assert {bar["data-code"] for bar in bars} == codes and len(bars) == len(codes)
    severity = {f.code: f.severity for item in report.items for f in item.findings}
    for bar in bars:
        assert bar["fill"] == COLOURS[severity[str(bar["data-code"])]]
        assert float(str(bar["width"])) > 0
    widest = max(bars, key=lambda b: float(str(b["width"])))
    code = str(widest["data-code"])
    hits = [
        max(f.count for f in item.findings if f.code == code)
        for item in report.items
        if any(f.code == code for f in item.findings)
    ]
    assert f"{code} ({severity[code].value}): {sum(hits)} profiles" in "".join(walker.text)


def test_html_links_every_code_to_its_catalogue_entry(report: RunReport) -> None:
    walker = walk(to_html(report))
    ids = {a.get("id") for _, a in walker.tags if a.get("id")}
    links = {a["href"] for t, a in walker.tags if t == "a" and a.get("href")}
    codes = {f.code for item in report.items for f in item.findings}
    for code in codes:
        assert f"#rule-{code}" in links and f"rule-{code}" in ids
    assert {f"#item-{n}" for n in range(1, len(report.items) + 1)} <= links
    text = "".join(walker.text)
    for code in codes:
        assert catalogue()[code].posthog in text


def test_html_escapes_hostile_paths_messages_profiles_and_payloads(hostile: RunReport) -> None:
    page = to_html(hostile)
    walker = walk(page)
    assert "<script" not in page and "<img" not in page and "</pre><script>" not in page
    text = "".join(walker.text)
    assert "<script>alert(1)</script>" in text  # shown to the reader, as text
    assert HOSTILE_PATH in text
    assert '"Identity": "</pre><script>x()</script>"' in text


def test_html_shows_the_example_payload_with_the_key_masked(report: RunReport) -> None:
    passing = next(item for item in report.items if item.passed)
    assert passing.example is not None and PROJECT_KEY in passing.example
    page = to_html(report)
    assert "phc_Tq7…2xZ4a" in page and PROJECT_KEY not in page


def test_html_with_no_findings_draws_an_empty_chart() -> None:
    run = RunReport((ItemReport("a.json.liquid", (), True, 3, "{}"),), seed=1)
    walker = walk(to_html(run))
    assert _with(walker, "rect", "bar") == []
    assert "No findings." in "".join(walker.text)


def test_one_version_everywhere(report: RunReport, capsys: pytest.CaptureFixture[str]) -> None:
    """harness/version.py is the one source: the package, ``ctph --version``, the HTML footer
    and the installed distribution's metadata (pyproject reads it) all say the same."""
    import importlib.metadata

    import ctph_harness
    from ctph_harness.cli import main
    from ctph_harness.version import __version__

    assert ctph_harness.__version__ == __version__
    assert importlib.metadata.version("ctph-harness") == __version__
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out == f"ctph {__version__}\n"
    assert f"Written by ctph {__version__}." in to_html(report)


# --- a real browser ----------------------------------------------------------------------------


def _browser() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


BROWSER = _browser()


_Test = TypeVar("_Test", bound=Callable[..., None])


def needs_browser(test: _Test) -> _Test:
    """A Chromium test: marked ``browser``, skipped where no chromium is installed."""
    missing = pytest.mark.skipif(BROWSER is None, reason="no chromium: apt-get install chromium")
    return pytest.mark.browser(missing(test))


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert BROWSER is not None
    command = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def page_file(report: RunReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(to_html(report), encoding="utf-8")
    return path


@needs_browser
def test_chromium_renders_a_screenshot(page_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    done = _chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", page_file.as_uri()
    )
    assert shot.exists(), done.stderr.decode("utf-8", "replace")[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000  # a blank page compresses to a few KB


@needs_browser
def test_chromium_dom_has_the_summary_table_and_the_chart(
    page_file: Path, tmp_path: Path, report: RunReport
) -> None:
    done = _chromium(tmp_path, "--dump-dom", page_file.as_uri())
    dom = done.stdout.decode("utf-8")
    assert '<table class="summary">' in dom, done.stderr.decode("utf-8", "replace")[-2000:]
    assert "<svg" in dom
    codes = {f.code for item in report.items for f in item.findings}
    assert len(re.findall(r'<rect class="bar ', dom)) == len(codes)
    assert "<script" not in dom


def _writers_are_pure(writer: Callable[[RunReport], str], run: RunReport) -> bool:
    return writer(run) == writer(replace(run))


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_writers_are_deterministic(fmt: str, report: RunReport) -> None:
    """Reports are diffable and cacheable: no clock, no randomness in the output."""
    assert _writers_are_pure(WRITERS[fmt], report)
    if fmt == "json":
        json.loads(WRITERS[fmt](report))
