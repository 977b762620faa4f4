"""Persons → households → families.

A household is the people whose records put them at one address. Two people are in
the same household when their records share an address and either it is where both are
recorded most often, or they share a surname: services lag behind a move, so a child's
school may still hold the family's old address while the parents' benefit office has
the new one, and the surname joins them; the family who moved into the old address
usually has another surname, so it is not joined to them.

A family is a household with at least one dependent child (under 18 on the as-of date):
the programme works with families, so adults living alone are persons, not families.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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


def _surname_key(surname: pl.Expr) -> pl.Expr:
    return surname.str.to_uppercase().str.replace_all(r"[^A-Z]", "")


def persons_from_records(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(persons, addresses): one row per person — person_key, dob (date), the household
    address key seen most often and the surname seen most often — and every address
    key each person's records give, with how many records give it.

    `records` has person_key, dob (ISO text), surname, postcode, address.
    """
    with_keys = records.select(
        "person_key",
        pl.col("dob").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("dob"),
        address_key(pl.col("postcode"), pl.col("address")).alias("address_key"),
        _surname_key(pl.col("surname")).alias("surname_key"),
    )
    people = with_keys.select("person_key").unique()
    for column in ("dob", "address_key", "surname_key"):
        people = people.join(_most_common(with_keys, column), on="person_key", how="left")
    addresses = (
        with_keys.filter(pl.col("address_key").is_not_null())
        .group_by("person_key", "address_key")
        .agg(pl.len().alias("records"))
    )
    return people, addresses


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


def _household_of(persons: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    """person_key → household number, from the shared-address graph (module notes)."""
    index = persons.select("person_key").with_row_index("_i")
    at = addresses.join(index, on="person_key").join(
        persons.select("person_key", pl.col("address_key").alias("_home"), "surname_key"),
        on="person_key",
    )
    pairs = at.join(at, on="address_key", suffix="_q").filter(pl.col("_i") < pl.col("_i_q"))
    edges = pairs.filter(
        ((pl.col("_home") == pl.col("address_key")) & (pl.col("_home_q") == pl.col("address_key")))
        | (pl.col("surname_key").is_not_null() & (pl.col("surname_key") == pl.col("surname_key_q")))
    ).select("_i", "_i_q")
    n = index.height
    graph = coo_matrix(
        (np.ones(edges.height, dtype=np.int8), (edges["_i"].to_numpy(), edges["_i_q"].to_numpy())),
        shape=(n, n),
    )
    _, labels = connected_components(graph, directed=False)
    return index.with_columns(pl.Series("_household", labels, dtype=pl.Int64)).drop("_i")


def families(persons: pl.DataFrame, as_of: date, addresses: pl.DataFrame) -> pl.DataFrame:
    """Add `household_key` and `family_key` (null for households with no dependent child).

    `persons` and `addresses` come from `persons_from_records`. Keys are sequence
    numbers in a stable order, not derived from any identifier.
    """
    housed = persons.with_columns(
        (age_on(pl.col("dob"), as_of) < ADULT_AGE).fill_null(False).alias("_child")
    ).join(_household_of(persons, addresses), on="person_key")
    # Someone with no usable address in any record cannot be placed in a household.
    housed = housed.with_columns(
        pl.when(pl.col("person_key").is_in(addresses["person_key"].implode()))
        .then(pl.col("_household"))
        .alias("_household")
    )
    households = (
        housed.filter(pl.col("_household").is_not_null())
        .group_by("_household")
        .agg(pl.col("_child").any().alias("_has_child"), pl.col("person_key").min().alias("_first"))
        .sort("_first")
        .with_row_index("_n", offset=1)
        .with_columns(pl.format("H{}", pl.col("_n")).alias("household_key"))
    )
    families_ = (
        households.filter("_has_child")
        .with_row_index("_f", offset=1)
        .select("_household", pl.format("F{}", pl.col("_f")).alias("family_key"))
    )
    return (
        housed.join(households.select("_household", "household_key"), on="_household", how="left")
        .join(families_, on="_household", how="left")
        .drop("_child", "_household")
    )
