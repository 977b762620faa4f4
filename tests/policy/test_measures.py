"""The notice states only what evalink enforces: its security measures are derived from
the registry of rule kinds the code enforces, never from free text, and a rule stated
but not yet enforced (disclosure control) is shown in the ROPA as such, not claimed."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest

from evalink.policy import PolicyError, render_notice, render_ropa
from evalink.policy import measures as registry
from evalink.policy.measures import (
    BUILT_IN,
    NOT_YET_ENFORCED,
    RULE_KINDS,
    security_measures,
    stated_not_enforced,
)
from evalink.policy.spec import SafeguardKind
from evalink.policy.validate import RULE_SECTIONS
from tests.policy.helpers import policy_with


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.fixture(params=["md", "html"])
def notice(request, example_policy) -> str:
    return _plain(render_notice(example_policy, request.param))


def _section(notice: str, heading: str) -> str:
    after = notice.split(heading, 1)[1]
    return after.split("Transfers to other countries", 1)[0]


def test_the_notice_states_the_disclosure_rules_evalink_enforces(example_policy, notice):
    # Enforced since the release stage exists (evalink.disclosure, evalink.release).
    assert RULE_KINDS["disclosure"].enforced
    rules = example_policy.disclosure_rules("public")
    assert f"fewer than {rules.min_cell_count} people" in notice
    assert f"rounded to the nearest {rules.rounding_base}" in notice
    assert "Two reviewers, neither of them the researcher who made an output" in notice


def test_no_rule_stated_but_not_enforced_is_offered_as_keeping_a_promise(example_policy, notice):
    unenforced = stated_not_enforced(example_policy)
    # The intruder the policy measures but does not enforce.
    assert [rule for rule, _ in unenforced] == ["council-services"]
    for rule, sentence in unenforced:
        assert sentence not in notice
        assert not re.search(rf"kept by rules: [^)]*\b{re.escape(rule)}\b", notice)


def test_every_security_measure_in_the_notice_is_one_the_code_enforces(example_policy, notice):
    stated = security_measures(example_policy)
    shown = _section(notice, "How we keep your information safe")
    for sentence in stated:
        assert sentence in shown
    enforced = [e.sentence(example_policy) for e in BUILT_IN.values() if e.sentence]
    enforced += [
        e.sentence(example_policy) for e in RULE_KINDS.values() if e.enforced and e.sentence
    ]
    assert set(stated) <= set(enforced)
    # Nothing else is listed there: each item is one of the derived sentences.
    remaining = shown
    for sentence in stated:
        remaining = remaining.replace(sentence, "")
    assert re.sub(r"[\s-]", "", remaining) == ""


def test_a_kind_of_rule_not_enforced_is_neither_stated_nor_offered(example_policy, monkeypatch):
    # As disclosure control was until the release stage existed: its rules are printed
    # as "stated, not yet enforced" and the notice does not claim them.
    monkeypatch.setitem(
        RULE_KINDS, "disclosure", dataclasses.replace(RULE_KINDS["disclosure"], enforced=False)
    )
    notice = _plain(render_notice(example_policy, "md"))
    assert "statistical disclosure control" not in notice
    assert "fewer than 10 people" not in notice
    assert [rule for rule, _ in stated_not_enforced(example_policy)] == [
        "council-services", "published-output-checks",
    ]
    ropa = render_ropa(example_policy, "md")
    assert "- `published-output-checks`: Published tables and reports pass statistical" in ropa


def test_a_measure_whose_rules_the_policy_lacks_is_not_stated():
    policy = policy_with(lambda d: d.update(exports=[]))
    assert not [s for s in security_measures(policy) if "export rule" in s]


def test_a_policy_file_cannot_carry_free_text_security_measures():
    claim = ["Published outputs pass statistical disclosure control before release."]
    with pytest.raises(PolicyError, match=r"policy\.security_measures: unknown key"):
        policy_with(lambda d: d["policy"].update(security_measures=claim))


def test_every_kind_of_rule_the_schema_allows_is_registered():
    kinds = {section for section in RULE_SECTIONS if section != "safeguards"}
    kinds |= {kind.value for kind in SafeguardKind}
    assert kinds == set(RULE_KINDS)


def test_every_rule_of_the_example_has_a_kind(example_policy):
    for rule_id in example_policy.rule_ids():
        assert registry.rule_kind(example_policy, rule_id) in RULE_KINDS


def test_the_ropa_lists_what_is_stated_but_not_enforced_and_the_disclosure_measure(example_policy):
    text = render_ropa(example_policy, "md")
    assert f"## Rules {NOT_YET_ENFORCED}" in text
    assert "- `council-services`:" in text
    assert "- `published-output-checks`:" not in text.split(f"## Rules {NOT_YET_ENFORCED}")[1]
    csv_text = render_ropa(example_policy, "csv")
    assert "Stated, not yet enforced by evalink: motivated intruder measured" in csv_text
    assert "Published tables and reports pass statistical disclosure control" in csv_text
