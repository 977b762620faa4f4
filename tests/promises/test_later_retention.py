"""The linker's, research's and council's promises are reported BROKEN when their
data outlives its date: the linker's into 2023, a council family past its seven years,
a destroyed family's identifier left in a file; and kept when destroyed on the day."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from evalink.promises import BROKEN, KEPT, read_cohort

MONTH = "departments-forget-within-a-month"
ONS = "ons-destroys-by-december-2022"


def test_the_linker_holding_its_data_into_2023_breaks_the_promise(after_a_month):
    report = after_a_month.check(on=after_a_month.programme.ons_date + timedelta(days=1))
    assert report[ONS].state == BROKEN
    assert "linker holds" in report[ONS].evidence and "research holds" in report[ONS].evidence


SEVEN_YEARS = "destroyed-seven-years-after-service-ends"


def _first_council_date(flow) -> date:
    with flow.node("council") as council:
        return min(p.destroy_by for p in council.parts() if p.destroy_by)


def test_a_council_that_keeps_a_family_past_its_date_breaks_the_promise(after_a_month):
    day = _first_council_date(after_a_month)
    report = after_a_month.check(on=day)
    assert report[SEVEN_YEARS].state == BROKEN
    assert "council holds" in report[SEVEN_YEARS].evidence
    assert f"due {day}" in report[SEVEN_YEARS].evidence


def test_a_destroyed_familys_identifier_left_at_the_council_breaks_the_promise(after_a_month):
    day = _first_council_date(after_a_month)
    with after_a_month.node("council", on=day, retention=True) as council:
        still_held = read_cohort(council, council.policy)
    assert still_held is not None
    # A value only a person whose family's records are gone had: the council still holds
    # the other families, and their values prove nothing.
    captured = after_a_month.programme.cohort
    gone = captured.values.join(still_held.values.select("person_key"), on="person_key", how="anti")
    gone = gone.join(still_held.values.select("value"), on="value", how="anti")
    value = gone.filter(pl.col("field") == "nino")["raw"][0]
    (after_a_month.workdir / "council" / "tmp" / "kept.txt").write_text(value, encoding="utf-8")
    report = after_a_month.check(on=day)
    assert report[SEVEN_YEARS].state == BROKEN
    assert (
        "1 value(s) of 'nino' of persons whose records must be gone, in 1 file(s) under 'tmp/'"
        in (report[SEVEN_YEARS].evidence)
    )


def test_a_council_that_destroyed_its_first_families_on_their_day_keeps_the_promise(
    after_a_month,
):
    day = _first_council_date(after_a_month)
    with after_a_month.node("council", on=day, retention=True):
        pass
    report = after_a_month.check(on=day)
    assert report[SEVEN_YEARS].state == KEPT, report[SEVEN_YEARS].evidence
    assert "not yet due" in report[SEVEN_YEARS].evidence
