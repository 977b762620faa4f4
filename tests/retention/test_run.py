"""`evalink retention run`: what is due is destroyed, provably, once.

A small network on synthetic people: the council sends identifiers and attributes to
the linker on 2020-06-01, the linker sends a research dataset to research and
identifiers to DWP. The linker's rule destroys everything by 2022-12-31; on 2023-01-01
nothing of it may be readable, anywhere in the node, with any key the node still holds.
"""

from __future__ import annotations

import json
import shutil
from datetime import date

import pyarrow as pa
import pytest
from cryptography.exceptions import InvalidTag

from evalink import retention
from evalink.errors import EvalinkError
from evalink.node import deliver
from evalink.node.keyring import unwrap
from evalink.node.store import attach, connect
from tests.node.conftest import copy_nodes, synthetic_people
from tests.retention.conftest import (
    AFTER_2022,
    PROGRAMME,
    RULE,
    identifier_values,
    open_on,
    raw_hits,
)


def test_the_day_after_2022_the_linker_holds_nothing_it_could_read(linked, evalink_cli):
    network, people = linked
    linker = network.dirs["linker"]
    assert raw_hits(linker, identifier_values(people)) == []  # encrypted at rest already

    result = evalink_cli("--today", "2023-01-01", "retention", "run", "--node", linker)

    assert result.exit_code == 0, result.output
    with open_on(linker, AFTER_2022) as node:
        assert node.parts() == []
        for dataset in ("identifiers", "attributes"):
            with pytest.raises(retention.DatasetDestroyed, match=f"2023-01-01 under rule '{RULE}'"):
                node.read_dataset(dataset)
        assert retention.verify_certificates(node) == []
        assert len(retention.certificates(node)) == 2
        assert node.keyring.data_key_ids() == set()
    assert list((linker / "outbox").rglob("*.evpkg")) == []  # the sent copies went too
    assert list((linker / "store" / "parts").iterdir()) == []
    assert list((linker / "vault" / "parts").iterdir()) == []
    assert raw_hits(linker, identifier_values(people)) == []
    assert evalink_cli("audit", "verify", "--node", linker).exit_code == 0


def test_the_scan_finds_an_identifier_left_in_the_clear(linked, tmp_path):
    # The check above would fail if destruction left a readable copy behind.
    network, people = linked
    leak = network.dirs["linker"] / "inbox" / "done" / "note.txt"
    leak.write_text(f"called {people.column('surname')[3]} back\n")
    assert raw_hits(network.dirs["linker"], identifier_values(people))


def test_research_destroys_its_dataset_under_the_same_rule(linked, evalink_cli, tmp_path):
    network, _ = linked
    research = network.dirs["research"]
    with open_on(research, AFTER_2022):
        pass  # retention runs at the start of every session: no job needed

    out = tmp_path / "dataset.csv"
    result = evalink_cli("--today", "2023-01-01", "export", "--node", research,
                         "--dataset", "research_dataset", "--out", out)

    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert f"destroyed on 2023-01-01 under rule '{RULE}', certificate DC-" in line
    assert not out.exists()


def test_a_copy_of_a_part_taken_before_cannot_be_opened_with_the_ring_afterwards(
    linked, tmp_path
):
    network, _ = linked
    linker = network.dirs["linker"]
    with open_on(linker, PROGRAMME) as node:
        part = next(p for p in node.parts() if p.dataset == "identifiers")
        source = node.dir / part.location / "parts" / f"{part.part_id}.duckdb"
        copy = tmp_path / "copy.duckdb"
        shutil.copy(source, copy)
        wrapped = node.keyring.document["data_keys"][part.part_id]["wrapped"]
        attach(connect(), copy, node.keyring.data_key(part.part_id), "before", read_only=True)

    with open_on(linker, AFTER_2022) as node:
        ring = node.keyring
        for key in (ring.store_key, ring.parts_key, ring.vault_key,
                    *(ring.data_key(k) for k in ring.data_key_ids())):
            with pytest.raises(EvalinkError, match="cannot decrypt"):
                attach(connect(), copy, key, "after", read_only=True)
        # Nor does the part's wrapped key, kept from the ring as it was, unwrap any more.
        for kek in (ring.parts_key, ring.vault_key, ring.store_key):
            with pytest.raises(InvalidTag):
                unwrap(kek, wrapped, f"data-key:{part.part_id}")


def test_the_remaining_keys_are_rewrapped_and_still_open_their_parts(linked):
    network, _ = linked
    dwp = network.dirs["dwp"]
    deliver(network.dirs["linker"], dwp)
    with open_on(dwp, PROGRAMME) as node:
        assert all(r.ok for r in node.receive())
        kept = node.write_dataset("scratch", pa.table({"n": [1, 2]}))  # no rule dates it
        wrapped = node.keyring.document["data_keys"][kept.part_id]["wrapped"]

    with open_on(dwp, date(2020, 7, 2)) as node:  # 31 days after receipt
        assert [p.dataset for p in node.parts()] == ["scratch"]
        assert node.keyring.document["data_keys"][kept.part_id]["wrapped"] != wrapped
        assert node.read_dataset("scratch").num_rows == 2


