"""Reading the two sides of a linkage and refusing what cannot be linked.

Messages name the file and the field, with counts and row numbers — never a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from evalink.errors import InputError
from evalink.files import read_table
from evalink.link.standardise import CONTRACT_COLUMNS

TableLike = str | Path | pa.Table | pl.DataFrame | Any


def load_side(source: TableLike, *, label: str) -> pl.DataFrame:
    """The contract columns of one side, all as strings, checked.

    `source` is a path (Parquet/CSV) or an in-memory table (Arrow, Polars, pandas).
    `label` names the side in messages: the file path, or 'left'/'right'.
    """
    if isinstance(source, str | Path):
        label = str(source)
        frame = pl.from_arrow(
            read_table(source, all_strings=True, known_columns=CONTRACT_COLUMNS)
        )
    elif isinstance(source, pl.DataFrame):
        frame = source
    elif isinstance(source, pa.Table):
        frame = pl.from_arrow(source)
    else:  # pandas
        frame = pl.from_pandas(source)
    assert isinstance(frame, pl.DataFrame)

    missing = [column for column in CONTRACT_COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(
            f"{label}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"expected {', '.join(CONTRACT_COLUMNS)}"
        )
    if frame.height == 0:
        raise InputError(f"{label}: empty file, no records to link")

    frame = frame.select(
        [
            # Dates may arrive typed (Parquet date): write them the contract's way.
            pl.col(c).cast(pl.Date).dt.to_string("%Y-%m-%d").alias(c)
            if c == "dob" and frame.schema[c] in (pl.Date, pl.Datetime)
            else pl.col(c).cast(pl.String)
            for c in CONTRACT_COLUMNS
        ]
    )
    if frame["record_id"].null_count():
        rows = frame.with_row_index("row").filter(pl.col("record_id").is_null())["row"]
        raise InputError(
            f"{label}: field 'record_id' is empty in {len(rows)} row(s), first at data row {rows[0] + 1}"
        )
    duplicated = frame.filter(pl.col("record_id").is_duplicated())["record_id"].n_unique()
    if duplicated:
        raise InputError(
            f"{label}: field 'record_id' is not unique ({duplicated} value(s) repeated); "
            "each record needs its own id"
        )
    return frame
