"""`evalink policy explain`: is a flow allowed, which fields, under which basis."""

from __future__ import annotations


def test_an_allowed_flow_is_explained_with_fields_purpose_basis_and_retention(
    example_policy_path, evalink
):
    result = evalink(
        "policy",
        "explain",
        example_policy_path,
        "--from",
        "linker",
        "--to",
        "moj",
        "--dataset",
        "identifiers",
    )
    assert result.exit_code == 0, result.output
    assert "allowed by flow 'linker-identifiers-to-moj'" in result.output
    assert (
        "fields: reference_number, forename, surname, dob, sex, address, postcode\n"
        in result.output
    )
    assert "lawful basis: UK GDPR Article 6(1)(e)" in result.output
    assert "30 days after they receive it" in result.output


def test_a_refused_flow_names_the_rule_and_promise_and_exits_1(example_policy_path, evalink):
    result = evalink(
        "policy",
        "explain",
        example_policy_path,
        "--from",
        "linker",
        "--to",
        "council",
        "--dataset",
        "moj_outcomes",
    )
    assert result.exit_code == 1
    assert "not allowed" in result.output
    assert "rule 'no-linked-data-to-council-or-agencies'" in result.output
    assert "'no-linked-data-back-to-council'" in result.output
