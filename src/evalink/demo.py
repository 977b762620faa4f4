"""The demonstration `make demo` runs: the whole flow of the notice on a synthetic world,
on the programme's own timeline.

    2015-03-31  identify (council), the day before attachments begin
    2020-06-01  share (council → linker) and dispatch (linker → departments), two months
                after the outcome window ends (examples/outcomes-synth.yaml)
    +1 day      departments receive; +3 days: they match and return outcomes
    +7 days     assemble (linker → research); research receives
    +7 days     research evaluates under the registered analysis plan
                (examples/evaluation-plan.yaml) and prints the 1–24-month effects
    +14 days    research tabulates, two reviewers approve, the airlock publishes
                (research → public); the public node checks and keeps what it got
    receipt + 30 days      each department destroys everything of the research
    the rule's date        the linker and research destroy everything (2022-12-31)
    7 years after closure  the council destroys each family's records on its own day

Every node is opened on the day its stage happens, and retention runs on every day
something it holds falls due — as for a node opened daily — so nothing is destroyed a
day late because the demo skipped that day. Then every promise is checked by
`evalink.promises`: once while research holds its dataset (what researchers can see)
and once at the end (what was destroyed), and the two combined, one line a promise.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from evalink.clock import wall_clock
from evalink.errors import InputError
from evalink.examples import EXAMPLES
from evalink.files import write_text_atomic
from evalink.policy import Policy, load_policy, render_notice, render_ropa
from evalink.promises import (
    BROKEN,
    KEPT,
    NOT_KEPT,
    Cohort,
    PromiseCheck,
    check_promises,
    combine,
    report_line,
)

if TYPE_CHECKING:
    from evalink.node import Node

PARTIES = ("council", "linker", "dwp", "moj", "dfe", "research", "public")
DEPARTMENTS = ("dwp", "moj", "dfe")
DEMO_PASSPHRASE = "evalink demo passphrase - not for real data"
AS_OF = date(2015, 3, 31)  # the day before the synthetic programme starts attaching families
# The departments' records of the outcome window are complete a while after it ends.
SHARE_AFTER_WINDOW = timedelta(days=62)
DELIVERY = timedelta(days=1)  # a package reaches the next node the day after it is sent
MATCHING = timedelta(days=3)  # a department matches a few days after it receives
ASSEMBLY = timedelta(days=7)  # the linker assembles once every department has answered
EVALUATION = timedelta(days=7)  # researchers run the registered analysis plan
ANALYSIS = timedelta(days=14)  # researchers tabulate, then ask the airlock to publish
# The demo's researcher and output checkers. Two reviewers, neither the author: the
# airlock and the public node refuse anything less.
DEMO_AUTHOR = "demo-researcher"
DEMO_REVIEWERS = ("demo-reviewer-one", "demo-reviewer-two")


@dataclass
class Stage:
    step: str  # what `run_demo(after=...)` is told: "assemble", "dwp-destroys", ...
    name: str
    on: date
    rows: int
    seconds: float
    note: str = ""


DEMO_DATASET = "research_dataset"
# A withheld value (suppressed by de-identification) tabulated as a category of its own.
WITHHELD = "withheld"
SHOWN_CELLS = 6  # suppressed cells printed a table; OUT.checks.csv has them all
# The window the demo prints (the tables hold every window of the plan).
SUMMARY_WINDOW = "1-24"
# Said with the table, so no one reads the estimates as more than they are, until the
# validity benchmark meets its targets (issue 15).
EVALUATION_CAVEAT = (
    "validity: not yet established for every outcome — how far the estimates fall from "
    "effects planted in synthetic worlds is measured by benchmarks/evaluate_validity.py "
    "(BENCHMARKS.md, 'Evaluation')"
)


@dataclass(frozen=True)
class DemoTable:
    name: str
    file: Path
    checks: Any  # the table's OUT.checks.csv as a frame: every cell, its status and rules
    index: tuple[str, ...]
    table_id: str

    def suppressed(self) -> list[str]:
        """Each suppressed cell as 'row / column (rules)': labels and rule names only."""
        cells = self.checks[self.checks["status"] != "published"]
        return [
            " / ".join(str(row[c]) for c in (*self.index, "column")) + f" ({row['rules']})"
            for _, row in cells.rename(columns={self._column(): "column"}).iterrows()
        ]

    def _column(self) -> str:
        known = {*self.index, "count", "value", "status", "rules"}
        return next(c for c in self.checks.columns if c not in known)


@dataclass(frozen=True)
class Release:
    request: str
    tables: list[DemoTable]
    report: Path
    files: dict[str, str]  # file → SHA-256, as the public node holds it
    # Tables made but not requested: each differs from one requested by a small group.
    held_back: list[str] = field(default_factory=list)


def demo_tables(data: Any) -> Iterator[tuple[str, Any, Any, str, str]]:
    """The demo researcher's tables of the research dataset: (name, TableSpec, rows,
    title, description). A value de-identification withheld is a category of its own."""
    from evalink.disclosure import TableSpec

    data = data.copy()
    # A person no department found is one row with no source: "none".
    data["source"] = data["source"].fillna("none")
    data.loc[data["source"] == "none", "outcome"] = "no record"
    for column in ("family_size", "outcome_start_month"):
        data[column] = data[column].fillna(WITHHELD)
    # A department's row with no outcome: a person it found, with nothing in the window.
    data["outcome"] = data["outcome"].fillna("nothing in the window")
    # Persons, not families: de-identification withholds the link between the members of
    # a family that it would single out, so not every row carries a family pseudonym.
    yield (
        "persons_by_family_size",
        TableSpec(index=("family_size",), columns="cohort", unit="pseudonym"),
        data,
        "Persons by the size of their family",
        "Members of families worked with (attached) and of families waiting, by the "
        "number of members of the family.",
    )
    # Over every person, those with no record included: a table of only the persons
    # with a record would differ from the one above by the few without, and the
    # differencing check would (rightly) refuse it.
    yield (
        "persons_by_outcome",
        TableSpec(index=("source", "outcome"), columns="cohort", unit="pseudonym"),
        data,
        "Persons with each kind of record",
        "Persons with at least one record of each kind from each department, at any time.",
    )
    windows = ("1..6", "7..12", "13..18", "19..24")
    attendance = data[(data["outcome"] == "attendance")
                      & data["outcome_start_month"].isin(windows)]
    yield (
        "sessions_missed",
        TableSpec(index=("outcome_start_month",), columns="cohort", values="outcome_value",
                  aggfunc="sum", unit="pseudonym"),
        attendance,
        "School sessions missed",
        "School sessions missed in the two years after the index date, by months since it.",
    )


@dataclass
class DemoRun:
    stages: list[Stage] = field(default_factory=list)
    checks: list[PromiseCheck] = field(default_factory=list)  # one line per promise
    checkpoints: dict[date, list[PromiseCheck]] = field(default_factory=dict)
    documents: dict[str, Path] = field(default_factory=dict)
    programme: Programme | None = None
    evaluation: Any = None  # evalink.evaluate.Evaluation, once research has evaluated
    release: Release | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def publish_documents(policy: Policy, out: Path) -> dict[str, Path]:
    """The notice and ROPA, rendered from the policy the run enforces."""
    documents = {
        "notice.md": render_notice(policy, "md"),
        "notice.html": render_notice(policy, "html"),
        "ropa.md": render_ropa(policy, "md"),
        "ropa.csv": render_ropa(policy, "csv"),
    }
    written = {}
    for name, text in documents.items():
        written[name] = out / name
        write_text_atomic(written[name], text)
    return written


class Calendar:
    """The day a node's session acts on, moved on by the demo within the session, so
    retention runs on each day something falls due without unlocking the key ring once
    a day."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> datetime:
        return datetime.combine(self.day, wall_clock().timetz())


