"""A flow run on its timeline, each party destroying on its own days, keeps every promise
whose date has passed — and says how it knows."""

from __future__ import annotations

from evalink.promises import KEPT, NOT_CHECKED

RETENTION = (
    "departments-forget-within-a-month",
    "ons-destroys-by-december-2022",
    "destroyed-seven-years-after-service-ends",
)


def test_at_the_end_every_promise_whose_date_has_passed_is_kept_on_evidence_from_the_nodes(
    at_the_end,
):
    report = at_the_end.check()
    checked = {p: c for p, c in report.items() if c.state != NOT_CHECKED}
    assert set(RETENTION) <= set(checked)
    for promise, check in checked.items():
        assert check.state == KEPT, f"{promise}: {check.evidence}"
    for promise in RETENTION:
        evidence = report[promise].evidence
        assert "destroyed dataset(s) refused when read" in evidence
        assert "verify, none late" in evidence
        assert "persons' identifiers and reference numbers: none found" in evidence
