"""Reading administrative records alike in every stage: addresses, terms, the value a
person's records give most often."""

from __future__ import annotations

import polars as pl

from evalink.records import address_key, most_common, term_dates
from tests.tables import table


def test_spellings_of_one_address_give_one_key():
    keys = pl.select(
        address_key(
            pl.Series(["B69 3DL", "b693dl", "B69 3DL"]),
            pl.Series(["12 Hill Street, Oldbury", "12, HILL ST", "Flat 3, 12 Hill St"]),
        )
    ).to_series()
    assert keys.n_unique() == 1


def test_two_streets_in_one_postcode_are_two_addresses():
    keys = pl.select(
        address_key(
            pl.Series(["B70 2RJ", "B70 2RJ", "B70 2RJ"]),
            pl.Series(["10 Green Gardens", "10 Green Gdns, West Bromwich", "10 Edwards Street"]),
        )
    ).to_series()
    assert keys[0] == keys[1]
    assert keys[0] != keys[2]


def test_a_term_in_an_academic_year_covers_its_months_in_the_right_calendar_year():
    start, end = term_dates(pl.col("year"), pl.col("term"))
    terms = table(
        """
        year    | term
        2014/15 | Autumn
        2014-15 | spring
        2014    | summer
        """
    )
    dates = terms.select(start.alias("start"), end.alias("end")).cast(pl.Utf8)
    assert dates.rows() == [
        ("2014-09-01", "2014-12-31"),
        ("2015-01-01", "2015-03-31"),
        ("2015-04-01", "2015-07-31"),
    ]


def test_a_term_that_is_not_a_school_term_has_no_dates():
    start, end = term_dates(pl.col("year"), pl.col("term"))
    dates = table("year | term\n2014/15 | michaelmas").select(start.alias("s"), end.alias("e"))
    assert dates.null_count().row(0) == (1, 1)


def test_the_value_a_person_is_recorded_with_most_often_wins_and_ties_go_to_the_smallest():
    records = table(
        """
        person_key | surname
        P1         | Smith
        P1         | Smyth
        P1         | Smith
        P2         | Jones
        P2         | Brown
        P3         | -
        """
    )
    assert most_common(records, "surname").sort("person_key").rows() == [
        ("P1", "Smith"),
        ("P2", "Brown"),
    ]
