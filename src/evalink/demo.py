"""The demonstration `make demo` runs: the whole flow of the notice on a synthetic world.

synth → nodes for every party → identify (council) → share (council → linker) →
dispatch (linker → departments) → match (departments → linker) → assemble
(linker → research) → research receives; then each promise the run can check is
checked, with its evidence.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from evalink.examples import EXAMPLES
from evalink.files import write_text_atomic
from evalink.policy import (
    Policy,
    PolicyViolation,
    load_policy,
    render_notice,
    render_ropa,
)

PARTIES = ("council", "linker", "dwp", "moj", "dfe", "research")
DEPARTMENTS = ("dwp", "moj", "dfe")
DEMO_PASSPHRASE = "evalink demo passphrase - not for real data"
AS_OF = date(2015, 3, 31)  # the day before the synthetic programme starts attaching families


@dataclass
class Stage:
    name: str
    rows: int
    seconds: float
    note: str = ""


@dataclass
class PromiseCheck:
    promise: str
    ok: bool
    evidence: str


@dataclass
class DemoRun:
    stages: list[Stage] = field(default_factory=list)
    checks: list[PromiseCheck] = field(default_factory=list)
    documents: dict[str, Path] = field(default_factory=dict)

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


def run_demo(
    policy_file: Path,
    workdir: Path,
    console: Console,
    *,
    families: int = 1000,
    population: int = 30_000,
    seed: int = 1,
    examples: Path = EXAMPLES,
) -> DemoRun:
    from evalink.node import Node, deliver, init_node

    policy = load_policy(policy_file)
    passphrase = os.environ.get("EVALINK_PASSPHRASE") or DEMO_PASSPHRASE
    if "EVALINK_PASSPHRASE" not in os.environ:
        console.print(
            f"passphrase: EVALINK_PASSPHRASE is not set, so the demo uses '{DEMO_PASSPHRASE}'"
        )
    run = DemoRun()
    console.rule(f"evalink demo — policy '{policy.id}' version {policy.version}")
    run.documents = publish_documents(policy, workdir)

    @contextmanager
    def stage(name: str) -> Iterator[Callable[[int, str], None]]:
        started = time.perf_counter()
        result: dict[str, Any] = {"rows": 0, "note": ""}

        def done(rows: int, note: str = "") -> None:
            result.update(rows=rows, note=note)

        with console.status(name):
            yield done
        seconds = time.perf_counter() - started
        run.stages.append(Stage(name, result["rows"], seconds, result["note"]))
        console.print(
            f"[green]✓[/green] {name}: {result['rows']:,} rows in {seconds:.1f} s {result['note']}"
        )

    def open_node(party: str) -> Node:
        return Node.open(workdir / party, passphrase)

    with stage("synth: a council, three departments and the truth") as done:
        from evalink.synth import generate

        summary = generate(
            workdir / "world", families=families, population=population, seed=seed, force=True
        )
        done(sum(summary.rows.values()), f"({families:,} families, population {population:,})")

    with stage("nodes: one per party, keys exchanged") as done:
        for party in PARTIES:
            _remove_node(workdir / party)
            init_node(workdir / party, party=party, policy_path=policy_file, passphrase=passphrase)
        keys = workdir / "public-keys"
        keys.mkdir(parents=True, exist_ok=True)
        for party in PARTIES:
            with open_node(party) as node:
                node.export_public(keys / f"{party}.json")
        for party in PARTIES:
            with open_node(party) as node:
                for other in PARTIES:
                    if other != party:
                        node.trust(keys / f"{other}.json", replace=True)
        done(len(PARTIES))

    with stage("identify (council)") as done:
        from evalink.identify import identify, store_in_node

        result = identify(
            workdir / "world" / "council" / "sources",
            examples / "mapping-synth.yaml",
            examples / "rules-troubled-families-2015.yaml",
            AS_OF,
        )
        with open_node("council") as node:
            store_in_node(node, result, AS_OF)
        s = result.summary()
        done(
            s["records"],
            f"→ {s['eligible']:,} families eligible, {s['attached']:,} attached, {s['eligible_waiting']:,} waiting",
        )

    with stage("share (council → linker)") as done:
        from evalink.share import share

        with open_node("council") as node:
            shared = share(node)
        deliver(workdir / "council", workdir / "linker")
        with open_node("linker") as node:
            node.receive()
        done(
            shared.persons,
            f"persons in {shared.families:,} families, identifiers and attributes apart",
        )

    with stage("dispatch (linker → departments)") as done:
        from evalink.share import dispatch

        with open_node("linker") as node:
            sent = dispatch(node, list(DEPARTMENTS))
        for department in DEPARTMENTS:
            deliver(workdir / "linker", workdir / department)
            with open_node(department) as node:
                node.receive()
        done(sum(s.rows for s in sent))

    for department in DEPARTMENTS:
        with stage(f"match ({department} → linker)") as done:
            from evalink.match import match

            with open_node(department) as node:
                matched = match(
                    node,
                    workdir / "world" / "departments" / department,
                    examples / "outcomes-synth.yaml",
                )
            deliver(workdir / department, workdir / "linker")
            done(
                matched.outcome_rows,
                f"outcome rows; matched {matched.matched:,}/{matched.identifiers:,}, "
                f"estimated precision {matched.quality['estimated_precision']:.4f}",
            )
    with open_node("linker") as node:
        node.receive()

    with stage("assemble (linker → research)") as done:
        from evalink.assemble import assemble

        with open_node("linker") as node:
            assembled = assemble(node, f"demo-{seed}")
        deliver(workdir / "linker", workdir / "research")
        with open_node("research") as node:
            node.receive()
        done(
            assembled.rows,
            f"rows for {assembled.persons:,} pseudonymised persons; {assembled.anonymity.persons_suppressed:,} persons' quasi-identifiers blanked for k={assembled.anonymity.k}",
        )

    run.checks = check_promises(policy, workdir, passphrase, result.records)
    _print_summary(console, run)
    return run


def check_promises(
    policy: Policy, workdir: Path, passphrase: str, council_records: pl.DataFrame
) -> list[PromiseCheck]:
    """Each promise this run can show kept, with the evidence read from the nodes."""
    from evalink.assemble.anonymity import small_classes
    from evalink.assemble.research import QUASI_IDENTIFIERS
    from evalink.assemble.scan import identifier_values, scan
    from evalink.node import Node

    identifier_fields = sorted(policy.direct_identifier_fields())
    checks = []
    with Node.open(workdir / "linker", passphrase) as linker:
        in_store = {
            name: [f for f in parts[0].fields if f in identifier_fields]
            for name, parts in linker.datasets().items()
            if parts[0].location == "store"
        }
        vaulted = sorted(
            name for name, parts in linker.datasets().items() if parts[0].location == "vault"
        )
        linker_report = linker.verify_audit()
        linker_destroy = sorted(
            {
                str(p.destroy_by)
                for parts in linker.datasets().values()
                for p in parts
                if p.destroy_by
            }
        )
    store_columns = sum(len(v) for v in in_store.values())
    with Node.open(workdir / "research", passphrase) as research:
        dataset = pl.from_arrow(research.read_dataset("research_dataset", purpose="demo check"))
        research_report = research.verify_audit()
    research_columns = sorted(set(dataset.columns) & set(identifier_fields))
    hits = scan(dataset, identifier_values(council_records, identifier_fields))
    checks.append(
        PromiseCheck(
            "identifiers-kept-separately",
            store_columns == 0 and research_columns == [] and "identifiers" in vaulted,
            f"{store_columns} identifier columns in the linker's main store, {len(research_columns)} in research; "
            f"identifiers held in the linker's vault ({', '.join(vaulted)})",
        )
    )
    k = policy.k_anonymity("research")
    people = dataset.unique(subset=["pseudonym"]).select("pseudonym", *QUASI_IDENTIFIERS)
    too_small = int(small_classes(people, QUASI_IDENTIFIERS, k).sum())
    shown = people.filter(~pl.all_horizontal(pl.col(q).is_null() for q in QUASI_IDENTIFIERS))
    smallest = int(shown.group_by(QUASI_IDENTIFIERS).len()["len"].min() or 0) if shown.height else 0
    checks.append(
        PromiseCheck(
            "unique-reference-number",
            not hits and too_small == 0,
            f"research sees {dataset['pseudonym'].n_unique():,} pseudonyms; {len(hits)} of its columns hold any council "
            f"name, NINO, date of birth or address; smallest group on quasi-identifiers {smallest} (k={k})",
        )
    )
    held_linked = []
    with Node.open(workdir / "council", passphrase) as council:
        linked = {d.id for d in policy.document.datasets if d.linked}
        held_linked = sorted(set(council.datasets()) & linked)
        council_report = council.verify_audit()
    try:
        policy.check_flow("linker", "council", "dwp_outcomes", ["reference_number"])
        refused = "not refused"
    except PolicyViolation as refusal:
        refused = f"refused by rule '{refusal.rule}'"
    checks.append(
        PromiseCheck(
            "no-linked-data-back-to-council",
            not held_linked and refused.startswith("refused"),
            f"council holds {len(held_linked)} linked datasets; sending DWP outcomes to it is {refused}",
        )
    )
    department_dates = []
    reports = {"council": council_report, "linker": linker_report, "research": research_report}
    for department in DEPARTMENTS:
        with Node.open(workdir / department, passphrase) as node:
            for part in node.parts("identifiers"):
                department_dates.append((part.received, part.destroy_by))
            reports[department] = node.verify_audit()
    within_month = all(d and r and (d - r).days <= 31 for r, d in department_dates)
    checks.append(
        PromiseCheck(
            "departments-forget-within-a-month",
            bool(department_dates) and within_month,
            f"{len(department_dates)} identifier sets at departments, each to be destroyed "
            f"{', '.join(sorted({f'{(d - r).days} days' for r, d in department_dates if d and r}))} after receipt",
        )
    )
    checks.append(
        PromiseCheck(
            "ons-destroys-by-december-2022",
            bool(linker_destroy) and all(d <= "2022-12-31" for d in linker_destroy),
            f"every dataset at the linker carries destroy-by {', '.join(linker_destroy)}",
        )
    )
    checks.append(
        PromiseCheck(
            "only-agreed-transfers",
            all(r.ok for r in reports.values()),
            "every transfer checked against a flow; audit logs verify at "
            + ", ".join(f"{p} ({r.entries} entries)" for p, r in reports.items()),
        )
    )
    return checks


def _remove_node(directory: Path) -> None:
    """Clear a node a previous demo made — and only that: a directory holding anything
    but an evalink node is left alone and `init` refuses it."""
    if (directory / "node.json").is_file():
        shutil.rmtree(directory)


def _print_summary(console: Console, run: DemoRun) -> None:
    stages = Table(title="stages")
    for column, justify in (("stage", "left"), ("rows", "right"), ("seconds", "right")):
        stages.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in run.stages:
        stages.add_row(s.name, f"{s.rows:,}", f"{s.seconds:.1f}")
    console.print(stages)
    console.print("promises checked in this run:")
    for check in run.checks:
        mark = "[green]kept[/green]" if check.ok else "[red]BROKEN[/red]"
        console.print(f"  {mark} {check.promise}: {check.evidence}", highlight=False)
    for path in run.documents.values():
        console.print(f"wrote {path}", highlight=False)
