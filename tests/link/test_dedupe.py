"""Dedupe: one council's records grouped into persons."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from evalink.link.dedupe import _clusters, dedupe
from evalink.link.standardise import CONTRACT_COLUMNS


def pairs(*rows: tuple[str, str, float]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["id_l", "id_r", "match_probability"], orient="row")


def test_a_join_that_would_give_one_person_two_ninos_is_refused():
    # I1 (no NINO) links to both; the weaker link would make I0 and I2 one person.
    labels = _clusters(
        3, pairs(("I0", "I1", 0.999), ("I1", "I2", 0.995)), ["AB123456", None, "CD654321"]
    )
    assert labels[0] == labels[1]
    assert labels[2] != labels[0]


def test_a_nino_keyed_with_one_error_is_still_the_same_person():
    labels = _clusters(
        3, pairs(("I0", "I1", 0.999), ("I1", "I2", 0.995)), ["AB123456", None, "AB123465"]
    )
    assert labels[0] == labels[1] == labels[2]


def test_without_ninos_every_linked_pair_joins():
    labels = _clusters(4, pairs(("I0", "I1", 0.999), ("I2", "I1", 0.991)), [None] * 4)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] != labels[0]


def test_council_records_resolve_to_the_people_behind_them(small_world: Path):
    sources = sorted((small_world / "council" / "sources").glob("*.parquet"))
    records = pl.concat(
        pl.read_parquet(path, columns=list(CONTRACT_COLUMNS)).with_columns(
            pl.col("dob").cast(pl.Utf8),
            (pl.lit(f"{path.stem}:") + pl.col("record_id")).alias("record_id"),
        )
        for path in sources
    )
    truth = pl.read_parquet(small_world / "truth" / "persons.parquet").select(
        (pl.col("source").str.replace("council/", "") + ":" + pl.col("record_id")).alias(
            "record_id"
        ),
        "person_id",
    )
    found = dedupe(records).clusters.join(truth, on="record_id")

    def pair_count(keys: list[str]) -> int:
        sizes = found.group_by(keys).len()["len"]
        return int((sizes * (sizes - 1) // 2).sum())

    both = pair_count(["cluster_id", "person_id"])
    precision = both / pair_count(["cluster_id"])
    recall = both / pair_count(["person_id"])
    assert precision > 0.99 and recall > 0.99
