"""While research holds its dataset the flow keeps its transfer and identifier promises;
transfer promises are reported BROKEN when the nodes show them broken: a field sent
outside its flow, a package no log mentions, linked data at the council."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa

from evalink.node import deliver
from evalink.policy import Policy
from evalink.promises import BROKEN, KEPT, NOT_CHECKED
from tests.packages import seal_by_hand

TRANSFERS = "only-agreed-transfers"
LINKED = "no-linked-data-back-to-council"
SEPARATE = "identifiers-kept-separately"
REFERENCE = "unique-reference-number"


def test_while_research_holds_its_dataset_the_flow_keeps_these_promises(held):
    report = held.check()
    for promise in (TRANSFERS, LINKED, SEPARATE, REFERENCE):
        assert report[promise].state == KEPT, report[promise].evidence
    assert "each receive to its send" in report[TRANSFERS].evidence
    assert "(k=10)" in report[REFERENCE].evidence
    # Nothing is due yet: the departments' promise is not checked, and says when it is due.
    month = report["departments-forget-within-a-month"]
    assert month.state == NOT_CHECKED
    assert str(held.received_on + timedelta(days=30)) in month.evidence


def test_a_field_sent_outside_its_flow_breaks_only_agreed_transfers(held, monkeypatch):
    agreed = Policy.check_flow

    def allow_any_field(self, sender, recipient, dataset, fields, purpose=None):
        return agreed(self, sender, recipient, dataset, ["reference_number"], purpose)

    # The node's own guard is switched off: the check must find what got through.
    monkeypatch.setattr(Policy, "check_flow", allow_any_field)
    extra = pa.table({"reference_number": ["R0"], "religion": ["none"]})
    with held.node("council") as council:
        council.send("linker", "attributes", extra)
    deliver(held.workdir / "council", held.workdir / "linker")
    with held.node("linker") as linker:
        assert all(r.ok for r in linker.receive())
    report = held.check()
    assert report[TRANSFERS].state == BROKEN
    assert "field(s) religion outside flow 'council-attributes-to-linker'" in (
        report[TRANSFERS].evidence
    )


def test_a_package_sealed_outside_the_nodes_code_breaks_only_agreed_transfers(held):
    # Sealed with the department's own keys, but never through `send`: no flow checked it.
    with held.node("dwp") as dwp:
        seal_by_hand(dwp, held.workdir / "dwp" / "outbox" / "by-hand.evpkg",
                     pa.table({"reference_number": ["R0"]}), dataset="dwp_outcomes", to="linker")
    report = held.check()
    assert report[TRANSFERS].state == BROKEN
    assert "dwp: 1 package file(s) in the outbox with no send in its log" in (
        report[TRANSFERS].evidence
    )


def test_a_linked_dataset_at_the_council_breaks_the_promise(held):
    with held.node("council") as council:
        council.write_dataset(
            "dwp_outcomes", pa.table({"reference_number": ["R0"], "spell_type": ["JSA"]})
        )
    report = held.check()
    assert report[LINKED].state == BROKEN
    assert "council holds linked dataset(s) dwp_outcomes" in report[LINKED].evidence
