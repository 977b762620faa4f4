"""No name, NINO or date of birth of the data is anywhere in clear under any node —
databases, WAL and spill files, key rings, audit logs, packages sent and received."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv

from evalink.node import deliver
from tests.node.conftest import all_files, synthetic_people


def _needles(people: pa.Table) -> set[bytes]:
    found: set[bytes] = set()
    for column in ("forename", "surname", "nino", "dob"):
        for value in people.column(column).to_pylist():
            if value:
                found.add(value.encode())
                if column == "dob":
                    found.add(value.replace("-", "").encode())  # 19800102 as well
    return found


def test_a_full_send_and_receive_cycle_leaves_no_personal_data_in_clear(network, evalink_cli,
                                                                         tmp_path):
    people = synthetic_people(400, seed=11)
    network.add("council")
    network.add("linker", trust=("council",))
    network.add("dwp", trust=("linker",))
    network.add("moj", trust=("linker",))

    # council → linker through the command line, from a CSV extract outside the node.
    extract = tmp_path / "extract.csv"
    pacsv.write_csv(people, extract)
    council, linker = network.dirs["council"], network.dirs["linker"]
    assert evalink_cli("send", extract, "--node", council, "--to", "linker",
                       "--dataset", "identifiers").exit_code == 0
    assert evalink_cli("deliver", "--from", council, "--to", linker).exit_code == 0
    assert evalink_cli("receive", "--node", linker).exit_code == 0

    # linker → dwp and moj, read back from the vault; departments keep what they got.
    with network.open("linker") as node:
        identifiers = node.read_dataset("identifiers")
        node.write_dataset("linkage_working", identifiers.select(["reference_number", "surname"]))
        node.send("dwp", "identifiers", identifiers)
        node.send("moj", "identifiers", identifiers.drop_columns(["nino"]))
    for department in ("dwp", "moj"):
        deliver(linker, network.dirs[department])
        with network.open(department) as node:
            assert all(r.ok for r in node.receive())
            node.read_dataset("identifiers")
    # dwp answers with outcomes keyed by reference number only.
    outcomes = pa.table({
        "reference_number": people.column("reference_number"),
        "spell_type": pa.array(["JSA"] * people.num_rows),
    })
    with network.open("dwp") as node:
        node.send("linker", "dwp_outcomes", outcomes)
    deliver(network.dirs["dwp"], linker)
    with network.open("linker") as node:
        assert all(r.ok for r in node.receive())

    needles = _needles(people)
    scanned = all_files(network.root)
    assert len(scanned) > 30
    leaks = [
        (path.relative_to(network.root), needle.decode())
        for path in scanned
        for needle in needles
        if needle in path.read_bytes()
    ]
    assert leaks == []
    # The scan can find them: the extract outside the nodes is plain text.
    assert any(needle in extract.read_bytes() for needle in needles)