@dataclass
class Destroyed:
    """What retention did at one node between two of its sessions' days."""

    days: list[date] = field(default_factory=list)
    certificates: int = 0
    rows: int = 0
    package_copies: int = 0

    def note(self) -> str:
        if not self.days:
            return "nothing due"
        span = str(self.days[0]) if len(self.days) == 1 else f"{self.days[0]} to {self.days[-1]}"
        return (
            f"{self.rows:,} rows destroyed on {len(self.days)} day(s), {span}; "
            f"{self.certificates:,} certificates, {self.package_copies} package copies deleted"
        )


class Timeline:
    """The nodes of the demo, each opened on the day of a stage after catching up on the
    days in between: on each day a part or package copy fell due, retention ran."""

    def __init__(self, workdir: Path, passphrase: str, start: date) -> None:
        self.workdir = workdir
        self.passphrase = passphrase
        self.visited = dict.fromkeys(PARTIES, start)

    @contextmanager
    def open(self, party: str, on: date | None) -> Iterator[tuple[Node, Destroyed]]:
        """The node on day `on`, everything due by then destroyed on its own day. With
        `on` None: on the last day anything it holds falls due."""
        from evalink.node import Node

        calendar = Calendar(self.visited[party])
        with Node.open(
            self.workdir / party, self.passphrase, clock=calendar, retention=False
        ) as node:
            destroyed = catch_up(node, calendar, on)
            calendar.day = max(calendar.day, on or calendar.day)
            self.visited[party] = calendar.day
            yield node, destroyed


