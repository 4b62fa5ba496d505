"""Marginal throughput per profile of the whole verify path, delivery included (issue 13).

For each bundled campaign, in one run:

- bare: python-liquid's ``render`` of the pre-parsed template + ``json.loads``, per profile;
- verify (shapes): :func:`ctph_harness.engine.verify_template` with the delivery hook
  ``ctph verify`` uses by default (``deliver = "shapes"``) to one fake PostHog;
- verify (all): the same with ``deliver = "all"`` (every body sent).

Each is timed at two profile counts and differenced, ``(t(N2) - t(N1)) / (N2 - N1)``, so the
one-time costs (template parse, pools, the loopback send, the first shrink) cancel and what is
left is the cost of one more profile. Then a breakdown of the verify path by stage, each stage
timed on its own the same way (so the stages add up to about the verify row, not exactly).

Target: verify (shapes) >= 0.35x the bare rate. Run: ``python bench/bench_throughput.py``
(``--runs 3`` repeats the whole table to show the spread).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _table import table

from ctph_harness.clevertap.profiles import generate
from ctph_harness.clevertap.render import multi_value_findings, render
from ctph_harness.clevertap.tags import CampaignAborted
from ctph_harness.clevertap.template import load_template
from ctph_harness.config import HarnessConfig, load_config
from ctph_harness.delivery import Deliverer, delivering, representatives
from ctph_harness.engine import (
    CAMPAIGN,
    _Tally,
    dialect_settings,
    property_specs,
    run_profile,
    template_reads,
    verify_template,
)
from ctph_harness.posthog.checker import check_many, check_text
from ctph_harness.posthog.server import FakePostHog

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
N1, N2 = 200, 2000
REPEAT = 3


def best(func: Callable[[], object], repeat: int = REPEAT) -> float:
    """CPU seconds of this process for one call, the least of ``repeat``: process time, not
    wall time, so that other processes sharing the cores move it less (the path is one thread,
    bar the loopback send, whose server thread is in this process too)."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        func()
        times.append(time.process_time() - started)
    return min(times)


def marginal(timed: Callable[[int], float]) -> float:
    """Seconds per extra profile: the N1 -> N2 difference cancels one-time costs."""
    return (timed(N2) - timed(N1)) / (N2 - N1)


class Campaign:
    """One bundled template with its profiles for N1 and N2, pre-generated for the bare row."""

    def __init__(self, path: Path, config: HarnessConfig) -> None:
        self.path, self.config = path, config
        self.source = path.read_bytes()
        self.template = load_template(self.source, path.name, dialect_settings(config))
        self.reads = template_reads(self.template)
        specs = property_specs(config)
        self.profiles = {n: generate(self.reads, n, config.seed, specs) for n in (N1, N2)}

    def bare(self, n: int) -> float:
        parsed: Any = self.template.parsed
        contexts = [
            {"Profile": p.fields, "Event": p.event, "Campaign": CAMPAIGN} for p in self.profiles[n]
        ]

        def run() -> None:
            for ctx in contexts:
                try:
                    text = parsed.render(ctx)
                except CampaignAborted:
                    continue
                with contextlib.suppress(ValueError):
                    json.loads(text)

        return best(run)

    def verify(self, n: int, server: FakePostHog, mode: str | None) -> float:
        """``mode`` None: no delivery at all (the engine alone)."""
        config = self.config.with_overrides(profiles=n, deliver=mode)
        with delivering(server=server, enabled=mode is not None) as make:
            hook = make(config)

            def run() -> None:
                server.reset()
                verify_template(self.source, self.path.name, config, deliver=hook)

            return best(run)

    def stages(self, n: int, server: FakePostHog) -> dict[str, float]:
        """Each stage of the verify path on its own, for ``n`` profiles."""
        config, template, now = self.config, self.template, datetime.now(timezone.utc)
        specs = property_specs(config)
        profiles = self.profiles[n]
        seeds = iter(range(50_000, 60_000))
        rendered = [render(template, p.fields, p.event, CAMPAIGN) for p in profiles]
        bodies = [r.body for r in rendered if r.body is not None]
        outcomes = [run_profile(template, p, config, now, planned=None) for p in profiles]
        sent = [o for o in outcomes if o.document is not None]
        deliverer = Deliverer(server, config, over_http=False)
        headers = {"Content-Type": "application/json"}
        path = config.capture_path

        def tally() -> None:
            counts = _Tally()
            for outcome in outcomes:
                counts.add(outcome)

        def deliver(mode: str) -> Callable[[], object]:
            def run() -> None:
                server.reset()
                deliverer.deliver(outcomes, mode=mode)  # type: ignore[arg-type]

            return run

        def ingest() -> None:
            server.reset()
            for body in bodies:
                server.call("POST", path, body.encode(), headers)

        return {
            "generation (cold seed)": best(lambda: generate(self.reads, n, next(seeds), specs)),
            "render": best(
                lambda: [render(template, p.fields, p.event, CAMPAIGN) for p in profiles]
            ),
            "parse + contract check": best(
                lambda: [
                    check_text(b, endpoint=path, project_key=config.project_key, now=now)
                    for b in bodies
                ]
            ),
            "multi-value check": best(
                lambda: [multi_value_findings(template.facts, p.fields, p.event) for p in profiles]
            ),
            "tally": best(tally),
            "cross-profile check": best(lambda: check_many([o.document for o in sent])),
            "shape keys (shapes)": best(lambda: representatives(outcomes)),
            "delivery, shapes": best(deliver("shapes")),
            "delivery, all": best(deliver("all")),
            "  of which fake capture+ingest": best(ingest),
        }


