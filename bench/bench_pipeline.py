"""Per-profile pipeline throughput on the bundled campaigns (issue #3).

Rows, all on the same templates and the same 200 profiles each, in one run:

- bare: the pre-parsed template's ``render`` (python-liquid, CleverTap dialect) + ``json.loads``;
- pipeline: ctph's per-profile path (render, parse, contract check, multi-value check);
- generation: ``generate()`` for the template's reads, warm (pools built) and cold (new seed).

Targets: pipeline >= 0.5x the bare rate; generation >= 5x the pipeline rate.
Run: ``python bench/bench_pipeline.py``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import best_of, table

from ctph_harness.clevertap.profiles import generate
from ctph_harness.clevertap.tags import CampaignAborted
from ctph_harness.clevertap.template import load_template
from ctph_harness.config import load_config
from ctph_harness.engine import (
    CAMPAIGN,
    dialect_settings,
    property_specs,
    run_profile,
    template_reads,
)
from ctph_harness.tracking_plan import plan_checker

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
N = 200


def main() -> None:
    config = load_config(CAMPAIGNS / "ctph.toml")
    started = time.perf_counter()
    generate([("Profile", "Name")], 1, 12345)  # one-time start-up: read the corpus, draw pools
    startup = time.perf_counter() - started
    specs = property_specs(config)
    now = datetime.now(timezone.utc)
    planned = plan_checker(config.plan, config.event)  # once per run, as the engine does
    rows = []
    totals = {"bare": 0.0, "pipeline": 0.0, "warm": 0.0, "cold": 0.0}
    for path in sorted(CAMPAIGNS.glob("*.liquid")):
        template = load_template(path.read_bytes(), path.name, dialect_settings(config))
        assert template.parsed is not None
        reads = template_reads(template)
        profiles = generate(reads, N, config.seed, specs)
        contexts = [{"Profile": p.fields, "Event": p.event, "Campaign": CAMPAIGN} for p in profiles]
        parsed = template.parsed

        def bare(contexts: list[dict[str, object]] = contexts, parsed: object = parsed) -> None:
            for ctx in contexts:
                try:
                    text = parsed.render(ctx)  # type: ignore[attr-defined]
                except CampaignAborted:
                    continue
                with contextlib.suppress(ValueError):
                    json.loads(text)

        def pipeline(profiles: list[object] = profiles, template: object = template) -> None:
            for p in profiles:
                run_profile(template, p, config, now, planned=planned)  # type: ignore[arg-type]

        t_bare = best_of(bare, number=3, repeat=5) / len(profiles)
        t_pipe = best_of(pipeline, number=3, repeat=5) / len(profiles)
        t_warm = best_of(lambda r=reads: generate(r, N, config.seed, specs), number=3, repeat=5) / N
        seeds = iter(range(10_000, 20_000))
        started = time.perf_counter()
        for _ in range(3):
            generate(reads, N, next(seeds), specs)
        t_cold = (time.perf_counter() - started) / (3 * N)
        for key, value in (
            ("bare", t_bare),
            ("pipeline", t_pipe),
            ("warm", t_warm),
            ("cold", t_cold),
        ):
            totals[key] += value
        rows.append(
            [
                path.name,
                f"{1 / t_bare:,.0f}",
                f"{1 / t_pipe:,.0f}",
                f"{t_bare / t_pipe:.2f}x",
                f"{1 / t_warm:,.0f}",
                f"{t_pipe / t_warm:.1f}x",
                f"{1 / t_cold:,.0f}",
            ]
        )
    rows.append(
        [
            "ALL (mean per profile)",
            f"{len(rows) / totals['bare']:,.0f}",
            f"{len(rows) / totals['pipeline']:,.0f}",
            f"{totals['bare'] / totals['pipeline']:.2f}x",
            f"{len(rows) / totals['warm']:,.0f}",
            f"{totals['pipeline'] / totals['warm']:.1f}x",
            f"{len(rows) / totals['cold']:,.0f}",
        ]
    )
    print(
        table(
            [
                "template",
                "bare /s",
                "pipeline /s",
                "pipe/bare",
                "gen warm /s",
                "gen/pipe",
                "gen cold /s",
            ],
            rows,
        )
    )
    print(f"\none-time start-up (corpus read + first pools): {startup:.2f} s")
    print("targets: pipe/bare >= 0.50x; gen/pipe >= 5.0x (warm: pools drawn once per seed)")


if __name__ == "__main__":
    main()
