"""Persons → households → families.

A household is the people whose records put them at the same address most often. A
family is a household with at least one dependent child (under 18 on the as-of date):
the programme works with families, so adults living alone are persons, not families.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from evalink.identify.rules import ADULT_AGE, age_on


def address_key(postcode: pl.Expr, address: pl.Expr) -> pl.Expr:
    """Postcode plus the first line's number or name, in a form spelling cannot change.

    Services write '12 Hill St', '12, Hill Street' and 'Flat 12 Hill St'; the postcode
    and the leading house token agree across them far more often than the full line.
    """
    clean_postcode = postcode.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    clean_address = (
        address.str.to_uppercase()
        .str.replace_all(r"[^A-Z0-9 ]", " ")
        .str.replace_all(r"\b(FLAT|APARTMENT|APT|UNIT)\b", " ")
        .str.strip_chars()
        .str.replace_all(r"\s+", " ")
    )
    # The house number is the number just before the street name: in 'FLAT 3 59 OWEN
    # WAY' it is 59, which services that leave out the flat also write.
    house = clean_address.str.extract(r"(\d+[A-Z]?)\s+[A-Z]", 1).fill_null(
        clean_address.str.split(" ").list.first()
    )
    return pl.when(clean_postcode.str.len_chars() > 0).then(clean_postcode + "|" + house)


def persons_from_records(records: pl.DataFrame) -> pl.DataFrame:
    """One row per person: person_key, dob (date) and household address key.

    `records` has person_key, dob (ISO text), postcode, address.
    """
    with_keys = records.select(
        "person_key",
        pl.col("dob").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("dob"),
        address_key(pl.col("postcode"), pl.col("address")).alias("address_key"),
    )
    dob = _most_common(with_keys, "dob")
    address = _most_common(with_keys, "address_key")
    people = with_keys.select("person_key").unique()
    return people.join(dob, on="person_key", how="left").join(address, on="person_key", how="left")


def _most_common(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Per person, the value of `column` seen most often (ties: the smallest)."""
    return (
        frame.filter(pl.col(column).is_not_null())
        .group_by("person_key", column)
        .agg(pl.len().alias("_n"))
        .sort(["person_key", "_n", column], descending=[False, True, False])
        .group_by("person_key", maintain_order=True)
        .first()
        .select("person_key", column)
    )


def families(persons: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Add `household_key` and `family_key` (null for households with no dependent child).

    Keys are sequence numbers in a stable order, not derived from any identifier.
    """
    housed = persons.with_columns(
        (age_on(pl.col("dob"), as_of) < ADULT_AGE).fill_null(False).alias("_child")
    )
    households = (
        housed.filter(pl.col("address_key").is_not_null())
        .group_by("address_key")
        .agg(pl.col("_child").any().alias("_has_child"), pl.col("person_key").min().alias("_first"))
        .sort("_first")
        .with_row_index("_n", offset=1)
        .select(
            "address_key",
            pl.format("H{}", pl.col("_n")).alias("household_key"),
            "_has_child",
        )
    )
    families_ = (
        households.filter("_has_child")
        .with_row_index("_f", offset=1)
        .select("address_key", pl.format("F{}", pl.col("_f")).alias("family_key"))
    )
    return (
        housed.join(households.drop("_has_child"), on="address_key", how="left")
        .join(families_, on="address_key", how="left")
        .drop("_child")
    )
