"""Each cell rule, as ACRO 1.0.2 applies it: a small table in, each cell's rules out.

Thresholds are small here (a threshold of 3, not 10) so that the tables stay readable;
the rules are the same at any size.
"""

from __future__ import annotations

import pandas as pd

from evalink.disclosure import Status, TableSpec, Thresholds, safe_table
from tests.tables import table

SMALL = Thresholds(min_count=3, rounding_base=1)


def counts(text: str) -> pd.DataFrame:
    """Rows from a table of counts: each line stands for `n` identical rows."""
    summary = table(text).to_pandas()
    n = summary.pop("n").astype(int)
    return summary.loc[summary.index.repeat(n)].reset_index(drop=True)


def rules(data: pd.DataFrame, spec: TableSpec, thresholds: Thresholds = SMALL) -> dict:
    """Each cell's key -> the rules it fails (a set; empty when it passes them all)."""
    checks = safe_table(data, thresholds, spec).checks
    keys = [*spec.index, spec.columns]
    return {
        tuple(row[k] for k in keys): set(filter(None, row["rules"].split(";"))) - {"secondary"}
        for _, row in checks.iterrows()
    }


BY_AREA = TableSpec(index=("area",), columns="problem", margins=False)
COST_BY_AREA = TableSpec(
    index=("area",), columns="problem", values="cost", aggfunc="sum", margins=False
)


def test_a_cell_with_fewer_units_than_the_threshold_fails_threshold():
    data = counts("""
        area  | problem | n
        north | absence | 3
        north | crime   | 2
    """)
    assert rules(data, BY_AREA) == {("north", "absence"): set(), ("north", "crime"): {"threshold"}}


def test_a_zero_cell_fails_both_zero_and_threshold_as_in_acro():
    # `south, crime` has no rows: a zero, and a zero is under any threshold.
    data = counts("""
        area  | problem | n
        north | absence | 3
        north | crime   | 4
        south | absence | 5
    """)
    assert rules(data, BY_AREA)[("south", "crime")] == {"zero", "threshold"}


def test_when_zeros_are_not_disclosive_a_zero_still_fails_the_threshold():
    data = counts("""
        area  | problem | n
        north | absence | 3
        north | crime   | 4
        south | absence | 5
    """)
    lenient = Thresholds(min_count=3, zeros_disclosive=False)
    assert rules(data, BY_AREA, lenient)[("south", "crime")] == {"threshold"}


def test_every_combination_of_index_values_is_a_cell_even_one_no_row_has():
    data = counts("""
        area  | family_type | problem | n
        north | couple      | absence | 4
        south | lone_parent | absence | 5
    """)
    spec = TableSpec(index=("area", "family_type"), columns="problem", margins=False)
    assert rules(data, spec) == {
        ("north", "couple", "absence"): set(),
        ("north", "lone_parent", "absence"): {"zero", "threshold"},
        ("south", "couple", "absence"): {"zero", "threshold"},
        ("south", "lone_parent", "absence"): set(),
    }


def test_with_a_unit_a_cell_counts_distinct_units_not_rows():
    # Five rows, but two families: under a threshold of three.
    data = table("""
        family | area  | problem
        f1     | north | absence
        f1     | north | absence
        f1     | north | absence
        f2     | north | absence
        f2     | north | absence
    """)
    spec = TableSpec(index=("area",), columns="problem", unit="family", margins=False)
    checks = safe_table(data, SMALL, spec).checks
    assert checks.loc[0, "count"] == 2
    assert checks.loc[0, "rules"] == "threshold"


def test_a_cell_whose_two_largest_contributors_make_90_percent_fails_dominance():
    # 50 + 40 = 90 of 100: exactly k, and ACRO fails a cell at k (top_n / sum >= k).
    data = table(
        """
        area  | problem | cost
        north | absence | 50
        north | absence | 40
        north | absence | 5
        north | absence | 5
        """,
        numbers=("cost",),
    )
    assert rules(data, COST_BY_AREA)[("north", "absence")] == {"dominance"}


def test_a_cell_whose_two_largest_make_less_than_90_percent_passes_dominance():
    data = table(
        """
        area  | problem | cost
        north | absence | 50
        north | absence | 39
        north | absence | 6
        north | absence | 5
        """,
        numbers=("cost",),
    )
    assert rules(data, COST_BY_AREA)[("north", "absence")] == set()


