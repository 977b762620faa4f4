"""A flow run on its timeline, each party destroying on its own days, keeps every promise
whose date has passed — and says how it knows."""

from __future__ import annotations

from evalink.promises import KEPT, NOT_CHECKED


def test_at_the_end_every_promise_whose_date_has_passed_is_kept(at_the_end):
    report = at_the_end.check()
    checked = {p: c for p, c in report.items() if c.state != NOT_CHECKED}
    assert {"departments-forget-within-a-month", "ons-destroys-by-december-2022"} <= set(checked)
    for promise, check in checked.items():
        assert check.state == KEPT, f"{promise}: {check.evidence}"


def test_the_evidence_of_destruction_is_read_from_the_nodes(at_the_end):
    report = at_the_end.check()
    for promise in ("departments-forget-within-a-month", "ons-destroys-by-december-2022"):
        evidence = report[promise].evidence
        assert "destroyed dataset(s) refused when read" in evidence
        assert "certificate(s)" in evidence and "verify, none late" in evidence
        assert "persons' identifiers and reference numbers: none found" in evidence
