"""The demo's run on a small world, once per session (tests/flow/conftest.py), copied
at the days the promise tests stand on: while everyone holds the data, after the
release, after the departments' month, and at the end. A test copies the workdir it
needs, breaks one promise on purpose and checks that the report says so; the demo's
own tests read what it printed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from evalink.clock import clock_on
from evalink.demo import DELIVERY, DemoRun, Programme
from evalink.node import Node
from evalink.promises import Cohort, PromiseCheck, check_promises, read_cohort
from tests.conftest import CHEAP, PASSPHRASE, DemoTimeline


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
    """The flow's nodes on the days the tests stand on: copies of the demo's own run
    (tests/flow/conftest.py), taken after the stages that end on those days."""

    programme: Programme
    copies: dict[str, Path]
    last_day: date

    def held(self) -> Path:
        """Research has received its dataset; nothing is due yet."""
        return self.copies["held"]

    def released(self) -> Path:
        """Research evaluated and published through the airlock: the public node holds
        the release."""
        return self.copies["released"]

    def month(self) -> Path:
        """Every department has destroyed what it held, on its day."""
        return self.copies["month"]

    def end(self) -> Path:
        """The linker and research on their rule's date, the council on each family's,
        and every node on the last day anything fell due."""
        return self.copies["end"]


@pytest.fixture(scope="session")
def timeline(demo_timeline: DemoTimeline) -> Timeline:
    programme = demo_timeline.run.programme
    assert programme is not None
    return Timeline(programme, demo_timeline.copies, demo_timeline.last_day)


@dataclass
class DemoOutput:
    run: DemoRun
    printed: str


@pytest.fixture(scope="session")
def demo(demo_timeline: DemoTimeline) -> DemoOutput:
    """`evalink demo`'s whole run on a small world, and what it printed."""
    return DemoOutput(demo_timeline.run, demo_timeline.printed)


@contextmanager
def _flow(source: Path, tmp_path: Path, day: date, timeline: Timeline) -> Iterator[Flow]:
    copy = tmp_path / "workdir"
    shutil.copytree(source, copy, symlinks=True, ignore=shutil.ignore_patterns("world"))
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
