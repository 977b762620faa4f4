"""How the research dataset's values are coarsened: one published rule, the same for
everyone, so an intruder who knows an exact value knows what was released for it.

Each function is shown on a few values in and the released values out; `released` on
a two-family exact table shows the whole table as researchers receive it, with no
calendar date left in it.
"""

from __future__ import annotations

import re
from dataclasses import fields
from itertools import pairwise

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from evalink.assemble.generalise import (
    COARSE_MONTHS,
    INDEX_LEVELS,
    LADDER,
    RELEASED,
    Generalisation,
    birth_years,
    cost,
    family_size,
    headlines,
    index_period,
    month_number,
    months_band,
    released,
)
from tests.tables import table


def apply(function, values: list, *args, dtype=pl.Utf8) -> list:
    """`function` on a column of `values`, as `released` applies it."""
    frame = pl.DataFrame({"value": values}, schema={"value": dtype})
    # with_columns, as `released`'s select does, gives a constant one value per row.
    return frame.with_columns(out=function(pl.col("value"), *args))["out"].to_list()


def months(values: list[int | None], width: int) -> list[str | None]:
    return apply(months_band, values, width, dtype=pl.Int32)


# --- months since the index month -----------------------------------------------------


def test_outcome_months_are_released_exactly_at_band_width_one():
    assert months([-13, -1, 0, 1, 7, 25], 1) == ["-13", "-1", "0", "1", "7", "25"]


def test_three_month_bands_count_from_the_month_after_the_index_month():
    assert months([1, 3, 4, 6, 7, 12, 13], 3) == [
        "1..3", "1..3", "4..6", "4..6", "7..9", "10..12", "13..15",
    ]  # fmt: skip


def test_six_month_bands_are_the_evaluations_windows():
    assert months([1, 6, 7, 12, 13, 18, 19, 24, 25], 6) == [
        "1..6", "1..6", "7..12", "7..12", "13..18", "13..18", "19..24", "19..24", "25..30",
    ]  # fmt: skip


def test_months_before_the_index_month_are_banded_counting_back_from_the_month_before():
    assert months([-1, -3, -4, -6, -7], 3) == ["-3..-1", "-3..-1", "-6..-4", "-6..-4", "-9..-7"]
    assert months([-1, -6, -7, -12, -13], 6) == [
        "-6..-1", "-6..-1", "-12..-7", "-12..-7", "-18..-13",
    ]  # fmt: skip


@pytest.mark.parametrize("width", [1, 3, 6, COARSE_MONTHS])
def test_the_index_month_is_a_band_of_its_own(width):
    # An outcome in the index month is neither before nor after the programme began:
    # no band may join it to either side.
    assert months([0], width) == ["0"]


@pytest.mark.parametrize("width", [1, 3, 6, COARSE_MONTHS])
def test_a_row_without_an_outcome_has_no_outcome_months(width):
    # A person found with no outcome (or an event with no end) has empty months; a
    # band must not turn "no month" into "the index month".
    assert months([None], width) == [None]


# The edges of the evaluation's 6-month windows, after and before the index month, and
# the index month itself: the months either side of each must fall in different bands.
EDGES = [(-1, 0), (0, 1), (6, 7), (12, 13), (18, 19), (-7, -6), (-13, -12), (-19, -18)]


@pytest.mark.parametrize(("below", "above"), EDGES)
@pytest.mark.parametrize("width", [3, 6])
def test_no_band_straddles_a_window_edge(below, above, width):
    assert months([below], width) != months([above], width)


def window(month: int) -> int:
    """The evaluation's 6-month window a month falls in: 0 the index month, 1 for 1..6,
    -1 for -6..-1, and so on."""
    if month == 0:
        return 0
    return (month - 1) // 6 + 1 if month > 0 else -((-month - 1) // 6 + 1)


def bounds(band: str) -> tuple[int, int]:
    low, _, high = band.partition("..")
    return int(low), int(high or low)


