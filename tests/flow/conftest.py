"""Fixtures for tests of the flow between parties: nodes after a whole demo run, a
council that has identified its families, and a way to say "this node is unchanged"."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from evalink.node import Node, init_node
from evalink.policy import load_policy
from tests.conftest import CHEAP, EXAMPLE_POLICY, PASSPHRASE, REPO, DemoTimeline, environment
from tests.flow.readme import CLOCK_HEADING, RELEASE_HEADING, Block, whole_flow


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CHEAP.items():
        monkeypatch.setenv(key, value)
    # Tests that go on from the demo's nodes go on from the day it stopped.
    monkeypatch.setenv("EVALINK_TODAY", FLOW_UNTIL)


def node_state(directory: Path) -> dict[str, object]:
    """Everything a node holds, except its audit log (which records refusals and
    roll-backs on purpose) and DuckDB's scratch space: catalog parts and what was
    received, data keys, and every file in its store, vault, inbox and outbox."""
    with Node.open(directory, PASSPHRASE) as node:
        parts = sorted((p.dataset, p.part_id, p.rows) for p in node.parts())
        keys = sorted(node.keyring.data_key_ids())
        packages = sorted(
            node._con.execute("SELECT package_id, dataset, rows FROM catalog.packages").fetchall()
        )
        trusted = sorted(
            row[0] for row in node._con.execute("SELECT party FROM catalog.trusted").fetchall()
        )
    files = sorted(
        (str(p.relative_to(directory)), p.stat().st_size)
        for folder in ("store/parts", "vault/parts", "inbox", "outbox")
        if (directory / folder).is_dir()
        for p in (directory / folder).rglob("*")
        if p.is_file()
    )
    return {"parts": parts, "keys": keys, "packages": packages, "trusted": trusted,
            "files": files}


FLOW_UNTIL = "2020-06-13"  # the demo's day research receives its dataset


@pytest.fixture(scope="session")
def flow(demo_timeline: DemoTimeline) -> Path:
    """The whole flow as `evalink demo` runs it, on a small world, as it stood the day
    research received its dataset (before any evaluation or destruction). Tests that
    change a node copy it first."""
    assert str(demo_timeline.run.programme.research_on) == FLOW_UNTIL
    return demo_timeline.copies["held"]


@pytest.fixture(scope="session")
def _identified(tmp_path_factory: pytest.TempPathFactory, small_world: Path) -> Path:
    """A council node that has identified its families, and a linker node that trusts
    the council. The council does not trust the linker yet: that is the newcomer's
    first mistake, and each test adds the trust when it needs it."""
    from evalink.identify import identify, store_in_node

    root = tmp_path_factory.mktemp("identified")
    with environment(CHEAP):
        for party in ("council", "linker"):
            init_node(root / party, party=party, policy_path=EXAMPLE_POLICY,
                      passphrase=PASSPHRASE)
        with Node.open(root / "council", PASSPHRASE) as council:
            council.export_public(root / "council.json")
        with Node.open(root / "linker", PASSPHRASE) as linker:
            linker.export_public(root / "linker.json")
            linker.trust(root / "council.json")
        result = identify(
            small_world / "council" / "sources",
            REPO / "examples" / "mapping-synth.yaml",
            REPO / "examples" / "rules-troubled-families-2015.yaml",
            date(2015, 3, 31),
            policy=load_policy(EXAMPLE_POLICY),
        )
        with Node.open(root / "council", PASSPHRASE) as council:
            store_in_node(council, result, date(2015, 3, 31))
    return root


@pytest.fixture
def identified(_identified: Path, tmp_path: Path, env: None) -> Path:
    """A fresh copy of `_identified` for one test."""
    copy = tmp_path / "nodes"
    shutil.copytree(_identified, copy, symlinks=True)
    return copy


@dataclass
class ReadmeRun:
    """The README's whole flow, run once as written, with a copy of every node after each
    command: snapshots[k] is the nodes as command k left them."""

    work: Path
    block: Block
    outputs: list[str]
    snapshots: list[Path]

    def index(self, *words: str) -> int:
        """The first command that starts with `words`, e.g. index("identify")."""
        return next(i for i, c in enumerate(self.block.commands) if c[: len(words)] == list(words))


def run_command(argv: list[str]):
    from typer.testing import CliRunner

    from evalink.cli import app

    return CliRunner().invoke(app, argv)


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="session")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> ReadmeRun:
    block = whole_flow()
    work = tmp_path_factory.mktemp("readme")
    (work / "examples").symlink_to(REPO / "examples")
    outputs, snapshots = [], []
    # Cheap key derivation is the one thing added to what the README says.
    with environment({**block.environment, "EVALINK_SCRYPT_LOG2N": "10"}), \
            working_directory(work):
        for index, argv in enumerate(block.commands):
            result = run_command(argv)
            outputs.append(result.output)
            assert result.exit_code == 0, f"README command {index} `evalink {' '.join(argv)}`:\n{result.output}"
            snapshot = work / "snapshots" / str(index)
            if (work / "nodes").is_dir():
                shutil.copytree(work / "nodes", snapshot, symlinks=True)
            snapshots.append(snapshot)
    return ReadmeRun(work, block, outputs, snapshots)


def _after_the_flow(readme_run: ReadmeRun, work: Path, heading: str) -> ReadmeRun:
    """A later README block, run after its whole flow on a copy of the nodes that flow
    left, with a copy of every node after each command."""
    block = whole_flow(heading=heading)
    shutil.copytree(readme_run.snapshots[-1], work / "nodes", symlinks=True)
    (work / "examples").symlink_to(REPO / "examples")
    outputs, snapshots = [], []
    with environment({**readme_run.block.environment, **block.environment,
                      "EVALINK_SCRYPT_LOG2N": "10"}), working_directory(work):
        for index, argv in enumerate(block.commands):
            result = run_command(argv)
            outputs.append(result.output)
            assert result.exit_code == 0, f"README '{heading}' command {index} `evalink {' '.join(argv)}`:\n{result.output}"
            snapshot = work / "snapshots" / str(index)
            shutil.copytree(work / "nodes", snapshot, symlinks=True)
            snapshots.append(snapshot)
    return ReadmeRun(work, block, outputs, snapshots)


@pytest.fixture(scope="session")
def clock_run(readme_run: ReadmeRun, tmp_path_factory: pytest.TempPathFactory) -> ReadmeRun:
    """The README's "On the programme's clock" block, after its whole flow."""
    return _after_the_flow(readme_run, tmp_path_factory.mktemp("clock"), CLOCK_HEADING)


@pytest.fixture(scope="session")
def release_run(readme_run: ReadmeRun, tmp_path_factory: pytest.TempPathFactory) -> ReadmeRun:
    """The README's publishing block (safe table, airlock, public node), after its
    whole flow."""
    return _after_the_flow(readme_run, tmp_path_factory.mktemp("release"), RELEASE_HEADING)