def test_a_cell_where_the_rest_is_under_p_percent_of_the_largest_fails_p_ratio():
    # The second largest (45) knows the cell (99) less 4 others: it estimates the
    # largest (50) to within 4, under 10% of 50. Dominance on the largest alone passes.
    data = table(
        """
        area  | problem | cost
        north | absence | 50
        north | absence | 45
        north | absence | 2
        north | absence | 2
        """,
        numbers=("cost",),
    )
    largest_alone = Thresholds(min_count=3, nk_n=1, nk_k=90)
    assert rules(data, COST_BY_AREA, largest_alone)[("north", "absence")] == {"p-ratio"}


def test_a_cell_with_a_negative_contributor_fails_negative_instead_of_dominance():
    data = table(
        """
        area  | problem | cost
        north | absence | 100
        north | absence | -1
        north | absence | 1
        """,
        numbers=("cost",),
    )
    assert rules(data, COST_BY_AREA)[("north", "absence")] == {"negative"}


def test_cells_without_negatives_are_checked_for_dominance_though_another_cell_has_one():
    # Deliberately stricter than ACRO, which checks no cell's dominance once any cell
    # of the table holds a negative value.
    data = table(
        """
        area  | problem | cost
        north | absence | 100
        north | absence | -1
        north | absence | 1
        north | crime   | 100
        north | crime   | 1
        north | crime   | 1
        """,
        numbers=("cost",),
    )
    assert rules(data, COST_BY_AREA)[("north", "crime")] == {"dominance", "p-ratio"}


def test_an_empty_magnitude_cell_fails_the_threshold_alone_as_in_acro():
    data = table(
        """
        area  | problem | cost
        north | absence | 10
        north | absence | 10
        north | absence | 10
        south | crime   | 10
        south | crime   | 10
        south | crime   | 10
        """,
        numbers=("cost",),
    )
    assert rules(data, COST_BY_AREA)[("north", "crime")] == {"threshold"}


def test_a_sum_of_zeros_fails_p_ratio_as_in_acro():
    # Everyone's cost is zero, and the cell says so.
    data = table(
        """
        area  | problem | cost
        north | absence | 0
        north | absence | 0
        north | absence | 0
        """,
        numbers=("cost",),
    )
    assert rules(data, COST_BY_AREA)[("north", "absence")] == {"p-ratio"}


def test_with_a_unit_the_contributors_are_the_units_totals():
    # Row by row no cost dominates; family f1's three rows together make 90 of 100,
    # and the other families' 10 less the second largest (4) is under 10% of 90.
    data = table(
        """
        family | area  | problem | cost
        f1     | north | absence | 30
        f1     | north | absence | 30
        f1     | north | absence | 30
        f2     | north | absence | 4
        f3     | north | absence | 3
        f4     | north | absence | 3
        """,
        numbers=("cost",),
    )
    by_row = rules(data, COST_BY_AREA)[("north", "absence")]
    per_family = TableSpec(
        index=("area",),
        columns="problem",
        values="cost",
        aggfunc="sum",
        unit="family",
        margins=False,
    )
    assert by_row == set()
    assert rules(data, per_family)[("north", "absence")] == {"dominance", "p-ratio"}


def test_a_mean_is_checked_on_the_same_contributors_as_a_sum():
    data = table(
        """
        area  | problem | cost
        north | absence | 96
        north | absence | 2
        north | absence | 2
        """,
        numbers=("cost",),
    )
    spec = TableSpec(
        index=("area",), columns="problem", values="cost", aggfunc="mean", margins=False
    )
    checks = safe_table(data, SMALL, spec).checks
    assert checks.loc[0, "value"] == 100 / 3
    assert checks.loc[0, "rules"] == "dominance;p-ratio"


def test_margins_are_checked_as_cells():
    # Each area passes alone; the absence column's total does too; but crime has two.
    data = counts("""
        area  | problem | n
        north | absence | 3
        north | crime   | 1
        south | absence | 3
        south | crime   | 1
    """)
    checks = safe_table(data, SMALL, TableSpec(index=("area",), columns="problem")).checks
    total = checks.set_index(["area", "problem"]).loc[("Total", "crime")]
    assert (total["count"], total["rules"]) == (2, "threshold")
    assert total["status"] == Status.SUPPRESSED_PRIMARY
