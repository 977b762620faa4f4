"""The README's flow, then its clock: what each node holds once its dates have passed.

Checked from the outside, as a data protection officer would: every dataset a node
still holds is read and scanned for the cohort's identifiers and reference numbers
(taken from the council's vault), and every file in the node directory is scanned raw.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from evalink import retention
from evalink.assemble.scan import identifier_values, scan
from evalink.clock import clock_on
from evalink.node import Node
from tests.flow.conftest import ReadmeRun
from tests.flow.readme import whole_flow

# Shorter values could turn up by chance in 5 MB of ciphertext; these cannot.
RAW_MIN_LENGTH = 7
PASSPHRASE = whole_flow().environment["EVALINK_PASSPHRASE"]
CODED = ("reference_number", "family_reference", "nino", "dob", "postcode", "surname")


def _look(directory: Path, day: date | None = None) -> Node:
    clock = clock_on(day) if day else None
    return Node.open(directory, PASSPHRASE, clock=clock, retention=False)


@pytest.fixture(scope="module")
def cohort(readme_run: ReadmeRun) -> pl.DataFrame:
    """The cohort's identifiers and reference numbers, as the council holds them."""
    with _look(readme_run.snapshots[-1] / "council") as council:
        references = pl.from_arrow(council.read_dataset("reference_numbers"))
        records = pl.from_arrow(council.read_dataset("identify_records"))
    people = records.join(references.select("person_key", "reference_number", "family_reference"),
                          on="person_key")
    return people.select(*(c for c in CODED if c in people.columns))


def _raw_hits(directory: Path, values: list[str]) -> list[str]:
    needles = [v.encode() for v in values if len(v) >= RAW_MIN_LENGTH]
    hits = []
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [str(path.relative_to(directory)) for n in needles if n in data]
    return hits


def _holds_nothing_of(directory: Path, cohort: pl.DataFrame, day: date) -> None:
    values = identifier_values(cohort, list(cohort.columns))
    with _look(directory, day) as node:
        for name in node.datasets():
            findings = scan(pl.from_arrow(node.read_dataset(name, purpose="test scan")), values)
            assert findings == [], f"{directory.name}: dataset {name} holds {findings}"
    raw = [str(v) for c in cohort.columns for v in cohort[c].drop_nulls().unique()]
    assert _raw_hits(directory, raw) == []


def test_a_month_after_receipt_a_department_holds_nothing_of_the_cohort(
    readme_run: ReadmeRun, clock_run: ReadmeRun, cohort: pl.DataFrame
):
    before = readme_run.snapshots[-1]
    with _look(before / "dwp") as dwp:
        assert {"identifiers", "matches"} <= set(dwp.datasets())
    for department in ("dwp", "moj", "dfe"):
        directory = clock_run.snapshots[-1] / department
        with _look(directory, date(2020, 7, 2)) as node:
            assert node.datasets() == {}
            assert {d["dataset"] for d in node.destroyed()} >= {"identifiers", "matches"}
            assert retention.verify_certificates(node) == []
        assert list((directory / "outbox").rglob("*.evpkg")) == []  # its outcome package too
        _holds_nothing_of(directory, cohort, date(2020, 7, 2))


def test_the_scan_would_find_a_department_that_kept_its_match_table(
    readme_run: ReadmeRun, cohort: pl.DataFrame, tmp_path: Path
):
    # The same checks on a department whose retention never ran, with the reference
    # numbers it matched exported into its directory: they must fail.
    dwp = tmp_path / "dwp"
    shutil.copytree(readme_run.snapshots[-1] / "dwp", dwp)
    with _look(dwp) as node:
        kept = pl.from_arrow(node.read_dataset("identifiers")).select("reference_number")
    kept.write_csv(dwp / "tmp" / "kept.csv")
    with pytest.raises(AssertionError):
        _holds_nothing_of(dwp, cohort, date(2020, 7, 2))


def test_after_2022_the_linker_and_research_hold_nothing(
    clock_run: ReadmeRun, cohort: pl.DataFrame
):
    for party in ("linker", "research"):
        directory = clock_run.snapshots[-1] / party
        with _look(directory, date(2023, 1, 1)) as node:
            assert node.datasets() == {}
            with pytest.raises(retention.DatasetDestroyed,
                               match="under rule 'linker-destroy-by-december-2022'"):
                node.read_dataset("research_dataset" if party == "research" else "identifiers")
            assert retention.verify_certificates(node) == []
            assert node.verify_audit().ok
        _holds_nothing_of(directory, cohort, date(2023, 1, 1))
    verified = clock_run.outputs[clock_run.index("retention", "verify")]
    assert "certificates verify against linker's key" in verified
