"""A small flow run on the programme's timeline once per session, copied at the days
the promise tests stand on: while everyone holds the data, after the departments'
month, and at the end. A test copies the workdir it needs, breaks one promise on
purpose and checks that the report says so."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from evalink.clock import clock_on
from evalink.demo import DemoRun, Programme, Stage, run_demo
from evalink.node import Node
from evalink.promises import Cohort, PromiseCheck, check_promises, read_cohort
from tests.conftest import EXAMPLE_POLICY
from tests.flow.conftest import CHEAP, PASSPHRASE, environment


@dataclass
class Flow:
    """A copy of the flow's workdir on one day of its timeline."""

    workdir: Path
    day: date
    programme: Programme

    @property
    def received_on(self) -> date:
        return self.programme.received_on

    def node(self, party: str, *, on: date | None = None, retention: bool = False) -> Node:
        """A party's node opened on `on` (default: the flow's day); retention does not
        run unless asked, so a test changes only what it means to."""
        return Node.open(
            self.workdir / party, PASSPHRASE, clock=clock_on(on or self.day), retention=retention
        )

    def check(
        self, on: date | None = None, cohort: Cohort | None = None
    ) -> dict[str, PromiseCheck]:
        checks = check_promises(
            self.workdir, PASSPHRASE, today=on or self.day, cohort=cohort or self.programme.cohort
        )
        return {c.promise: c for c in checks}


@dataclass
class Snapshots:
    held: Path  # research has received its dataset; nothing is due yet
    month: Path  # every department has destroyed what it held, on its day
    end: Path  # the linker, research and council have destroyed theirs too
    run: DemoRun
    output: str  # what the demo printed

    @property
    def programme(self) -> Programme:
        assert self.run.programme is not None
        return self.run.programme

    @property
    def last_day(self) -> date:
        return self.run.stages[-1].on


# The demo's stages after which the tests copy the nodes.
COPIED_AFTER = {"assemble": "held", "dfe-destroys": "month", "checks-at-the-end": "end"}


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Snapshots:
    """`evalink demo`'s run on a small world, with copies of its nodes on three days."""
    root = tmp_path_factory.mktemp("promises")
    work = root / "work"
    work.mkdir()

    def copy(stage: Stage) -> None:
        if stage.step in COPIED_AFTER:
            _copy(work, root / COPIED_AFTER[stage.step])

    printed = io.StringIO()
    with environment(CHEAP):
        run = run_demo(
            EXAMPLE_POLICY,
            work,
            Console(file=printed, width=200),
            families=150,
            population=4000,
            seed=5,
            after=copy,
        )
    return Snapshots(root / "held", root / "month", root / "end", run, printed.getvalue())


def _copy(work: Path, to: Path) -> Path:
    shutil.copytree(work, to, symlinks=True, ignore=shutil.ignore_patterns("world"))
    return to


@contextmanager
def _flow(source: Path, tmp_path: Path, day: date, programme: Programme) -> Iterator[Flow]:
    copy = tmp_path / "workdir"
    shutil.copytree(source, copy, symlinks=True)
    yield Flow(copy, day, programme)


@pytest.fixture
def held(snapshots: Snapshots, tmp_path: Path, env: None) -> Iterator[Flow]:
    """The day research received its dataset."""
    with _flow(
        snapshots.held, tmp_path, snapshots.programme.research_on, snapshots.programme
    ) as flow:
        yield flow


@pytest.fixture
def after_a_month(snapshots: Snapshots, tmp_path: Path, env: None) -> Iterator[Flow]:
    """The day after the last department's month ended, every department having
    destroyed what it held on its day."""
    day = snapshots.programme.received_on + timedelta(days=31)
    with _flow(snapshots.month, tmp_path, day, snapshots.programme) as flow:
        yield flow


@pytest.fixture
def at_the_end(snapshots: Snapshots, tmp_path: Path, env: None) -> Iterator[Flow]:
    """The last day anything fell due, everything destroyed on its own day."""
    with _flow(snapshots.end, tmp_path, snapshots.last_day, snapshots.programme) as flow:
        yield flow


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CHEAP.items():
        monkeypatch.setenv(key, value)


def cohort_member(flow: Flow) -> dict[str, str]:
    """One shared person's identifiers and reference number, from the council's vault
    (or the cohort read after the share, once the council destroyed its own)."""
    cohort = flow.programme.cohort
    if cohort is None:
        with flow.node("council") as council:
            cohort = read_cohort(council, council.policy)
    assert cohort is not None
    values = cohort.shared()
    person = values.filter(pl.col("field") == "nino")["person_key"][0]
    row = values.filter(pl.col("person_key") == person)
    return dict(zip(row["field"], row["raw"], strict=True))
