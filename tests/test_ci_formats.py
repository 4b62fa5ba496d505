"""The CI-native formats: SARIF for code scanning, workflow commands for pull-request annotations.

SARIF is validated against the SARIF 2.1.0 JSON Schema shipped in ``tests/data`` (from the npm
package ``@microsoft/jest-sarif`` 1.0.0-beta.0, MIT: ``lib/schemas/sarif-2.1.0-rtm.5.json``, the
release-candidate text the OASIS standard published unchanged). GitHub's workflow commands are
checked against the grammar the Actions runner parses (``::name key=value,...::message``, with
``@actions/core``'s escaping).
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

import jsonschema_rs
import pytest

from ctph_harness.config import load_config
from ctph_harness.findings import Finding, Severity, catalogue
from ctph_harness.reports.github import to_github
from ctph_harness.reports.model import ItemReport, RunReport
from ctph_harness.reports.sarif import artifact_uri, fingerprint, to_sarif
from ctph_harness.runner import verify

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    text = SCHEMA.read_text("utf-8")
    # The schema's `run.language` pattern has a stray `]`, a literal in ECMA-262 regexes but
    # rejected by jsonschema-rs's pattern check: the same pattern with the `]` escaped.
    text = text.replace("[a-zA-Z]{2}]?$", "[a-zA-Z]{2}\\\\]?$")
    return jsonschema_rs.Draft4Validator(json.loads(text))


@pytest.fixture(scope="module")
def report() -> RunReport:
    run = verify([str(CAMPAIGNS)], load_config(CAMPAIGNS / "ctph.toml", profiles=40))
    # relative paths, as a CI job run from the repository root reports them
    items = tuple(
        ItemReport(
            str(Path(item.path).relative_to(ROOT)),
            item.findings,
            item.passed,
            item.profiles,
            item.example,
            item.error,
        )
        for item in run.items
    )
    return RunReport(items, kind=run.kind, seed=run.seed, strict=run.strict)


HOSTILE = Finding(
    code="CTPH121",
    severity=Severity.ERROR,
    message="two\nlines, a colon: and 100% sure\r::error::forged",
    pointer="/properties/a,b",
    line=3,
    column=7,
)
ODD_PATH = "campaigns/a,b:c%d ü.json.liquid"


def odd_report() -> RunReport:
    info = Finding("CTPH161", Severity.INFO, "a number as text")
    broken = ItemReport("campaigns/binary.liquid", (), passed=False, error="not UTF-8 text")
    return RunReport((ItemReport(ODD_PATH, (HOSTILE, info), passed=False), broken), seed=3)


# --- SARIF -------------------------------------------------------------------------------------


def test_sarif_of_a_real_run_is_valid_sarif_2_1_0(report: RunReport, sarif_validator: Any) -> None:
    log = json.loads(to_sarif(report))
    errors = [str(e) for e in sarif_validator.iter_errors(log)]
    assert errors == []
    (run,) = log["runs"]
    results = run["results"]
    assert results, "the example campaigns have findings"
    findings = [f for item in report.items for f in item.findings]
    assert len(results) == len(findings)
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(catalogue())
    for result in results:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert (ROOT / uri).is_file(), uri  # resolves against the checkout root
        assert re.fullmatch(r"[0-9a-f]{64}", result["partialFingerprints"]["ctph/v1"])
    pointed = [r["locations"][0].get("logicalLocations") for r in results]
    assert [{"fullyQualifiedName": "/distinct_id", "kind": "member"}] in pointed


def test_sarif_rules_carry_help_text_and_uri_from_the_catalogue(report: RunReport) -> None:
    rules = {r["id"]: r for r in json.loads(to_sarif(report))["runs"][0]["tool"]["driver"]["rules"]}
    rule = catalogue()["CTPH124"]
    shown = rules["CTPH124"]
    assert shown["helpUri"] == rule.docs and rule.docs.startswith("https://")
    assert rule.hint in shown["help"]["text"] and rule.posthog in shown["help"]["markdown"]
    assert shown["defaultConfiguration"]["level"] == "error"
    assert "helpUri" not in rules["CTPH303"]  # ctph's own rule: no outside page to point at
    levels = {r["defaultConfiguration"]["level"] for r in rules.values()}
    assert levels == {"error", "warning"}  # the catalogue's severities; `info` would be `note`


def test_sarif_fingerprints_are_stable_across_runs_and_line_moves() -> None:
    moved = Finding(**{**HOSTILE.__dict__, "line": 40})
    assert fingerprint(ODD_PATH, HOSTILE) == fingerprint(ODD_PATH, moved)
    other = Finding(**{**HOSTILE.__dict__, "pointer": "/properties/c"})
    assert fingerprint(ODD_PATH, HOSTILE) != fingerprint(ODD_PATH, other)
    assert to_sarif(odd_report()) == to_sarif(odd_report())


def test_sarif_of_odd_paths_unjudged_files_and_info(sarif_validator: Any) -> None:
    log = json.loads(to_sarif(odd_report()))
    assert [str(e) for e in sarif_validator.iter_errors(log)] == []
    (run,) = log["runs"]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "campaigns/a%2Cb%3Ac%25d%20%C3%BC.json.liquid"
    assert {r["level"] for r in run["results"]} == {"error", "note"}
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert "not UTF-8 text" in note["message"]["text"] and note["level"] == "error"
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 7}


@pytest.mark.parametrize(
    ("path", "flavour", "uri"),
    [
        ("a/b.liquid", PurePosixPath, "a/b.liquid"),
        ("./a/b c.liquid", PurePosixPath, "a/b%20c.liquid"),
        ("/abs/x.liquid", PurePosixPath, "file:///abs/x.liquid"),
        ("a:b\\c é.liquid", PurePosixPath, "a%3Ab%5Cc%20%C3%A9.liquid"),  # one POSIX name
        ("x\udc9b/p.json", PurePosixPath, "x%9B/p.json"),  # a name that is not UTF-8
        ("C:\\work\\x.liquid", PureWindowsPath, "file:///C:/work/x.liquid"),
        ("sub\\x.liquid", PureWindowsPath, "sub/x.liquid"),
    ],
)
def test_artifact_uris(path: str, flavour: type[PurePath], uri: str) -> None:
    assert artifact_uri(path, flavour) == uri


def test_sarif_of_a_file_name_that_is_not_utf8(sarif_validator: Any) -> None:
    odd = RunReport((ItemReport("x\udc9b/p.json", (HOSTILE,), passed=False),))
    log = json.loads(to_sarif(odd))
    assert [str(e) for e in sarif_validator.iter_errors(log)] == []


# --- GitHub workflow commands ------------------------------------------------------------------

# The runner's grammar: `::` command name, optional space and comma-separated key=value
# properties, `::`, the message; nothing of a value or the message may contain a raw CR/LF, and
# a property value no raw `,` or `:` (they would end it).
COMMAND = re.compile(
    r"::(error|warning|notice)(?: ((?:[a-zA-Z]+=[^,:\r\n]*)(?:,[a-zA-Z]+=[^,:\r\n]*)*))?::"
    r"([^\r\n]*)"
)


def _unescape(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def _commands(out: str) -> list[tuple[str, dict[str, str], str]]:
    found = []
    for line in out.splitlines():
        if not line.startswith("::"):
            continue
        match = COMMAND.fullmatch(line)
        assert match, line
        props = dict(p.split("=", 1) for p in (match.group(2) or "").split(",") if p)
        found.append(
            (match.group(1), {k: _unescape(v) for k, v in props.items()}, _unescape(match.group(3)))
        )
    return found


def test_github_annotations_of_a_real_run(report: RunReport) -> None:
    out = to_github(report)
    commands = _commands(out)
    findings = [(item, f) for item in report.items for f in item.findings]
    assert len(commands) == len(findings)
    for (name, props, message), (item, found) in zip(commands, findings, strict=True):
        assert name == {"error": "error", "warning": "warning", "info": "notice"}[found.severity]
        assert props["file"] == item.path and (ROOT / props["file"]).is_file()
        assert props["title"].startswith(found.code)
        assert found.message in message
        if found.line is not None:
            assert props["line"] == str(found.line)
    last = out.rstrip("\n").splitlines()[-1]
    assert last.startswith("ctph: ") and "pass" in last


def test_github_escaping_keeps_one_command_per_finding() -> None:
    out = to_github(odd_report())
    lines = out.splitlines()
    commands = _commands(out)
    assert len(commands) == 3 and len(lines) == 4  # 2 findings, 1 unjudged file, the summary
    name, props, message = commands[0]
    assert (name, props["file"], props["line"], props["col"]) == ("error", ODD_PATH, "3", "7")
    assert message.startswith(HOSTILE.message)  # round-trips, CR/LF and all
    assert "\n::error::forged" not in out  # the forged command stayed inside the message
    assert commands[1][0] == "notice" and "line" not in commands[1][1]
    assert commands[2][0] == "error" and "not UTF-8 text" in commands[2][2]
