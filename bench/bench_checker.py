"""Checker throughput against ``json.loads`` of the same payload (issue #2).

Target: a full single-payload check of raw text (which includes parsing it) costs at most 3x a
``json.loads`` of that text. Run: ``python bench/bench_checker.py``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import best_of, table

from ctph_harness.posthog.checker import check

ROOT = Path(__file__).resolve().parents[1]
KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"

PAYLOADS = {
    "guide purchase (corrected)": (ROOT / "fixtures/payloads/corrected-purchase.json").read_text(),
    "Charged + $set (15 props)": json.dumps(
        {
            "api_key": KEY,
            "event": "Charged",
            "distinct_id": "ann.smith@example.com",
            "timestamp": "2024-05-01T10:00:00+05:30",
            "properties": {
                "amount": 1499.5,
                "currency": "INR",
                "payment_mode": "UPI",
                "charged_id": "ord_8812",
                "items": 3,
                "category": "Books",
                "coupon": "SUMMER10",
                "city": "Mumbai",
                "campaign_id": "1714557600_20240501",
                "source": "clevertap",
                "$set": {
                    "email": "ann.smith@example.com",
                    "name": "Ann Smith",
                    "plan": "gold",
                    "ltv": 18234.25,
                    "msg_email": True,
                },
            },
        }
    ),
    "guide identify (verbatim, 5 findings)": (
        ROOT / "fixtures/payloads/guide-identify.json"
    ).read_text(),
}


def main() -> None:
    now = datetime.now(timezone.utc)
    rows = []
    worst = 0.0
    for name, text in PAYLOADS.items():
        parsed = json.loads(text)
        base = best_of(lambda t=text: json.loads(t), number=3000)
        full = best_of(lambda t=text: check(t, now=now), number=3000)
        pre = best_of(lambda d=parsed: check(d, now=now), number=3000)
        worst = max(worst, full / base) if "verbatim" not in name else worst
        rows.append(
            [
                name,
                len(text),
                f"{base * 1e6:.1f}",
                f"{full * 1e6:.1f}",
                f"{full / base:.2f}x",
                f"{pre * 1e6:.1f}",
                f"{pre / base:.2f}x",
            ]
        )
    print(
        table(
            [
                "payload",
                "bytes",
                "json.loads us",
                "check(text) us",
                "ratio",
                "check(parsed) us",
                "ratio",
            ],
            rows,
        )
    )
    print(f"\nclean payloads, worst check(text)/json.loads: {worst:.2f}x (target <= 3.00x)")


if __name__ == "__main__":
    main()