def run_once(campaigns: Sequence[Campaign], server: FakePostHog) -> list[float]:
    rows, totals = [], [0.0, 0.0, 0.0, 0.0]
    for campaign in campaigns:
        bare = marginal(campaign.bare)
        alone = marginal(lambda n, c=campaign: c.verify(n, server, None))
        shapes = marginal(lambda n, c=campaign: c.verify(n, server, "shapes"))
        every = marginal(lambda n, c=campaign: c.verify(n, server, "all"))
        for i, value in enumerate((bare, alone, shapes, every)):
            totals[i] += value
        rows.append(_row(campaign.path.name, bare, alone, shapes, every))
    rows.append(_row("ALL (sum per profile)", *totals))
    headers = ["template", "bare us", "no-deliver us", "shapes us", "all us"]
    print(table([*headers, "no-deliver/bare", "shapes/bare", "all/bare"], rows))
    bare, _, shapes, every = totals
    return [bare / shapes, bare / every]


def _row(name: str, bare: float, *verify: float) -> list[str]:
    return [
        name,
        f"{bare * 1e6:.1f}",
        *(f"{v * 1e6:.1f}" for v in verify),
        *(f"{bare / v:.2f}x" for v in verify),
    ]


def breakdown(campaigns: Sequence[Campaign], server: FakePostHog) -> None:
    totals: dict[str, float] = {}
    for campaign in campaigns:
        low, high = campaign.stages(N1, server), campaign.stages(N2, server)
        for stage in high:
            totals[stage] = totals.get(stage, 0.0) + (high[stage] - low[stage]) / (N2 - N1)
    count = len(campaigns)
    rows = [[stage, f"{value / count * 1e6:.1f}"] for stage, value in totals.items()]
    print(table(["stage (mean over templates)", "us / profile"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="repeat the table (the spread)")
    parser.add_argument("--no-stages", action="store_true", help="skip the stage breakdown")
    args = parser.parse_args()
    config = load_config(CAMPAIGNS / "ctph.toml")
    campaigns = [Campaign(p, config) for p in sorted(CAMPAIGNS.glob("*.liquid"))]
    server = FakePostHog()
    try:
        ratios = []
        for number in range(args.runs):
            print(f"\nrun {number + 1}: marginal us per profile ({N1} -> {N2} profiles)")
            ratios.append(run_once(campaigns, server))
        if args.runs > 1:
            shapes = sorted(r[0] for r in ratios)
            every = sorted(r[1] for r in ratios)
            print(
                f"\nshapes/bare over {args.runs} runs: {shapes[0]:.2f}x .. {shapes[-1]:.2f}x; "
                f"all/bare: {every[0]:.2f}x .. {every[-1]:.2f}x"
            )
        if not args.no_stages:
            print(f"\nstages of the verify path, marginal ({N1} -> {N2} profiles)")
            breakdown(campaigns, server)
    finally:
        server.stop()
    print("\ntarget: shapes/bare >= 0.35x (delivery included)")


if __name__ == "__main__":
    main()
