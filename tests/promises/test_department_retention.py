"""The departments' promise is reported BROKEN when what they received outlives its
month, whichever way: nobody destroyed it, a table was written without a date, a copy
was left in a file, or the destruction came late."""

from __future__ import annotations

import re
from datetime import timedelta

import pyarrow as pa

from evalink.promises import BROKEN
from tests.promises.conftest import cohort_member

MONTH = "departments-forget-within-a-month"
ONS = "ons-destroys-by-december-2022"


def test_a_department_nobody_opened_after_its_month_breaks_the_promise(held):
    # Nothing ran retention at the departments: they still hold what they received.
    report = held.check(on=held.received_on + timedelta(days=31))
    assert report[MONTH].state == BROKEN
    assert "past their destroy-by date" in report[MONTH].evidence
    assert "'identifiers'" in report[MONTH].evidence


def test_a_department_that_keeps_its_match_table_breaks_the_promise(after_a_month):
    with after_a_month.node("dwp") as dwp:
        dwp.write_dataset("matches", pa.table({"reference_number": ["R0"], "record_id": ["1"]}))
    report = after_a_month.check()
    assert report[MONTH].state == BROKEN
    assert "dwp holds 'matches' with no destroy-by date" in report[MONTH].evidence


def test_a_cohort_members_identifiers_left_in_a_file_break_the_promise(after_a_month):
    person = cohort_member(after_a_month)
    leak = after_a_month.workdir / "moj" / "tmp" / "notes.csv"
    leak.parent.mkdir(exist_ok=True)
    leak.write_text(f"surname,nino\n{person['surname']},{person['nino']}\n", encoding="utf-8")
    report = after_a_month.check()
    assert report[MONTH].state == BROKEN
    assert "in 1 file(s) under 'tmp/'" in report[MONTH].evidence
    # The evidence names the folder and counts the values; never the values, nor the
    # file's own name, which whoever left it chose.
    assert "notes.csv" not in report[MONTH].evidence
    assert person["nino"] not in report[MONTH].evidence
    assert person["surname"] not in report[MONTH].evidence


def test_a_department_that_destroys_ten_days_late_breaks_the_promise(held):
    late = held.received_on + timedelta(days=40)
    with held.node("dfe", on=late, retention=True):
        pass  # opening the node on that day is when retention first ran
    report = held.check(on=late)
    assert report[MONTH].state == BROKEN
    assert re.search(
        r"dfe: \d+ part\(s\) destroyed after their due date, up to 10 day\(s\) late",
        report[MONTH].evidence,
    )
