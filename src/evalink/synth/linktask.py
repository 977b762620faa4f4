"""A ready-made linkage task from a world: the council's cohort against a department.

`left.parquet`: one council record per cohort person (members of attached and
eligible-waiting families), chosen as the programme's record if there is one, else the
first record in the council's sources (by source name, then record id); the linkage
contract's columns only. Cohort members with no council record at all are left out:
the council could not send what it does not hold.
`right.parquet`: the department's person file, as it is.
`truth.parquet`: `left_id, right_id, naming_group` for every left record.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from evalink.errors import InputError
from evalink.synth.noise import IDENTIFIER_COLUMNS

DEPARTMENTS = ("dwp", "moj", "dfe")


def link_task(world_dir: Path | str, out_dir: Path | str, department: str = "dwp") -> dict[str, int]:
    world = Path(world_dir)
    out = Path(out_dir)
    if department not in DEPARTMENTS:
        raise InputError(f"unknown department '{department}'; use one of {', '.join(DEPARTMENTS)}")
    truth_path = world / "truth" / "persons.parquet"
    if not truth_path.is_file():
        raise InputError(f"{world}: not a synthetic world (no truth/persons.parquet)")
    truth = pl.read_parquet(truth_path)
    families = pl.read_parquet(world / "truth" / "families.parquet", columns=["family_id", "cohort"])
    cohort_families = families.filter(pl.col("cohort") != "not_eligible").select("family_id")

    frames = []
    for path in sorted((world / "council" / "sources").glob("*.parquet")):
        source = f"council/{path.stem}"
        frames.append(
            pl.read_parquet(path, columns=list(IDENTIFIER_COLUMNS)).with_columns(
                pl.lit(source).alias("source"),
                pl.lit(0 if path.stem == "programme" else 1).alias("priority"),
            )
        )
    council = pl.concat(frames)
    council_truth = truth.filter(pl.col("source").str.starts_with("council/")).select(
        "source", "record_id", "person_id", "family_id", "naming_group"
    )
    left_all = (
        council.join(council_truth, on=["source", "record_id"], how="inner")
        .join(cohort_families, on="family_id", how="semi")
        .sort(["person_id", "priority", "source", "record_id"])
        .unique(subset="person_id", keep="first", maintain_order=True)
    )
    dept_truth = truth.filter(pl.col("source") == f"departments/{department}/persons").select(
        "person_id", pl.col("record_id").alias("right_id")
    )
    pairs = left_all.join(dept_truth, on="person_id", how="inner").select(
        pl.col("record_id").alias("left_id"), "right_id", "naming_group"
    ).sort("left_id")
    left = left_all.select(IDENTIFIER_COLUMNS).sort("record_id")
    right = pl.read_parquet(world / "departments" / department / "persons.parquet")

    out.mkdir(parents=True, exist_ok=True)
    left.write_parquet(out / "left.parquet")
    right.write_parquet(out / "right.parquet")
    pairs.write_parquet(out / "truth.parquet")
    return {"left": left.height, "right": right.height, "truth": pairs.height}
