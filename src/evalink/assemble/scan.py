"""The last check before a research dataset leaves the linker: does any value equal an
identifier held in the vault?

Column classes catch a column that *is* an identifier; this scan catches one that
*carries* one under another name (a free-text field holding a surname, a NINO pasted
into a note). Values are compared case- and space-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# Short values (sex codes, initials) would match by chance, not by leaking anything.
MIN_LENGTH = 3


def _normalised(column: pl.Expr) -> pl.Expr:
    return column.cast(pl.Utf8).str.to_uppercase().str.replace_all(r"\s+", "")


@dataclass
class ScanFinding:
    column: str
    identifier_field: str
    rows: int


def identifier_values(vault: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """The distinct identifier values of the vault: field, value (normalised)."""
    parts = [
        vault.select(pl.lit(name).alias("field"), _normalised(pl.col(name)).alias("value"))
        for name in fields
        if name in vault.columns
    ]
    values = pl.concat(parts).drop_nulls().unique()
    return values.filter(pl.col("value").str.len_chars() >= MIN_LENGTH)


def scan(dataset: pl.DataFrame, identifiers: pl.DataFrame) -> list[ScanFinding]:
    """Every column of `dataset` holding any value equal to a vault identifier."""
    findings = []
    for column in dataset.columns:
        values = dataset.select(_normalised(pl.col(column)).alias("value")).drop_nulls()
        hits = values.join(identifiers, on="value", how="inner")
        if hits.height:
            for field_name, rows in hits.group_by("field").len().sort("field").iter_rows():
                findings.append(ScanFinding(column, field_name, int(rows)))
    return findings
