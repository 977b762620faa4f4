"""The published notice states every commitment the policy enforces.

Each check is derived from the policy's own objects (promises, retention rules, flows,
contacts), so a rule added to the policy without reaching the notice fails here.
"""

from __future__ import annotations

import html
import re
from datetime import date

import pytest

from evalink.policy import FieldClass, SafeguardKind, render_notice
from evalink.policy.render import long_date, retention_sentence


def _plain(text: str) -> str:
    """The notice as a reader sees it: no tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.fixture(scope="module", params=["md", "html"])
def notice(request, example_policy) -> str:
    return _plain(render_notice(example_policy, request.param))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_every_promise_is_stated(example_policy, notice):
    for promise in example_policy.document.promises:
        assert _squash(promise.text) in notice, promise.id


def test_every_retention_rule_is_stated_with_its_date_or_period(example_policy, notice):
    for rule in example_policy.document.retention:
        sentence = retention_sentence(example_policy, rule)
        assert sentence in notice
        if rule.destroy_by:
            assert long_date(rule.destroy_by) in sentence
        if rule.keep_for:
            assert str(rule.keep_for) in sentence


def test_every_legal_basis_condition_and_gateway_is_stated(example_policy, notice):
    for flow in example_policy.document.flows:
        for basis in (
            flow.lawful_basis,
            flow.special_category_condition,
            flow.criminal_offence_condition,
            flow.legal_gateway,
        ):
            if basis:
                assert basis in notice, flow.id


def test_every_export_rule_is_stated_with_the_party_that_may_export(example_policy, notice):
    assert example_policy.document.exports
    for export in example_policy.document.exports:
        line = f"{example_policy.party(export.party).name}: {_squash(export.description)}"
        assert line in notice, export.id
    assert "any other export is refused" in notice


def test_every_contact_and_the_data_protection_officer_are_given(example_policy, notice):
    for party in example_policy.document.parties:
        for contact in [*party.contacts, *([party.dpo] if party.dpo else [])]:
            for detail in (contact.email, contact.phone, contact.address):
                if detail:
                    assert detail in notice, party.id


def test_the_route_to_complain_to_the_ico_is_given(example_policy, notice):
    complaints = example_policy.document.complaints
    assert complaints.name in notice
    for detail in (complaints.address, complaints.url, complaints.phone):
        assert detail in notice


# The seed notice's commitments, one by one: each must exist as a rule in the policy
# *and* be stated in the notice generated from it.


def test_departments_forget_names_within_a_month(example_policy, notice):
    departments = [p.id for p in example_policy.document.parties if p.department]
    assert set(departments) == {"dwp", "moj", "dfe"}
    received = date(2020, 1, 31)
    for party in departments:
        destroy = example_policy.destroy_by(party, "identifiers", {"receipt": received})
        assert destroy is not None and (destroy - received).days <= 31
    rule = next(r for r in example_policy.document.retention if set(departments) <= set(r.parties))
    assert retention_sentence(example_policy, rule) in notice


def test_identifiers_are_kept_separately(example_policy, notice):
    vaulted = [d for d in example_policy.document.datasets if d.vault]
    assert vaulted and all(d.fields_of_class(FieldClass.DIRECT_IDENTIFIER) for d in vaulted)
    (safeguard,) = example_policy.safeguards(SafeguardKind.IDENTIFIERS_IN_VAULT)
    for promise in example_policy.promises_for(safeguard.id):
        assert _squash(promise.text) in notice
    assert "kept separately" in notice and "password-protected" in notice


def test_a_unique_reference_number_stands_for_each_person(example_policy, notice):
    (safeguard,) = example_policy.safeguards(SafeguardKind.RANDOM_REFERENCE)
    promises = example_policy.promises_for(safeguard.id)
    assert promises and all(_squash(p.text) in notice for p in promises)
    assert "unique reference number" in notice


def test_the_trusted_third_party_destroys_by_a_fixed_date(example_policy, notice):
    fixed = [r for r in example_policy.document.retention if "linker" in r.parties and r.destroy_by]
    assert [r.destroy_by for r in fixed] == [date(2022, 12, 31)]
    assert "by 31 December 2022" in notice


def test_local_records_are_destroyed_seven_years_after_the_service_ends(example_policy, notice):
    rule = next(
        r for r in example_policy.document.retention if r.after and r.after.value == "case_closed"
    )
    assert str(rule.keep_for) == "7 years"
    assert "7 years after the service to the family ends" in notice


def test_data_is_used_for_research_only_and_not_for_decisions(example_policy, notice):
    (limit,) = example_policy.safeguards(SafeguardKind.PURPOSE_LIMIT)
    assert {f.purpose for f in example_policy.document.flows} <= set(limit.purposes)
    assert "only be used for carrying out research" in notice
    assert "will not be used to make any decisions about what benefits you get" in notice


def test_linked_data_never_goes_back_to_the_council_or_other_agencies(example_policy, notice):
    never = example_policy.safeguards(SafeguardKind.NEVER_SEND)
    assert any("council" in s.to and s.linked_datasets for s in never)
    linked = {d.id for d in example_policy.document.datasets if d.linked}
    assert not [f for f in example_policy.flows_to("council") if f.dataset in linked]
    assert "will not be shared with or made available to the local authority" in notice


def test_no_one_is_identifiable_in_published_reports(example_policy, notice):
    # The promise is stated, with the disclosure checks that keep it (enforced by
    # evalink.disclosure and evalink.release; tests/policy/test_measures.py).
    rules = example_policy.disclosure_rules("public")
    assert rules is not None
    assert f"fewer than {rules.min_cell_count} people" in notice
    assert (
        "impossible for any person or family to be identified from any published reports" in notice
    )


def test_the_notice_names_the_personal_information_shared(notice):
    for words in (
        "forename",
        "surname",
        "date of birth",
        "gender",
        "address",
        "National Insurance number",
    ):
        assert words in notice


def test_html_escapes_what_the_policy_says(example_policy):
    page = render_notice(example_policy, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "Children&#39;s Trust" in page and "Children's Trust" not in page


def test_the_notice_command_writes_the_file_it_is_asked_for(example_policy_path, tmp_path, evalink):
    out = tmp_path / "notice.html"
    result = evalink("notice", example_policy_path, "--format", "html", "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_an_unknown_format_is_one_line_and_exit_2(example_policy_path, evalink):
    result = evalink("notice", example_policy_path, "--format", "pdf")
    assert result.exit_code == 2
    assert result.output == (
        "error: invalid value for '--format': 'pdf' is not one of 'md', 'html' "
        "(see `evalink notice --help`)\n"
    )
