"""``--ctph-shard i/n`` and ``ctph merge-reports``: a CI matrix's shard reports merge into the
unsharded run's report, byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ctph_harness.cli import main

CAMPAIGNS = Path(__file__).resolve().parents[1] / "fixtures" / "campaigns"
FORMATS = ("json", "xml", "md", "html")


@pytest.fixture
def campaigns(pytester: pytest.Pytester) -> pytest.Pytester:
    """The bundled campaigns (passing and failing ones), some in a nested folder, so report
    order by path component matters."""
    for i, source in enumerate(sorted(CAMPAIGNS.glob("*.liquid"))):
        target = pytester.path / ("nested" if i % 3 == 0 else "") / source.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
    shutil.copyfile(CAMPAIGNS / "ctph.toml", pytester.path / "ctph.toml")
    (pytester.path / "a-b.json.liquid").write_text(
        (CAMPAIGNS / "tier-case.json.liquid").read_text()
    )
    return pytester


def run(pytester: pytest.Pytester, report: str, *extra: str) -> pytest.RunResult:
    return pytester.runpytest(
        "-p", "ctph_harness", "-p", "no:cacheprovider", "--ctph-profiles", "40",
        "--ctph-report", report, "-q", *extra,
    )  # fmt: skip


def test_merged_shard_reports_equal_the_unsharded_report(
    campaigns: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = run(campaigns, "whole.json")
    total = len(json.loads((campaigns.path / "whole.json").read_text())["templates"])
    assert total == 10
    seen: list[str] = []
    for i in (1, 2, 3):
        result = run(campaigns, f"shard-{i}.json", "--ctph-shard", f"{i}/3")
        paths = [
            t["path"]
            for t in json.loads((campaigns.path / f"shard-{i}.json").read_text())["templates"]
        ]
        assert len(paths) in (3, 4), paths  # round-robin: sizes differ by one at most
        seen += paths
        assert f"{total - len(paths)} deselected" in result.stdout.str()
    assert sorted(seen) == sorted(set(seen)) and len(seen) == total  # a partition
    shards = [str(campaigns.path / f"shard-{i}.json") for i in (1, 2, 3)]
    for suffix in FORMATS:
        merged = campaigns.path / f"merged.{suffix}"
        code = main(["merge-reports", *shards, "--output", str(merged)])
        assert code == (0 if whole.ret == 0 else 1)
        if suffix != "json":  # the unsharded run's report in this format
            run(campaigns, f"whole.{suffix}")
        assert merged.read_bytes() == (campaigns.path / f"whole.{suffix}").read_bytes(), suffix
    capsys.readouterr()
    assert main(["merge-reports", *reversed(shards), "--format", "json"]) == 1
    assert capsys.readouterr().out == (campaigns.path / "whole.json").read_text()


def test_shards_deal_templates_round_robin_in_report_order(campaigns: pytest.Pytester) -> None:
    result = campaigns.runpytest(
        "-p", "ctph_harness", "--collect-only", "-q", "--ctph-shard", "2/4"
    )  # fmt: skip
    collected = [line.split("::")[0] for line in result.outlines if "::contract" in line]
    ordered = sorted(str(p.relative_to(campaigns.path)) for p in campaigns.path.rglob("*.liquid"))
    ordered.sort(key=lambda p: Path(p).parts)
    assert collected == ordered[1::4]


@pytest.mark.parametrize("shard", ["4/3", "a/b"])
def test_a_bad_shard_is_a_usage_error(campaigns: pytest.Pytester, shard: str) -> None:
    result = campaigns.runpytest("-p", "ctph_harness", "--ctph-shard", shard)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "is not a shard: give i/n with 1 <= i <= n" in result.stderr.str()


def _report(path: Path, seed: int, templates: list[str]) -> str:
    items = [{"path": p, "status": "pass", "profiles": 1, "findings": []} for p in templates]
    path.write_text(json.dumps({"version": 1, "seed": seed, "templates": items}))
    return str(path)


def test_merge_refuses_overlapping_shards_other_seeds_and_non_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _report(tmp_path / "a.json", 0, ["x.liquid", "y.liquid"])
    b = _report(tmp_path / "b.json", 0, ["y.liquid"])
    c = _report(tmp_path / "c.json", 7, ["z.liquid"])
    (tmp_path / "d.json").write_text('{"version": 1, "templates": [{"status": "pass"}]}')
    (tmp_path / "e.json").write_text("[1, 2")
    cases = {
        (a, b): f"y.liquid is in both {a} and {b}: shards must not overlap",
        (a, c): f"different seeds: 0 ({a}), 7 ({c})",
        (str(tmp_path / "d.json"),): "is not a report entry (missing 'path')",
        (str(tmp_path / "e.json"),): "is not valid JSON",
        (str(tmp_path / "nope.json"),): "nope.json",
    }
    for files, message in cases.items():
        assert main(["merge-reports", *files]) == 2
        err = capsys.readouterr().err
        assert err.startswith("ctph: error: ") and message in err, err
        assert "Traceback" not in err


def test_parse_shard_takes_i_of_n_and_nothing_else() -> None:
    import argparse

    from ctph_harness.pytest_plugin.shard import Shard, parse_shard

    assert parse_shard("2/3") == Shard(2, 3) and str(parse_shard("1/1")) == "1/1"
    for bad in ("0/3", "4/3", "3", "a/b", "1/0", "/3", "1/3/4", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="is not a shard"):
            parse_shard(bad)
