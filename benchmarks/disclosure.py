"""Safe tables at growing sizes (issue 16): how long `safe_table` (cell rules, primary and
secondary suppression) and `audit_suppression` (the LP audit) take as a table grows.

    .venv/bin/python benchmarks/disclosure.py              # 3 sizes, counts and sums
    .venv/bin/python benchmarks/disclosure.py --rows 200000

Each table: `--rows` synthetic rows (seeded), index of two columns with Zipf-like
frequencies and a column of 4 values, so small cells, zeros and dominant contributors
occur as in real tables; margins on. Prints one Markdown row per table: cells, cells
suppressed primary and secondary, seconds to make the safe table, seconds to audit it,
and whether every suppressed cell was found protected.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from evalink.disclosure import TableSpec, Thresholds, audit_suppression, safe_table


def rows(n: int, areas: int, kinds: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, areas + 1)
    kinds_w = 1 / np.arange(1, kinds + 1) ** 1.3
    cost = rng.lognormal(6, 1, n)
    cost[rng.random(n) < 0.01] *= 50  # a few dominant contributors
    return pd.DataFrame({
        "area": rng.choice([f"area-{i:03d}" for i in range(areas)], n, p=weights / weights.sum()),
        "kind": rng.choice([f"kind-{i:02d}" for i in range(kinds)], n, p=kinds_w / kinds_w.sum()),
        "cohort": rng.choice(["attached", "waiting", "closed", "stepped-down"], n),
        "cost": cost.round(2),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    thresholds = Thresholds()
    print("| index rows × columns | aggfunc | cells | primary | secondary | safe_table s | audit s | protected |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for areas, kinds in ((10, 5), (40, 10), (80, 20)):
        data = rows(args.rows, areas, kinds, seed=areas)
        for aggfunc, values in (("count", None), ("sum", "cost")):
            spec = TableSpec(index=("area", "kind"), columns="cohort", values=values,
                             aggfunc=aggfunc)
            started = time.perf_counter()
            table = safe_table(data, thresholds, spec)
            made = time.perf_counter() - started
            started = time.perf_counter()
            intervals = audit_suppression(table)
            audited = time.perf_counter() - started
            status = table.checks["status"]
            print(
                f"| {areas * kinds} × 4 | {aggfunc} | {len(status):,} "
                f"| {(status == 'suppressed_primary').sum():,} "
                f"| {(status == 'suppressed_secondary').sum():,} | {made:.1f} | {audited:.1f} "
                f"| {all(i.protected for i in intervals)} |"
            )


if __name__ == "__main__":
    main()
