"""Export rules: what a party may read out of its node into a file, and what is refused.

An export leaves the governed system, so it is default deny like a flow: only what an
export rule describes (party, dataset, purpose, field classes) is allowed, and no rule
may let direct identifiers out.
"""

from __future__ import annotations

import pytest

from evalink.errors import InputError
from evalink.policy import FieldClass, PolicyError, PolicyViolation
from tests.policy.helpers import index_of, policy_with


def _research_fields(policy) -> list[str]:
    return policy.dataset("research_dataset").field_names()


def _rule(document: dict, rule_id: str = "research-exports-for-analysis") -> dict:
    return document["exports"][index_of(document["exports"], rule_id)]


def test_research_may_export_its_research_dataset_for_the_evaluation(example_policy):
    rule = example_policy.check_export(
        "research", "research_dataset", _research_fields(example_policy), "evaluation"
    )
    assert rule.id == "research-exports-for-analysis"
    assert rule.purpose == "evaluation"


def test_with_no_purpose_given_the_rules_one_purpose_is_taken(example_policy):
    rule = example_policy.check_export(
        "research", "research_dataset", _research_fields(example_policy)
    )
    assert rule.purpose == "evaluation"


def test_an_export_for_another_purpose_is_refused_naming_the_rule(example_policy):
    with pytest.raises(PolicyViolation, match="purpose 'marketing' is not allowed") as refused:
        example_policy.check_export(
            "research", "research_dataset", _research_fields(example_policy), "marketing"
        )
    assert refused.value.rule == "research-exports-for-analysis"


def test_no_rule_in_the_example_lets_any_node_export_direct_identifiers(example_policy):
    identifiers = example_policy.direct_identifier_fields()
    for export in example_policy.document.exports:
        assert FieldClass.DIRECT_IDENTIFIER not in export.field_classes, export.id
    for party in example_policy.document.parties:
        with pytest.raises(PolicyViolation) as refused:
            example_policy.check_export(party.id, "identifiers", ["reference_number", "surname"])
        assert refused.value.rule == "no-identifier-exports"
        assert "identifiers-kept-separately" in refused.value.promises
    assert {"forename", "surname", "dob", "address", "postcode", "nino"} <= identifiers


def test_a_column_named_as_an_identifier_anywhere_is_one_wherever_it_turns_up(example_policy):
    # research_dataset declares no `surname`: the name alone makes it an identifier.
    with pytest.raises(PolicyViolation, match=r"direct identifiers \(surname\)") as refused:
        example_policy.check_export(
            "research", "research_dataset", [*_research_fields(example_policy), "surname"]
        )
    assert refused.value.rule == "no-identifier-exports"


def test_a_column_no_dataset_declares_is_refused(example_policy):
    with pytest.raises(PolicyViolation, match="field 'notes' not declared") as refused:
        example_policy.check_export(
            "research", "research_dataset", [*_research_fields(example_policy), "notes"]
        )
    assert refused.value.rule == "research-exports-for-analysis"


def test_a_dataset_no_export_rule_covers_is_refused_by_default(example_policy):
    with pytest.raises(PolicyViolation, match="no export rule lets 'linker'") as refused:
        example_policy.check_export("linker", "dwp_outcomes", ["reference_number", "spell_type"])
    assert refused.value.rule == "default-deny"


def test_a_working_dataset_the_policy_does_not_declare_cannot_be_exported(example_policy):
    with pytest.raises(PolicyViolation, match="'identify_families' is not declared") as refused:
        example_policy.check_export("council", "identify_families", ["family_key", "cohort"])
    assert refused.value.rule == "default-deny"


def test_special_category_fields_need_a_rule_that_lists_them():
    def attributes_only(d: dict) -> None:
        _rule(d)["field_classes"] = ["attribute", "quasi_identifier"]

    policy = policy_with(attributes_only)
    with pytest.raises(PolicyViolation, match=r"'headlines', 'help_received'.*special category"):
        policy.check_export("research", "research_dataset", _research_fields(policy))
    # Without those fields the same rule allows the export.
    fields = [
        f.name
        for f in policy.dataset("research_dataset").fields
        if f.class_ in (FieldClass.ATTRIBUTE, FieldClass.QUASI_IDENTIFIER)
    ]
    assert policy.check_export("research", "research_dataset", fields).id == (
        "research-exports-for-analysis"
    )