@settings(max_examples=200, deadline=None)
@given(st.integers(-60, 60), st.sampled_from([3, 6]))
def test_a_band_holds_its_month_and_lies_inside_one_window(month, width):
    low, high = bounds(months([month], width)[0])
    assert low <= month <= high
    assert window(low) == window(high) == window(month)
    assert high - low + 1 == (1 if month == 0 else width)


@settings(max_examples=200, deadline=None)
@given(st.integers(-60, 60))
def test_a_24_month_band_still_says_before_or_after_and_which_two_years(month):
    # What suppression coarsens a singled-out family's months to: the evaluation still
    # knows whether an outcome fell in the two years after the index date.
    low, high = bounds(months([month], COARSE_MONTHS)[0])
    assert low <= month <= high
    assert (low > 0) == (month > 0) and (high < 0) == (month < 0)
    if month != 0:
        assert high - low + 1 == COARSE_MONTHS
        # Bands of two years counted from the month after (or before) the index month:
        # 1..24, 25..48, ... and -24..-1, -48..-25, ...
        assert (low - 1) % 24 == 0 if month > 0 else (-high - 1) % 24 == 0


# --- the index period -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "june_2015", "november_2016"),
    [
        ("month", "2015-06", "2016-11"),
        ("quarter", "2015-Q2", "2016-Q4"),
        ("half", "2015-H1", "2016-H2"),
        ("year", "2015", "2016"),
        ("two_years", "2014-2015", "2016-2017"),
    ],
)
def test_the_index_month_is_released_as_its_period(level, june_2015, november_2016):
    assert apply(lambda v: index_period(month_number(v), level), ["2015-06", "2016-11"]) == [
        june_2015,
        november_2016,
    ]


def test_every_index_level_is_named():
    assert INDEX_LEVELS == ("month", "quarter", "half", "year", "two_years")


def test_month_number_counts_months_so_differences_are_months_apart():
    numbers = apply(month_number, ["2015-06", "2016-01", "2015-06-17", None])
    assert numbers[1] - numbers[0] == 7
    assert numbers[2] == numbers[0]  # a full date counts as its month
    assert numbers[3] is None


# --- the person's and the family's values ---------------------------------------------


def test_year_of_birth_is_released_exactly_or_in_bands_aligned_to_the_band_width():
    years = ["1987", "1990", "2004", "2000-03-04"]
    assert apply(birth_years, years, 1) == ["1987", "1990", "2004", "2000"]
    assert apply(birth_years, years, 5) == ["1985-1989", "1990-1994", "2000-2004", "2000-2004"]
    assert apply(birth_years, years, 10) == ["1980-1989", "1990-1999", "2000-2009", "2000-2009"]
    assert apply(birth_years, years, 20) == ["1980-1999", "1980-1999", "2000-2019", "2000-2019"]


def test_keyworker_cost_is_withheld_kept_rounded_down_to_100_or_banded():
    costs = ["1290", "2510.55", None]
    assert apply(cost, costs, 0) == [None, None, None]
    assert apply(cost, costs, 1) == ["1290.0", "2510.55", None]  # only to measure "before"
    assert apply(cost, costs, 100) == ["1200", "2500", None]
    assert apply(cost, costs, 500) == ["1000-1499", "2500-2999", None]
    assert apply(cost, costs, 1000) == ["1000-1999", "2000-2999", None]
    assert apply(cost, costs, 2500) == ["0-2499", "2500-4999", None]


def test_headlines_are_kept_or_counted_keeping_children_need_help_by_name():
    # Selection into the programme follows children_need_help, so an evaluation that
    # adjusts for it keeps it even when the other headlines are only counted.
    given_ = ["crime;children_need_help;worklessness", "crime;worklessness", "crime"]
    assert apply(headlines, given_, "all") == given_
    assert apply(headlines, given_, "count_and_children_need_help") == [
        "3;children_need_help", "2", "1",
    ]  # fmt: skip
    assert apply(headlines, given_, "count") == ["3", "2", "1"]


