"""Hostile settings and files (issue 10): each used to end in "ctph: internal error" (exit 3),
a hang or a silent surprise; each is now a usage/input error (exit 2) that names the file or
option and says why, or an ordinary verdict. Every case drives the real CLI."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from ctph_harness.clevertap.profiles import PropertySpec
from ctph_harness.cli import main
from ctph_harness.config import check_url
from ctph_harness.errors import UsageError

TEMPLATE = '{"event": "a", "distinct_id": "{{ Profile.x }}", "api_key": "phc_x"}'


def ctph(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def campaign(tmp_path: Path, toml: str, template: str = TEMPLATE) -> Path:
    (tmp_path / "ctph.toml").write_text(toml, encoding="utf-8")
    (tmp_path / "t.liquid").write_text(template, encoding="utf-8")
    return tmp_path


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The run ends in a clear error (exit 2), not an internal one; its message."""
    code, _, err = ctph(capsys, *args)
    assert code == 2, err
    assert "internal error" not in err
    return err


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("timeout = nan", "`timeout` must be a number of seconds above 0 and at most 60"),
        ("timeout = inf", "`timeout` must be a number of seconds above 0 and at most 60"),
        ("timeout = 1e9", "`timeout` must be"),
        ("retries = 1000000000", "`retries` must be a whole number from 0 to 10"),
        ("profiles = 1000000000", "`profiles` must be a whole number from 1 to 100,000"),
        ('headers = { "Content-Length" = "5" }', "'Content-Length' is set by the HTTP layer"),
        ('headers = { "transfer-encoding" = "chunked" }', "is set by the HTTP layer"),
        ('headers = { "Host" = "posthog.com" }', "is set by the HTTP layer"),
        ('headers = { "X-A" = "a\\r\\nX-B: b" }', "printable ASCII on one line"),
        ('headers = { "X-A" = "café" }', "printable ASCII on one line"),
        ('headers = { "" = "a" }', "a header name is letters, digits"),
        ('headers = { "X A" = "a" }', "a header name is letters, digits"),
        ('webhook_url = "http://[::1"', "'http://[::1' is not a valid URL (Invalid IPv6 URL)"),
        ('webhook_url = "http://h:99999/i/v0/e/"', "is not a valid URL (Port out of range"),
        ('webhook_url = "http://h/i/v0/e/\\n"', "contains whitespace or control characters"),
        ('endpoint = "/i/v0/e/\\n"', "`endpoint` must be a path such as /i/v0/e/"),
        ("seed = 1" + "0" * 5000, "not valid TOML"),
        ("x = " + "[" * 3000 + "]" * 3000, "nested too deeply"),
        (
            '[properties]\nx = { pattern = "a{0,4294967296}" }',
            "it does not compile: the repetition number is too large",
        ),
        (
            '[plan.events.a]\nx = { pattern = "a{0,4294967296}" }',
            "is not a regular expression JSON Schema accepts",
        ),
        ('[plan.events.a]\nx = { pattern = "a\\\\Z" }', "ECMA-262 syntax"),
    ],
)
def test_a_hostile_setting_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, expected: str
) -> None:
    folder = campaign(tmp_path, toml)
    err = refused(capsys, "verify", str(folder), "--profiles", "3")
    assert expected in err
    assert "ctph.toml" in err


def test_profiles_on_the_command_line_are_capped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = campaign(tmp_path, "")
    err = refused(capsys, "verify", str(folder), "--profiles", "1000000000")
    # in the user's words: the flag they typed, not the setting's internal name
    assert "--profiles 1000000000: must be a whole number from 1 to 100,000" in err
    assert "option" not in err and "`profiles`" not in err


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_serve_port_outside_0_to_65535_is_refused(
    capsys: pytest.CaptureFixture[str], port: str
) -> None:
    err = refused(capsys, "serve", "--port", port)
    assert "argument --port: invalid port" in err


def test_a_pattern_whose_matches_are_all_too_long_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = campaign(tmp_path, '[properties]\nx = { pattern = "a{1000000}" }')
    err = refused(capsys, "verify", str(folder))
    assert "every match is longer than CleverTap's 512 characters" in err
    assert "lookarounds" not in err  # the old message blamed the wrong construct


