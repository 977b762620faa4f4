"""What the public node can see wrong in a publishable table alone."""

from __future__ import annotations

import pandas as pd

from evalink.disclosure import TableSpec, Thresholds, safe_table, scan_published

BY_AREA = TableSpec(index=("area",), columns="problem")
POLICY = Thresholds()  # threshold 10, zeros disclosive, base 5


def test_a_table_made_by_safe_table_shows_no_problem():
    data = pd.DataFrame(
        {"area": ["north"] * 37 + ["south"] * 4, "problem": ["absence", "crime"] * 20 + ["crime"]}
    )
    published = safe_table(data, POLICY, BY_AREA).published
    assert scan_published(published, BY_AREA, POLICY) == []


def test_a_count_under_the_threshold_is_named_by_its_row_and_column():
    published = pd.DataFrame({"area": ["north"], "absence": [5], "crime": [None]})
    assert scan_published(published, BY_AREA, POLICY) == [
        "cell (area=north, problem=absence): count 5 is under the threshold 10 (rule 'threshold')"
    ]


def test_a_count_that_is_not_a_multiple_of_the_base_is_a_problem():
    published = pd.DataFrame({"area": ["north"], "absence": [12]})
    assert scan_published(published, BY_AREA, POLICY) == [
        "cell (area=north, problem=absence): count 12 is not a multiple of 5 (rule 'rounding')"
    ]


def test_a_zero_is_a_problem_while_zeros_are_disclosive():
    published = pd.DataFrame({"area": ["north"], "absence": [0]})
    spec = TableSpec(index=("area",), columns="problem", values="cost", aggfunc="sum")
    assert scan_published(published, spec, POLICY) == [
        "cell (area=north, problem=absence): a zero, and zeros are disclosive (rule 'zero')"
    ]
    assert scan_published(published, spec, Thresholds(zeros_disclosive=False)) == []


def test_a_table_read_back_from_its_csv_is_scanned_the_same(tmp_path):
    data = pd.DataFrame({"area": ["north"] * 23, "problem": ["absence"] * 23})
    out, _ = safe_table(data, POLICY, BY_AREA).write(tmp_path / "t.csv")
    assert scan_published(pd.read_csv(out), BY_AREA, POLICY) == []
    tampered = pd.read_csv(out).assign(absence=[23, 23])
    assert len(scan_published(tampered, BY_AREA, POLICY)) == 2
