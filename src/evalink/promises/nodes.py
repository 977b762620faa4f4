"""What each node of a workdir holds and did, read once for every promise check.

Each node is opened on the day of the check with retention switched off: a check looks,
it does not act. Were it to run retention, a node nobody opened since its data fell due
would be put right by the check itself and then pass it; opened as it is, that node is
found holding what it should no longer hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from evalink.clock import clock_on
from evalink.errors import EvalinkError, InputError
from evalink.node import Node, Part, node_party
from evalink.node import package as pkg
from evalink.policy import Policy, load_policy
from evalink.promises.cohort import Cohort, cohort_from, column_values
from evalink.promises.rawscan import RawScan
from evalink.promises.report import Finding, unchecked
from evalink.retention import DatasetDestroyed, certificates, verify_certificates

PURPOSE = "promise check"
# Where a node keeps package files: copies of what it sent, and what it refused unread.
PACKAGE_FOLDERS = ("outbox", "outbox/sent", "inbox/refused")


@dataclass(frozen=True)
class Certificate:
    """The dates and names of one destruction certificate (its signature is checked by
    `evalink.retention.verify_certificates`)."""

    id: str
    dataset: str
    part: str
    rule: str | None
    due: date | None
    done: date


@dataclass
class Held:
    """A dataset as the check read it: its values (column, value; in memory only) and,
    for a dataset released to researchers, the table itself for the k-anonymity count."""

    dataset: str
    location: str
    rows: int
    values: pl.DataFrame
    table: pl.DataFrame | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # what travelled with it


@dataclass
class NodeEvidence:
    party: str
    dir: Path
    today: date
    parts: list[Part]
    held: dict[str, Held]
    unreadable: dict[str, str]  # held dataset → why it could not be read
    reads_of_gone: dict[str, str]  # dataset no longer held → what reading it did
    certificates: list[Certificate]
    certificate_problems: list[str]
    audit_ok: bool
    audit_problem: str | None
    log: list[dict[str, Any]]
    package_copies: list[dict[str, Any]]
    package_files: list[str]
    cohort: Cohort | None = None
    raw: RawScan | None = None
    outbox_packages: dict[str, str] = field(default_factory=dict)  # file → package id
    receipts: dict[str, str] = field(default_factory=dict)  # receipt file → package id

    def entries(self, *actions: str) -> list[dict[str, Any]]:
        return [e for e in self.log if e.get("action") in actions]


def unreadable(node: NodeEvidence) -> list[Finding]:
    """A dataset held but not readable cannot be compared with anything: said, not
    passed over."""
    if not node.unreadable:
        return []
    names = ", ".join(f"'{n}' ({why})" for n, why in sorted(node.unreadable.items()))
    return [unchecked(f"{node.party}: {names} could not be read, so not compared")]


def node_dirs(workdir: Path) -> dict[str, Path]:
    """The nodes of a workdir, by party: one directory per party, as `evalink flow
    init` and the demo make them."""
    if not workdir.is_dir():
        raise InputError(f"{workdir}: no such workdir")
    found = {node_party(d): d for d in sorted(workdir.iterdir()) if (d / "node.json").is_file()}
    if not found:
        raise InputError(f"{workdir}: holds no node (a directory with node.json per party)")
    return found


def open_to_look(directory: Path, passphrase: str, today: date) -> Node:
    return Node.open(directory, passphrase, clock=clock_on(today), retention=False)


def gather(
    directory: Path,
    passphrase: str,
    today: date,
    *,
    released: set[str],
) -> NodeEvidence:
    """Everything the checks need from one node but the scan of its files (made once
    every node is closed). `released`: datasets whose table is kept for the
    k-anonymity count."""
    with open_to_look(directory, passphrase, today) as node:
        parts = node.parts()
        tables = _read_all(node, sorted(node.datasets()))
        held, unreadable = _held(node, tables, released)
        log = read_log(directory)
        gone = _gone_datasets(node, log)
        report = node.verify_audit()
        evidence = NodeEvidence(
            party=node.party,
            dir=directory,
            today=today,
            parts=parts,
            held=held,
            unreadable=unreadable,
            reads_of_gone={name: _try_read(node, name) for name in gone},
            certificates=[_certificate(c) for c in certificates(node)],
            certificate_problems=verify_certificates(node),
            audit_ok=report.ok,
            audit_problem=report.problem,
            log=log,
            package_copies=node.package_copies(),
            package_files=_package_files(directory),
            cohort=cohort_from(
                {n: t for n, t in tables.items() if isinstance(t, pl.DataFrame)},
                node.policy,
                node.party,
                today,
            ),
        )
    evidence.outbox_packages = _outbox_packages(directory)
    evidence.receipts = _receipts(directory)
    return evidence


def _held(
    node: Node, tables: dict[str, pl.DataFrame | str], released: set[str]
) -> tuple[dict[str, Held], dict[str, str]]:
    held, unreadable = {}, {}
    datasets = node.datasets()
    for name, parts in sorted(datasets.items()):
        table = tables.get(name)
        if not isinstance(table, pl.DataFrame):
            unreadable[name] = str(table)
            continue
        held[name] = Held(
            name,
            parts[0].location,
            table.height,
            column_values(table),
            table if name in released else None,
            node.package_notes(name) if name in released else {},
        )
    return held, unreadable


def _read_all(node: Node, names: list[str]) -> dict[str, pl.DataFrame | str]:
    """Each dataset as a table, or why it could not be read. One query for all of them
    (each session of DuckDB with the node's encryption costs a fifth of a second); one
    by one only if that fails, to name the dataset that does."""
    if not names:
        return {}
    try:
        with node.query(*names, purpose=PURPOSE) as con:
            return {
                name: _frame(
                    con.execute(
                        "SELECT * FROM " + '"' + name.replace('"', '""') + '"'
                    ).fetch_arrow_table()
                )
                for name in names
            }
    except EvalinkError:
        pass
    tables: dict[str, pl.DataFrame | str] = {}
    for name in names:
        try:
            tables[name] = _frame(node.read_dataset(name, purpose=PURPOSE))
        except EvalinkError as error:
            tables[name] = type(error).__name__
    return tables


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _gone_datasets(node: Node, log: list[dict[str, Any]]) -> set[str]:
    """Datasets the node once held (its destruction records, its log's stores and
    receipts) and holds no longer."""
    once = {d["dataset"] for d in node.destroyed()}
    once |= {
        str(e["details"]["dataset"])
        for e in log
        if e.get("action") in ("store", "receive") and "dataset" in e.get("details", {})
    }
    return once - set(node.datasets())


def _try_read(node: Node, dataset: str) -> str:
    try:
        table = node.read_dataset(dataset, purpose=PURPOSE)
    except DatasetDestroyed:
        return "refused as destroyed"
    except EvalinkError as error:
        return f"failed with {type(error).__name__}, with no record of its destruction"
    return f"returned {table.num_rows:,} rows"


def _certificate(exported: dict[str, Any]) -> Certificate:
    body = exported["certificate"]
    media = body.get("media", {})
    return Certificate(
        id=str(body.get("certificate_id")),
        dataset=str(media.get("dataset")),
        part=str(media.get("part")),
        rule=body.get("rule"),
        due=date.fromisoformat(body["due"]) if body.get("due") else None,
        done=date.fromisoformat(str(body["done"])),
    )


def read_log(directory: Path) -> list[dict[str, Any]]:
    """The node's audit entries, parsed; lines that are not JSON are left to
    `verify_audit`, which reports them."""
    path = directory / "audit" / "log.jsonl"
    entries = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
    return entries


def _package_files(directory: Path) -> list[str]:
    return sorted(
        str(p.relative_to(directory))
        for folder in PACKAGE_FOLDERS
        if (directory / folder).is_dir()
        for p in (directory / folder).glob(f"*{pkg.SUFFIX}")
    )


def _outbox_packages(directory: Path) -> dict[str, str]:
    """Package id of every package file in the outbox and its sent copies."""
    found = {}
    for folder in ("outbox", "outbox/sent"):
        for path in sorted((directory / folder).glob(f"*{pkg.SUFFIX}")):
            try:
                found[str(path.relative_to(directory))] = str(pkg.read_header(path)["package_id"])
            except EvalinkError:
                found[str(path.relative_to(directory))] = ""
    return found


def _receipts(directory: Path) -> dict[str, str]:
    """Package id of every receipt of a package imported (inbox/done/)."""
    found = {}
    for path in sorted((directory / "inbox" / "done").glob("*.receipt.json")):
        try:
            found[str(path.relative_to(directory))] = str(
                json.loads(path.read_text(encoding="utf-8")).get("package_id") or ""
            )
        except (OSError, ValueError):
            found[str(path.relative_to(directory))] = ""
    return found


def policy_of(dirs: dict[str, Path]) -> Policy:
    """The policy the workdir's nodes enforce: the first node's (each node checks its
    copy against the fingerprint sealed in its key ring when it opens, and refuses
    packages made under another)."""
    return load_policy(next(iter(dirs.values())) / "policy.yaml")