def catch_up(node: Node, calendar: Calendar, until: date | None) -> Destroyed:
    """Run retention on each day, up to `until` (None: no limit), on which something the
    node holds falls due. A part of the council's holds families due on many days: each
    run leaves the rest in a new part dated by the next of them."""
    from evalink.retention import run as run_retention

    destroyed = Destroyed()
    while True:
        due = sorted(d for d in _due_dates(node) if until is None or d <= until)
        if not due:
            return destroyed
        calendar.day = max(calendar.day, due[0])
        result = run_retention(node)
        if not result.certificates and not result.package_copies:
            return destroyed  # nothing it can destroy: the promise checks say what is left
        destroyed.days.append(calendar.day)
        destroyed.certificates += len(result.certificates)
        destroyed.rows += result.rows_destroyed
        destroyed.package_copies += len(result.package_copies)


def _due_dates(node: Node) -> list[date]:
    parts = [p.destroy_by for p in node.parts() if p.destroy_by is not None]
    copies = [c["destroy_by"] for c in node.package_copies() if c["destroy_by"] is not None]
    return parts + copies


def share_date(outcomes_file: Path) -> date:
    """When the council shares: after the outcome window the departments report on."""
    from evalink.match.outcomes import OutcomesFile
    from evalink.yamlfile import load_model

    return load_model(outcomes_file, OutcomesFile, "outcomes").window.to + SHARE_AFTER_WINDOW


def fixed_destroy_by(policy: Policy, party: str) -> date:
    """The fixed date the policy's retention rules set for everything `party` holds."""
    dates = [
        r.destroy_by
        for r in policy.document.retention
        if party in r.parties and r.after is None and r.destroy_by is not None
    ]
    if not dates:
        raise ValueError(f"policy '{policy.id}' sets no fixed destroy-by date for '{party}'")
    return min(dates)


