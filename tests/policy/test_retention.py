"""The council's two seven-year rules: from the case closure for families worked with,
from identification for families never worked with, and no date while a case is open.

Each family's records are given the one event that applies to it; a rule whose event
is absent sets no date."""

from __future__ import annotations

from datetime import date

import pytest

from evalink.policy.render import retention_sentence
from evalink.policy.spec import RetentionEvent

IDENTIFIED = date(2016, 4, 1)
CLOSED = date(2018, 9, 30)


@pytest.mark.parametrize("dataset", ["identify_families", "identify_records", "attributes"])
def test_a_family_never_worked_with_is_destroyed_seven_years_after_identification(
    example_policy, dataset
):
    assert example_policy.destroy_by("council", dataset, {"identified": IDENTIFIED}) == date(
        2023, 4, 1
    )


def test_a_family_worked_with_counts_from_its_case_closure_not_its_identification(
    example_policy,
):
    assert example_policy.destroy_by(
        "council", "identify_families", {"case_closed": CLOSED}
    ) == date(2025, 9, 30)


def test_a_family_whose_case_is_still_open_has_no_date_yet(example_policy):
    assert example_policy.destroy_by("council", "identify_families", {}) is None


def test_the_identification_rule_dates_only_the_council(example_policy):
    for party in ("linker", "research"):
        assert example_policy.destroy_by(party, "attributes", {"identified": IDENTIFIED}) == date(
            2022, 12, 31
        )
    assert example_policy.destroy_by("dwp", "identifiers", {"identified": IDENTIFIED}) is None


def test_each_council_rule_counts_from_its_own_event(example_policy):
    rules = {r.after: r for r in example_policy.retention_rules("council", "identify_families")}
    assert set(rules) == {RetentionEvent.CASE_CLOSED, RetentionEvent.IDENTIFIED}
    assert rules[RetentionEvent.IDENTIFIED].destroy_date(IDENTIFIED) == date(2023, 4, 1)
    assert rules[RetentionEvent.CASE_CLOSED].destroy_date(CLOSED) == date(2025, 9, 30)
    with pytest.raises(ValueError, match="needs the date of 'identified'"):
        rules[RetentionEvent.IDENTIFIED].destroy_date()


def test_both_council_rules_keep_the_seven_year_promise(example_policy):
    (promise,) = [
        p
        for p in example_policy.document.promises
        if p.id == "destroyed-seven-years-after-service-ends"
    ]
    council = {r.id for r in example_policy.retention_rules("council", "identify_families")}
    assert council and council <= set(promise.enforced_by)


def test_the_notice_says_when_records_of_families_never_worked_with_go(example_policy):
    (rule,) = [r for r in example_policy.document.retention if r.after == RetentionEvent.IDENTIFIED]
    assert retention_sentence(example_policy, rule) == (
        "Sandwell Children's Trust will securely destroy all information they hold for this "
        "research 7 years after the family was identified, if the programme never worked "
        "with the family."
    )
