"""HTML: one self-contained page to attach to a ticket or open from a CI artifact.

Everything is inline (CSS, the SVG chart); there is no script, font, image or link that leaves the
file, and a Content-Security-Policy says so to the browser, so the page renders the same offline,
with JavaScript disabled, or from a mail attachment. Every piece of template-derived text is
escaped with :func:`html.escape`: a template path or a message holding ``<script>`` stays text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..findings import Finding, Rule, Severity, catalogue
from ..redact import printable
from ..version import __version__
from .model import SEVERITY_RANK, ItemReport, RunReport
from .text import profile_json, where

__all__ = ["CodeTally", "bar_chart", "code_tallies", "to_html"]

COLOURS = {Severity.ERROR: "#c62828", Severity.WARNING: "#d97706", Severity.INFO: "#2563eb"}
"""Severity colours shared by the badges and the chart, so the chart needs no legend lookup."""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_TICKED = re.compile(r"`([^`\n]+)`")


def _prose(text: str) -> str:
    """Escaped text in which the catalogue's `backticked` names become ``<code>``: the pairing
    runs after escaping, so it can only wrap text that is already inert."""
    return _TICKED.sub(r"<code>\1</code>", _e(text))


def _anchor(code: str) -> str:
    """A fragment id for a finding code that no code can break out of."""
    return "rule-" + re.sub(r"[^A-Za-z0-9_-]", "_", code)


@dataclass(frozen=True)
class CodeTally:
    """One bar of the chart: a code, its worst severity, how many profiles it hit (per template,
    the largest count among that code's findings, so a profile hit at two pointers counts once;
    summed over templates) and in how many templates."""

    code: str
    severity: Severity
    profiles: int
    templates: int


def code_tallies(items: Iterable[ItemReport]) -> tuple[CodeTally, ...]:
    """Per finding code, how widespread it is; errors first, then the most widespread."""
    worst: dict[str, Severity] = {}
    hits: dict[str, int] = {}
    seen_in: dict[str, int] = {}
    for item in items:
        per_item: dict[str, int] = {}
        for found in item.findings:
            per_item[found.code] = max(per_item.get(found.code, 0), found.count)
            current = worst.get(found.code)
            if current is None or SEVERITY_RANK[found.severity] < SEVERITY_RANK[current]:
                worst[found.code] = found.severity
        for code, count in per_item.items():
            hits[code] = hits.get(code, 0) + count
            seen_in[code] = seen_in.get(code, 0) + 1
    tallies = [CodeTally(code, worst[code], hits[code], seen_in[code]) for code in hits]
    return tuple(sorted(tallies, key=lambda t: (SEVERITY_RANK[t.severity], -t.profiles, t.code)))


_ROW, _BAR, _LABEL, _VALUE, _WIDTH = 30, 20, 92, 220, 900


def bar_chart(tallies: Sequence[CodeTally], unit: str = "profiles") -> str:
    """A horizontal bar chart as inline SVG: one ``<rect class="bar">`` per code, its length the
    profiles affected, its colour the severity; each bar carries a ``<title>`` tooltip."""
    if not tallies:
        return (
            f'<svg class="chart" role="img" aria-label="No findings" width="{_WIDTH}" height="40" '
            f'viewBox="0 0 {_WIDTH} 40" xmlns="http://www.w3.org/2000/svg">'
            '<text x="0" y="24" class="axis">No findings.</text></svg>'
        )
    top, legend = 6, 34
    height = top + _ROW * len(tallies) + legend
    span = _WIDTH - _LABEL - _VALUE
    peak = max(t.profiles for t in tallies) or 1
    parts = [
        f'<svg class="chart" role="img" width="100%" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{_e(f"Findings by code: {unit} affected, coloured by severity")}">'
    ]
    for row, tally in enumerate(tallies):
        y = top + row * _ROW
        length = max(2.0, round(span * tally.profiles / peak, 1))
        where_ = "template" if tally.templates == 1 else "templates"
        tip = f"{tally.code} ({tally.severity.value}): {tally.profiles} {unit} in "
        tip += f"{tally.templates} {where_}"
        parts += [
            f'<text class="label" x="{_LABEL - 10}" y="{y + _BAR - 5}" text-anchor="end">'
            f"{_e(tally.code)}</text>",
            f'<rect class="bar {tally.severity.value}" data-code="{_e(tally.code)}" x="{_LABEL}" '
            f'y="{y}" width="{length}" height="{_BAR}" rx="3" '
            f'fill="{COLOURS[tally.severity]}"><title>{_e(tip)}</title></rect>',
            f'<text class="value" x="{_LABEL + length + 8}" y="{y + _BAR - 5}">'
            f"{tally.profiles} {_e(unit)} · {tally.templates} {where_}</text>",
        ]
    y = top + _ROW * len(tallies) + 12
    x = _LABEL
    for severity in Severity:
        parts += [
            f'<rect class="legend" x="{x}" y="{y}" width="12" height="12" rx="2" '
            f'fill="{COLOURS[severity]}"></rect>',
            f'<text class="axis" x="{x + 18}" y="{y + 11}">{severity.value}</text>',
        ]
        x += 100
    parts.append("</svg>")
    return "\n".join(parts)


_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa;
  --error: #c62828; --warning: #d97706; --info: #2563eb; --pass: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid
  var(--line); }
h3 { font-size: 16px; margin: 0; display: flex; gap: 10px; align-items: center;
  flex-wrap: wrap; }
h4 { font-size: 14px; margin: 16px 0 6px; color: var(--muted); }
code, pre, .chart text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas,
  "Liberation Mono", monospace; font-size: 13px; }
.verdict { font-size: 17px; font-weight: 600; margin: 0 0 14px; }
.verdict.fail { color: var(--error); } .verdict.pass { color: var(--pass); }
.stats { display: flex; flex-wrap: wrap; gap: 10px; margin: 0; padding: 0; }
.stats div { background: var(--soft); border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; min-width: 96px; }
.stats dt { font-size: 12px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
.stats dd { margin: 0; font-size: 20px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px;
  border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em;
  background: var(--soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.chart { max-width: 900px; height: auto; display: block; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px;
  font-weight: 600; color: #fff; white-space: nowrap; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--error); }
.badge.error { background: var(--error); } .badge.warning { background: var(--warning); }
.badge.info { background: var(--info); }
.item { border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px;
  margin: 0 0 18px; }
.item.fail { border-left: 5px solid var(--error); }
.item.pass { border-left: 5px solid var(--pass); }
.meta { color: var(--muted); margin: 6px 0 10px; font-size: 14px; }
.hint { margin: 6px 0 0; color: var(--muted); font-size: 14px; }
.hint b { color: var(--ink); }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; margin: 0; overflow-x: auto; white-space: pre-wrap;
  overflow-wrap: anywhere; }
td pre { padding: 4px 8px; max-width: 300px; }
.any { color: var(--muted); font-size: 12px; }
details summary { cursor: pointer; color: var(--muted); font-weight: 600; margin: 14px 0 6px; }
.chart .label { font-weight: 600; fill: var(--ink); }
.chart .value, .chart .axis { fill: var(--muted); font-size: 12px; }
.note { color: var(--muted); font-size: 13px; }
dl.rules dt { font-weight: 600; margin-top: 14px; }
dl.rules dd { margin: 4px 0 0 0; padding-left: 14px; border-left: 3px solid var(--line); }
dl.rules p { margin: 3px 0; }
footer { color: var(--muted); font-size: 12px; padding: 30px 24px 40px; }
"""