@dataclass
class Programme:
    """The programme's steps on its timeline, each on its day, for the demo to run in
    order and for tests to stop between: the nodes of `workdir`, the synthetic world in
    `workdir/world`."""

    policy_file: Path
    workdir: Path
    passphrase: str
    seed: int = 1
    examples: Path = EXAMPLES
    cohort: Cohort | None = None  # read after the share, for the last promise check
    # Planted effects other than the defaults (`evalink synth --effect`), for benchmarks
    # that check the evaluation finds what was planted.
    effects: dict[str, Any] | None = None
    effects_file: Path | None = None

    def __post_init__(self) -> None:
        self.policy = load_policy(self.policy_file)
        self.timeline = Timeline(self.workdir, self.passphrase, AS_OF)
        self.shared_on = share_date(self.examples / "outcomes-synth.yaml")
        self.received_on = self.shared_on + DELIVERY
        self.matched_on = self.received_on + MATCHING
        self.assembled_on = self.matched_on + ASSEMBLY
        self.research_on = self.assembled_on + DELIVERY
        self.evaluated_on = self.research_on + EVALUATION
        self.released_on = self.research_on + ANALYSIS
        self.ons_date = fixed_destroy_by(self.policy, "linker")

    def synth(self, families: int, population: int) -> int:
        from evalink.synth import generate

        summary = generate(
            self.workdir / "world",
            families=families,
            population=population,
            seed=self.seed,
            effects=self.effects,
            effects_file=self.effects_file,
            force=True,
        )
        return sum(summary.rows.values())

    def nodes(self) -> None:
        from evalink.clock import clock_on
        from evalink.node import init_node

        for party in PARTIES:
            _remove_node(self.workdir / party)
            init_node(
                self.workdir / party,
                party=party,
                policy_path=self.policy_file,
                passphrase=self.passphrase,
                clock=clock_on(AS_OF),
            )
        keys = self.workdir / "public-keys"
        keys.mkdir(parents=True, exist_ok=True)
        for party in PARTIES:
            with self.timeline.open(party, AS_OF) as (node, _):
                node.export_public(keys / f"{party}.json")
        for party in PARTIES:
            with self.timeline.open(party, AS_OF) as (node, _):
                for other in PARTIES:
                    if other != party:
                        node.trust(keys / f"{other}.json", replace=True)

    def identify(self) -> dict[str, int]:
        from evalink.identify import identify, store_in_node

        result = identify(
            self.workdir / "world" / "council" / "sources",
            self.examples / "mapping-synth.yaml",
            self.examples / "rules-troubled-families-2015.yaml",
            AS_OF,
            policy=self.policy,
            temp_directory=self.workdir / "council" / "tmp",  # spill stays in the node
        )
        with self.timeline.open("council", AS_OF) as (node, _):
            store_in_node(node, result, AS_OF)
        return result.summary()

    def share(self) -> Any:
        from evalink.node import deliver
        from evalink.promises import read_cohort
        from evalink.share import share

        with self.timeline.open("council", self.shared_on) as (node, _):
            shared = share(node)
            # Kept in memory for the last promise check: by then the council has
            # destroyed them too, and the check must know what to look for.
            self.cohort = read_cohort(node, node.policy)
        deliver(self.workdir / "council", self.workdir / "linker")
        with self.timeline.open("linker", self.shared_on) as (node, _):
            node.receive()
        return shared

    def dispatch(self) -> list[Any]:
        from evalink.node import deliver
        from evalink.share import dispatch

        with self.timeline.open("linker", self.shared_on) as (node, _):
            sent = dispatch(node, list(DEPARTMENTS))
        for department in DEPARTMENTS:
            deliver(self.workdir / "linker", self.workdir / department)
            with self.timeline.open(department, self.received_on) as (node, _):
                node.receive()
        return sent

    def match(self, department: str) -> Any:
        from evalink.match import match
        from evalink.node import deliver

        with self.timeline.open(department, self.matched_on) as (node, _):
            matched = match(
                node,
                self.workdir / "world" / "departments" / department,
                self.examples / "outcomes-synth.yaml",
            )
        deliver(self.workdir / department, self.workdir / "linker")
        return matched

    def assemble(self) -> Any:
        from evalink.assemble import assemble
        from evalink.node import deliver

        with self.timeline.open("linker", self.matched_on + DELIVERY) as (node, _):
            node.receive()
        with self.timeline.open("linker", self.assembled_on) as (node, _):
            assembled = assemble(node, f"demo-{self.seed}")
        deliver(self.workdir / "linker", self.workdir / "research")
        with self.timeline.open("research", self.research_on) as (node, _):
            node.receive()
        return assembled

    def evaluate(self) -> Any:
        """Research runs the example analysis plan on the dataset it holds (registered
        the first time) and writes the tables and report to `workdir/evaluation`."""
        from evalink.evaluate import evaluate, load_plan, write_outputs

        registered = load_plan(self.examples / "evaluation-plan.yaml")
        with self.timeline.open("research", self.evaluated_on) as (node, _):
            result = evaluate(node, registered)
        write_outputs(result, self.workdir / "evaluation")
        return result

    def release(self) -> Release:
        """Research tabulates the dataset it holds (`evalink table` at the node), draws a
        report from those tables only, and asks the airlock to publish all of them; the
        two demo reviewers approve every file; the airlock seals them to the public
        node, which checks them again on receipt."""
        from evalink.disclosure import Thresholds, safe_table
        from evalink.disclosure.register import Register, prepare
        from evalink.node import deliver
        from evalink.release import (
            Decision,
            approve,
            load_reviewer_key,
            new_request,
            new_reviewer_key,
            publish,
            review,
            submit,
            submit_review,
            trust_reviewer,
        )
        from evalink.release.report import ReportTable, render_report

        out = self.workdir / "outputs"
        keys = self.workdir / "reviewers"
        if keys.exists():
            shutil.rmtree(keys)
        public_keys = [
            new_reviewer_key(name, keys, self.passphrase, created=str(self.released_on))[1]
            for name in DEMO_REVIEWERS
        ]
        for party in ("research", "public"):
            with self.timeline.open(party, self.released_on) as (node, _):
                for key_file in public_keys:
                    trust_reviewer(node, key_file, replace=True)
        with self.timeline.open("research", self.released_on) as (node, _):
            data = node.read_dataset(DEMO_DATASET, purpose="evaluation").to_pandas()
            thresholds = Thresholds.for_party(node.policy, "public")
            tables, shown, held_back = [], [], []
            for name, spec, rows, title, description in demo_tables(data):
                safe = safe_table(rows, thresholds, spec, source=f"dataset '{DEMO_DATASET}'")
                prepared = prepare(
                    safe, out / f"{name}.csv", name=name, node=node, dataset=DEMO_DATASET
                )
                # As a researcher would: a table whose population differs from one already
                # chosen by a small group is not requested (the airlock would refuse both).
                if Register(node).differencing_of(
                    prepared.table_id, against=[t.table_id for t in tables]
                ):
                    held_back.append(name)
                    continue
                tables.append(
                    DemoTable(name, prepared.files[0], safe.checks, spec.index, prepared.table_id)
                )
                shown.append(ReportTable(prepared.files[0].name, title, description,
                                         spec.index, safe.published))
            report = render_report(shown, out / "report.html",
                                   title="Families worked with and families waiting")
            files = [t.file for t in tables] + [report]
            request = new_request(
                node, files, reason="Descriptive tables of the research dataset and a report",
                author=DEMO_AUTHOR, drawn_from={report.name: [t.file.name for t in tables]},
            )
            submit(node, request.id, author=DEMO_AUTHOR)
            for name in DEMO_REVIEWERS:
                key = load_reviewer_key(keys / f"{name}.key", self.passphrase)
                review(node, request.id, None, Decision.APPROVE,
                       "checked the cells against the rules; nothing disclosive", key)
                submit_review(node, request.id, key)
            # Both reviews in and every file approved by both: the request is approved.
            approve(node, request.id, key, "both reviews approve every file")
            published = publish(node, request.id)
        deliver(self.workdir / "research", self.workdir / "public")
        with self.timeline.open("public", self.released_on + DELIVERY) as (node, _):
            received = node.receive()
        refused = [r.message for r in received if not r.ok]
        if refused:
            raise InputError(f"the public node refused the release: {refused[0]}")
        return Release(request.id, tables, report, published.files, held_back)

    def destroy_when_due(self, party: str, on: date | None = None) -> tuple[date, Destroyed]:
        """Open `party` on `on` (None: the last day anything it holds falls due), after
        retention ran on each day something fell due; the day it stood on and what went."""
        with self.timeline.open(party, on) as (node, destroyed):
            return node.today(), destroyed

    def check(self, on: date) -> list[PromiseCheck]:
        return check_promises(self.workdir, self.passphrase, today=on, cohort=self.cohort)


