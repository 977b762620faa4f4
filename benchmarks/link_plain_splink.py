"""A plain, well-tuned Splink 5 linkage — the configuration evalink must beat.

What an analyst writes from the Splink documentation, on the same contract columns:
light cleaning (case, spaces), Splink's library comparisons for names, date of birth,
postcode and address with term-frequency adjustment on surname, exact NINO and sex,
the same kind of blocking, u by random sampling, m by EM on name and date-of-birth
blocks, and Splink's own one-to-one clustering (single best links) at 0.9.

    .venv/bin/python benchmarks/link_plain_splink.py LEFT RIGHT OUT.parquet
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import polars as pl

THRESHOLD = 0.9


def _clean(frame: pl.DataFrame) -> pl.DataFrame:
    upper = [
        pl.col(c).cast(pl.String).str.to_uppercase().str.strip_chars()
        for c in ("forename", "surname", "address", "sex")
    ]
    return frame.select(
        pl.col("record_id").cast(pl.String),
        *upper,
        pl.col("dob").cast(pl.String),
        # Splink's PostcodeComparison expects the usual "B69 3DL" form.
        pl.col("postcode").cast(pl.String).str.to_uppercase().str.strip_chars(),
        pl.col("nino").cast(pl.String).str.to_uppercase().str.replace_all(" ", ""),
    )


def plain_link(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    import duckdb
    from splink import DuckDBAPI, Linker

    from evalink.link.model import plain_splink_settings
    from evalink.link.train import train_plain

    connection = duckdb.connect()
    connection.execute("SET autoinstall_known_extensions = false")
    api = DuckDBAPI(connection)
    left_sdf = api.register(_clean(left).to_arrow(), dataset_display_name="left_records")
    right_sdf = api.register(_clean(right).to_arrow(), dataset_display_name="right_records")
    linker = Linker(
        [left_sdf, right_sdf], plain_splink_settings("link_only"), log_level=logging.ERROR
    )
    train_plain(linker)
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    clusters = linker.clustering.cluster_using_single_best_links(
        predictions,
        duplicate_free_datasets=["left_records", "right_records"],
        threshold_match_probability=THRESHOLD,
    )
    members = pl.from_arrow(
        connection.sql(
            f"SELECT cluster_id, source_dataset, record_id FROM {clusters.physical_name}"
        ).fetch_arrow_table()
    )
    assert isinstance(members, pl.DataFrame)
    pairs = (
        members.filter(pl.col("source_dataset") == "left_records")
        .select("cluster_id", pl.col("record_id").alias("left_id"))
        .join(
            members.filter(pl.col("source_dataset") == "right_records").select(
                "cluster_id", pl.col("record_id").alias("right_id")
            ),
            on="cluster_id",
        )
    )
    scored = pl.from_arrow(
        connection.sql(
            f"SELECT record_id_l, record_id_r, source_dataset_l, match_probability FROM {predictions.physical_name}"
        ).fetch_arrow_table()
    )
    assert isinstance(scored, pl.DataFrame)
    from_left = pl.col("source_dataset_l") == "left_records"
    scored = scored.select(
        pl.when(from_left).then("record_id_l").otherwise("record_id_r").alias("left_id"),
        pl.when(from_left).then("record_id_r").otherwise("record_id_l").alias("right_id"),
        "match_probability",
    )
    return pairs.join(scored, on=["left_id", "right_id"], how="left").select(
        "left_id", "right_id", "match_probability"
    )


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


def main() -> None:
    left_path, right_path, out = (Path(a) for a in sys.argv[1:4])
    plain_link(_read(left_path), _read(right_path)).write_parquet(out)

if __name__ == "__main__":
    main()
