"""The README's flow with things going wrong on the way: for any failures injected
before, between and after a command's writes — a trust missing, a process killed, a
full inbox, a package delivered twice — the nodes end where a clean run of the
remaining commands completes the flow, with no row held twice and none lost.

Each example starts from the README run's nodes as they were just before the first
failing command (see `readme_run` in conftest.py), runs the rest of the README's
commands, injects each drawn failure into its command, and then does what the error
line tells a user to do: fix what it names and run the same command again.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalink.node import Node
from evalink.node import node as node_module
from tests.flow.conftest import (
    CHEAP,
    ReadmeRun,
    environment,
    run_command,
    working_directory,
)


class Killed(BaseException):
    """The process dying at this point. A BaseException, so no `except Exception` in
    evalink can swallow it; what a real kill also skips (clean-up code) is tested with
    real kills in tests/node/test_transactions.py and test_atomic_import.py."""


KILL_POINTS = ("before-write", "before-commit", "after-commit")
KINDS = (*(f"kill {p}" for p in KILL_POINTS), "missing trust", "full inbox", "duplicate")
SENDERS = {"share", "dispatch", "match", "assemble"}
WRITERS = SENDERS | {"identify", "receive"}


def _node_of(argv: list[str]) -> Path | None:
    return Path(argv[argv.index("--node") + 1]) if "--node" in argv else None


def _applies(kind: str, argv: list[str]) -> bool:
    command = argv[0]
    if command == "identify" and argv[1:2] == ["explain"]:
        return False
    if kind.startswith("kill"):
        return command in WRITERS or command == "deliver"
    if kind == "missing trust":
        return command in SENDERS or command == "receive"
    return command == "deliver"  # full inbox, duplicate


def _kill(monkeypatch: pytest.MonkeyPatch, point: str, argv: list[str]) -> None:
    def die(*_: object, **__: object) -> None:
        raise Killed(point)

    if argv[0] == "deliver":
        # Killed between the copy into the inbox and the move to outbox/sent/.
        real = os.replace

        def replace(source: object, target: object) -> None:
            if "sent" in Path(str(target)).parts:
                raise Killed(point)
            real(source, target)

        monkeypatch.setattr(os, "replace", replace)
    elif point == "before-write":
        monkeypatch.setattr(node_module.Node, "_write_part", die)
    elif point == "before-commit":
        monkeypatch.setattr(node_module.Node, "_commit", die)
        monkeypatch.setattr(node_module.Node, "_commit_part", die)
    else:
        monkeypatch.setattr(node_module.Node, "_finish", die)
        real_set_aside = node_module.Node._set_aside

        def set_aside(self: Node, path: Path, outcome: str, **kwargs: object) -> None:
            if kwargs.get("done"):
                raise Killed(point)
            real_set_aside(self, path, outcome, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(node_module.Node, "_set_aside", set_aside)


def _forget_trusts(directory: Path) -> list[str]:
    """The node's trusted parties, removed: a node set up without them."""
    with Node.open(directory, os.environ["EVALINK_PASSPHRASE"]) as node:
        parties = [r[0] for r in node._con.execute("SELECT party FROM catalog.trusted").fetchall()]
        node._con.execute("DELETE FROM catalog.trusted")
    return parties


def _completed(result, argv: list[str]) -> bool:
    """Done: exit 0, or a refusal saying the work was done already (a kill after the
    commit completed it), or receive refusing only packages it already holds."""
    if result.exit_code == 0:
        return True
    if result.exit_code != 2:
        return False
    if argv[0] in SENDERS:
        return "already" in result.output
    if argv[0] == "receive":
        refused = [line for line in result.output.splitlines() if line.startswith("refused")]
        return bool(refused) and all(
            "replay refused" in line or "duplicate refused" in line for line in refused
        )
    return False


def _run(argv: list[str], kind: str | None) -> None:
    if kind is None:
        result = run_command(argv)
        assert _completed(result, argv), f"`evalink {' '.join(argv)}`:\n{result.output}"
        return
    node = _node_of(argv)
    forgotten: list[str] = []
    if kind == "missing trust":
        assert node is not None
        forgotten = _forget_trusts(node)
    with pytest.MonkeyPatch.context() as monkeypatch:
        if kind.startswith("kill"):
            _kill(monkeypatch, kind.split(" ", 1)[1], argv)
        elif kind == "full inbox":
            def full(*_: object, **__: object) -> None:
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(shutil, "copyfile", full)
        try:
            failed = run_command(argv)
        except Killed:
            failed = None
    if failed is not None and kind in ("missing trust", "full inbox"):
        # The failure must be reported as one line, exit 2 — never a traceback.
        assert failed.exit_code == 2 or _completed(failed, argv), failed.output
    for party in forgotten:  # the user trusts what the error line named, then retries
        trusted = run_command(["node", "trust", "--node", str(node),
                               str(Path("nodes") / "public-keys" / f"{party}.json")])
        assert trusted.exit_code == 0, trusted.output
    if kind == "duplicate":
        target = Path(argv[argv.index("--to") + 1]) / "inbox"
        for package in target.glob("*.evpkg"):
            shutil.copyfile(package, target / f"again-{package.name}")
    retry = run_command(argv)
    assert _completed(retry, argv), f"retry of `evalink {' '.join(argv)}`:\n{retry.output}"


