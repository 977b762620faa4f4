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
from evalink.records import address_key, most_common

_STREET_TYPES = {
    "ROAD": "RD", "STREET": "ST", "LANE": "LN", "AVENUE": "AVE", "CLOSE": "CL", "DRIVE": "DR",
    "GARDENS": "GDNS", "PLACE": "PL", "CRESCENT": "CRES", "COURT": "CT", "GROVE": "GR",
    "TERRACE": "TER", "WALK": "WK", "WAY": "WY",
}  # fmt: skip


def line_key(address: pl.Expr) -> pl.Expr:
    """House number and street, abbreviations unified ('14 HILL WK'), with no postcode.

    Used only for records with no postcode at all, to find the household whose address
    line they share.
    """
    clean = (
        address.str.to_uppercase().str.replace_all(r"[^A-Z0-9 ]", " ").str.replace_all(r"\s+", " ")
    )
    for word, short in _STREET_TYPES.items():
        clean = clean.str.replace_all(rf"\b{word}\b", short)
    return clean.str.extract(r"(\d+[A-Z]?\s+[A-Z]+\s+[A-Z]+)", 1)


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
        line_key(pl.col("address")).alias("line_key"),
        _surname_key(pl.col("surname")).alias("surname_key"),
    )
    people = with_keys.select("person_key").unique()
    for column in ("dob", "address_key", "line_key"):
        people = people.join(most_common(with_keys, column), on="person_key", how="left")
    # Every surname a person is recorded under: a service that swapped forename and
    # surname, or kept a maiden name, still shows the family's surname elsewhere.
    surnames = with_keys.group_by("person_key").agg(
        pl.col("surname_key").drop_nulls().unique().alias("surname_keys")
    )
    people = people.join(surnames, on="person_key", how="left")
    addresses = (
        with_keys.filter(pl.col("address_key").is_not_null())
        .group_by("person_key", "address_key")
        .agg(pl.len().alias("records"))
    )
    return people, addresses


def _household_of(
    persons: pl.DataFrame, addresses: pl.DataFrame, groups: pl.DataFrame | None
) -> pl.DataFrame:
    """person_key → household number, from the shared-address graph (module notes),
    plus `groups` (person_key, group): people a service itself records as one family."""
    index = persons.select("person_key").with_row_index("_i")
    at = addresses.join(index, on="person_key").join(
        persons.select("person_key", pl.col("address_key").alias("_home"), "surname_keys"),
        on="person_key",
    )
    pairs = at.join(at, on="address_key", suffix="_q").filter(pl.col("_i") < pl.col("_i_q"))
    both_live_here = (pl.col("_home") == pl.col("address_key")) & (
        pl.col("_home_q") == pl.col("address_key")
    )
    shared_surname = (
        pl.col("surname_keys").list.set_intersection(pl.col("surname_keys_q")).list.len() > 0
    )
    edges = [pairs.filter(both_live_here | shared_surname).select("_i", "_i_q")]
    if groups is not None and groups.height:
        members = groups.join(index, on="person_key").select("group", "_i")
        edges.append(
            members.join(members, on="group", suffix="_q")
            .filter(pl.col("_i") < pl.col("_i_q"))
            .select("_i", "_i_q")
        )
    edge = pl.concat(edges)
    n = index.height
    graph = coo_matrix(
        (np.ones(edge.height, dtype=np.int8), (edge["_i"].to_numpy(), edge["_i_q"].to_numpy())),
        shape=(n, n),
    )
    _, labels = connected_components(graph, directed=False)
    housed = index.with_columns(pl.Series("_household", labels, dtype=pl.Int64)).drop("_i")
    return _place_by_address_line(persons, addresses, housed)


def _place_by_address_line(
    persons: pl.DataFrame, addresses: pl.DataFrame, housed: pl.DataFrame
) -> pl.DataFrame:
    """Someone whose records never give a postcode joins the one household whose members
    live at the same address line; where two households share that line, nobody can
    tell which, and they stay unplaced."""
    unplaced = persons.join(addresses, on="person_key", how="anti").filter(
        pl.col("line_key").is_not_null()
    )
    placed = persons.join(addresses.select("person_key").unique(), on="person_key").join(
        housed, on="person_key"
    )
    homes = (
        placed.filter(pl.col("line_key").is_not_null())
        .group_by("line_key")
        .agg(pl.col("_household").unique().alias("_households"))
        .filter(pl.col("_households").list.len() == 1)
        .select("line_key", pl.col("_households").list.first().alias("_by_line"))
    )
    moved_in = unplaced.join(homes, on="line_key").select("person_key", "_by_line")
    return (
        housed.join(moved_in, on="person_key", how="left")
        .with_columns(pl.coalesce("_by_line", "_household").alias("_household"))
        .drop("_by_line")
        .with_columns(
            pl.col("person_key").is_in(moved_in["person_key"].implode()).alias("_by_line")
        )
    )


def families(
    persons: pl.DataFrame,
    as_of: date,
    addresses: pl.DataFrame,
    groups: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Add `household_key` and `family_key` (null for households with no dependent child).

    `persons` and `addresses` come from `persons_from_records`; `groups` (person_key,
    group) are families a service records as such, e.g. the programme's case ids. Keys
    are sequence numbers in a stable order, not derived from any identifier.
    """
    housed = persons.with_columns(
        (age_on(pl.col("dob"), as_of) < ADULT_AGE).fill_null(False).alias("_child")
    ).join(_household_of(persons, addresses, groups), on="person_key")
    # Someone with no usable address in any record cannot be placed in a household.
    housed = housed.with_columns(
        pl.when(pl.col("person_key").is_in(addresses["person_key"].implode()) | pl.col("_by_line"))
        .then(pl.col("_household"))
        .alias("_household")
    ).drop("_by_line")
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
