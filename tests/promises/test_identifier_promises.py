"""Identifier promises are reported BROKEN when the nodes show them broken: identifiers
in a main store (by field or under another name), a research dataset with a group
smaller than k."""

from __future__ import annotations

import pyarrow as pa

from evalink.promises import BROKEN
from tests.promises.conftest import cohort_member

SEPARATE = "identifiers-kept-separately"
REFERENCE = "unique-reference-number"


def test_identifiers_put_in_the_main_store_break_the_promise(held):
    person = cohort_member(held)
    with held.node("linker") as linker:
        linker.write_dataset("notes", pa.table({"surname": [person["surname"]]}), vault=False)
    report = held.check()
    assert report[SEPARATE].state == BROKEN
    assert "linker: 'notes' holds surname outside the vault" in report[SEPARATE].evidence
    assert person["surname"] not in report[SEPARATE].evidence


def test_an_identifier_under_another_name_in_the_main_store_breaks_the_promise(held):
    person = cohort_member(held)
    with held.node("linker") as linker:
        linker.write_dataset("notes", pa.table({"comment": [f"  {person['nino'].lower()} "]}))
    report = held.check()
    assert report[SEPARATE].state == BROKEN
    assert "'notes' in the main store holds 1 value(s) equal to cohort identifiers (nino)" in (
        report[SEPARATE].evidence
    )


def test_a_research_dataset_with_a_small_group_breaks_the_reference_number_promise(held):
    with held.node("research") as research:
        research.write_dataset(
            "research_dataset",
            pa.table(
                {
                    "pseudonym": ["P-only-one"],
                    "year_of_birth": ["1901"],
                    "sex": ["F"],
                    "local_authority": ["Sandwell"],
                    "area_code": ["B69 9"],
                    "attachment_month": ["2015-04"],
                }
            ),
        )
    report = held.check()
    assert report[REFERENCE].state == BROKEN
    assert "1 person(s) in groups smaller than k=10" in report[REFERENCE].evidence
