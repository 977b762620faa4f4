"""`evalink retention status`: every part held, its rule, promise and date, on the day
the clock says."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from evalink.node import Node, deliver
from evalink.node.network import init_network
from tests.conftest import EXAMPLE_POLICY

PASSPHRASE = "synthetic test passphrase"


@pytest.fixture
def nodes(tmp_path, cheap_nodes, evalink):
    """DWP received identifiers on 2020-01-10; the linker holds a dataset; the council a
    run of identify (no case closed yet)."""
    network = init_network(
        tmp_path / "nodes", ["council", "linker", "dwp"], EXAMPLE_POLICY, PASSPHRASE
    )
    root = network.root
    with Node.open(root / "linker", PASSPHRASE) as linker:
        linker.send("dwp", "identifiers", pa.table({"reference_number": ["R1", "R2"]}))
        linker.write_dataset("dispatches", pa.table({"department": ["dwp"]}))
    with Node.open(root / "council", PASSPHRASE) as council:
        council.write_dataset("identify_families", pa.table({"family_key": ["F1"]}))
    deliver(root / "linker", root / "dwp")
    assert evalink("--today", "2020-01-10", "receive", "--node", root / "dwp").exit_code == 0
    return root


def _status(evalink, node, today: str) -> dict:
    result = evalink("--today", today, "retention", "status", "--node", node, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_department_part_is_due_thirty_days_after_receipt_under_its_rule(nodes, evalink):
    report = _status(evalink, nodes / "dwp", "2020-01-20")

    (part,) = report["parts"]
    assert part["dataset"] == "identifiers" and part["rows"] == 2
    assert part["rule"] == "departments-destroy-after-a-month"
    assert "departments-forget-within-a-month" in part["promises"]
    assert (part["destroy_by"], part["days_left"], part["state"]) == (
        "2020-02-09", 20, "20 days left")


def test_a_part_past_its_date_is_shown_overdue(nodes, evalink):
    (part,) = _status(evalink, nodes / "dwp", "2020-02-15")["parts"]
    assert part["state"] == "overdue by 6 days"


def test_the_linkers_parts_are_due_by_the_end_of_2022(nodes, evalink):
    (part,) = _status(evalink, nodes / "linker", "2022-12-31")["parts"]
    assert (part["rule"], part["destroy_by"], part["state"]) == (
        "linker-destroy-by-december-2022", "2022-12-31", "due today")


def test_a_council_part_whose_case_has_not_closed_has_its_rule_but_no_date(nodes, evalink):
    (part,) = _status(evalink, nodes / "council", "2020-01-10")["parts"]
    assert part["rule"] == "council-destroy-seven-years-after-service-ends"
    assert part["destroy_by"] is None and part["state"] == "no date"


def test_the_table_names_each_dataset_and_its_state(nodes, evalink):
    result = evalink("--today", "2020-01-20", "retention", "status", "--node", nodes / "dwp")
    assert result.exit_code == 0
    assert "identifiers" in result.output and "20 days left" in result.output