def _held(directory: Path) -> dict[str, list[tuple[str, int]]]:
    with Node.open(directory, os.environ["EVALINK_PASSPHRASE"]) as node:
        return {name: [(p.part_id, p.rows) for p in parts] for name, parts in node.datasets().items()}


def _read(directory: Path, dataset: str) -> pl.DataFrame:
    with Node.open(directory, os.environ["EVALINK_PASSPHRASE"]) as node:
        return pl.from_arrow(node.read_dataset(dataset, purpose="test"))


def _sent(directory: Path, dataset: str) -> list[int]:
    entries = [json.loads(line) for line in (directory / "audit" / "log.jsonl").open()]
    return [e["details"]["rows"] for e in entries
            if e["action"] == "send" and e["details"]["dataset"] == dataset]


def _assert_flow_whole(nodes: Path, reference: Path) -> None:
    """Every dataset held once, every row where it should be, nothing left in transit."""
    references = set(_read(nodes / "council", "reference_numbers")["reference_number"])
    assert len(references) == _read(reference / "council", "reference_numbers").height
    for party in ("council", "linker", "dwp", "moj", "dfe", "research"):
        held = _held(nodes / party)
        # One part per dataset, but for the linker's record of dispatches: one per department.
        once = {name: parts for name, parts in held.items() if name != "dispatches"}
        assert all(len(parts) == 1 for parts in once.values()), (party, held)
        leftovers = [p for folder in ("inbox", "outbox") for p in (nodes / party / folder).glob("*.evpkg")]
        assert leftovers == [], (party, leftovers)
        pending = nodes / party / "outbox" / ".pending"
        assert not pending.exists() or list(pending.iterdir()) == []
        assert run_command(["audit", "verify", "--node", str(nodes / party)]).exit_code == 0
    for party, dataset in (("linker", "identifiers"), ("linker", "attributes"),
                           ("dwp", "identifiers"), ("moj", "identifiers"), ("dfe", "identifiers")):
        assert set(_read(nodes / party, dataset)["reference_number"]) == references, (party, dataset)
    dispatches = _read(nodes / "linker", "dispatches")["department"].sort().to_list()
    assert dispatches == ["dfe", "dwp", "moj"]
    for department in ("dwp", "moj", "dfe"):
        (rows,) = _sent(nodes / department, f"{department}_outcomes")  # returned once
        assert _read(nodes / "linker", f"{department}_outcomes").height == rows
    (rows,) = _sent(nodes / "linker", "research_dataset")
    research = _read(nodes / "research", "research_dataset")
    assert research.height == rows and research["pseudonym"].n_unique() == len(references)


def _interrupted_flow(readme_run: ReadmeRun, failures: dict[int, str]) -> None:
    commands = readme_run.block.commands
    start = min(failures)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shutil.copytree(readme_run.snapshots[start - 1], work / "nodes", symlinks=True)
        (work / "world").symlink_to(readme_run.work / "world")
        (work / "examples").symlink_to(readme_run.work / "examples")
        # The README's passphrase, with key derivation made cheap as in every test.
        with environment({**CHEAP, **readme_run.block.environment}), working_directory(work):
            for index in range(start, len(commands)):
                kind = failures.get(index)
                _run(commands[index], kind if kind and _applies(kind, commands[index]) else None)
            _assert_flow_whole(work / "nodes", readme_run.snapshots[-1])


def test_a_share_killed_after_its_commit_completes_once(readme_run: ReadmeRun):
    # The kill leaves the share committed but its packages not yet in the outbox; the
    # retry finishes them and says the cohort was already shared.
    _interrupted_flow(readme_run, {readme_run.index("share"): "kill after-commit"})


# Each example replays the README's flow from its first failure (about 30 s): three a
# run keep the suite inside CI's 15 minutes; a failure found is saved by Hypothesis and
# replayed first on the next run.
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_an_interrupted_flow_completes_with_no_row_twice_and_none_lost(
    readme_run: ReadmeRun, data: st.DataObject
):
    first, last = readme_run.index("identify"), readme_run.index("export")
    failures = data.draw(
        st.dictionaries(st.integers(first, last - 1), st.sampled_from(KINDS),
                        min_size=1, max_size=3),
        label="failures",
    )
    _interrupted_flow(readme_run, failures)
