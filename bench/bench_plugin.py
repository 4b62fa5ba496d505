"""The pytest plugin on a synthetic suite of 50 templates x 200 profiles (issue #5).

Rows, all in one run on the same generated campaigns:

- pytest serial and ``-n 2`` wall time (target: speed-up >= 1.6x on 2 cores);
- the harness's cost per profile (plugin + delivery to the fake PostHog) against the bare
  pipeline of issue #3 (``verify_template`` in process, no pytest, no delivery) (target:
  <= 1.5x). Both are measured by differencing a 10-template and a 50-template suite, which
  cancels every one-time cost (interpreter and plugin start-up, imports, faker pools, the
  server's start) and leaves what each further profile costs;
- plugin start-up: ``pytest -p ctph_harness --collect-only`` on a folder without templates
  against plain ``pytest --collect-only`` (target: <= 1.3x). Both run with plugin autoload off,
  so the row measures ctph alone, not the other plugins this environment happens to have.

Run: ``python bench/bench_plugin.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import table

from ctph_harness.config import load_config
from ctph_harness.engine import verify_template

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
TEMPLATES = 50
PROFILES = 200


def make_suite(folder: Path, templates: int = TEMPLATES) -> None:
    """Campaigns built from the bundled ones with renamed events, so every template parses and
    renders differently (no cache can make one template pay for another)."""
    sources = sorted(CAMPAIGNS.glob("*.liquid"))
    text = (CAMPAIGNS / "ctph.toml").read_text()
    (folder / "ctph.toml").write_text(f"profiles = {PROFILES}\n" + text)
    for i in range(templates):
        source = sources[i % len(sources)].read_text()
        variant = source.replace('"event": "', f'"event": "v{i}_', 1)
        (folder / f"campaign_{i:02d}.json.liquid").write_text(variant)


def bare_seconds(folder: Path) -> float:
    config = load_config(folder / "ctph.toml")
    started = time.perf_counter()
    for path in sorted(folder.glob("*.liquid")):
        verify_template(path.read_bytes(), path.name, config.for_template(path.name))
    return time.perf_counter() - started


def wall(args: list[str], cwd: Path, env: dict[str, str] | None = None, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    python = sys.executable
    small_n = 10
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        suite, small = tmp / "suite", tmp / "small"
        suite.mkdir()
        small.mkdir()
        make_suite(suite)
        make_suite(small, small_n)
        empty = tmp / "empty"
        empty.mkdir()
        (empty / "test_nothing.py").write_text("def test_nothing():\n    pass\n")

        pytest_cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "ctph_harness"]
        serial = wall([*pytest_cmd, str(suite)], suite)
        serial_small = wall([*pytest_cmd, str(small)], small)
        parallel = wall([*pytest_cmd, "-n", "2", str(suite)], suite)

        bare_seconds(small)  # warm: imports, faker pools
        bare = bare_seconds(suite) - bare_seconds(small)

        quiet = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        plain_cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only"]
        plain = wall([*plain_cmd, str(empty)], empty, quiet, repeat=5)
        with_ctph = wall([*plain_cmd, "-p", "ctph_harness", str(empty)], empty, quiet, 5)

    extra = (TEMPLATES - small_n) * PROFILES
    harness = (serial - serial_small) / extra
    bare_per = bare / extra
    print(
        table(
            ["measure", "value", "ratio", "target"],
            [
                ["pytest -p ctph_harness, serial", f"{serial:.1f} s", "baseline", ""],
                [
                    "pytest -p ctph_harness, -n 2",
                    f"{parallel:.1f} s",
                    f"{serial / parallel:.2f}x faster",
                    ">= 1.6x",
                ],
                [
                    "bare pipeline per profile (issue #3, in process)",
                    f"{bare_per * 1e6:.0f} us",
                    "baseline",
                    "",
                ],
                [
                    "harness per profile (plugin + delivery)",
                    f"{harness * 1e6:.0f} us",
                    f"{harness / bare_per:.2f}x bare",
                    "<= 1.5x",
                ],
                ["plain pytest --collect-only (autoload off)", f"{plain:.2f} s", "baseline", ""],
                [
                    "pytest -p ctph_harness --collect-only",
                    f"{with_ctph:.2f} s",
                    f"{with_ctph / plain:.2f}x",
                    "<= 1.3x",
                ],
            ],
        )
    )
    print(
        f"\n{TEMPLATES} templates x {PROFILES} profiles; per-profile rows from "
        f"{TEMPLATES} - {small_n} templates; serial {small_n} templates: {serial_small:.1f} s"
    )


if __name__ == "__main__":
    main()
