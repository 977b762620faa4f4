"""Safe tables: what is published, what is suppressed and why, and the files written.

Thresholds are small here (a threshold of 3) so the tables stay readable.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evalink.disclosure import (
    Status,
    TableSpec,
    Thresholds,
    audit_suppression,
    safe_table,
)
from evalink.errors import InputError
from tests.tables import table

SMALL = Thresholds(min_count=3, rounding_base=1)
BY_AREA = TableSpec(index=("area",), columns="problem")


def counts(text: str) -> pd.DataFrame:
    """Rows from a table of counts: each line stands for `n` identical rows."""
    summary = table(text).to_pandas()
    n = summary.pop("n").astype(int)
    return summary.loc[summary.index.repeat(n)].reset_index(drop=True)


def statuses(checks: pd.DataFrame, spec: TableSpec = BY_AREA) -> dict:
    keys = [*spec.index, spec.columns]
    return {tuple(row[k] for k in keys): row["status"] for _, row in checks.iterrows()}


TWO_BY_TWO = """
    area  | problem | n
    north | absence | 5
    north | crime   | 1
    south | absence | 6
    south | crime   | 7
"""


def test_one_failing_cell_of_a_two_by_two_table_hides_the_other_three_and_keeps_the_totals():
    # With the totals published, north·crime = north total − north·absence: the three
    # other cells must go too (the "rectangle"), so that each could be 3 higher or lower.
    checks = safe_table(counts(TWO_BY_TWO), SMALL, BY_AREA).checks
    assert statuses(checks) == {
        ("north", "absence"): Status.SUPPRESSED_SECONDARY,
        ("north", "crime"): Status.SUPPRESSED_PRIMARY,
        ("north", "Total"): Status.PUBLISHED,
        ("south", "absence"): Status.SUPPRESSED_SECONDARY,
        ("south", "crime"): Status.SUPPRESSED_SECONDARY,
        ("south", "Total"): Status.PUBLISHED,
        ("Total", "absence"): Status.PUBLISHED,
        ("Total", "crime"): Status.PUBLISHED,
        ("Total", "Total"): Status.PUBLISHED,
    }
    secondary = checks[checks["status"] == Status.SUPPRESSED_SECONDARY]
    assert set(secondary["rules"]) == {"secondary"}


def test_every_suppressed_cell_of_the_two_by_two_table_could_be_six_values():
    # From the totals alone north·crime is anything from 0 (north·absence 6) to 6
    # (north·absence 0), and the other cells move with it.
    audit = audit_suppression(safe_table(counts(TWO_BY_TWO), SMALL, BY_AREA))
    assert {i.cell: (i.low, i.high) for i in audit} == {
        ("north", "absence"): (0.0, 6.0),
        ("north", "crime"): (0.0, 6.0),
        ("south", "absence"): (5.0, 11.0),
        ("south", "crime"): (2.0, 8.0),
    }
    assert all(i.needed == 3 and i.protected for i in audit)


def test_without_secondary_suppression_the_audit_derives_the_failing_cell_exactly():
    # What secondary suppression is for: the north total less north·absence.
    table_ = safe_table(counts(TWO_BY_TWO), SMALL, BY_AREA, secondary=False)
    [interval] = audit_suppression(table_)
    assert (interval.cell, interval.low, interval.high) == (("north", "crime"), 1.0, 1.0)
    assert not interval.protected


def test_without_margins_a_failing_cell_needs_no_complement():
    spec = TableSpec(index=("area",), columns="problem", margins=False)
    checks = safe_table(counts(TWO_BY_TWO), SMALL, spec).checks
    assert list(checks["status"]) == [
        Status.PUBLISHED,
        Status.SUPPRESSED_PRIMARY,
        Status.PUBLISHED,
        Status.PUBLISHED,
    ]


def test_the_publishable_table_has_suppressed_cells_empty_and_counts_rounded_to_the_base():
    data = counts("""
        area  | problem | n
        north | absence | 12
        north | crime   | 13
        south | absence | 14
        south | crime   | 2
    """)
    spec = TableSpec(index=("area",), columns="problem", margins=False)
    published = safe_table(data, Thresholds(min_count=10, rounding_base=5), spec).published
    assert published.to_dict("list") == {
        "area": ["north", "south"],
        "absence": [10, 15],
        "crime": [15, None],
    }


def test_margins_are_rounded_from_their_own_count_not_added_up_from_rounded_cells():
    data = counts("""
        area  | problem | n
        north | absence | 12
        north | crime   | 12
        south | absence | 12
        south | crime   | 12
    """)
    published = safe_table(data, Thresholds(min_count=10), BY_AREA).published
    # 12 rounds to 10 in every cell; the row total 24 to 25, the grand total 48 to 50.
    assert published.to_dict("list") == {
        "area": ["north", "south", "Total"],
        "absence": [10, 10, 25],
        "crime": [10, 10, 25],
        "Total": [25, 25, 50],
    }


def test_totals_of_distinct_units_that_are_not_sums_of_the_cells_are_withheld():
    # f1 has both problems: north's total is 3 families, not 2 + 3.
    data = table("""
        family | area  | problem
        f1     | north | absence
        f2     | north | absence
        f1     | north | crime
        f3     | north | crime
        f4     | north | crime
    """)
    spec = TableSpec(index=("area",), columns="problem", unit="family")
    made = safe_table(data, SMALL, spec)
    assert list(made.published.columns) == ["area", "absence", "crime"]
    assert "Total" not in set(made.checks["area"]) | set(made.checks["problem"])
    assert made.summary()["margins"].startswith("withheld")


def test_a_table_of_means_is_suppressed_with_the_pattern_of_its_sums():
    data = table(
        """
        area  | problem | cost
        north | absence | 10
        north | absence | 12
        north | absence | 11
        north | crime   | 500
        north | crime   | 1
        north | crime   | 1
        south | absence | 9
        south | absence | 10
        south | absence | 11
        south | crime   | 20
        south | crime   | 21
        south | crime   | 22
        """,
        numbers=("cost",),
    )
    sums = TableSpec(index=("area",), columns="problem", values="cost", aggfunc="sum")
    means = TableSpec(index=("area",), columns="problem", values="cost", aggfunc="mean")
    by_sum = safe_table(data, SMALL, sums)
    by_mean = safe_table(data, SMALL, means)
    assert statuses(by_mean.checks) == statuses(by_sum.checks)
    assert statuses(by_sum.checks)[("north", "crime")] == Status.SUPPRESSED_PRIMARY
    # The grand total is published, as a mean of all twelve, to two decimal places.
    assert by_mean.published.loc[2, "Total"] == round(628 / 12, 2)


def test_the_checks_list_every_cell_row_by_row_with_the_totals_named_total():
    checks = safe_table(counts(TWO_BY_TWO), SMALL, BY_AREA).checks
    assert list(checks.columns) == ["area", "problem", "count", "value", "status", "rules"]
    assert list(zip(checks["area"], checks["problem"], checks["count"], strict=True)) == [
        ("north", "absence", 5),
        ("north", "crime", 1),
        ("north", "Total", 6),
        ("south", "absence", 6),
        ("south", "crime", 7),
        ("south", "Total", 13),
        ("Total", "absence", 11),
        ("Total", "crime", 8),
        ("Total", "Total", 19),
    ]


def test_write_puts_the_publishable_table_and_its_checks_beside_each_other(tmp_path):
    out, checks = safe_table(counts(TWO_BY_TWO), SMALL, BY_AREA).write(tmp_path / "areas.csv")
    assert (out.name, checks.name) == ("areas.csv", "areas.checks.csv")
    assert out.read_text().splitlines() == [
        "area,absence,crime,Total",
        "north,,,6",
        "south,,,13",
        "Total,11,8,19",
    ]
    assert pd.read_csv(checks)["status"].tolist()[:2] == [
        "suppressed_secondary",
        "suppressed_primary",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["areas.checks.csv", "areas.csv"]


def test_each_cell_knows_its_units_and_the_table_its_population():
    data = table("""
        family | area  | problem
        f1     | north | absence
        f2     | north | absence
        f3     | south | crime
    """)
    spec = TableSpec(index=("area",), columns="problem", unit="family")
    made = safe_table(data, SMALL, spec)
    assert made.cell_units[("north", "absence")] == frozenset({"f1", "f2"})
    assert made.cell_units[("north", "crime")] == frozenset()
    assert made.population == frozenset({"f1", "f2", "f3"})


def test_the_summary_holds_aggregates_and_no_unit():
    data = table("""
        family | area  | problem
        f1     | north | absence
        f2     | north | absence
        f3     | south | crime
    """)
    spec = TableSpec(index=("area",), columns="problem", unit="family")
    summary = safe_table(data, SMALL, spec).summary()
    # Only the grand total reaches three families.
    assert {k: summary[k] for k in ("cells", "published", "suppressed_primary")} == {
        "cells": 9,
        "published": 1,
        "suppressed_primary": 8,
    }
    assert summary["rules"] == {"threshold": 8, "zero": 2}
    assert not {"f1", "f2", "f3"} & set(json.dumps(summary).replace('"', " ").split())


def test_the_policy_s_rules_for_the_public_are_acros_defaults(example_policy):
    assert Thresholds.for_party(example_policy, "public") == Thresholds()


def test_a_party_without_disclosure_rules_has_no_thresholds(example_policy):
    with pytest.raises(InputError, match="no disclosure rules apply to party 'research'"):
        Thresholds.for_party(example_policy, "research")


ROWS = table(
    """
    area  | problem | cost | note
    north | absence | 10   | high
    """
).to_pandas()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            TableSpec(index=("region",), columns="problem"),
            r"no column 'region' \(the table's index",
        ),
        (TableSpec(index=("area",), columns="year"), r"no column 'year' \(the table's columns"),
        (
            TableSpec(index=("area",), columns="problem", values="note", aggfunc="sum"),
            "column 'note' is not numeric",
        ),
        (
            TableSpec(index=("area",), columns="problem", values="cost"),
            "values column 'cost' given for a count",
        ),
        (
            TableSpec(index=("area",), columns="problem", aggfunc="mean"),
            "aggfunc mean needs a values column",
        ),
        (TableSpec(index=(), columns="problem"), "1 to 3 index columns, not 0"),
        (
            TableSpec(index=("area", "note", "cost", "problem"), columns="problem"),
            "1 to 3 index columns, not 4",
        ),
        (
            TableSpec(index=("area",), columns="problem", unit="family"),
            r"no column 'family' \(the table's unit",
        ),
    ],
)
def test_a_table_that_cannot_be_made_is_refused_in_one_line_naming_the_source(spec, message):
    with pytest.raises(InputError, match=message) as refused:
        safe_table(ROWS, SMALL, spec, source="extract.csv")
    assert str(refused.value).startswith("extract.csv: ")
    assert "\n" not in str(refused.value)


def test_a_category_named_total_is_refused_when_margins_would_use_the_name():
    data = counts("""
        area  | problem | n
        Total | absence | 5
    """)
    with pytest.raises(InputError, match="column 'area' has a value 'Total'"):
        safe_table(data, SMALL, BY_AREA)


def test_a_count_that_passed_is_never_shown_as_zero_whatever_the_base():
    data = counts("""
        area  | problem | n
        north | absence | 4
    """)
    spec = TableSpec(index=("area",), columns="problem", margins=False)
    published = safe_table(data, Thresholds(min_count=3, rounding_base=10), spec).published
    assert published.loc[0, "absence"] == 10


def test_rows_without_a_category_are_left_out_and_counted_in_the_summary():
    data = pd.DataFrame({"area": ["north"] * 4 + [None], "problem": ["absence"] * 5})
    spec = TableSpec(index=("area",), columns="problem", margins=False)
    made = safe_table(data, SMALL, spec)
    assert made.checks["count"].tolist() == [4]
    assert made.summary()["rows_without_category"] == 1
