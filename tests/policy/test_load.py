"""Loading a policy: every problem is one line naming the file, the place and the fault."""

from __future__ import annotations

import pytest

from evalink.policy import PolicyError, load_policy, parse_policy
from tests.policy.helpers import index_of, policy_with


def test_the_example_policy_loads(example_policy):
    assert example_policy.id == "troubled-families"
    assert {p.id for p in example_policy.document.parties} >= {
        "council",
        "linker",
        "dwp",
        "moj",
        "dfe",
        "research",
        "public",
    }


def test_an_unknown_key_is_an_error_naming_its_place():
    with pytest.raises(PolicyError, match=r"^changed\.yaml: flows\[0\]\.colour: unknown key"):
        policy_with(lambda d: d["flows"][0].update(colour="blue"))


def test_a_missing_required_key_is_an_error_naming_its_place():
    with pytest.raises(PolicyError, match=r"flows\[1\]\.lawful_basis: required key is missing"):
        policy_with(lambda d: d["flows"][1].pop("lawful_basis"))


def test_a_flow_to_an_unknown_party_is_an_error():
    with pytest.raises(PolicyError, match=r"flows\[2\]\.to: unknown party 'hmrc'"):
        policy_with(lambda d: d["flows"][2].update(to="hmrc"))


def test_a_flow_field_outside_its_dataset_is_an_error():
    with pytest.raises(
        PolicyError,
        match=r"flows\[0\]\.fields\[1\]: 'religion' is not a field of dataset 'identifiers'",
    ):
        policy_with(lambda d: d["flows"][0]["fields"].__setitem__(1, "religion"))


def test_a_promise_naming_an_unknown_rule_is_an_error():
    with pytest.raises(
        PolicyError, match=r"promises\[0\]\.enforced_by\[0\]: unknown rule 'be-nice'"
    ):
        policy_with(lambda d: d["promises"][0]["enforced_by"].__setitem__(0, "be-nice"))


def test_two_rules_with_one_id_are_an_error():
    def clash(d: dict) -> None:
        d["retention"][0]["id"] = d["flows"][0]["id"]

    with pytest.raises(PolicyError, match=r"is not unique"):
        policy_with(clash)


def test_a_flow_of_special_category_data_needs_an_article_9_condition():
    def drop(d: dict) -> None:
        d["flows"][index_of(d["flows"], "council-attributes-to-linker")].pop(
            "special_category_condition"
        )

    with pytest.raises(PolicyError, match=r"special category data \(Art 9\)"):
        policy_with(drop)


def test_a_flow_of_criminal_offence_data_needs_an_article_10_condition():
    def drop(d: dict) -> None:
        d["flows"][index_of(d["flows"], "moj-outcomes-to-linker")].pop("criminal_offence_condition")

    with pytest.raises(PolicyError, match=r"criminal offence data \(Art 10\)"):
        policy_with(drop)


def test_a_flow_sending_linked_data_to_the_council_breaks_the_promise_it_names():
    def send_back(d: dict) -> None:
        flow = dict(d["flows"][index_of(d["flows"], "dwp-outcomes-to-linker")])
        d["flows"].append(
            {**flow, "id": "outcomes-back-to-council", "from": "linker", "to": "council"}
        )

    with pytest.raises(PolicyError) as raised:
        policy_with(send_back)
    message = str(raised.value)
    assert "flows[10]" in message
    assert "'no-linked-data-back-to-council'" in message


def test_a_flow_giving_researchers_names_breaks_the_promise_it_names():
    def leak(d: dict) -> None:
        d["flows"].append(
            {**d["flows"][0], "id": "names-to-research", "from": "linker", "to": "research"}
        )

    with pytest.raises(PolicyError) as raised:
        policy_with(leak)
    messages = [problem.message for problem in raised.value.problems]
    assert any("safeguard 'researchers-get-no-identifiers'" in m for m in messages)
    assert any("'unique-reference-number'" in m for m in messages)


def test_a_flow_for_another_purpose_breaks_research_only_use():
    def decide(d: dict) -> None:
        d["purposes"].append({"id": "benefit-decisions", "description": "deciding claims"})
        d["flows"][0]["purpose"] = "benefit-decisions"

    with pytest.raises(
        PolicyError,
        match=r"safeguard 'research-purpose-only', breaking promises .*'research-use-only'",
    ):
        policy_with(decide)


def test_a_retention_rule_with_neither_date_nor_period_is_an_error():
    def vague(d: dict) -> None:
        d["retention"][0].pop("destroy_by")

    with pytest.raises(PolicyError, match=r"retention\[0\]: give 'destroy_by' or 'keep_for'"):
        policy_with(vague)


def test_a_period_that_is_not_a_length_of_time_is_an_error():
    with pytest.raises(PolicyError, match=r"retention\[1\]\.keep_for: .*'a while'"):
        policy_with(lambda d: d["retention"][1].update(keep_for="a while"))


def test_a_duplicate_yaml_key_is_an_error_with_its_line():
    text = "policy:\n  id: a\n  id: b\n"
    with pytest.raises(PolicyError, match=r"^p\.yaml: line 3, column 3: .*duplicate key 'id'"):
        parse_policy(text, source="p.yaml")


def test_a_document_that_is_not_a_mapping_is_an_error():
    with pytest.raises(PolicyError, match=r"expected a mapping of sections, got list"):
        parse_policy("- just\n- a list\n", source="p.yaml")


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(PolicyError, match=r"nothing\.yaml: policy file not found"):
        load_policy(tmp_path / "nothing.yaml")


def test_policy_check_exits_2_on_a_broken_policy(tmp_path, evalink):
    path = tmp_path / "broken.yaml"
    path.write_text("policy: [\n", encoding="utf-8")
    result = evalink("policy", "check", path)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}: line ")
    assert "Traceback" not in result.output


def test_policy_check_passes_the_example(example_policy_path, evalink):
    result = evalink("policy", "check", example_policy_path)
    assert result.exit_code == 0, result.output
    assert "12 promises" in result.output
    # What the policy states but no code applies yet is named, not passed over.
    assert "stated, not yet enforced by evalink: council-services" in result.output
    assert "published-output-checks" not in result.output  # enforced (evalink.disclosure)


def test_policy_check_refuses_linked_data_to_the_council_naming_the_promise(tmp_path, evalink):
    import yaml

    from tests.policy.helpers import example_document

    document = example_document()
    flow = document["flows"][index_of(document["flows"], "moj-outcomes-to-linker")]
    document["flows"].append({**flow, "id": "offences-to-council", "from": "linker", "to": "council"})
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = evalink("policy", "check", path)
    assert result.exit_code == 2
    assert "sends linked dataset 'moj_outcomes' to 'council'" in result.output
    assert "'no-linked-data-back-to-council'" in result.output


def test_a_key_with_a_line_break_is_quoted_so_the_error_stays_one_line():
    with pytest.raises(PolicyError) as raised:
        policy_with(lambda d: d["policy"].update({"\n": None}))
    assert str(raised.value).startswith('changed.yaml: policy["\\n"]: unknown key')
