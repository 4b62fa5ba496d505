"""Start-up of the ``ctph`` command against a bare render script (issue 13).

Rows, each a wall-clock ratio of two subprocesses timed in the same rounds:

- ``ctph verify T --profiles 200`` against ``bare_render.py`` (python start + ``import liquid``
  + render T for the same 200 profiles + ``json.loads`` each) (target: <= 2x);
- ``ctph render T`` (one profile) against ``bare_render.py`` for one profile (target: <= 1.5x).

T is each of a failing template (the CleverTap guide's purchase: findings, so the shrinker
runs) and a passing one. The rounds interleave the commands, so a busy machine slows all of
them alike; the table gives the ratio of the best walls and the spread of the per-round ratios
(min-max). Every process runs with a private, warmed bytecode cache (``PYTHONPYCACHEPREFIX``)
and ``PYTHONDONTWRITEBYTECODE`` unset, as on a user's machine.

Run: ``python bench/bench_cli.py [ROUNDS]`` (default 7).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import table

from ctph_harness.clevertap.profiles import generate
from ctph_harness.clevertap.template import load_template
from ctph_harness.config import load_config
from ctph_harness.engine import dialect_settings, property_specs, template_reads

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
BARE = Path(__file__).with_name("bare_render.py")
TEMPLATES = ("guide-purchase.json.liquid", "corrected-purchase.json.liquid")
PROFILES = 200


def dump_profiles(template: Path, out: Path) -> None:
    """The 200 profiles ``ctph verify`` renders T for (same seed, reads and declarations)."""
    config = load_config(CAMPAIGNS / "ctph.toml")
    parsed = load_template(template.read_bytes(), template.name, dialect_settings(config))
    profiles = generate(template_reads(parsed), PROFILES, config.seed, property_specs(config))
    rows = [{"Profile": p.fields, "Event": p.event} for p in profiles[:PROFILES]]
    out.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")


def wall(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds for ``cmd``; exit 0, or 1 for a ``ctph`` command that found errors (the guide's
    template), else the row would time a crash."""
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if done.returncode not in ((0, 1) if "ctph_harness.cli" in cmd else (0,)):
        raise SystemExit(f"{cmd[:4]} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return seconds


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        py = sys.executable
        pairs: list[tuple[str, list[str], list[str], str]] = []
        for name in TEMPLATES:
            template = CAMPAIGNS / name
            profiles = Path(tmp) / f"{name}.profiles.json"
            dump_profiles(template, profiles)
            bare = [py, str(BARE), str(template), str(profiles)]
            verify = ["verify", str(template), "--profiles", str(PROFILES)]
            cli = [py, "-m", "ctph_harness.cli"]
            pairs.append((f"verify {name} x200", [*cli, *verify], bare, "2.0x"))
            pairs.append(
                (f"render {name} x1", [*cli, "render", str(template)], [*bare, "1"], "1.5x")
            )
        for _, cmd, base, _ in pairs:  # warm the bytecode cache and the file cache
            wall(cmd, env)
            wall(base, env)
        times: dict[str, tuple[list[float], list[float]]] = {row: ([], []) for row, *_ in pairs}
        for _ in range(rounds):
            for row, cmd, base, _ in pairs:
                times[row][1].append(wall(base, env))
                times[row][0].append(wall(cmd, env))
    rows = []
    for row, _, _, target in pairs:
        ctph, bare = times[row]
        ratios = [c / b for c, b in zip(ctph, bare, strict=True)]
        rows.append(
            [
                row,
                f"{min(bare) * 1e3:.0f} ms",
                f"{min(ctph) * 1e3:.0f} ms",
                f"{min(ctph) / min(bare):.2f}x",
                f"{statistics.median(ratios):.2f}x",
                f"{min(ratios):.2f}-{max(ratios):.2f}x",
                target,
            ]
        )
    headers = ["command (vs baseline)", "baseline", "command", "ratio", "median", "spread", "goal"]
    print(table(headers, rows))
    print(f"\n{rounds} rounds, commands interleaved; spread = min-max of the per-round ratios")


if __name__ == "__main__":
    main()
