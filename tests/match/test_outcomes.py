"""A department's outcome records: only matched people, only the window, only the policy's fields."""

from __future__ import annotations

from datetime import date

import polars as pl

from evalink.match.outcomes import DepartmentOutcomes, OutcomeTable, Window, outcome_records

FIELDS = ["reference_number", "match_probability", "spell_type", "spell_start", "spell_end"]


def test_outcomes_are_keyed_by_reference_number_and_cut_to_the_window(tmp_path):
    pl.DataFrame(
        {
            "record_id": ["CIS1", "CIS1", "CIS2", "CIS3"],
            "benefit": ["JSA", "ESA", "JSA", "UC"],
            "start_date": [date(2012, 1, 1), date(2016, 5, 1), date(2016, 6, 1), date(2016, 7, 1)],
            "end_date": [date(2012, 6, 1), None, date(2016, 9, 1), None],
        }
    ).write_parquet(tmp_path / "benefit_spells.parquet")
    outcomes = DepartmentOutcomes(
        dataset="dwp_outcomes",
        persons="persons.parquet",
        tables=[
            OutcomeTable(
                file="benefit_spells.parquet",
                person="record_id",
                date="start_date",
                columns={
                    "spell_type": "benefit",
                    "spell_start": "start_date",
                    "spell_end": "end_date",
                },
            )
        ],
    )
    matched = pl.DataFrame(
        {
            "person": ["CIS1", "CIS2"],
            "reference_number": ["R1", "R2"],
            "match_probability": [0.999, 0.98],
        }
    )
    window = Window(**{"from": date(2013, 4, 1), "to": date(2020, 3, 31)})
    rows = outcome_records(tmp_path, outcomes, window, matched, FIELDS)
    assert rows.columns == FIELDS
    # CIS3 was not matched; CIS1's 2012 spell is before the window; no person id leaves.
    assert rows.select("reference_number", "spell_type", "spell_start").rows() == [
        ("R1", "ESA", "2016-05-01"),
        ("R2", "JSA", "2016-06-01"),
    ]
