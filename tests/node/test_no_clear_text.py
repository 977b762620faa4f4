"""No name, NINO or date of birth of the data is anywhere in clear under any node —
databases, WAL and spill files, key rings, audit logs, packages sent and received."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from evalink.node import deliver
from tests.node.conftest import FORENAMES, SURNAMES, all_files, synthetic_people

# One pass per file. Every invented name stem counts as a leak wherever it appears, and
# so does anything shaped like a QQ NINO; a date counts when it is one of the people's
# dates of birth (audit logs rightly hold other dates: when things happened).
_NAMES_OR_NINO = re.compile(
    b"|".join(re.escape(n.encode()) for n in FORENAMES + SURNAMES) + rb"|QQ\d{6}[A-D]"
)
_DATES = re.compile(rb"(?:19|20)\d\d-?[01]\d-?[0-3]\d")


def leaks_in(path: Path, dates_of_birth: set[bytes]) -> list[str]:
    content = path.read_bytes()
    found = [m.group().decode() for m in _NAMES_OR_NINO.finditer(content)]
    found += [m.group().decode() for m in _DATES.finditer(content) if m.group() in dates_of_birth]
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

    dobs = people.column("dob").to_pylist()
    dates_of_birth = {d.encode() for d in dobs} | {d.replace("-", "").encode() for d in dobs}
    scanned = all_files(network.root)
    assert len(scanned) > 30
    assert {p.suffix for p in scanned} >= {".duckdb", ".jsonl", ".json", ".evpkg"}
    leaks = {str(p.relative_to(network.root)): leaks_in(p, dates_of_birth) for p in scanned}
    assert {path: found for path, found in leaks.items() if found} == {}
    # The scan does find them in clear text: the extract outside the nodes is full of them.
    assert len(leaks_in(extract, dates_of_birth)) >= 3 * people.num_rows