def test_family_size_is_capped_with_the_cap_and_above_shown_as_cap_plus():
    sizes = ["1", "3", "4", "5", "6", "9"]
    assert apply(family_size, sizes, 6) == ["1", "3", "4", "5", "6+", "6+"]
    assert apply(family_size, sizes, 5) == ["1", "3", "4", "5+", "5+", "5+"]
    assert apply(family_size, sizes, 4) == ["1", "3", "4+", "4+", "4+", "4+"]


# --- the ladder -----------------------------------------------------------------------

COARSENESS = {
    "index": list(INDEX_LEVELS),
    "headlines": ["all", "count_and_children_need_help", "count"],
}


def coarseness(rule: Generalisation) -> dict[str, int]:
    """Each setting as a number that grows as the release gets coarser."""
    out = {}
    for f in fields(rule):
        value = getattr(rule, f.name)
        if f.name in COARSENESS:
            out[f.name] = COARSENESS[f.name].index(value)
        elif f.name == "family_cap":
            out[f.name] = -value  # a lower cap shows less
        else:
            out[f.name] = value
    return out


def test_each_rung_of_the_ladder_coarsens_exactly_one_setting_of_the_one_before():
    assert LADDER[0][1] == Generalisation()
    for (_, before), (name, after) in pairwise(LADDER):
        was, now = coarseness(before), coarseness(after)
        changed = [k for k in was if was[k] != now[k]]
        assert len(changed) == 1, name
        assert now[changed[0]] > was[changed[0]], name


def test_the_ladder_ends_at_the_evaluations_windows_and_never_withholds_the_cost():
    # Withholding a value is suppression's job, family by family; the ladder only bands.
    top = LADDER[-1][1]
    assert top.month_band == 6
    assert all(rule.cost_band >= 100 for _, rule in LADDER)


# --- the released table ---------------------------------------------------------------

# Two families: the Ashes, attached in June 2015, and the Birches, waiting, given a
# drawn index month of November 2015. Their outcomes are in calendar months.
EXACT = table(
    """
    pseudonym | family_pseudonym | cohort           | index_month | index_source | year_of_birth | sex | local_authority | family_size | headlines                  | help_received | keyworker_cost | source | outcome    | outcome_detail | outcome_start | outcome_end | outcome_value | outcome_base | match_probability
    a1        | A                | attached         | 2015-06     | attachment   | 1983          | F   | Sandwell        | 2           | crime;children_need_help   | keyworker     | 1290           | dwp    | JSA        | -              | 2015-01       | 2015-09     | -             | -            | 0.98
    a1        | A                | attached         | 2015-06     | attachment   | 1983          | F   | Sandwell        | 2           | crime;children_need_help   | keyworker     | 1290           | moj    | conviction | custody        | 2016-01       | -           | -             | -            | 0.97
    a2        | A                | attached         | 2015-06     | attachment   | 2006          | M   | Sandwell        | 2           | crime;children_need_help   | keyworker     | 1290           | -      | -          | -              | -             | -           | -             | -            | -
    b1        | B                | eligible_waiting | 2015-11     | drawn        | 1979          | M   | Sandwell        | 1           | worklessness               | -             | -              | dfe    | CIN        | -              | 2015-11       | 2017-02     | -             | -            | 0.91
    """
)


def test_the_released_table_has_the_research_datasets_columns_in_order():
    assert tuple(released(EXACT, Generalisation()).columns) == RELEASED


