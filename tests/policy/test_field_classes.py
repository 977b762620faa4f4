"""Field classes: the policy is the one place that says which fields identify a person.

Every stage that treats a field as an identifier (the audit log's refusals, the fields
identify reads and shares, what research is made k-anonymous on) asks the policy, so a
policy that adds or renames an identifier changes all of them at once.
"""

from __future__ import annotations

import pytest

from evalink.policy import FieldClass, PolicyViolation
from tests.policy.helpers import index_of, policy_with
from tests.policy.identifier_variants import policy_adding, policy_renaming


def test_identifying_fields_are_the_direct_and_quasi_identifiers_in_policy_order(example_policy):
    assert example_policy.identifying_fields("identifiers") == [
        "forename", "surname", "dob", "sex", "address", "postcode", "nino",
    ]  # fmt: skip


def test_quasi_identifiers_of_the_research_dataset_come_from_its_field_classes(example_policy):
    assert example_policy.quasi_identifiers("research_dataset") == [
        "index_period", "year_of_birth", "sex", "local_authority",
    ]  # fmt: skip


def test_fields_of_several_classes_across_every_dataset_are_named_once(example_policy):
    fields = example_policy.fields_of_class(
        FieldClass.SPECIAL_CATEGORY, FieldClass.CRIMINAL_OFFENCE
    )
    assert fields.count("headlines") == 1  # in attributes and in the research dataset
    assert {"need_code", "event_type", "outcome"} <= set(fields)
    assert "reference_number" not in fields


def test_fields_of_class_in_a_dataset_the_policy_does_not_name_are_denied(example_policy):
    with pytest.raises(PolicyViolation, match="dataset 'religion' is not in policy"):
        example_policy.fields_of_class(FieldClass.ATTRIBUTE, dataset="religion")


def test_personal_fields_are_the_direct_identifiers_and_the_names_that_carry_them(
    example_policy,
):
    personal = example_policy.personal_fields()
    assert example_policy.direct_identifier_fields() <= personal
    assert {"name", "value"} <= personal
    assert "sex" not in personal  # a quasi-identifier: in aggregates, not a person's data


def test_an_identifier_the_policy_adds_is_a_personal_field():
    policy = policy_adding("middle_name")
    assert "middle_name" in policy.personal_fields()
    assert "middle_name" in policy.identifying_fields("identifiers")


def test_a_renamed_identifier_is_personal_under_its_new_name_only():
    policy = policy_renaming("nino", "ni_number")
    assert "ni_number" in policy.personal_fields()
    assert "nino" not in policy.personal_fields()


def test_a_field_the_policy_reclassifies_as_quasi_identifier_is_counted_for_k_anonymity():
    def reclassify(document: dict) -> None:
        research = document["datasets"][index_of(document["datasets"], "research_dataset")]
        for field in research["fields"]:
            if field["name"] == "cohort":
                field["class"] = "quasi_identifier"

    assert "cohort" in policy_with(reclassify).quasi_identifiers("research_dataset")
