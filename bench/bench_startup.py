"""What installing ctph costs every pytest start (issue 13): ``pytest --co`` in an empty folder,
in a venv where ctph is installed (runtime dependencies only, no test extra) against a venv with
the same pytest and nothing else.

pytest loads every installed package's ``pytest11`` entry point at start-up, so what ctph
*depends on* is paid by every pytest run in that environment, whether it uses ctph or not.
Rows, all in one run (ratios against "pytest alone"):

- pytest alone (the baseline) and with ctph installed, the target being <= 2x;
- the same with ctph's own plugin switched off (``-p no:ctph_harness``), which prices it (lazy:
  it imports pytest and its own light modules);
- "as before": ctph plus schemathesis, which was a runtime dependency until issue 13 (its plugin
  imports schemathesis, hypothesis and requests at every start), and hypothesis with it, whose
  own plugin imports hypothesis at every run's terminal summary (ctph shrinks with its own
  shrinker since, and hypothesis is an optional extra);
- every row again with ``PYTHONDONTWRITEBYTECODE=1`` (as tox.ini set until issue 13): pytest
  then cannot cache its assertion rewrite of the plugins' modules and redoes it at every start;
- a second table: ``-X importtime`` of the "before" start, per top-level package, which says
  which plugin imports what (hypothesis's own plugin imports hypothesis in its
  ``pytest_terminal_summary``: HypothesisWorks/hypothesis,
  hypothesis-python/src/_hypothesis_pytestplugin.py, 6.170). faker, whose plugin imports faker
  at load (joke2k/faker, faker/contrib/pytest/plugin.py), left the runtime dependencies with
  the shipped profile corpus.

The venvs live in ``$CTPH_BENCH_VENVS`` (default ``/tmp/ctph-bench-startup``), built on the first
run from this checkout and the package registry and reused after (``--fresh`` rebuilds them).
Each command runs once to warm the caches, then ``--repeat`` times (default 9); the table gives
the median and the spread (min-max). The machine may be shared: compare ratios, not seconds.

Run: ``python bench/bench_startup.py [--repeat N] [--fresh]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import table

ROOT = Path(__file__).resolve().parents[1]
VENVS = Path(os.environ.get("CTPH_BENCH_VENVS", "/tmp/ctph-bench-startup"))


def _bin(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def _pip(venv: Path, *args: str) -> None:
    subprocess.run(
        [str(_bin(venv) / "python"), "-m", "pip", "install", "-q", *args],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def _pytest_version(venv: Path) -> str:
    done = subprocess.run(
        [str(_bin(venv) / "python"), "-c", "import pytest; print(pytest.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def build_venvs(fresh: bool) -> dict[str, Path]:
    """``ctph``: this checkout, installed as a user installs it (a wheel, runtime dependencies);
    ``plain``: the same pytest version alone; ``before``: ctph plus schemathesis."""
    venvs = {name: VENVS / name for name in ("ctph", "plain", "before")}
    if fresh:
        shutil.rmtree(VENVS, ignore_errors=True)
    for name, venv in venvs.items():
        if (venv / ".ready").exists():
            continue
        shutil.rmtree(venv, ignore_errors=True)
        print(f"building the {name!r} venv in {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        if name == "plain":
            _pip(venv, f"pytest=={_pytest_version(venvs['ctph'])}")
        else:
            _pip(venv, str(ROOT))
            if name == "before":
                _pip(venv, "schemathesis>=4.30.1")
        (venv / ".ready").touch()
    return venvs


def _once(venv: Path, args: list[str], folder: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(_bin(venv) / "python"), "-m", "pytest", "--co", "-q", *args],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 5):  # 5: no tests collected, which is the point
        raise SystemExit(f"pytest failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def measure(
    venv: Path, args: list[str], folder: Path, env: dict[str, str], repeat: int
) -> list[float]:
    _once(venv, args, folder, env)  # warm: the OS file cache, pytest's rewrite cache
    return [_once(venv, args, folder, env) for _ in range(repeat)]


def import_times(
    venv: Path, folder: Path, env: dict[str, str], repeat: int
) -> dict[str, list[float]]:
    """``-X importtime`` of the same start, summed per top-level package (ms): which plugin
    brings what, with far less noise than wall time."""
    found: dict[str, list[float]] = {}
    for _ in range(repeat):
        done = subprocess.run(
            [str(_bin(venv) / "python"), "-X", "importtime", "-m", "pytest", "--co", "-q"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        run: dict[str, float] = {}
        for line in done.stderr.splitlines():
            # "import time:   self [us] | cumulative | <indent>name"; one space: top level
            parts = line.split("|")
            if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
                name = parts[2].strip().split(".")[0]
                if parts[1].strip().isdigit():
                    run[name] = run.get(name, 0.0) + int(parts[1]) / 1000
        for name, ms in run.items():
            found.setdefault(name, []).append(ms)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--fresh", action="store_true", help="rebuild the venvs")
    options = parser.parse_args()
    venvs = build_venvs(options.fresh)

    cases = [
        ("pytest alone (no ctph installed)", venvs["plain"], []),
        ("ctph installed (runtime dependencies)", venvs["ctph"], []),
        ("  ... with -p no:ctph_harness", venvs["ctph"], ["-p", "no:ctph_harness"]),
        ("before: ctph + schemathesis installed", venvs["before"], []),
    ]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    # PYTHONDONTWRITEBYTECODE first, with pytest's rewrite caches removed, as in a fresh tox env
    # (pytest still *reads* a cached rewrite when it may not write one, so the order matters)
    modes = [
        ("PYTHONDONTWRITEBYTECODE=1", {**base_env, "PYTHONDONTWRITEBYTECODE": "1"}),
        ("bytecode written", base_env),
    ]
    for rewritten in VENVS.rglob("*-pytest-*.pyc"):
        rewritten.unlink()
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as raw:
        folder = Path(raw)  # empty: no tests, no ini file, no conftest
        for mode, env in modes:
            medians: list[float] = []
            for label, venv, args in cases:
                args = ["-p", "no:cacheprovider", *args]
                times = measure(venv, args, folder, env, options.repeat)
                medians.append(statistics.median(times))
                rows.append(
                    [
                        mode,
                        label,
                        f"{medians[-1] * 1000:.0f} ms",
                        f"{min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms",
                        f"{medians[-1] / medians[0]:.2f}x" if len(medians) > 1 else "baseline",
                        "<= 2x" if label.startswith("ctph installed") else "",
                    ]
                )
        imports = import_times(venvs["before"], folder, base_env, options.repeat)
    headers = ["bytecode", "pytest --co, empty folder", "median", "spread", "ratio", "target"]
    print(table(headers, rows))
    print()
    print(
        table(
            ["imported at start-up (before: ctph + schemathesis)", "median", "spread"],
            [
                [name, f"{statistics.median(t):.0f} ms", f"{min(t):.0f}-{max(t):.0f} ms"]
                for name, t in sorted(imports.items(), key=lambda kv: -statistics.median(kv[1]))
                if statistics.median(t) >= 5
            ],
        )
    )
    print(
        f"\n{options.repeat} runs per row after one warm-up; venvs in {VENVS}; "
        f"pytest {_pytest_version(venvs['ctph'])}, python {sys.version.split()[0]}"
    )


if __name__ == "__main__":
    main()
