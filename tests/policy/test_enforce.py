"""`Policy.check_flow`: what may move, and what is refused with the rule named. Default deny."""

from __future__ import annotations

from datetime import date

import pytest

from evalink.policy import PolicyViolation

IDENTIFIERS = ["reference_number", "forename", "surname", "dob", "sex", "address", "postcode"]


def test_an_allowed_transfer_returns_its_flow(example_policy):
    flow = example_policy.check_flow("council", "linker", "identifiers", IDENTIFIERS, "evaluation")
    assert flow.id == "council-identifiers-to-linker"


def test_a_subset_of_the_allowed_fields_is_allowed(example_policy):
    flow = example_policy.check_flow(
        "linker", "moj", "identifiers", ["reference_number", "surname"]
    )
    assert flow.id == "linker-identifiers-to-moj"


def test_a_field_outside_the_allow_list_is_refused_naming_the_rule_and_promise(example_policy):
    with pytest.raises(PolicyViolation) as refused:
        example_policy.check_flow("council", "linker", "identifiers", [*IDENTIFIERS, "religion"])
    assert refused.value.rule == "council-identifiers-to-linker"
    assert refused.value.promise == "only-agreed-transfers"
    assert "field 'religion' not allowed in flow council→linker (identifiers)" in str(refused.value)


def test_a_department_gets_only_the_fields_its_flow_allows(example_policy):
    # MoJ is not sent National Insurance numbers.
    with pytest.raises(PolicyViolation, match="field 'nino' not allowed"):
        example_policy.check_flow("linker", "moj", "identifiers", [*IDENTIFIERS, "nino"])


def test_a_transfer_no_flow_describes_is_refused_by_default(example_policy):
    with pytest.raises(PolicyViolation) as refused:
        example_policy.check_flow("linker", "dwp", "attributes", ["reference_number", "cohort"])
    assert refused.value.rule == "default-deny"


def test_linked_data_going_back_to_the_council_is_refused_naming_the_promise(example_policy):
    with pytest.raises(PolicyViolation) as refused:
        example_policy.check_flow("linker", "council", "dwp_outcomes", ["reference_number"])
    assert refused.value.rule == "no-linked-data-to-council-or-agencies"
    assert "no-linked-data-back-to-council" in refused.value.promises


def test_a_department_returning_a_name_is_refused(example_policy):
    with pytest.raises(PolicyViolation, match="field 'surname' not allowed in flow dwp→linker"):
        example_policy.check_flow(
            "dwp", "linker", "dwp_outcomes", ["reference_number", "spell_type", "surname"]
        )


def test_a_transfer_for_another_purpose_is_refused(example_policy):
    with pytest.raises(PolicyViolation, match="purpose 'benefit-decisions' is not allowed"):
        example_policy.check_flow(
            "council", "linker", "identifiers", IDENTIFIERS, purpose="benefit-decisions"
        )


def test_an_unknown_party_is_refused(example_policy):
    with pytest.raises(PolicyViolation, match="party 'hmrc' is not in policy"):
        example_policy.check_flow("linker", "hmrc", "identifiers", IDENTIFIERS)


def test_departments_destroy_identifiers_thirty_days_after_receipt(example_policy):
    received = date(2019, 5, 20)
    for department in ("dwp", "moj", "dfe"):
        assert example_policy.destroy_by(department, "identifiers", {"receipt": received}) == date(
            2019, 6, 19
        )


def test_the_linker_destroys_everything_by_the_end_of_2022(example_policy):
    assert example_policy.destroy_by(
        "linker", "identifiers", {"receipt": date(2019, 5, 1)}
    ) == date(2022, 12, 31)


def test_the_council_destroys_seven_years_after_the_service_ends(example_policy):
    closed = date(2020, 2, 29)
    # A leap day plus seven years falls back to the last day of February.
    assert example_policy.destroy_by("council", "attributes", {"case_closed": closed}) == date(
        2027, 2, 28
    )


def test_a_rule_waiting_for_its_event_sets_no_date_yet(example_policy):
    assert example_policy.destroy_by("council", "attributes", {}) is None


def test_the_research_dataset_must_be_ten_anonymous(example_policy):
    assert example_policy.k_anonymity("research") == 10


def test_published_outputs_have_disclosure_rules(example_policy):
    rules = example_policy.disclosure_rules("public")
    assert rules is not None and rules.min_cell_count == 10
