"""What every stage knows about reading administrative records, whoever holds them.

The council reading its services' extracts (identify), sharing one identifiers row per
person (share) and a department placing its school records in the evaluation window
(match) read the same kinds of records: addresses written many ways, a person recorded
by several services, school returns dated by term. Each stage asks this module, so they
read them alike and none reaches into another stage's internals.
"""

from __future__ import annotations

import polars as pl

# English school terms, near enough for look-back windows counted in months:
# (first day), (last day), years after the academic year's first.
TERM_DATES = {
    "autumn": ((9, 1), (12, 31), 0),
    "spring": ((1, 1), (3, 31), 1),
    "summer": ((4, 1), (7, 31), 1),
}


def academic_year(column: pl.Expr) -> pl.Expr:
    """'2014/15' or '2014-15' or '2014' → 2014, the year the autumn term falls in."""
    return column.str.extract(r"^\s*(\d{4})", 1).cast(pl.Int32, strict=False)


def term_dates(year: pl.Expr, term: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(start, end) of a term ('autumn', any case) in an academic year ('2014/15');
    null for a term that is not one of `TERM_DATES`."""
    first = academic_year(year)
    name = term.str.to_lowercase()
    start = end = pl.lit(None, pl.Date)
    for term_name, ((sm, sd), (em, ed), offset) in TERM_DATES.items():
        start = pl.when(name == term_name).then(pl.date(first + offset, sm, sd)).otherwise(start)
        end = pl.when(name == term_name).then(pl.date(first + offset, em, ed)).otherwise(end)
    return start, end


def address_key(postcode: pl.Expr, address: pl.Expr) -> pl.Expr:
    """Postcode, the house number or name, and the street's first two letters, in a form
    spelling cannot change.

    Services write '12 Hill St', '12, Hill Street' and 'Flat 12 Hill St'; the postcode,
    the house token and the street's initial letters agree across them far more often
    than the full line. The street letters matter because one postcode can cover two
    streets, and '10 Green Gardens' is not '10 Edwards Street'.
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
    street = clean_address.str.extract(r"\d+[A-Z]?\s+([A-Z]{1,2})", 1).fill_null("")
    return pl.when(clean_postcode.str.len_chars() > 0).then(
        clean_postcode + "|" + house + "|" + street
    )


def most_common(frame: pl.DataFrame, column: str) -> pl.DataFrame:
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