def test_a_pattern_that_backtracks_catastrophically_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lookahead makes the sampler check its longest value; with ``re`` that check of
    hundreds of ``a`` never ended. The bounded check gives up and the pattern is named."""
    folder = campaign(tmp_path, '[properties]\nx = { pattern = "(a|aa)+(?=b)" }')
    err = refused(capsys, "verify", str(folder))
    assert "'(a|aa)+(?=b)'" in err
    assert "catastrophic backtracking" in err


@pytest.mark.parametrize("pattern", [r"^(\d{2,}){25}$", "^(a+)+$"])
def test_nested_repeats_still_generate_and_give_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pattern: str
) -> None:
    toml = "[properties]\nx = { pattern = " + json.dumps(pattern) + " }"
    folder = campaign(tmp_path, toml)
    code, out, err = ctph(capsys, "verify", str(folder), "--profiles", "5")
    assert code in (0, 1), err
    assert "templates pass" in out


def test_matching_a_value_against_a_declared_pattern_is_bounded() -> None:
    """``PropertySpec.accepts`` matched with ``re``: forty ``a`` and a ``!`` against
    ``^(a+)+$`` backtracks for hours. The thread bound is only a safety net."""
    spec = PropertySpec("x", "pattern", pattern="^(a+)+$")
    answers: list[bool] = []
    worker = threading.Thread(target=lambda: answers.append(spec.accepts("a" * 40 + "!")))
    worker.daemon = True
    worker.start()
    worker.join(20)
    assert answers == [False]
    assert spec.accepts("aaa")


def test_a_very_deep_variable_path_still_gets_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Planning, generating and shrinking nest once per segment: 200 segments exhausted the
    recursion limit. No CleverTap data is that deep, so the read renders blank, as it would
    in CleverTap, and the usual missing-property warning says so."""
    deep = "Profile" + ".a" * 200
    template = TEMPLATE[:-1] + ', "properties": {"p": "{{ ' + deep + ' }}"}}'
    folder = campaign(tmp_path, "")
    (folder / "t.liquid").write_text(template, encoding="utf-8")
    code, out, err = ctph(capsys, "verify", str(folder), "--profiles", "3")
    assert code in (0, 1), err
    assert "CTPH005" in out


def test_render_refuses_a_profile_nested_too_deeply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = campaign(tmp_path, "")
    profile = tmp_path / "deep.json"
    profile.write_text('{"a":' * 2000 + "1" + "}" * 2000, encoding="utf-8")
    err = refused(capsys, "render", str(folder / "t.liquid"), "--profile", str(profile))
    assert f"profile {profile} is not valid JSON" in err
    assert "nested 128 deep or more" in err


def test_render_reads_a_profile_with_an_editors_bom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = campaign(tmp_path, "")
    profile = tmp_path / "p.json"
    profile.write_bytes(b'\xef\xbb\xbf{"x": "ana@example.com"}')
    code, out, err = ctph(capsys, "render", str(folder / "t.liquid"), "--profile", str(profile))
    assert code == 0, err
    assert '"distinct_id": "ana@example.com"' in out


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    """A 3 GB file that takes no disk (sparse): reading it whole was a MemoryError."""
    path = tmp_path / "huge"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024**3)
    return path


def test_a_huge_template_is_refused_before_it_is_read(
    huge: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = huge.rename(huge.with_suffix(".liquid"))
    for command in (["render", str(template)], ["verify", str(template)]):
        err = refused(capsys, *command)
        assert f"{template}: 3,221,225,472 bytes; ctph reads templates up to 2,097,152" in err


def test_a_huge_payload_or_profile_is_refused_before_it_is_read(
    tmp_path: Path, huge: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = huge.rename(huge.with_suffix(".json"))
    err = refused(capsys, "check", str(payload))
    assert "3,221,225,472 bytes; ctph reads payload files up to 67,108,864 bytes" in err
    folder = campaign(tmp_path, "")
    err = refused(capsys, "render", str(folder / "t.liquid"), "--profile", str(payload))
    assert "ctph reads profile files up to" in err


def test_check_url_keeps_the_loopback_guarantee_readable() -> None:
    """The URL check (shared by ``webhook_url`` and ``--ctph-live``) only ever refuses: what
    it passes still has a host that ``is_loopback`` judges."""
    assert check_url("http://[::1]:8000/i/v0/e/", "x", sendable=True).hostname == "::1"
    for bad in ("ftp://127.0.0.1/", "http:///i/v0/e/", "http://[::1", "http://h:-1/"):
        with pytest.raises(UsageError):
            check_url(bad, "--ctph-live", sendable=True)


def test_pytest_refuses_an_unparseable_live_url(pytester: pytest.Pytester) -> None:
    pytester.makefile(".liquid", t=TEMPLATE)
    result = pytester.runpytest_inprocess("--ctph-live", "http://[::1", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ctph-live: 'http://[[]::1' is not a valid URL*"])
