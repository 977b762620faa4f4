"""A newcomer's first hour: each mistake, interruption or repeat gives one clear line and
leaves every node as it was, or completes exactly once. Each test is one finding of
issue 12, written from the user's side of the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from evalink import retention
from evalink.node import Node, deliver
from tests.flow.conftest import PASSPHRASE, node_state


def _error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def _one_error(result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result)
    return line


def test_share_before_the_linker_is_trusted_changes_nothing_and_can_be_retried(
    identified, evalink
):
    council = identified / "council"
    before = node_state(council)

    refused = evalink("share", "--node", council, "--to", "linker")

    line = _one_error(refused)
    assert "no trusted keys for party 'linker'" in line and "node trust" in line
    assert node_state(council) == before
    with Node.open(identified / "council", PASSPHRASE) as node:
        node.trust(identified / "linker.json")
    retried = evalink("share", "--node", council, "--to", "linker")
    assert retried.exit_code == 0, retried.output
    assert len(list((council / "outbox").glob("*.evpkg"))) == 2


def test_a_dispatch_to_a_department_not_yet_trusted_sends_to_none(flow, tmp_path, env, evalink):
    # A linker that has received identifiers but trusts only DWP of the departments.
    linker = tmp_path / "linker"
    shutil.copytree(flow / "linker", linker)
    with Node.open(linker, PASSPHRASE) as node:
        retention.destroy(node, "dispatches", reason="test: a linker that has not dispatched")
        node._con.execute("DELETE FROM catalog.trusted WHERE party = 'moj'")
    before = node_state(linker)

    line = _one_error(evalink("dispatch", "--node", linker, "--to", "dwp,moj,dfe"))

    assert "no trusted keys for party 'moj'" in line
    assert node_state(linker) == before


def _linker_with_outcomes_from(flow: Path, copy: Path, departments: set[str]) -> Path:
    shutil.copytree(flow / "linker", copy)
    with Node.open(copy, PASSPHRASE) as node:
        for department in {"dwp", "moj", "dfe"} - departments:
            retention.destroy(node, f"{department}_outcomes", reason="test: not yet returned")
    return copy


def test_assemble_refuses_while_a_department_has_not_returned_its_outcomes(
    flow, tmp_path, env, evalink
):
    linker = _linker_with_outcomes_from(flow, tmp_path / "linker", {"dwp"})
    before = node_state(linker)

    line = _one_error(evalink("assemble", "--node", linker, "--project", "p1"))

    assert "dfe, moj" in line and "--allow-missing" in line
    assert node_state(linker) == before


def test_assemble_with_allow_missing_proceeds_and_records_it(flow, tmp_path, env, evalink):
    linker = _linker_with_outcomes_from(flow, tmp_path / "linker", {"dwp"})

    done = evalink(
        "assemble", "--node", linker, "--project", "p1", "--allow-missing", "moj,dfe"
    )

    assert done.exit_code == 0, done.output
    entries = [json.loads(line) for line in (linker / "audit" / "log.jsonl").open()]
    (entry,) = [
        e for e in entries if e["action"] == "assemble" and e["details"]["project"] == "p1"
    ]
    assert entry["details"]["missing_departments"] == ["dfe", "moj"]
    research = tmp_path / "research"
    shutil.copytree(flow / "research", research)
    deliver(linker, research)
    with Node.open(research, PASSPHRASE) as node:
        assert all(r.ok for r in node.receive())
        assert node.package_notes("research_dataset")["missing_departments"] == ["dfe", "moj"]


def test_allow_missing_names_only_departments_of_the_policy(flow, tmp_path, env, evalink):
    linker = _linker_with_outcomes_from(flow, tmp_path / "linker", {"dwp"})
    line = _one_error(
        evalink("assemble", "--node", linker, "--project", "p1", "--allow-missing", "hmrc")
    )
    assert "'hmrc' is not a department" in line


def test_an_assembly_refused_by_its_checks_leaves_the_project_name_free(
    flow, tmp_path, env, evalink
):
    linker = tmp_path / "linker"
    shutil.copytree(flow / "linker", linker)
    # A council that put a surname into the help-received field (released as it is; the
    # headlines would be generalised to their number): the identifier scan must refuse
    # the dataset before anything is kept.
    with Node.open(linker, PASSPHRASE) as node:
        surname = node.read_dataset("identifiers").column("surname")[0].as_py()
        attributes = pl.from_arrow(node.read_dataset("attributes"))
        bad = node.write_dataset(
            "attributes",
            attributes.head(1).with_columns(pl.lit(surname).alias("help_received")).to_arrow(),
        )
    before = node_state(linker)

    line = _one_error(evalink("assemble", "--node", linker, "--project", "p-new"))

    assert "research dataset refused" in line and surname not in line
    assert node_state(linker) == before
    with Node.open(linker, PASSPHRASE) as node:
        retention.destroy(node, bad.dataset, part_id=bad.part_id, reason="test: the council sent a corrected extract")
    retried = evalink("assemble", "--node", linker, "--project", "p-new")
    assert retried.exit_code == 0, retried.output


def test_the_same_data_sent_twice_is_imported_once(council_linker_nodes, tmp_path, evalink):
    council, linker = council_linker_nodes
    extract = tmp_path / "identifiers.csv"
    pl.DataFrame(
        {"reference_number": ["R1", "R2"], "forename": ["Zephyrine", "Quillon"],
         "surname": ["Thistlewaite", "Quorndon"]}
    ).write_csv(extract)
    for _ in range(2):
        sent = evalink("send", extract, "--node", council, "--to", "linker",
                       "--dataset", "identifiers")
        assert sent.exit_code == 0, sent.output
    deliver(council, linker)

    received = evalink("receive", "--node", linker)

    assert received.exit_code == 2
    assert "duplicate refused" in received.output
    with Node.open(linker, PASSPHRASE) as node:
        assert node.read_dataset("identifiers").num_rows == 2


def test_receive_names_every_refused_package(council_linker_nodes, evalink):
    _, linker = council_linker_nodes
    for name in ("first.evpkg", "second.evpkg"):
        (linker / "inbox" / name).write_bytes(b"not a package at all")

    received = evalink("receive", "--node", linker)

    assert received.exit_code == 2
    assert "first.evpkg" in received.output and "second.evpkg" in received.output
    assert len(_error_lines(received)) == 1


@pytest.fixture
def council_linker_nodes(tmp_path: Path, env: None) -> tuple[Path, Path]:
    from evalink.node.network import init_network
    from tests.conftest import EXAMPLE_POLICY

    network = init_network(tmp_path / "nodes", ["council", "linker"], EXAMPLE_POLICY, PASSPHRASE)
    return network.root / "council", network.root / "linker"


def test_a_full_inbox_moves_nothing_and_says_how_to_retry(
    council_linker_nodes, monkeypatch, evalink
):
    council, linker = council_linker_nodes
    with Node.open(council, PASSPHRASE) as node:
        node.send("linker", "identifiers", pa.table({"reference_number": ["R1"]}))

    def full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full)
    line = _one_error(evalink("deliver", "--from", council, "--to", linker))

    assert "No space left on device" in line and "run `evalink deliver` again" in line
    assert len(list((council / "outbox").glob("*.evpkg"))) == 1
    assert [p for p in (linker / "inbox").iterdir() if p.is_file()] == []