def run_demo(
    policy_file: Path,
    workdir: Path,
    console: Console,
    *,
    families: int = 10_000,
    population: int = 120_000,
    seed: int = 1,
    examples: Path = EXAMPLES,
    after: Callable[[Stage], None] | None = None,
    until: date | None = None,
    effects: dict[str, Any] | None = None,
    effects_file: Path | None = None,
) -> DemoRun:
    """Run the programme on its timeline and check every promise. `until`: stop on that
    day (at the earliest the day research receives its dataset), nothing after it done.
    `after` is called with each stage once it is done (a test copies the nodes at the
    days it needs)."""
    from evalink.synth.effects import resolve

    resolve(effects, effects_file)  # a bad --effect or --effects stops here, before any node
    passphrase = os.environ.get("EVALINK_PASSPHRASE") or DEMO_PASSPHRASE
    if "EVALINK_PASSPHRASE" not in os.environ:
        console.print(
            f"passphrase: EVALINK_PASSPHRASE is not set, so the demo uses '{DEMO_PASSPHRASE}'"
        )
    programme = Programme(policy_file, workdir, passphrase, seed, examples,
                          effects=effects or None, effects_file=effects_file)
    if until is not None and until < programme.research_on:
        raise InputError(
            f"--until: {until} is before research receives its dataset "
            f"({programme.research_on}); the demo runs at least that far"
        )
    policy = programme.policy
    run = DemoRun(programme=programme)
    console.rule(f"evalink demo — policy '{policy.id}' version {policy.version}")
    run.documents = publish_documents(policy, workdir)

    @contextmanager
    def stage(step: str, name: str, on: date) -> Iterator[Callable[..., None]]:
        started = time.perf_counter()
        result: dict[str, Any] = {"rows": 0, "note": "", "on": on}

        def done(rows: int, note: str = "", on: date | None = None) -> None:
            result.update(rows=rows, note=note, on=on or result["on"])

        with console.status(name):
            yield done
        seconds = time.perf_counter() - started
        run.stages.append(Stage(step, name, result["on"], result["rows"], seconds, result["note"]))
        console.print(
            f"[green]✓[/green] {result['on']}  {name}: {result['rows']:,} rows in {seconds:.1f} s "
            f"{result['note']}",
            highlight=False,
        )
        if after is not None:
            after(run.stages[-1])

    with stage("synth", "synth: a council, three departments and the truth", AS_OF) as done:
        rows = programme.synth(families, population)
        done(rows, f"({families:,} families, population {population:,})")

    with stage("nodes", "nodes: one per party, keys exchanged", AS_OF) as done:
        programme.nodes()
        done(len(PARTIES))

    with stage("identify", "identify (council), before attachments begin", AS_OF) as done:
        s = programme.identify()
        done(
            s["records"],
            f"→ {s['eligible']:,} families eligible, {s['attached']:,} attached, "
            f"{s['eligible_waiting']:,} waiting",
        )

    with stage(
        "share", "share (council → linker), after the outcome window", programme.shared_on
    ) as done:
        shared = programme.share()
        done(
            shared.persons,
            f"persons in {shared.families:,} families, identifiers and attributes apart",
        )

    with stage("dispatch", "dispatch (linker → departments)", programme.shared_on) as done:
        sent = programme.dispatch()
        done(sum(s.rows for s in sent), f"received by the departments on {programme.received_on}")

    for department in DEPARTMENTS:
        with stage(
            f"{department}-matches", f"match ({department} → linker)", programme.matched_on
        ) as done:
            matched = programme.match(department)
            done(
                matched.outcome_rows,
                f"outcome rows; matched {matched.matched:,}/{matched.identifiers:,}, "
                f"estimated precision {matched.quality['estimated_precision']:.4f}",
            )

    with stage(
        "assemble", "assemble (linker → research), research receives", programme.assembled_on
    ) as done:
        assembled = programme.assemble()
        report = assembled.deidentified
        attacks = ", ".join(
            f"{r.intruder} {r.reidentified:,}/{r.units:,} {r.units_word}"
            + ("" if r.enforced else " (measured, not enforced)")
            for r in report.risks
        )
        done(
            assembled.rows,
            f"rows for {assembled.persons:,} pseudonymised persons; motivated intruders "
            f"re-identify {attacks}; smallest class {report.smallest_class} (k={report.k})",
        )

    held_on = programme.research_on
    if until is None or until >= programme.evaluated_on:
        held_on = programme.evaluated_on
        with stage(
            "evaluate", "evaluate (research), under the registered analysis plan",
            programme.evaluated_on,
        ) as done:
            run.evaluation = programme.evaluate()
            done(
                len(run.evaluation.effects),
                f"effect rows for {run.evaluation.persons:,} persons in "
                f"{run.evaluation.families:,} families; tables and report in "
                f"{workdir / 'evaluation'}",
            )
        from evalink.evaluate.summary import benefit_lines, effect_table

        console.print(effect_table(run.evaluation, window=SUMMARY_WINDOW))
        for line in benefit_lines(run.evaluation, window=SUMMARY_WINDOW):
            console.print("    " + line, highlight=False)
        console.print("    " + EVALUATION_CAVEAT, highlight=False)
    if until is None or until >= programme.released_on + DELIVERY:
        held_on = programme.released_on + DELIVERY
        with stage(
            "release", "release (research → public) through the airlock", programme.released_on
        ) as done:
            run.release = programme.release()
            suppressed = sum(len(t.suppressed()) for t in run.release.tables)
            done(
                len(run.release.files),
                f"files approved by {' and '.join(DEMO_REVIEWERS)} (neither the author, "
                f"{DEMO_AUTHOR}) and published; {suppressed} cells suppressed",
                held_on,
            )
        for table in run.release.tables:
            cells = table.suppressed()
            shown = "; ".join(cells[:SHOWN_CELLS])
            more = f"; and {len(cells) - SHOWN_CELLS} more" if len(cells) > SHOWN_CELLS else ""
            console.print(
                f"    {table.file.name}: "
                + (f"{len(cells)} suppressed: {shown}{more} (every cell with its rules: "
                   f"{table.file.with_suffix('.checks.csv').name})" if cells
                   else "no cell suppressed"),
                highlight=False, markup=False,
            )
        for name in run.release.held_back:
            console.print(
                f"    {name}.csv: not requested — its population differs from a requested "
                "table's by fewer people than the minimum count (differencing)",
                highlight=False, markup=False,
            )
    with stage(
        "checks-while-held", "promise checks while research holds its dataset", held_on
    ) as done:
        run.checkpoints[held_on] = programme.check(held_on)
        done(len(run.checkpoints[held_on]), _tally(run.checkpoints[held_on]))

    # The destruction stages, each up to `until` when given: (step, what, party, the
    # stage's first day, its last day — None: the last day anything it holds falls due).
    destruction = [
        *(
            (
                f"{d}-destroys",
                f"{d} destroys all it holds of the research, a month after receipt",
                d,
                programme.received_on,
                None,
            )
            for d in DEPARTMENTS
        ),
        *(
            (
                f"{p}-destroys",
                f"{p} destroys all it holds on the rule's date",
                p,
                programme.ons_date,
                programme.ons_date,
            )
            for p in ("linker", "research")
        ),
        (
            "council-destroys",
            "council destroys each family's records seven years after its case closed",
            "council",
            programme.ons_date,
            None,
        ),
    ]
    last = held_on
    for step, name, party, first, final in destruction:
        if until is not None and until < first:
            continue
        limit = final if until is None else min(final or until, until)
        with stage(step, name, first) as done:
            on, destroyed = programme.destroy_when_due(party, limit)
            on = max(on, first)  # nothing due: the stage's own first day
            done(destroyed.rows, destroyed.note(), on)
        last = max(last, on)
    last = until or last
    with stage("checks-at-the-end", "promise checks at the end", last) as done:
        for party in PARTIES:
            # Every node on the last day, so nothing due by then is left for want of a visit.
            programme.destroy_when_due(party, last)
        run.checkpoints[last] = programme.check(last)
        done(len(run.checkpoints[last]), _tally(run.checkpoints[last]))

    run.checks = combine(run.checkpoints.values())
    _print_summary(console, run)
    return run


def _tally(checks: list[PromiseCheck]) -> str:
    counts = {
        state: sum(1 for c in checks if c.state == state) for state in (KEPT, BROKEN, NOT_KEPT)
    }
    return (
        f"promises: {counts[KEPT]} kept, {counts[BROKEN]} broken, {counts[NOT_KEPT]} not kept, "
        f"{len(checks) - sum(counts.values())} not checked"
    )


def _remove_node(directory: Path) -> None:
    """Clear a node a previous demo made — and only that: a directory holding anything
    but an evalink node is left alone and `init` refuses it."""
    if (directory / "node.json").is_file():
        shutil.rmtree(directory)


def _print_summary(console: Console, run: DemoRun) -> None:
    stages = Table(title="stages")
    for column, justify in (
        ("day", "left"),
        ("stage", "left"),
        ("rows", "right"),
        ("seconds", "right"),
    ):
        stages.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in run.stages:
        stages.add_row(str(s.on), s.name, f"{s.rows:,}", f"{s.seconds:.1f}")
    console.print(stages)
    console.print("promises, as checked on the days shown:")
    for check in run.checks:
        console.print("  " + report_line(check, markup=True), highlight=False)
    for path in run.documents.values():
        console.print(f"wrote {path}", highlight=False)
