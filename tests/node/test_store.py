"""A node's store, vault and key ring: encrypted at rest, separately keyed, shreddable."""

from __future__ import annotations

import json
import shutil

import duckdb
import pyarrow as pa
import pytest

from evalink import retention
from evalink.clock import clock_on
from evalink.errors import EvalinkError, InputError, PolicyViolation
from evalink.node import Node, WrongPassphrase, connect, init_node
from evalink.node.store import attach
from tests.node.conftest import EXAMPLE_POLICY, PASSPHRASE


def test_a_node_has_store_vault_keys_inbox_outbox_and_audit_log(network):
    directory = network.add("linker")
    for sub in ("store/catalog.duckdb", "vault/parts", "keys/keyring.json", "inbox", "outbox",
                "audit/log.jsonl", "policy.yaml", "node.json"):
        assert (directory / sub).exists(), sub


def test_a_party_that_holds_no_identifiers_gets_no_vault(network):
    directory = network.add("research")
    assert not (directory / "vault").exists()


def test_a_party_that_holds_no_identifiers_cannot_store_them(network, people):
    network.add("research")
    with network.open("research") as research, pytest.raises(PolicyViolation) as refused:
        research.write_dataset("identifiers", people)
    assert refused.value.rule == "identifiers-in-separate-vault"


def test_a_node_for_a_party_not_in_the_policy_is_refused(tmp_path):
    with pytest.raises(PolicyViolation, match="'ministry-of-magic' is not in policy"):
        init_node(tmp_path / "x", party="ministry-of-magic", policy_path=EXAMPLE_POLICY,
                  passphrase=PASSPHRASE)
    assert not (tmp_path / "x").exists()


def test_a_node_made_without_the_cheap_setting_derives_its_keys_at_full_strength(
    tmp_path, monkeypatch
):
    # The suite runs with cheap key derivation (tests/conftest.py); a real node must not.
    monkeypatch.delenv("EVALINK_SCRYPT_LOG2N", raising=False)
    init_node(tmp_path / "x", party="council", policy_path=EXAMPLE_POLICY, passphrase=PASSPHRASE)
    ring = json.loads((tmp_path / "x" / "keys" / "keyring.json").read_text())
    assert ring["kdf"]["log2n"] == 17


def test_a_short_passphrase_is_refused(tmp_path):
    with pytest.raises(InputError, match="at least 12 characters"):
        init_node(tmp_path / "x", party="council", policy_path=EXAMPLE_POLICY, passphrase="short")


def test_a_wrong_passphrase_is_a_clear_error(network):
    directory = network.add("council")
    with pytest.raises(WrongPassphrase, match="wrong passphrase for node"):
        Node.open(directory, "not the passphrase at all")


def test_identifiers_go_to_the_vault_and_other_data_to_the_store(network, people):
    network.add("council")
    attributes = pa.table({"reference_number": ["REF000001"], "cohort": ["worked-with"]})
    with network.open("council") as council:
        assert council.write_dataset("identifiers", people).location == "vault"
        assert council.write_dataset("attributes", attributes).location == "store"
        # A local table is kept in the vault as soon as it carries a direct identifier.
        assert council.write_dataset("local_extract", people.select(["surname"])).location == "vault"
        assert council.read_dataset("attributes").equals(attributes)


def test_the_vault_is_keyed_apart_from_the_store(network, people):
    network.add("council")
    with network.open("council") as council:
        part = council.write_dataset("identifiers", people)
        ring = council.keyring
        assert ring.vault_key != ring.store_key
        assert ring.document["data_keys"][part.part_id]["under"] == "vault"
        path = council._part_path("vault", part.part_id)
        con = connect()
        for wrong in (ring.store_key, ring.vault_key):
            with pytest.raises(EvalinkError, match="cannot decrypt"):
                attach(con, path, wrong, "v", read_only=True)


def test_reading_the_vault_is_logged_as_an_identifier_read(network, people):
    directory = network.add("council")
    with network.open("council") as council:
        council.write_dataset("identifiers", people)
        council.read_dataset("identifiers", purpose="evaluation")
    entries = [json.loads(line) for line in (directory / "audit" / "log.jsonl").open()]
    (read,) = [e for e in entries if e["action"] == "identifier-read"]
    assert read["details"]["rows"] == 60 and read["details"]["purpose"] == "evaluation"


