"""A command's writes commit together or not at all: `Node.transaction()`.

Kills are real where it matters: a child process dies with os._exit, which runs no
clean-up, at the moment named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalink.node import Node
from tests.node.conftest import PASSPHRASE, Network, copy_nodes, synthetic_people

REPO = Path(__file__).resolve().parents[2]


class Failure(Exception):
    """Something going wrong inside a command: a refused check, a full disk."""


def _held(node: Node) -> dict[str, object]:
    return {
        "parts": sorted((p.dataset, p.rows) for p in node.parts()),
        "keys": len(node.keyring.data_key_ids()),
        "outbox": sorted(p.name for p in (node.dir / "outbox").glob("*.evpkg")),
        "staged": sorted(str(p) for p in (node.dir / "outbox" / ".pending").rglob("*")),
    }


def test_writes_inside_a_transaction_are_invisible_until_it_ends(council_linker: Network):
    with council_linker.open("council") as council, council.transaction("test"):
        council.write_dataset("notes", pa.table({"n": [1, 2]}))
        assert council.parts("notes") == []
    with council_linker.open("council") as council:
        assert [p.rows for p in council.parts("notes")] == [2]


def test_a_transaction_that_fails_keeps_nothing_and_says_it_rolled_back(
    council_linker: Network, people: pa.Table
):
    with council_linker.open("council") as council:
        before = _held(council)
        with pytest.raises(Failure), council.transaction("share"):
            council.write_dataset("reference_numbers", people.select(["reference_number"]))
            council.send("linker", "identifiers", people)
            raise Failure("the second package could not be sealed")
        assert _held(council) == before
    entries = [json.loads(line) for line in (council_linker.dirs["council"] / "audit" /
                                             "log.jsonl").open()]
    actions = [e["action"] for e in entries]
    assert "rolled-back" in actions
    assert "send" not in actions and "store" not in actions


def test_replacing_a_dataset_inside_a_failed_transaction_keeps_the_old_one(
    council_linker: Network,
):
    with council_linker.open("council") as council:
        council.write_dataset("identify_families", pa.table({"family_key": ["F1", "F2"]}))
        with pytest.raises(Failure), council.transaction("identify"):
            council.write_dataset(
                "identify_families", pa.table({"family_key": ["F9"]}), replace=True
            )
            raise Failure("storing the next dataset failed")
        assert council.read_dataset("identify_families").num_rows == 2


KILL_AFTER_COMMIT = """
import evalink.node.node as node_module
def dying(self, transaction_id, work):
    os._exit(9)
node_module.Node._finish = dying
"""
KILL_BEFORE_COMMIT = """
import evalink.node.node as node_module
original = node_module.Node._commit
def dying(self, tx):
    os._exit(9)
node_module.Node._commit = dying
"""


def _share_in_a_child_that_dies(node_dir: Path, sabotage: str) -> int:
    script = "import os\n" + sabotage + textwrap.dedent(f"""
        import pyarrow as pa
        from evalink.node import Node
        from tests.node.conftest import synthetic_people
        people = synthetic_people(30)
        with Node.open({str(node_dir)!r}, {PASSPHRASE!r}) as node:
            with node.transaction("share"):
                node.write_dataset("reference_numbers", people.select(["reference_number"]))
                node.send("linker", "identifiers", people)
                node.send("linker", "attributes", people.select(["reference_number"]))
        os._exit(0)
    """)
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{REPO}"}
    return subprocess.run([sys.executable, "-c", script], env=env, timeout=120).returncode


def test_a_share_killed_before_its_commit_leaves_nothing(council_linker: Network):
    council_dir = council_linker.dirs["council"]
    assert _share_in_a_child_that_dies(council_dir, KILL_BEFORE_COMMIT) == 9
    with council_linker.open("council") as council:
        assert council.parts("reference_numbers") == []
        assert council.keyring.data_key_ids() == set()
        assert _held(council)["outbox"] == [] and _held(council)["staged"] == []


def test_a_share_killed_after_its_commit_is_finished_at_the_next_open(
    council_linker: Network, evalink_cli
):
    council_dir = council_linker.dirs["council"]
    assert _share_in_a_child_that_dies(council_dir, KILL_AFTER_COMMIT) == 9
    # Before anyone opens the node, the packages wait in staging, not in the outbox:
    # `deliver` (which needs no keys) cannot send half a share, and says what to do.
    assert list((council_dir / "outbox").glob("*.evpkg")) == []
    delivered = evalink_cli("deliver", "--from", council_dir, "--to", council_linker.dirs["linker"])
    assert delivered.exit_code == 0
    assert "nothing to deliver" in delivered.output and "interrupted" in delivered.output
    with council_linker.open("council") as council:
        assert [p.rows for p in council.parts("reference_numbers")] == [30]
        held = _held(council)
        assert len(held["outbox"]) == 2 and held["staged"] == []
        assert council.verify_audit().ok
    entries = [json.loads(line) for line in (council_dir / "audit" / "log.jsonl").open()]
    sends = [e for e in entries if e["action"] == "send"]
    assert len(sends) == 2  # written once, by the open that finished the transaction
    assert any(e["action"] == "recover" and "finished_transaction" in e["details"]
               for e in entries)


KILL_AFTER_THE_AUDIT_ENTRIES = """
import evalink.audit.log as log_module
original = log_module.AuditLog.record
def record(self, action, **details):
    entry = original(self, action, **details)
    if action == "send" and details.get("dataset") == "attributes":
        os._exit(9)  # the entries are written, the pending row not yet deleted
    return entry
