"""Identify accuracy against the synthetic truth, on several seeds (issue 6).

    .venv/bin/python benchmarks/identify_accuracy.py --families 3000 --seeds 1 2 3

For each seed: generate a world, run identification as of the day before attachments
begin, and compare with truth/families.parquet (eligibility precision and recall, each
of our families mapped to the true family most of its records belong to) and with
truth/persons.parquet (pairwise precision, recall and F1 of person resolution).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from evalink.identify import identify
from evalink.synth import generate

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2015, 3, 31)


def _pairs(frame: pl.DataFrame, keys: list[str]) -> int:
    sizes = frame.group_by(keys).len()["len"]
    return int((sizes * (sizes - 1) // 2).sum())


def measure(world: Path) -> dict[str, float]:
    started = time.perf_counter()
    result = identify(
        world / "council" / "sources",
        REPO / "examples" / "mapping-synth.yaml",
        REPO / "examples" / "rules-troubled-families-2015.yaml",
        AS_OF,
    )
    seconds = time.perf_counter() - started
    truth = pl.read_parquet(world / "truth" / "persons.parquet").filter(
        pl.col("source").str.starts_with("council/")
    )
    keyed = truth.select(
        (pl.col("source").str.replace("council/", "") + ":" + pl.col("record_id")).alias("rk"),
        "person_id",
        "family_id",
    )
    ours = result.persons.with_columns(
        (pl.col("source") + ":" + pl.col("source_record_id")).alias("rk")
    )
    joined = ours.join(keyed, on="rk")
    votes = joined.group_by("family_key", "family_id").len().sort("len", descending=True)
    family_of = votes.group_by("family_key").first().select("family_key", "family_id")
    found = set(result.families.join(family_of, on="family_key").filter("eligible")["family_id"])
    true = set(
        pl.read_parquet(world / "truth" / "families.parquet").filter("eligible")["family_id"]
    )
    both = _pairs(joined, ["person_key", "person_id"])
    precision = both / max(_pairs(joined, ["person_key"]), 1)
    recall = both / max(_pairs(joined, ["person_id"]), 1)
    return {
        "records": sum(result.rows_read.values()),
        "seconds": round(seconds, 1),
        "eligible_true": len(true),
        "eligible_found": len(found),
        "eligibility_precision": round(len(found & true) / max(len(found), 1), 4),
        "eligibility_recall": round(len(found & true) / max(len(true), 1), 4),
        "person_precision": round(precision, 5),
        "person_recall": round(recall, 5),
        "person_f1": round(2 * precision * recall / (precision + recall), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", type=int, default=3000)
    parser.add_argument("--population", type=int, default=30_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            world = Path(tmp) / f"world-{seed}"
            generate(world, families=args.families, population=args.population, seed=seed)
            print(f"seed {seed}:", measure(world), flush=True)


if __name__ == "__main__":
    main()
