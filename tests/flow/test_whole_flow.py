"""The whole flow on a synthetic world, as `evalink demo` runs it, then checked from the
outside: what each party holds, what research can see, and what a re-run does."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from evalink.assemble import identifier_values, pseudonym, scan
from evalink.node import Node, deliver
from tests.flow.conftest import PASSPHRASE
from tests.packages import seal_by_hand

PARTIES = ("council", "linker", "dwp", "moj", "dfe", "research")
IDENTIFIER_FIELDS = ["forename", "surname", "dob", "address", "postcode", "nino"]


def _council_identifiers(world: Path) -> pl.DataFrame:
    sources = sorted((world / "council" / "sources").glob("*.parquet"))
    return pl.concat(
        [
            pl.read_parquet(p).select(pl.col(f).cast(pl.Utf8) for f in IDENTIFIER_FIELDS)
            for p in sources
        ]
    )


def test_research_holds_none_of_the_councils_identifiers(flow, env, tmp_path, evalink):
    out = tmp_path / "research.csv"
    result = evalink(
        "export", "--node", flow / "research", "--dataset", "research_dataset", "--out", out
    )
    assert result.exit_code == 0, result.output
    exported = pl.read_csv(out, infer_schema=False)
    assert exported.height > 0
    assert (
        scan(exported, identifier_values(_council_identifiers(flow / "world"), IDENTIFIER_FIELDS))
        == []
    )
    assert not set(exported.columns) & set(IDENTIFIER_FIELDS)


def test_every_audit_log_verifies(flow, env, evalink):
    for party in PARTIES:
        result = evalink("audit", "verify", "--node", flow / party)
        assert result.exit_code == 0, (party, result.output)


def _read(node_dir: Path, dataset: str) -> pl.DataFrame:
    with Node.open(node_dir, PASSPHRASE) as node:
        return pl.from_arrow(node.read_dataset(dataset, purpose="test"))


def test_every_attached_person_a_department_found_is_in_research_under_a_pseudonym(flow, env):
    references = _read(flow / "council", "reference_numbers")
    families = _read(flow / "council", "identify_families")
    attached = references.join(families.filter(pl.col("cohort") == "attached"), on="family_key")
    found = set(_read(flow / "linker", "dwp_outcomes")["reference_number"])
    key = bytes.fromhex(_read(flow / "linker", "project_keys")["key"][0])
    research = set(_read(flow / "research", "research_dataset")["pseudonym"])
    expected = {pseudonym(ref, key) for ref in attached["reference_number"] if ref in found}
    assert expected and expected <= research


def test_two_projects_share_no_pseudonym(flow, env, evalink):
    result = evalink("assemble", "--node", flow / "linker", "--project", "second-look")
    assert result.exit_code == 0, result.output
    deliver(flow / "linker", flow / "research")
    with Node.open(flow / "research", PASSPHRASE) as research:
        assert [r.ok for r in research.receive()] == [True]
    keys = _read(flow / "linker", "project_keys")
    references = _read(flow / "linker", "attributes")["reference_number"]
    first, second = (
        {pseudonym(ref, bytes.fromhex(key)) for ref in references} for key in keys["key"]
    )
    research = set(_read(flow / "research", "research_dataset")["pseudonym"])
    assert first <= research and second <= research
    assert not first & second


@pytest.mark.parametrize(
    ("party", "args", "message"),
    [
        ("council", ["share"], "already shared"),
        ("linker", ["dispatch", "--to", "dwp"], "already dispatched to 'dwp'"),
        ("dwp", ["match", "--population", "WORLD/departments/dwp"], "already matched"),
        ("linker", ["assemble", "--project", "demo-5"], "already assembled"),
    ],
)
def test_running_a_stage_again_is_refused(flow, env, evalink, party, args, message):
    args = [a.replace("WORLD", str(flow / "world")) for a in args]
    result = evalink(args[0], "--node", flow / party, *args[1:])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_receiving_again_imports_nothing_twice(flow, env):
    with Node.open(flow / "linker", PASSPHRASE) as linker:
        before = {name: sum(p.rows for p in parts) for name, parts in linker.datasets().items()}
        assert linker.receive() == []
        after = {name: sum(p.rows for p in parts) for name, parts in linker.datasets().items()}
    assert before == after


def test_a_department_returning_a_name_is_refused_at_the_linker(flow, env, tmp_path):
    # Copy the two nodes so the shared flow stays as the other tests expect.
    for party in ("dwp", "linker"):
        shutil.copytree(flow / party, tmp_path / party)
    outcomes = pa.table({"reference_number": ["R000000000001"], "surname": ["Pennycuick"]})
    with Node.open(tmp_path / "dwp", PASSPHRASE) as dwp:
        seal_by_hand(dwp, tmp_path / "dwp" / "outbox" / "forged.evpkg", outcomes,
                     dataset="dwp_outcomes", to="linker")
    deliver(tmp_path / "dwp", tmp_path / "linker")
    with Node.open(tmp_path / "linker", PASSPHRASE) as linker:
        (result,) = linker.receive()
    assert not result.ok
    assert "'surname'" in result.message and "dwp-outcomes-to-linker" in result.message


def test_the_demo_publishes_the_notice_and_ropa_it_enforces(flow):
    for name in ("notice.md", "notice.html", "ropa.md", "ropa.csv"):
        assert (flow / name).stat().st_size > 0
    assert "will not be shared with or made available to the local authority" in (flow / "notice.md").read_text()