def test_an_export_rule_allows_attributes_and_quasi_identifiers_when_it_names_no_classes():
    policy = policy_with(lambda d: _rule(d).pop("field_classes"))
    (rule,) = policy.document.exports
    assert rule.field_classes == [FieldClass.ATTRIBUTE, FieldClass.QUASI_IDENTIFIER]


def test_with_two_purposes_allowed_the_export_must_name_one():
    def two_purposes(d: dict) -> None:
        d["purposes"].append({"id": "audit", "description": "Checking the evaluation."})
        d["safeguards"][index_of(d["safeguards"], "research-purpose-only")]["purposes"].append(
            "audit"
        )
        d["exports"].append({**_rule(d), "id": "research-exports-for-audit", "purpose": "audit"})

    policy = policy_with(two_purposes)
    with pytest.raises(InputError, match=r"name the purpose.*audit, evaluation"):
        policy.check_export("research", "research_dataset", _research_fields(policy))
    rule = policy.check_export("research", "research_dataset", _research_fields(policy), "audit")
    assert rule.id == "research-exports-for-audit"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("party", "hmrc", r"exports\[0\]\.party: unknown party 'hmrc'"),
        ("purpose", "marketing", r"exports\[0\]\.purpose: unknown purpose 'marketing'"),
        ("datasets", ["research_dataset", "payroll"], r"exports\[0\]\.datasets\[1\]: unknown"),
    ],
)
def test_an_export_rule_naming_what_the_policy_lacks_is_an_error(key, value, message):
    with pytest.raises(PolicyError, match=message):
        policy_with(lambda d: _rule(d).update({key: value}))


def test_an_export_rule_letting_identifiers_out_breaks_the_promises_it_names():
    def identifiers_out(d: dict) -> None:
        d["exports"].append(
            {
                "id": "linker-exports-identifiers",
                "party": "linker",
                "datasets": ["identifiers"],
                "purpose": "evaluation",
                "description": "Identifiers for a spreadsheet.",
                "lawful_basis": "UK GDPR Article 6(1)(e)",
                "field_classes": ["attribute", "direct_identifier"],
            }
        )

    with pytest.raises(
        PolicyError,
        match=r"exports\[1\]: lets 'linker' export direct_identifier fields "
        r"\(safeguard 'no-identifier-exports', breaking promises 'identifiers-kept-separately'",
    ):
        policy_with(identifiers_out)


def test_an_export_rule_for_a_purpose_outside_the_purpose_limit_is_an_error():
    def other_purpose(d: dict) -> None:
        d["purposes"].append({"id": "marketing", "description": "Selling things."})
        _rule(d)["purpose"] = "marketing"

    with pytest.raises(PolicyError, match=r"exports\[0\]: purpose 'marketing' is not one of"):
        policy_with(other_purpose)


def test_an_export_rule_allowing_special_category_data_needs_an_article_9_condition():
    with pytest.raises(PolicyError, match=r"exports\[0\]: allows special category data \(Art 9\)"):
        policy_with(lambda d: _rule(d).pop("special_category_condition"))


def test_an_export_rule_allowing_criminal_offence_data_needs_an_article_10_condition():
    with pytest.raises(PolicyError, match=r"exports\[0\]: allows criminal offence data \(Art 10\)"):
        policy_with(lambda d: _rule(d).pop("criminal_offence_condition"))


def test_an_export_rule_shares_the_rule_namespace():
    def clash(d: dict) -> None:
        _rule(d)["id"] = d["flows"][0]["id"]

    with pytest.raises(PolicyError) as error:
        policy_with(clash)
    places = [problem.path for problem in error.value.problems]
    assert places == ["flows[0].id", "exports[0].id"]


def test_a_no_export_safeguard_needs_field_classes():
    def empty(d: dict) -> None:
        d["safeguards"][index_of(d["safeguards"], "no-identifier-exports")]["field_classes"] = []

    with pytest.raises(PolicyError, match="a no_export safeguard needs field_classes"):
        policy_with(empty)