log_module.AuditLog.record = record
"""


def test_a_share_killed_after_writing_its_audit_entries_does_not_write_them_twice(
    council_linker: Network,
):
    council_dir = council_linker.dirs["council"]
    assert _share_in_a_child_that_dies(council_dir, KILL_AFTER_THE_AUDIT_ENTRIES) == 9
    with council_linker.open("council") as council:
        assert len(_held(council)["outbox"]) == 2
        assert council.verify_audit().ok
    entries = [json.loads(line) for line in (council_dir / "audit" / "log.jsonl").open()]
    assert len([e for e in entries if e["action"] == "send"]) == 2


def test_a_commit_the_catalog_refuses_keeps_nothing(council_linker: Network, people: pa.Table,
                                                   monkeypatch: pytest.MonkeyPatch):
    import duckdb

    from evalink.node import node as node_module

    def full_disk(*_: object, **__: object) -> None:
        raise duckdb.IOException("could not write the catalog")

    with council_linker.open("council") as council:
        before = _held(council)
        monkeypatch.setattr(node_module.Node, "_insert_part_row", full_disk)
        with pytest.raises(duckdb.IOException), council.transaction("share"):
            council.write_dataset("reference_numbers", people.select(["reference_number"]))
            council.send("linker", "identifiers", people)
        monkeypatch.undo()
        assert _held(council) == before


# --- property ---------------------------------------------------------------------------

@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(st.sampled_from(["store", "replace", "send"]), min_size=1, max_size=5),
    fail_at=st.integers(min_value=0, max_value=6),
)
def test_a_transaction_is_all_or_nothing_wherever_it_fails(
    _template: Network, tmp_path_factory: pytest.TempPathFactory, writes: list[str],
    fail_at: int,
):
    """For any sequence of stores, replacements and sends in one transaction, and a
    failure before, between or after them (or none), the node afterwards holds either
    everything the transaction wrote or exactly what it held before."""
    nodes = copy_nodes(_template, Network(tmp_path_factory.mktemp("tx")), "council", "linker")
    with nodes.open("council") as council:
        council.write_dataset("notes", pa.table({"n": [0]}))
        before = _held(council)
        try:
            with council.transaction("test"):
                for index, write in enumerate(writes):
                    if index == fail_at:
                        raise Failure(f"failure before write {index}")
                    if write == "send":
                        council.send("linker", "identifiers", synthetic_people(2, seed=index))
                    else:
                        council.write_dataset(
                            "notes", pa.table({"n": [index]}), replace=write == "replace"
                        )
                if fail_at == len(writes):
                    raise Failure("failure after the last write")
        except Failure:
            assert fail_at <= len(writes)
            assert _held(council) == before
            return
        assert fail_at > len(writes)
        after = _held(council)
    notes = 1
    for write in writes:
        notes = {"store": notes + 1, "replace": 1, "send": notes}[write]
    assert [p for p in after["parts"] if p[0] == "notes"] == [("notes", 1)] * notes
    assert len(after["outbox"]) == writes.count("send")
    assert after["staged"] == []
    with nodes.open("council") as council:
        assert _held(council) == after
