"""``ctph infer`` speed and memory on a synthetic CleverTap export (issue 17).

Rows, over the same 200,000-record NDJSON file in one run, as a rate relative to the bare loop:

- bare: ``for line in f: json.loads(line)`` (text mode), the floor any reader pays;
- read: ``read_records`` (open, sniff, decode, normalise each value into a ``Record``);
- decode: ``read_raw`` alone (open, sniff, decode each line; what ``ctph infer`` reads with):
  the floor under the ``ctph infer`` row, which adds gathering by column, normalising and
  counting.

Targets: the whole ``ctph infer`` >= 0.3x bare; reading alone well above that (aim >= 0.6x).
More rows (inference) go in ``ROWS``: each is a name and a function of the file's path.

``--rss``: writes a ~1 GB NDJSON to /tmp (kept for reuse) and reports the peak RSS of a child
process that reads it whole with ``read_records`` (``resource.getrusage``, ``ru_maxrss``), next
to a child that only imports the package. Not part of the test suite.

Run: ``python bench/bench_infer.py [--records N] [--rss]``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _table import table

from ctph_harness.clevertap.export import read_records

_TIERS = ("bronze", "silver", "gold", "platinum")
_CITIES = ("Mumbai", "Pune", "Delhi", "Bengaluru", "Chennai", "Kolkata", "Jaipur")
_INTERESTS = ("cricket", "movies", "travel", "food", "music", "fitness", "books", "gaming")


def synthetic_record(rng: random.Random, index: int) -> dict[str, object]:
    """A realistic Profiles API record: system fields at the top, 20-40 custom properties
    (ints, floats, booleans, enums, ids, dates, multi-value lists), some missing."""
    data: dict[str, object] = {
        "customer_id": f"ct_{index:06d}",
        "loyalty_points": rng.randrange(0, 50_000),
        "wallet_balance": round(rng.uniform(0, 9_999), 2),
        "tier": rng.choice(_TIERS),
        "city": rng.choice(_CITIES),
        "is_subscribed": rng.random() < 0.6,
        "signup_date": f"$D_{1_600_000_000 + rng.randrange(100_000_000)}",
        "last_order": f"$D_{1_700_000_000 + rng.randrange(10_000_000)}",
        "interests": rng.sample(_INTERESTS, rng.randrange(0, 4)),
        "device_id": f"{rng.getrandbits(128):032x}",
        "orders": rng.randrange(0, 200),
        "avg_basket": round(rng.uniform(50, 5_000), 2),
        "referral_code": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8)),
        "app_version": f"{rng.randrange(1, 6)}.{rng.randrange(0, 20)}.{rng.randrange(0, 10)}",
    }
    for extra in range(rng.randrange(6, 26)):
        data[f"custom_{extra}"] = rng.choice((rng.randrange(1000), f"v{rng.randrange(40)}", True))
    return {
        "identity": f"user-{index}",
        "name": f"Name {index}",
        "email": f"user{index}@example.com",
        "phone": f"+9198{rng.randrange(10**8):08d}",
        "ts": 1_700_000_000 + index,
        "profileData": data,
        "platformInfo": [{"platform": "Android", "objectId": f"__{index:x}", "push_token": "tok"}],
    }


def write_ndjson(path: Path, records: int, *, seed: int = 17) -> int:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for index in range(records):
            out.write(json.dumps(synthetic_record(rng, index), separators=(",", ":")) + "\n")
    return path.stat().st_size


def bare(path: Path) -> int:
    count = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            json.loads(line)
            count += 1
    return count


def read(path: Path) -> int:
    count = 0
    for _ in read_records([path], _fail):
        count += 1
    return count


def decode(path: Path) -> int:
    from ctph_harness.clevertap.export import read_raw

    count = 0
    for _ in read_raw([path], _fail):
        count += 1
    return count


def _fail(problem: object) -> None:
    raise AssertionError(f"unexpected problem: {problem}")


def infer_all(path: Path) -> int:
    """What ``ctph infer FILE`` does, minus argument parsing: read, infer, render the TOML."""
    from ctph_harness.clevertap.export import read_raw
    from ctph_harness.clevertap.infer import infer_read
    from ctph_harness.clevertap.infer.tomlfile import render

    inference = infer_read(read_raw([path], _fail), _fail)
    render(inference)
    return inference.profiles


ROWS: list[tuple[str, Callable[[Path], int]]] = [
    ("bare json.loads", bare),
    ("read_records", read),
    ("read_raw (decode only)", decode),
    ("ctph infer (read + infer + TOML)", infer_all),
]


def _best(func: Callable[[Path], int], path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func(path)
        times.append(time.perf_counter() - start)
    return min(times)


def speed(records: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.ndjson"
        size = write_ndjson(path, records)
        counts = {name: func(path) for name, func in ROWS}  # warm-up, and the counts agree
        assert len(set(counts.values())) == 1, counts
        times = {name: _best(func, path, repeat) for name, func in ROWS}
    base = times[ROWS[0][0]]
    rows = [
        (name, f"{records / t:,.0f}", f"{t:.2f}", f"{base / t:.2f}x") for name, t in times.items()
    ]
    print(f"{records:,} records, {size / 1e6:.0f} MB NDJSON, best of {repeat}")
    print(table(("row", "records/s", "seconds", "vs bare"), rows))


_CHILD = """
import resource, sys
from ctph_harness.clevertap.export import read_records
n = 0
if sys.argv[1] != "-":
    for _ in read_records([sys.argv[1]], lambda p: None):
        n += 1
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


_INFER_CHILD = """
import contextlib, io, resource, sys
from ctph_harness.cli import main
err = io.StringIO()
with contextlib.redirect_stderr(err):
    code = main(["infer", sys.argv[1]], out=io.StringIO())
assert code == 0, err.getvalue()
count = err.getvalue().rpartition("ctph infer: ")[2].split()[0].replace(",", "")
print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def rss(target_bytes: int) -> None:
    path = Path(tempfile.gettempdir()) / "ctph-bench-1gb.ndjson"
    if not path.exists() or path.stat().st_size < target_bytes:
        rng = random.Random(17)
        with path.open("w", encoding="utf-8") as out:
            index = 0
            while out.tell() < target_bytes:
                for _ in range(10_000):
                    out.write(json.dumps(synthetic_record(rng, index), separators=(",", ":")))
                    out.write("\n")
                    index += 1
    rows = []
    children = (
        ("import only", _CHILD, "-"),
        ("read_records", _CHILD, str(path)),
        ("ctph infer (read + infer + TOML)", _INFER_CHILD, str(path)),
    )
    for label, child, arg in children:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", child, arg], capture_output=True, text=True, check=True
        )
        count, peak_kb = done.stdout.split()
        rows.append(
            (
                label,
                f"{int(count):,}",
                f"{int(peak_kb) / 1024:.0f}",
                f"{time.perf_counter() - start:.1f}",
            )
        )
    print(f"{path} ({path.stat().st_size / 1e9:.2f} GB)")
    print(table(("child", "records", "peak RSS MB", "seconds"), rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rss", action="store_true", help="peak RSS reading a 1 GB NDJSON")
    parser.add_argument("--gb", type=float, default=1.0)
    args = parser.parse_args()
    if args.rss:
        rss(int(args.gb * 1e9))
    else:
        speed(args.records, args.repeat)


if __name__ == "__main__":
    main()