def test_query_joins_datasets_in_sql(network, people):
    network.add("council")
    with network.open("council") as council:
        council.write_dataset("identifiers", people.slice(0, 10))
        council.write_dataset("identifiers", people.slice(10, 5))
        with council.query("identifiers") as con:
            assert con.execute("SELECT count(*) FROM identifiers").fetchone() == (15,)


def test_writing_with_replace_destroys_the_earlier_parts(network, people):
    network.add("council")
    with network.open("council") as council:
        first = council.write_dataset("identifiers", people)
        council.write_dataset("identifiers", people.slice(0, 5), replace=True)
        assert [p.rows for p in council.parts("identifiers")] == [5]
        assert first.part_id not in council.keyring.data_key_ids()


def test_destroying_a_dataset_makes_every_copy_unreadable(network, people, tmp_path):
    directory = network.add("council")
    with network.open("council") as council:
        part = council.write_dataset("identifiers", people)
        path = council._part_path("vault", part.part_id)
        backup = tmp_path / "backup.duckdb"
        shutil.copy(path, backup)
        key = council.keyring.data_key(part.part_id)
        (certificate,) = retention.destroy(council, "identifiers", reason="retention test")
        assert not path.exists()
        with pytest.raises(retention.DatasetDestroyed, match=f"on request.*{certificate}"):
            council.read_dataset("identifiers")
        # The backup copy is ciphertext under a key that exists nowhere any more.
        ring_text = (directory / "keys" / "keyring.json").read_text()
        assert part.part_id not in ring_text
        con = connect()
        for other in (council.keyring.store_key, council.keyring.parts_key,
                      council.keyring.vault_key):
            with pytest.raises(EvalinkError):
                attach(con, backup, other, "b", read_only=True)
    # (With the key, the backup would still open: the key is the only thing protecting it.)
    con = connect()
    attach(con, backup, key, "b", read_only=True)
    assert con.execute("SELECT count(*) FROM b.rows").fetchone() == (60,)
    entries = [json.loads(line) for line in (directory / "audit" / "log.jsonl").open()]
    assert any(e["action"] == "destroy" and e["details"]["rows"] == 60 for e in entries)


def test_a_node_refuses_to_run_under_an_edited_policy(network):
    directory = network.add("dwp")
    policy = directory / "policy.yaml"
    policy.write_text(policy.read_text().replace("keep_for: 30 days", "keep_for: 3000 days"))
    with pytest.raises(EvalinkError, match=r"policy\.yaml has changed"):
        Node.open(directory, PASSPHRASE)


def test_a_node_refuses_an_edited_key_ring(network):
    directory = network.add("dwp")
    ring = directory / "keys" / "keyring.json"
    document = json.loads(ring.read_text())
    other = json.loads((network.root / "dwp" / "node.json").read_text())["public"]
    document["public"]["x25519"] = other["ed25519"]  # an attacker's key in place of ours
    ring.write_text(json.dumps(document))
    with pytest.raises(EvalinkError, match="altered"):
        Node.open(directory, PASSPHRASE)


def test_the_store_files_are_duckdb_encrypted(network, people):
    directory = network.add("council")
    with network.open("council") as council:
        council.write_dataset("identifiers", people)
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(directory / "store" / "catalog.duckdb"), read_only=True).execute(
            "SELECT 1 FROM parts"
        )


def test_parts_due_for_destruction_follow_the_retention_rules(linker_dwp, people):
    from datetime import timedelta

    network = linker_dwp
    with network.open("linker") as linker:
        linker.send("dwp", "identifiers", people)
    from evalink.node import deliver

    deliver(network.dirs["linker"], network.dirs["dwp"])
    with network.open("dwp") as dwp:
        dwp.receive()
        (part,) = dwp.parts("identifiers")
    for days, due in ((29, []), (30, [part.part_id])):
        with Node.open(network.dirs["dwp"], PASSPHRASE, retention=False,
                       clock=clock_on(part.received + timedelta(days=days))) as dwp:
            assert [d.part for d in retention.plan(dwp)] == due
