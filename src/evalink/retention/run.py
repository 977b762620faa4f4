"""Destroying what is due: `evalink retention run`, and the start of every session.

Everything due by the node's today goes in one node transaction, so a run killed at any
point is either not begun (the next open runs it again, on the same parts) or committed
(the next open finishes it): each due part is destroyed once, with one certificate.

    catalog commit:   part rows out, `destroyed` rows and certificates in, a part that
                      keeps some rows (the council's families not yet due) replaced by
                      a new part holding only those
    then (_finish):   data keys destroyed, part files and WALs deleted, the key ring's
                      key-encryption keys replaced (rekey), package copies deleted,
                      audit entries written
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from evalink.errors import InputError
from evalink.node.node import ROW_RULE, Shred
from evalink.retention.certificates import issue
from evalink.retention.status import governing_rule

if TYPE_CHECKING:
    from evalink.node import Node, Part


@dataclass(frozen=True)
class Due:
    """One part that falls due: all of it, or (`rows_kept` > 0) only its due rows."""

    dataset: str
    part: str
    rows: int
    rows_kept: int
    destroy_by: date
    rule: str | None


@dataclass
class RetentionRun:
    today: date
    dry_run: bool
    due: list[Due] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)
    package_copies: list[str] = field(default_factory=list)
    temporary_files: int = 0

    @property
    def rows_destroyed(self) -> int:
        return sum(d.rows - d.rows_kept for d in self.due)


def _due_rows(node: Node, part: Part, today: date) -> tuple[pa.Table | None, list[str]]:
    """For a part dated row by row: the rows to keep and the rules the due rows fall
    under; (None, []) for a part that goes whole."""
    if part.row_destroy_by is None:
        return None, []
    table = node.read_part(part, purpose="retention")
    dates = table.column(part.row_destroy_by)
    keep = pc.fill_null(pc.greater(dates, pa.scalar(today, pa.date32())), True)
    kept = table.filter(keep)
    rules: list[str] = []
    if ROW_RULE in table.column_names:
        due = table.filter(pc.invert(keep)).column(ROW_RULE)
        rules = sorted({str(r) for r in due.unique().to_pylist() if r is not None})
    return kept, rules


def _due_parts(node: Node, today: date) -> list[Part]:
    return [p for p in node.parts() if p.destroy_by is not None and p.destroy_by <= today]


def _assess(node: Node, part: Part, today: date) -> tuple[Due, pa.Table | None]:
    """What destroying `part` today means, and the rows that must move to a new part
    (None when the part goes whole)."""
    kept, rules = _due_rows(node, part, today)
    rule = ", ".join(rules) or governing_rule(node.policy, node.party, part)
    rows_kept = kept.num_rows if kept is not None else 0
    return Due(part.dataset, part.part_id, part.rows, rows_kept, part.destroy_by, rule), kept


def plan(node: Node) -> list[Due]:
    """What a run would destroy today, without destroying anything."""
    today = node.today()
    return [_assess(node, part, today)[0] for part in _due_parts(node, today)]


def run(node: Node, *, dry_run: bool = False) -> RetentionRun:
    """Destroy every part (or part's rows) due by the node's today, and every package
    copy due; clear DuckDB spill left by killed sessions. `dry_run`: report only."""

    today = node.today()
    result = RetentionRun(today, dry_run)
    parts = _due_parts(node, today)
    copies = [c for c in node.package_copies()
              if c["destroy_by"] is not None and c["destroy_by"] <= today]
    result.package_copies = [c["file"] for c in copies]
    if dry_run:
        result.due = plan(node)
        return result
    result.temporary_files = _clear_spill(node)
    if not parts and not copies:
        return result
    with node.transaction("retention"):
        for part in parts:
            due, kept = _assess(node, part, today)
            if kept is not None and kept.num_rows:
                # The families not yet due move to a new part under a new key; the old
                # part, which held the due ones too, is crypto-shredded whole.
                node.write_dataset(
                    part.dataset, kept, vault=part.location == "vault",
                    row_destroy_by=part.row_destroy_by, source="retention",
                )
            certificate = issue(
                node, part, rule=due.rule, reason="due under the policy's retention rule",
                due=part.destroy_by, rows_destroyed=due.rows - due.rows_kept,
                rows_kept=due.rows_kept,
            )
            node.shred(Shred(part, f"retention: due {part.destroy_by}", due.rule, certificate))
            result.due.append(due)
            result.certificates.append(certificate["certificate_id"])
        for copy in copies:
            node.drop_package_copy(copy["file"])
        node.record_on_commit(
            "retention-run", parts=len(parts), rows=result.rows_destroyed,
            certificates=result.certificates, package_copies=len(copies),
        )
    return result


def destroy(node: Node, dataset: str, *, reason: str, part_id: str | None = None) -> list[str]:
    """Destroy a dataset (or one part of it) now, on request — a corrected extract, a
    withdrawn consent — with a certificate per part, as retention does on schedule."""

    parts = [p for p in node.parts(dataset) if part_id is None or p.part_id == part_id]
    if not parts:
        what = f"part '{part_id}' of dataset '{dataset}'" if part_id else f"dataset '{dataset}'"
        raise InputError(f"{what} is not held by node '{node.party}'")
    issued = []
    with node.transaction(f"destroy {dataset}"):
        for part in parts:
            certificate = issue(node, part, rule=None, reason=reason,
                                      due=None, rows_destroyed=part.rows)
            node.shred(Shred(part, reason, None, certificate))
            issued.append(certificate["certificate_id"])
    return issued


def _clear_spill(node: Node) -> int:
    """Remove what killed sessions left in the node's tmp/ (DuckDB spill, encrypted,
    and Spark checkpoints): at the start of a session nothing else is using it."""
    removed = 0
    folder = node.dir / "tmp"
    if not folder.is_dir():
        return 0
    for leftover in folder.iterdir():
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def summary(run_result: RetentionRun) -> dict[str, Any]:
    return {
        "today": str(run_result.today),
        "dry_run": run_result.dry_run,
        "parts": [d.__dict__ | {"destroy_by": str(d.destroy_by)} for d in run_result.due],
        "rows_destroyed": run_result.rows_destroyed,
        "certificates": run_result.certificates,
        "package_copies": run_result.package_copies,
        "temporary_files": run_result.temporary_files,
    }
