"""The council's records go family by family: each seven years after its own case
closed, or after identification for families never worked with; re-running identify
keeps the dates it set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from evalink.clock import clock_on
from evalink.identify import identify, store_in_node
from evalink.node import Node, init_node
from evalink.policy import load_policy
from evalink.policy.spec import Period
from tests.conftest import EXAMPLE_POLICY, REPO

PASSPHRASE = "synthetic test passphrase"
# After the programme's last attachment: every family worked with is attached by now.
AS_OF = date(2017, 4, 1)
SEVEN_YEARS = Period.parse("7 years")


@pytest.fixture(scope="module")
def identified_later(small_world: Path):
    return identify(
        small_world / "council" / "sources",
        REPO / "examples" / "mapping-synth.yaml",
        REPO / "examples" / "rules-troubled-families-2015.yaml",
        AS_OF,
        policy=load_policy(EXAMPLE_POLICY),
    )


@pytest.fixture
def council(tmp_path: Path, cheap_nodes: str, identified_later) -> Path:
    directory = tmp_path / "council"
    init_node(directory, party="council", policy_path=EXAMPLE_POLICY, passphrase=PASSPHRASE)
    with Node.open(directory, PASSPHRASE, clock=clock_on(AS_OF)) as node:
        store_in_node(node, identified_later, AS_OF)
    return directory


def _look(directory: Path) -> Node:
    return Node.open(directory, PASSPHRASE, clock=clock_on(AS_OF), retention=False)


def _rows_per_source(node: Node, family: str) -> dict[str, int]:
    persons = pl.from_arrow(node.read_dataset("identify_persons"))
    members = persons.filter(pl.col("family_key") == family).select("person_key").unique()
    records = pl.from_arrow(node.read_dataset("identify_records")).join(members, on="person_key")
    return dict(records.group_by("source").len().iter_rows())


def test_each_family_goes_seven_years_after_its_own_case_closed(council: Path):
    with _look(council) as node:
        families = pl.from_arrow(node.read_dataset("identify_families"))
        closed = families.filter(pl.col("case_closed").is_not_null()).sort("case_closed")
        first = closed.row(0, named=True)
        second = closed.row(-1, named=True)
        assert second["case_closed"] > first["case_closed"]
        first_before = _rows_per_source(node, first["family_key"])
        second_before = _rows_per_source(node, second["family_key"])
        assert first_before and second_before
    assert first["destroy_by"] == SEVEN_YEARS.after(first["case_closed"])
    assert first["retention_rule"] == "council-destroy-seven-years-after-service-ends"
    day = first["destroy_by"]

    with Node.open(council, PASSPHRASE, clock=clock_on(day)) as node:  # retention first
        assert _rows_per_source(node, first["family_key"]) == {}
        assert _rows_per_source(node, second["family_key"]) == second_before
        for name in ("identify_families", "identify_persons", "identify_evidence"):
            keys = pl.from_arrow(node.read_dataset(name))["family_key"].to_list()
            assert first["family_key"] not in keys
        assert second["family_key"] in pl.from_arrow(
            node.read_dataset("identify_families"))["family_key"].to_list()
        assert node.verify_audit().ok
        from evalink import retention

        assert retention.verify_certificates(node) == []
        issued = retention.certificates(node)
        assert {c["certificate"]["rule"] for c in issued} >= {
            "council-destroy-seven-years-after-service-ends"}
        assert all(c["certificate"]["media"]["rows_kept_in_a_new_part"] > 0 for c in issued)


def test_the_day_before_nothing_of_the_family_is_gone(council: Path):
    with _look(council) as node:
        families = pl.from_arrow(node.read_dataset("identify_families"))
        first = families.filter(pl.col("case_closed").is_not_null()).sort("case_closed").row(
            0, named=True)
        before = _rows_per_source(node, first["family_key"])
    day = date.fromordinal(first["destroy_by"].toordinal() - 1)
    with Node.open(council, PASSPHRASE, clock=clock_on(day)) as node:
        assert _rows_per_source(node, first["family_key"]) == before


def test_families_never_worked_with_go_seven_years_after_identification(council: Path):
    with _look(council) as node:
        families = pl.from_arrow(node.read_dataset("identify_families"))
    waiting = families.filter(pl.col("cohort") != "attached")
    assert waiting.height
    assert set(waiting["destroy_by"]) == {SEVEN_YEARS.after(AS_OF)}
    assert set(waiting["retention_rule"]) == {"council-destroy-seven-years-after-identification"}
    still_open = families.filter((pl.col("cohort") == "attached") & pl.col("case_closed").is_null())
    assert still_open["destroy_by"].null_count() == still_open.height  # no date while open


def test_re_running_identify_keeps_the_dates_it_set(council: Path, identified_later):
    with _look(council) as node:
        before = pl.from_arrow(node.read_dataset("identify_families"))
    later = date(2018, 4, 1)
    with Node.open(council, PASSPHRASE, clock=clock_on(later)) as node:
        store_in_node(node, identified_later, later)  # the same families, a year on
    with _look(council) as node:
        after = pl.from_arrow(node.read_dataset("identify_families"))
    columns = ["family_key", "identified", "destroy_by", "retention_rule"]
    assert after.select(columns).sort("family_key").equals(before.select(columns).sort("family_key"))