_STATUS = {True: "pass", False: "fail"}


def _status(item: ItemReport) -> str:
    return "fail" if item.error is not None else _STATUS[item.passed]


def _status_label(item: ItemReport) -> str:
    return item.status.upper()


def _summary_table(report: RunReport) -> str:
    head = (
        '<thead><tr><th>Template</th><th>Status</th><th class="num">Profiles</th>'
        '<th class="num">Errors</th><th class="num">Warnings</th><th class="num">Info</th>'
        "</tr></thead>"
    )
    if report.kind != "templates":
        head = head.replace("Template", _e(report.kind[:-1].capitalize() or "Item"), 1)
    rows = []
    for index, item in enumerate(report.items, 1):
        count = {s: sum(f.severity is s for f in item.findings) for s in Severity}
        status = _status(item)
        rows.append(
            f'<tr><td><a href="#item-{index}"><code>{_e(item.path)}</code></a></td>'
            f'<td><span class="badge {status}">{_status_label(item)}</span></td>'
            f'<td class="num">{"–" if item.profiles is None else item.profiles}</td>'
            f'<td class="num">{count[Severity.ERROR]}</td>'
            f'<td class="num">{count[Severity.WARNING]}</td>'
            f'<td class="num">{count[Severity.INFO]}</td></tr>'
        )
    return f'<table class="summary">{head}<tbody>{"".join(rows)}</tbody></table>'


def _profile_cell(found: Finding) -> str:
    shown = profile_json(found, indent=2)
    if shown is None:
        return '<span class="any">–</span>'
    if shown == "{}":
        return '<pre class="profile">{}</pre><span class="any">any profile</span>'
    return f'<pre class="profile">{_e(shown)}</pre>'


