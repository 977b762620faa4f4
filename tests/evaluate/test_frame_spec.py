"""How the research dataset's released values become the estimators' inputs: bands
count by the share of their months in a window, and nothing withheld is guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalink.evaluate.frame import band, outcome_data, overlap, period_months, persons
from evalink.evaluate.plan import Window, load_plan
from tests.evaluate.research_rows import Person, dataset, lac


@pytest.mark.parametrize(
    ("period", "months"),
    [
        ("2016-Q1", (2016 * 12, 2016 * 12 + 2)),
        ("2016-H2", (2016 * 12 + 6, 2016 * 12 + 11)),
        ("2016", (2016 * 12, 2016 * 12 + 11)),
        ("2016-2017", (2016 * 12, 2017 * 12 + 11)),
        ("2016-05", (2016 * 12 + 4, 2016 * 12 + 4)),
    ],
)
def test_an_index_period_is_the_months_it_spans(period, months):
    assert period_months(period) == months


def test_a_withheld_index_period_is_no_month():
    assert np.isnan(period_months(None)).all()


@pytest.mark.parametrize(
    ("released", "ends"),
    [("9", (9, 9)), ("7..12", (7, 12)), ("-12..-7", (-12, -7)), ("1985", (1985, 1985)),
     ("1980-1999", (1980, 1999))],
)
def test_a_released_number_or_band_is_its_two_ends(released, ends):
    assert band(released) == ends


def test_a_band_counts_in_a_window_by_the_share_of_its_months_inside_it():
    low, high = np.array([7.0, 1.0, 13.0, -6.0]), np.array([12.0, 24.0, 18.0, -1.0])
    shares = overlap(low, high, Window(from_month=7, to_month=12))
    assert shares.tolist() == [1.0, 0.25, 0.0, 0.0]


@pytest.fixture
def plan(write_plan):
    return load_plan(write_plan()).plan


def test_an_event_in_the_window_counts_and_one_outside_it_does_not(plan):
    people = persons(dataset([
        Person("in", events=[lac("9")]),
        Person("after", events=[lac("30")]),
        Person("none"),
        Person("waiting", cohort="eligible_waiting", events=[lac("1..24")]),
    ]))
    data = outcome_data(people, plan, "child_looked_after")
    assert data.y["7-12"].to_dict() == {"in": 1.0, "after": 0.0, "none": 0.0, "waiting": 0.25}
    assert data.y["1-24"].to_dict() == {"in": 1.0, "after": 0.0, "none": 0.0, "waiting": 1.0}


def test_an_event_before_the_index_date_is_history_not_outcome(plan):
    people = persons(dataset([
        Person("before", events=[lac("-6..-1")]),
        Person("other", cohort="eligible_waiting"),
    ]))
    data = outcome_data(people, plan, "child_looked_after")
    assert data.y["1-24"].to_dict() == {"before": 0.0, "other": 0.0}
    assert data.persons.loc["before", "history -12..-1"] == 1.0


def test_the_population_is_by_age_at_the_index_date_and_a_withheld_age_stays_in(plan):
    people = persons(dataset([
        Person("child", year_of_birth="2008"),
        Person("adult", year_of_birth="1980"),
        Person("band", year_of_birth="1980-1999"),  # aged 16 to 36 in 2016
        Person("unknown", year_of_birth=None),
    ]))
    chosen = outcome_data(people, plan, "child_looked_after").persons.index
    assert sorted(chosen) == ["band", "child", "unknown"]


def test_a_withheld_headline_count_is_a_category_of_its_own(plan):
    people = persons(dataset([
        Person("shown", headlines="3;children_need_help"),
        Person("listed", headlines="crime_asb;education"),
        Person("withheld", headlines=None),
    ]))
    table = people.table
    assert table.loc["shown", ["headline_count", "children_need_help"]].tolist() == ["3", "yes"]
    assert table.loc["listed", ["headline_count", "children_need_help"]].tolist() == ["2", "no"]
    assert table.loc["withheld", ["headline_count", "children_need_help"]].tolist() == ["withheld", "withheld"]


def test_a_family_whose_link_was_withheld_is_each_member_alone():
    rows = dataset([Person("a", family="f1"), Person("b", family="f1")])
    rows.loc[rows["pseudonym"] == "b", "family_pseudonym"] = None
    table = persons(rows).table
    assert table.loc["a", "family"] == "f1"
    assert table.loc["b", "family"] != "f1"
    assert pd.Series(table["family"]).nunique() == 2
