"""Records of several local services → persons, with the linkage engine's dedupe mode.

Each service spells a person its own way; the same linkage model that links the cohort
to departments (household-aware, so twins and juniors stay apart) decides which local
records are one person.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl


def resolve_persons(records: pl.DataFrame, temp_directory: Path | None = None) -> pl.DataFrame:
    """record_key → person_key for every record.

    Person keys are sequence numbers in the order of each person's first record key:
    stable for the same input, and derived from no identifier.
    """
    from evalink.link import CONTRACT_COLUMNS, dedupe  # lazy: Splink is heavy to import

    # The engine compares the link contract's columns, whichever fields the policy makes
    # identifiers: one the records do not carry is compared as missing, and one the
    # contract does not name stays in the vault's records without being compared.
    table = records.select(
        pl.col("record_key").alias("record_id"),
        *(
            pl.col(column) if column in records.columns else pl.lit(None, pl.Utf8).alias(column)
            for column in CONTRACT_COLUMNS
            if column != "record_id"
        ),
    )
    clusters = dedupe(table, temp_directory=temp_directory).clusters.select(
        pl.col("record_id").alias("record_key"), pl.col("cluster_id").cast(pl.Utf8)
    )
    clusters = (
        records.select("record_key")
        .join(clusters, on="record_key", how="left")
        .with_columns(
            # A record the engine did not place is a person of its own.
            pl.coalesce(pl.col("cluster_id"), pl.lit("single:") + pl.col("record_key")).alias(
                "cluster_id"
            )
        )
    )
    order = (
        clusters.group_by("cluster_id")
        .agg(pl.col("record_key").min().alias("_first"))
        .sort("_first")
        .with_row_index("_n", offset=1)
        .select("cluster_id", pl.format("P{}", pl.col("_n")).alias("person_key"))
    )
    return clusters.join(order, on="cluster_id").select("record_key", "person_key")