def _finding_row(found: Finding, profiles: int | None) -> str:
    located = where(found)
    hint = f'<p class="hint"><b>Fix:</b> {_prose(found.hint)}</p>' if found.hint else ""
    of = "" if profiles is None else f" of {profiles}"
    severity = found.severity.value
    return (
        f'<tr><td><a href="#{_anchor(found.code)}"><code>{_e(found.code)}</code></a></td>'
        f'<td><span class="badge {severity}">{severity}</span></td>'
        f"<td>{f'<code>{_e(located)}</code>' if located else '–'}</td>"
        f"<td>{_prose(found.message)}{hint}</td>"
        f'<td class="num">{found.count}{of}</td>'
        f"<td>{_profile_cell(found)}</td></tr>"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _item_section(index: int, item: ItemReport, unit: str) -> str:
    status = _status(item)
    errors = sum(f.severity is Severity.ERROR for f in item.findings)
    warnings = sum(f.severity is Severity.WARNING for f in item.findings)
    meta = [f"{item.profiles} {unit}"] if item.profiles is not None else []
    meta += [_plural(errors, "error"), _plural(warnings, "warning")]
    meta.append(_plural(len(item.findings), "finding"))
    parts = [
        f'<article class="item {status}" id="item-{index}">',
        f'<h3><span class="badge {status}">{_status_label(item)}</span> '
        f"<code>{_e(item.path)}</code>"
        "</h3>",
        f'<p class="meta">{_e(" · ".join(meta))}</p>',
    ]
    if item.error is not None:
        parts.append(f'<p class="note">Not judged: {_e(item.error)}</p>')
    elif item.findings:
        parts.append(
            '<table class="findings"><thead><tr><th>Code</th><th>Severity</th><th>Where</th>'
            '<th>Message</th><th class="num">Count</th><th>Smallest profile</th></tr></thead>'
            "<tbody>"
            + "".join(_finding_row(f, item.profiles) for f in item.findings)
            + "</tbody></table>"
        )
    else:
        parts.append('<p class="note">No findings.</p>')
    if item.example is not None:
        opened = "" if item.passed else " open"
        parts.append(
            f"<details{opened}><summary>Example request body (one rendered profile)</summary>"
            f'<pre class="payload">{_e(item.example.rstrip())}</pre></details>'
        )
    elif item.profiles is not None:
        parts.append('<p class="note">No request body was rendered.</p>')
    parts.append("</article>")
    return "\n".join(parts)


def _rule_entry(code: str, rule: Rule | None) -> str:
    if rule is None:
        return (
            f'<dt id="{_anchor(code)}"><code>{_e(code)}</code></dt>'
            "<dd><p>Not in the catalogue.</p></dd>"
        )
    severity = rule.severity.value
    return (
        f'<dt id="{_anchor(code)}"><code>{_e(rule.code)}</code> {_e(rule.name)} '
        f'<span class="badge {severity}">{severity}</span></dt>'
        f"<dd><p>{_prose(rule.summary)}</p>"
        f"<p><b>What PostHog does:</b> {_prose(rule.posthog)}</p>"
        f"<p><b>Fix:</b> {_prose(rule.hint)}</p>"
        f'<p class="note">Source: {_e(rule.source)}</p></dd>'
    )


def _catalogue_appendix(codes: Iterable[str]) -> str:
    rules = catalogue()
    entries = [_rule_entry(code, rules.get(code)) for code in sorted(set(codes))]
    if not entries:
        return '<p class="note">No finding codes in this run.</p>'
    return '<dl class="rules">' + "\n".join(entries) + "</dl>"


def _stats(report: RunReport) -> str:
    summary = report.summary()
    facts: list[tuple[str, object]] = [
        (report.kind, len(report.items)),
        ("passed", summary["passed"]),
        ("failed", summary["failed"]),
        ("errors", summary["errors"]),
        ("warnings", summary["warnings"]),
        ("info", summary["info"]),
    ]
    if report.seed is not None:
        facts.append(("seed", report.seed))
    facts.append(("strict", "on" if report.strict else "off"))
    cells = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    return f'<dl class="stats">{cells}</dl>'


def to_html(report: RunReport) -> str:
    """The run as one standalone HTML5 document."""
    summary = report.summary()
    total = len(report.items)
    status = _STATUS[report.passed]
    verdict = (
        f"All {total} {report.kind} pass"
        if report.passed
        else f"{summary['failed']} of {total} {report.kind} fail"
    )
    unit = "profiles" if report.kind == "templates" else report.kind
    tallies = code_tallies(report.items)
    numbered = list(enumerate(report.items, 1))
    ordered = [n for n in numbered if not n[1].passed] + [n for n in numbered if n[1].passed]
    sections = "\n".join(_item_section(index, item, unit) for index, item in ordered)
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ctph report: {_e(verdict)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>CleverTap → PostHog contract report</h1>
<p class="verdict {status}">{_e(verdict)}</p>
{_stats(report)}
</header>
<main>
<section id="summary">
<h2>Summary</h2>
{_summary_table(report)}
</section>
<section id="chart">
<h2>Findings by code</h2>
{bar_chart(tallies, unit)}
<p class="note">Bar length: {_e(unit)} affected (per template, the largest count among a code's
findings; summed over {_e(report.kind)}). Colour: severity.</p>
</section>
<section id="items">
<h2>{_e(report.kind.capitalize())} <span class="note">(failing first)</span></h2>
{sections}
</section>
<section id="catalogue">
<h2>Finding codes in this report</h2>
{_catalogue_appendix(t.code for t in tallies)}
</section>
</main>
<footer>Written by ctph {_e(__version__)}. Self-contained: no scripts, fonts, images or network
requests.</footer>
</body>
</html>
"""
    return printable(page)
