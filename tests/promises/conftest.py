"""A small flow run on the programme's timeline once per session, copied at the days
the promise tests stand on: while everyone holds the data, after the departments'
month, and at the end. A test copies the workdir it needs, breaks one promise on
purpose and checks that the report says so. The demo's own run (`demo`) is separate:
its tests read what it printed."""

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
from evalink.demo import DELIVERY, DEPARTMENTS, PARTIES, DemoRun, Programme, run_demo
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
class Timeline:
    """The flow's nodes on the days the tests stand on, each copied once per session:
    built as far as the tests of a run need and no further (a module run alone pays
    only for its own days)."""

    root: Path
    programme: Programme
    copies: dict[str, Path]
    last_day: date | None = None

    @property
    def work(self) -> Path:
        return self.programme.workdir

    def held(self) -> Path:
        """Research has received its dataset; nothing is due yet."""
        if "held" not in self.copies:
            with environment(CHEAP):
                p = self.programme
                p.synth(families=200, population=5000)
                p.nodes()
                p.identify()
                p.share()
                p.dispatch()
                for department in DEPARTMENTS:
                    p.match(department)
                p.assemble()
            self.copies["held"] = _copy(self.work, self.root / "held")
        return self.copies["held"]

    def released(self) -> Path:
        """As `held`, and then research published through the airlock: the public node
        holds the release (a copy of its own, so `month` and `end` are not moved)."""
        if "released" not in self.copies:
            work = _copy(self.held(), self.root / "released-work")
            with environment(CHEAP):
                Programme(EXAMPLE_POLICY, work, PASSPHRASE, seed=5).release()
            self.copies["released"] = _copy(work, self.root / "released")
        return self.copies["released"]

    def month(self) -> Path:
        """Every department has destroyed what it held, on its day."""
        if "month" not in self.copies:
            self.held()
            with environment(CHEAP):
                for department in DEPARTMENTS:
                    self.programme.destroy_when_due(department)
            self.copies["month"] = _copy(self.work, self.root / "month")
        return self.copies["month"]

    def end(self) -> Path:
        """The linker and research on their rule's date, the council on each family's."""
        if "end" not in self.copies:
            self.month()
            p = self.programme
            with environment(CHEAP):
                p.destroy_when_due("linker", p.ons_date)
                p.destroy_when_due("research", p.ons_date)
                last, _ = p.destroy_when_due("council")
                self.last_day = max(last, p.ons_date)
                for party in PARTIES:
                    p.destroy_when_due(party, self.last_day)
            self.copies["end"] = _copy(self.work, self.root / "end")
        return self.copies["end"]


@pytest.fixture(scope="session")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    root = tmp_path_factory.mktemp("promises")
    programme = Programme(EXAMPLE_POLICY, root / "work", PASSPHRASE, seed=5)
    return Timeline(root, programme, {})


@dataclass
class DemoOutput:
    run: DemoRun
    printed: str


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoOutput:
    """`evalink demo`'s whole run on a small world, and what it printed."""
    printed = io.StringIO()
    with environment(CHEAP):
        run = run_demo(
            EXAMPLE_POLICY,
            tmp_path_factory.mktemp("demo"),
            Console(file=printed, width=200),
            families=200,
            population=5000,
            seed=5,
        )
    return DemoOutput(run, printed.getvalue())


def _copy(work: Path, to: Path) -> Path:
    shutil.copytree(work, to, symlinks=True, ignore=shutil.ignore_patterns("world"))
    return to


@contextmanager
def _flow(source: Path, tmp_path: Path, day: date, timeline: Timeline) -> Iterator[Flow]:
    copy = tmp_path / "workdir"
    shutil.copytree(source, copy, symlinks=True)
    yield Flow(copy, day, timeline.programme)


@pytest.fixture
def held(timeline: Timeline, tmp_path: Path, env: None) -> Iterator[Flow]:
    """The day research received its dataset."""
    with _flow(timeline.held(), tmp_path, timeline.programme.research_on, timeline) as flow:
        yield flow


@pytest.fixture
def released(timeline: Timeline, tmp_path: Path, env: None) -> Iterator[Flow]:
    """The day the public node received research's release (two weeks after research
    received its dataset)."""
    day = timeline.programme.released_on + DELIVERY
    with _flow(timeline.released(), tmp_path, day, timeline) as flow:
        yield flow


@pytest.fixture
def after_a_month(timeline: Timeline, tmp_path: Path, env: None) -> Iterator[Flow]:
    """The day after the departments' month ended, each having destroyed what it held
    on its day."""
    day = timeline.programme.received_on + timedelta(days=31)
    with _flow(timeline.month(), tmp_path, day, timeline) as flow:
        yield flow


@pytest.fixture
def at_the_end(timeline: Timeline, tmp_path: Path, env: None) -> Iterator[Flow]:
    """The last day anything fell due, everything destroyed on its own day."""
    source = timeline.end()
    assert timeline.last_day is not None
    with _flow(source, tmp_path, timeline.last_day, timeline) as flow:
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
