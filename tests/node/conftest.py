"""Nodes for tests: several parties on one machine, with synthetic people only.

Key derivation is made cheap here (EVALINK_SCRYPT_LOG2N=10) so that a test creating
five nodes takes milliseconds; the default cost stays strong.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from evalink.node import Node, init_node

PASSPHRASE = "synthetic test passphrase"
EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "troubled-families.yaml"

# Invented names, unlikely to occur by chance in any file: a scan that finds one has
# found our data, not a coincidence.
FORENAMES = ["Zephyrine", "Quillon", "Marisabel", "Oswaldine", "Thaddeon", "Perpetua", "Fenwickia"]
SURNAMES = ["Thistlewaite", "Quorndon", "Blatherwick", "Ormesby-Vance", "Pennycuick", "Vardystone"]


def synthetic_people(count: int, seed: int = 7) -> pa.Table:
    """Identifier records of invented people. NINOs use the QQ prefix, which HMRC never
    issues, and dates of birth are random days."""
    rng = random.Random(seed)
    rows: dict[str, list] = {k: [] for k in (
        "reference_number", "forename", "surname", "dob", "sex", "address", "postcode", "nino")}
    for i in range(count):
        rows["reference_number"].append(f"REF{i:06d}")
        rows["forename"].append(f"{rng.choice(FORENAMES)}{i}")
        rows["surname"].append(f"{rng.choice(SURNAMES)}{i}")
        rows["dob"].append(f"{rng.randint(1950, 2015)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        rows["sex"].append(rng.choice(["F", "M"]))
        rows["address"].append(f"{rng.randint(1, 200)} Wibbleton Crescent")
        rows["postcode"].append(f"B6{rng.randint(0, 9)} {rng.randint(1, 9)}ZZ")
        rows["nino"].append(f"QQ{rng.randint(0, 999999):06d}{rng.choice('ABCD')}" if i % 5 else None)
    return pa.table(rows)


@pytest.fixture(autouse=True)
def _cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALINK_SCRYPT_LOG2N", "10")
    monkeypatch.setenv("EVALINK_PASSPHRASE", PASSPHRASE)


@pytest.fixture
def people() -> pa.Table:
    return synthetic_people(60)


class Network:
    """Nodes under one directory, created on demand and trusting each other."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dirs: dict[str, Path] = {}

    def add(self, party: str, name: str | None = None, trust: tuple[str, ...] = ()) -> Path:
        directory = self.root / (name or party)
        init_node(directory, party=party, policy_path=EXAMPLE_POLICY, passphrase=PASSPHRASE)
        self.dirs[name or party] = directory
        for other in trust:
            self.trust_each_other(name or party, other)
        return directory

    def open(self, name: str) -> Node:
        return Node.open(self.dirs[name], PASSPHRASE)

    def public_key(self, name: str) -> Path:
        out = self.root / f"{name}.pub.json"
        with self.open(name) as node:
            node.export_public(out)
        return out

    def trust(self, truster: str, trusted: str) -> None:
        key = self.public_key(trusted)
        with self.open(truster) as node:
            node.trust(key)

    def trust_each_other(self, a: str, b: str) -> None:
        self.trust(a, b)
        self.trust(b, a)


@pytest.fixture
def network(tmp_path: Path) -> Network:
    return Network(tmp_path / "nodes")


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Network:
    """council ⇄ linker ⇄ dwp, made once per test session and copied for each test:
    creating nodes and exchanging keys is most of the cost of a test otherwise."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVALINK_SCRYPT_LOG2N", "10")
        template = Network(tmp_path_factory.mktemp("template") / "nodes")
        template.add("council")
        template.add("linker", trust=("council",))
        template.add("dwp", trust=("linker",))
    return template


def copy_nodes(template: Network, network: Network, *names: str) -> Network:
    for name in names:
        shutil.copytree(template.dirs[name], network.root / name, symlinks=True)
        network.dirs[name] = network.root / name
    return network


@pytest.fixture
def council_linker(network: Network, _template: Network) -> Network:
    return copy_nodes(_template, network, "council", "linker")


@pytest.fixture
def linker_dwp(network: Network, _template: Network) -> Network:
    return copy_nodes(_template, network, "linker", "dwp")


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


Opener = Callable[[str], Node]


@pytest.fixture
def evalink_cli():
    """Run `evalink` in-process with the test passphrase in the environment."""
    from typer.testing import CliRunner

    from evalink.cli import app

    runner = CliRunner()

    def run(*args: object, input: str | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return run