def test_a_package_due_on_arrival_is_refused_with_its_rule(network, _template):
    copy_nodes(_template, network, "council", "linker")
    with open_on(network.dirs["council"], AFTER_2022) as council:
        council.send("linker", "identifiers", synthetic_people(5))
    deliver(network.dirs["council"], network.dirs["linker"])

    with open_on(network.dirs["linker"], AFTER_2022) as linker:
        (result,) = linker.receive()
        assert not result.ok
        assert "due for destruction the day it arrives" in result.message
        assert f"rule '{RULE}'" in result.message
        assert linker.parts() == []
    # Refused after opening: not kept (it opens with the linker's key), a receipt instead.
    assert list((network.dirs["linker"] / "inbox").rglob("*.evpkg")) == []


def test_a_dry_run_and_status_destroy_nothing(linked, evalink_cli):
    network, _ = linked
    linker = network.dirs["linker"]

    dry = evalink_cli("--today", "2023-01-01", "retention", "run", "--node", linker,
                      "--dry-run", "--format", "json")
    status = evalink_cli("--today", "2023-01-01", "retention", "status", "--node", linker,
                         "--format", "json")

    assert dry.exit_code == 0 and status.exit_code == 0, dry.output + status.output
    planned = json.loads(dry.output)
    assert planned["dry_run"] and {p["dataset"] for p in planned["parts"]} == {
        "identifiers", "attributes"}
    assert planned["certificates"] == []
    assert {p["state"] for p in json.loads(status.output)["parts"]} == {"overdue by 1 days"}
    with open_on(linker, PROGRAMME) as node:
        assert len(node.parts()) == 2 and node.destroyed() == []


def test_a_second_run_destroys_nothing_more(linked):
    network, _ = linked
    with open_on(network.dirs["linker"], AFTER_2022, retention_first=False) as node:
        first = retention.run(node)
        second = retention.run(node)
        assert len(first.certificates) == 2 and second.certificates == []
        assert len(node.destroyed()) == 2


def test_certificates_export_verify_and_an_edit_is_one_line(linked, evalink_cli, tmp_path):
    network, _ = linked
    linker = network.dirs["linker"]
    out = tmp_path / "certificates.json"
    key = network.public_key("linker")
    exported = evalink_cli("--today", "2023-01-01", "retention", "certificates",
                           "--node", linker, "--out", out)
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text())
    (first, *_) = document["certificates"]
    body = first["certificate"]
    assert body["rule"] == RULE and body["promises"] == ["ons-destroys-by-december-2022"]
    assert body["due"] == "2022-12-31" and body["done"] == "2023-01-01"
    assert "cryptographic erase" in body["sanitization"]["method"]
    assert body["media"]["field_classes"]  # classes and names of fields, never values
    verified = evalink_cli("retention", "verify", out, "--key", key)
    assert verified.exit_code == 0 and "2 certificates verify" in verified.output

    first["certificate"]["media"]["rows_destroyed"] = 1  # "only one row was destroyed"
    out.write_text(json.dumps(document))
    edited = evalink_cli("retention", "verify", out, "--key", key)

    assert edited.exit_code == 2
    (line,) = edited.output.splitlines()
    assert "does not verify" in line and "edited" in line


def test_certificates_signed_by_another_node_do_not_verify_against_this_ones_key(
    linked, evalink_cli, tmp_path
):
    network, _ = linked
    out = tmp_path / "certificates.json"
    assert evalink_cli("--today", "2023-01-01", "retention", "certificates",
                       "--node", network.dirs["linker"], "--out", out).exit_code == 0
    result = evalink_cli("retention", "verify", out, "--key", network.public_key("research"))
    assert result.exit_code == 2 and "signature does not verify" in result.output


@pytest.mark.parametrize("args", [
    ["--today", "2022-13-01", "retention", "run", "--node", "{linker}"],
    ["retention", "run", "--node", "{missing}"],
    ["retention", "verify", "{missing}"],
])
def test_bad_input_is_one_line_and_exit_2(linked, evalink_cli, tmp_path, args):
    network, _ = linked
    argv = [a.format(linker=network.dirs["linker"], missing=tmp_path / "nothing") for a in args]

    result = evalink_cli(*argv)

    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output
    with open_on(network.dirs["linker"], PROGRAMME) as node:
        assert len(node.parts()) == 2


def test_a_certificate_whose_part_came_back_does_not_verify(linked, tmp_path):
    # The check a DPO relies on must fail if the destruction did not happen: put a
    # destroyed part's key back into the ring and its file back into the node.
    network, _ = linked
    linker = network.dirs["linker"]
    with open_on(linker, PROGRAMME) as node:
        part = next(p for p in node.parts() if p.dataset == "identifiers")
        source = node.dir / part.location / "parts" / f"{part.part_id}.duckdb"
        shutil.copy(source, tmp_path / "kept.duckdb")
        entry = dict(node.keyring.document["data_keys"][part.part_id])
    with open_on(linker, AFTER_2022) as node:
        assert retention.verify_certificates(node) == []
        node.keyring.document["data_keys"][part.part_id] = entry
        shutil.copy(tmp_path / "kept.duckdb", source)
        problems = retention.verify_certificates(node)
    assert any("still in the key ring" in p for p in problems)
    assert any("still in the node" in p for p in problems)
