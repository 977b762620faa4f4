"""The motivated intruders' result travels with the research dataset: the research node
refuses a dataset without it, or with an enforced intruder over its bound; `evalink
promises` reports what it found — kept within bound, BROKEN over the bound of an
enforced intruder, NOT KEPT (with the figures) for one the policy measures but does not
enforce."""

from __future__ import annotations

import pyarrow as pa

from evalink.node import deliver
from evalink.promises import BROKEN, KEPT, NOT_KEPT
from evalink.promises.intruders import check_intruders

REFERENCE = "unique-reference-number"
ANONYMISED = "anonymised-before-research"


def test_the_flow_reports_each_intruder_with_its_figures(held):
    report = held.check()
    assert report[REFERENCE].state == KEPT, report[REFERENCE].evidence
    assert "intruder 'outsider' re-identifies 0 of" in report[REFERENCE].evidence
    anonymised = report[ANONYMISED]
    # The council knowing its own services' records of the same outcomes finds its
    # families: measured, not enforced, so the promise is not kept — and says so.
    assert anonymised.state == NOT_KEPT
    assert "intruder 'council' re-identifies 0 of" in anonymised.evidence
    assert "intruder 'council-services' re-identifies" in anonymised.evidence
    assert "measured and not enforced" in anonymised.evidence


def _research_table(held) -> pa.Table:
    with held.node("research") as research:
        return research.read_dataset("research_dataset")


def _resend(held, notes: dict) -> list:
    """The linker sends the research dataset again with these notes; research receives."""
    table = _research_table(held)
    with held.node("linker") as linker:
        linker.send("research", "research_dataset", table, notes=notes)
    deliver(held.workdir / "linker", held.workdir / "research")
    with held.node("research") as research:
        return research.receive()


def test_a_research_dataset_without_the_intruders_result_is_refused_on_receipt(held):
    results = _resend(held, {"project": "again"})
    assert not results[0].ok
    assert "arrived without a motivated-intruder result" in results[0].message


def test_a_research_dataset_an_enforced_intruder_re_identifies_is_refused_on_receipt(held):
    with held.node("research") as research:
        notes = research.package_notes("research_dataset")
    over = [dict(r, share=0.5) if r["intruder"] == "outsider" else r
            for r in notes["deidentification"]["intruders"]]
    results = _resend(held, {**notes, "deidentification": {**notes["deidentification"],
                                                           "intruders": over}})
    assert not results[0].ok
    assert "intruder 'outsider' re-identifies 50.00%" in results[0].message
    assert "rule 'outsider'" in results[0].message


def test_an_enforced_intruder_over_its_bound_breaks_the_promise(held, monkeypatch):
    # Were such a dataset held (the receipt check got round), the promise check finds
    # it from the result that travelled with it.
    from evalink.node import Node

    with held.node("research") as research:
        notes = research.package_notes("research_dataset")
    assert held.check()[REFERENCE].state == KEPT
    over = [dict(r, share=0.5, reidentified=1) if r["intruder"] == "outsider" else r
            for r in notes["deidentification"]["intruders"]]
    forged = {**notes, "deidentification": {**notes["deidentification"], "intruders": over}}
    monkeypatch.setattr(Node, "package_notes", lambda self, dataset: forged)
    report = held.check()
    assert report[REFERENCE].state == BROKEN
    assert "intruder 'outsider' re-identifies 1 of" in report[REFERENCE].evidence


def test_with_no_research_dataset_held_the_intruders_are_not_checked(example_policy):
    (finding,) = check_intruders(example_policy, {}, ["outsider"])
    assert not finding.checked and "no research node holds" in finding.text
