"""Retention tests stand on the node tests' synthetic networks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from evalink.clock import clock_on
from evalink.node import Node, deliver
from tests.node.conftest import (  # noqa: F401 (fixtures)
    PASSPHRASE,
    Network,
    _cheap_kdf,
    _template,
    copy_nodes,
    evalink_cli,
    network,
    synthetic_people,
)

PROGRAMME = date(2020, 6, 1)
AFTER_2022 = date(2023, 1, 1)
RULE = "linker-destroy-by-december-2022"


def open_on(directory: Path, day: date, *, retention_first: bool = True) -> Node:
    return Node.open(directory, PASSPHRASE, clock=clock_on(day), retention=retention_first)


def raw_hits(root: Path, values: list[str]) -> list[tuple[str, str]]:
    """(file, value) for every value found, as UTF-8 bytes, in any file under `root`."""
    needles = [v.encode() for v in values]
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [(str(path.relative_to(root)), n.decode()) for n in needles if n in data]
    return hits


def attack_passed(policy) -> dict:
    """Notes saying the policy's intruders were run and found no one, without which the
    research node refuses a research dataset: these tests are about destruction, and
    their stand-in dataset is two columns no attack could use."""
    return {"deidentification": {"intruders": [
        {"intruder": i.id, "units": 1, "reidentified": 0, "share": 0.0}
        for i in policy.intruders("research_dataset")
    ]}}


def identifier_values(people: pa.Table) -> list[str]:
    columns = ("reference_number", "forename", "surname", "nino", "postcode")
    return [v for c in columns for v in people.column(c).to_pylist() if v]


@pytest.fixture
def linked(network: Network, _template: Network) -> tuple[Network, pa.Table]:  # noqa: F811
    """council → linker (identifiers, attributes) → research and dwp, on PROGRAMME."""
    copy_nodes(_template, network, "council", "linker", "dwp")
    network.add("research", trust=("linker",))
    people = synthetic_people(40)
    with open_on(network.dirs["council"], PROGRAMME) as council:
        council.send("linker", "identifiers", people)
        council.send("linker", "attributes", pa.table({
            "reference_number": people.column("reference_number"),
            "cohort": ["attached"] * people.num_rows,
        }))
    deliver(network.dirs["council"], network.dirs["linker"])
    with open_on(network.dirs["linker"], PROGRAMME) as linker:
        assert all(r.ok for r in linker.receive())
        linker.send("dwp", "identifiers", people)
        linker.send("research", "research_dataset", pa.table({
            "pseudonym": [f"P{i}" for i in range(people.num_rows)],
            "cohort": ["attached"] * people.num_rows,
        }), notes=attack_passed(linker.policy))
    deliver(network.dirs["linker"], network.dirs["research"])
    with open_on(network.dirs["research"], PROGRAMME) as research:
        results = research.receive()
        assert all(r.ok for r in results), [r.message for r in results]
    return network, people