def test_the_released_table_replaces_calendar_months_by_months_since_the_index_month():
    rule = Generalisation(
        index="half",
        birth_years=5,
        cost_band=500,
        month_band=3,
        headlines="count_and_children_need_help",
        family_cap=2,
    )
    out = released(EXACT, rule).select(
        "pseudonym", "index_period", "year_of_birth", "family_size", "headlines",
        "keyworker_cost", "outcome", "outcome_start_month", "outcome_end_month",
    )  # fmt: skip
    # a1's jobseeker claim began 5 months before the index month and ended 3 after;
    # the custody came 7 months after; b1's social care episode began in the family's
    # (drawn) index month, and ran 15 months.
    assert_frame_equal(
        out,
        table(
            """
            pseudonym | index_period | year_of_birth | family_size | headlines            | keyworker_cost | outcome    | outcome_start_month | outcome_end_month
            a1        | 2015-H1      | 1980-1984     | 2+          | 2;children_need_help | 1000-1499      | JSA        | -6..-4              | 1..3
            a1        | 2015-H1      | 1980-1984     | 2+          | 2;children_need_help | 1000-1499      | conviction | 7..9                | -
            a2        | 2015-H1      | 2005-2009     | 2+          | 2;children_need_help | 1000-1499      | -          | -                   | -
            b1        | 2015-H2      | 1975-1979     | 1           | 1                    | -              | CIN        | 0                   | 13..15
            """
        ),
    )


def test_the_released_table_holds_no_calendar_date():
    # At every rung: the index month only as a period, outcomes only as months since it
    # (the waiting family's drawn month is no more shown than the attached one's).
    for name, rule in LADDER:
        out = released(EXACT, rule)
        assert "index_month" not in out.columns and "index_source" not in out.columns, name
        for column in ("outcome_start_month", "outcome_end_month"):
            values = out[column].drop_nulls().to_list()
            assert not [v for v in values if re.search(r"\d{4}-\d{2}", v)], (name, column)
        periods = out["index_period"].to_list()
        assert not [p for p in periods if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", p)], name


def test_the_released_table_keeps_the_other_columns_as_they_were():
    out = released(EXACT, Generalisation())
    for column in (
        "pseudonym",
        "family_pseudonym",
        "cohort",
        "sex",
        "local_authority",
        "help_received",
        "source",
        "outcome",
        "outcome_detail",
        "outcome_value",
        "outcome_base",
        "match_probability",
    ):
        assert out[column].to_list() == EXACT[column].to_list(), column


def test_each_rung_of_the_ladder_nests_in_the_next():
    # `deidentify` bisects the ladder: that is sound only if what a rung releases of a
    # value is a function of what the rung below released (classes only merge going up).
    import random

    rng = random.Random(14)
    rows = []
    for n in range(300):
        index = f"{rng.choice([2015, 2016])}-{rng.randint(1, 12):02d}"
        start = f"{rng.randint(2013, 2019)}-{rng.randint(1, 12):02d}"
        rows.append({
            "pseudonym": f"p{n}", "family_pseudonym": f"f{n // 3}", "cohort": "attached",
            "index_month": index, "index_source": "attachment",
            "year_of_birth": str(rng.randint(1950, 2015)), "sex": rng.choice("FM"),
            "local_authority": "Sandwell", "family_size": str(rng.randint(1, 9)),
            "headlines": rng.choice(["crime", "crime;children_need_help", "a;b;c"]),
            "help_received": "keyworker", "keyworker_cost": f"{rng.uniform(300, 9000):.2f}",
            "source": "dfe", "outcome": "CIN", "outcome_detail": None,
            "outcome_start": start, "outcome_end": start, "outcome_value": None,
            "outcome_base": None, "match_probability": "1.0",
        })
    exact_rows = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.Utf8))
    columns = ["index_period", "year_of_birth", "family_size", "headlines", "keyworker_cost",
               "outcome_start_month", "outcome_end_month"]
    for (_, finer), (name, coarser) in pairwise(LADDER):
        pair = pl.concat(
            [released(exact_rows, finer).select(columns),
             released(exact_rows, coarser).select(pl.all().name.suffix("_up"))[
                 [f"{c}_up" for c in columns]]],
            how="horizontal",
        )
        for column in columns:
            images = pair.group_by(column).agg(pl.col(f"{column}_up").n_unique())
            assert images[f"{column}_up"].max() == 1, (name, column)
