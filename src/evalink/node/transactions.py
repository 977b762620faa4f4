"""Transactions: what one command writes (parts, sealed packages, parts it replaces or
destroys, package copies, audit entries) takes effect together when the command
completes, or not at all. One catalog transaction is the commit point; what follows it
(packages into the outbox, shredding, audit entries) is recorded in `catalog.pending`
first, so a process killed after the commit has it finished at the next open."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from evalink.node.catalog import Part

# outbox/.pending/ID/: where a transaction's sealed packages wait for its commit (see the
# `pending` table in catalog.py).
PENDING_OUTBOX = ".pending"


@dataclass(frozen=True)
class Shred:
    """A part to destroy when a transaction commits, and why: `rule` and `certificate`
    (a signed destruction certificate, see evalink.retention) for a destruction on
    schedule or on request; neither for a part replaced by a newer one."""

    part: Part
    reason: str
    rule: str | None = None
    certificate: dict[str, Any] | None = None


@dataclass
class _Transaction:
    """What one command writes, held back until the command completes: parts written but
    not yet in the catalog, packages sealed into outbox/.pending/ID/, earlier parts it
    replaces and the audit entries that report all of it."""

    id: str
    operation: str
    parts: list[tuple[Part, str]] = field(default_factory=list)  # part, source
    replaced: list[Shred] = field(default_factory=list)
    packages: list[tuple[Path, Path]] = field(default_factory=list)  # staged, final
    audit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # package copies to keep track of (file, kind, dataset, party, destroy_by) and ones
    # to delete (paths relative to the node)
    copies: list[tuple[str, str, str, str, date | None]] = field(default_factory=list)
    drop_copies: list[str] = field(default_factory=list)


class Transactions:
    """`Node.transaction()` and its commit, roll-back and finishing (mixed into `Node`)."""

    @contextlib.contextmanager
    def transaction(self, operation: str) -> Iterator[None]:
        """Every `write_dataset` and `send` inside takes effect together when the block
        ends, or not at all: a command that fails — a missing trust, a refused
        verification, a full disk — leaves the node's datasets and outbox as they were.

        The commit point is one catalog transaction. Parts are written first under keys
        of their own (orphans until committed), packages are sealed into
        outbox/.pending/ID/ and moved into the outbox only after the commit; a process
        killed after the commit has its moves finished at the next open. A block inside
        another joins it."""
        if self._transaction is not None:
            yield
            return
        tx = _Transaction(secrets.token_hex(8), operation)
        self._transaction = tx
        try:
            yield
        except BaseException as error:
            self._transaction = None
            self._roll_back(tx, error)
            raise
        self._transaction = None
        self._commit(tx)

    def record_on_commit(self, action: str, **details: Any) -> None:
        """An audit entry that reports the current transaction's work: written when it
        commits, never for one rolled back (which gets a 'rolled-back' entry instead)."""
        if self._transaction is None:
            self.audit.record(action, **details)
        else:
            self._transaction.audit.append((action, details))

    def _active(self) -> _Transaction:
        assert self._transaction is not None
        return self._transaction

    def _staging(self, transaction_id: str) -> Path:
        return self.dir / "outbox" / PENDING_OUTBOX / transaction_id

    def _commit(self, tx: _Transaction) -> None:
        work = {
            "packages": [
                [str(s.relative_to(self.dir)), str(f.relative_to(self.dir))]
                for s, f in tx.packages
            ],
            "destroy": [
                {"dataset": s.part.dataset, "part": s.part.part_id, "location": s.part.location,
                 "rows": s.part.rows, "reason": s.reason, "rule": s.rule,
                 "certificate": s.certificate["certificate_id"] if s.certificate else None}
                for s in tx.replaced
            ],
            "drop_copies": tx.drop_copies,
            "audit": [[action, details] for action, details in tx.audit],
        }
        con = self._con
        try:
            con.execute("BEGIN TRANSACTION")
            for part, source in tx.parts:
                self._insert_part_row(part, source, None)
            when = self._clock()
            for shred in tx.replaced:
                part = shred.part
                certificate = shred.certificate
                con.execute("DELETE FROM catalog.parts WHERE part_id = ?", [part.part_id])
                con.execute(
                    "INSERT INTO catalog.destroyed (part_id, dataset, location, rows, "
                    "destroyed_at, reason, rule, certificate_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [part.part_id, part.dataset, part.location, part.rows, when, shred.reason,
                     shred.rule, certificate["certificate_id"] if certificate else None],
                )
                if certificate is not None:
                    con.execute(
                        "INSERT INTO catalog.certificates VALUES (?, ?, ?, ?, ?, ?)",
                        [certificate["certificate_id"], part.part_id, part.dataset,
                         certificate["done"], json.dumps(certificate["body"], sort_keys=True),
                         certificate["signature"]],
                    )
            for file, kind, dataset, party, destroy_by in tx.copies:
                con.execute(
                    "INSERT OR REPLACE INTO catalog.package_copies VALUES (?, ?, ?, ?, ?, ?)",
                    [file, kind, dataset, party, when.date(), destroy_by],
                )
            for file in tx.drop_copies:
                con.execute("DELETE FROM catalog.package_copies WHERE file = ?", [file])
            con.execute(
                "INSERT INTO catalog.pending VALUES (?, ?, ?)",
                [tx.id, tx.operation, json.dumps(work)],
            )
            con.execute("COMMIT")
        except BaseException as error:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            self._roll_back(tx, error)
            raise
        self._finish(tx.id, work)

    def _roll_back(self, tx: _Transaction, error: BaseException) -> None:
        for part, _ in tx.parts:
            self._discard_part(part.location, part.part_id)
        shutil.rmtree(self._staging(tx.id), ignore_errors=True)
        if tx.parts or tx.packages:
            self.audit.record(
                "rolled-back", operation=tx.operation, transaction=tx.id,
                parts=len(tx.parts), packages=len(tx.packages), error=type(error).__name__,
            )

    def _finish(
        self, transaction_id: str, work: dict[str, Any], *, recovering: bool = False
    ) -> None:
        """What follows a transaction's commit. Every step can be repeated, so an open
        after a kill simply runs it again (`recovering`: then the audit entries are
        written only if the killed process had not written them yet)."""
        for staged, final in work["packages"]:
            if (self.dir / staged).exists():
                os.replace(self.dir / staged, self.dir / final)
        shutil.rmtree(self._staging(transaction_id), ignore_errors=True)
        destroyed: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for item in work["destroy"]:
            self._discard_part(item["location"], item["part"])
            destroyed.setdefault((item["dataset"], item.get("rule")), []).append(item)
        for file in work.get("drop_copies", []):
            (self.dir / file).unlink(missing_ok=True)
            if file.startswith("outbox/"):  # delivered since: moved to outbox/sent/
                (self.dir / "outbox" / "sent" / file.removeprefix("outbox/")).unlink(
                    missing_ok=True
                )
        certified = [i for i in work["destroy"] if i.get("certificate")]
        if certified:
            # Keys of what remains are re-wrapped under fresh keys: a copy of a destroyed
            # part's wrapped key from before no longer opens under this ring. Repeatable.
            self.keyring.rekey()
        entries = [tuple(entry) for entry in work["audit"]] + [
            ("destroy", {"dataset": dataset, "parts": [i["part"] for i in items],
                         "rows": sum(i["rows"] for i in items),
                         "keys_destroyed": [i["part"] for i in items],
                         "reason": items[0]["reason"],
                         **({"rule": rule} if rule else {}),
                         **({"certificates": [i["certificate"] for i in items]}
                            if any(i.get("certificate") for i in items) else {})})
            for (dataset, rule), items in destroyed.items()
        ]
        if not (recovering and self._log_contains(f'"transaction":"{transaction_id}"')):
            for action, details in entries:
                self.audit.record(action, transaction=transaction_id, **details)
        self._con.execute("DELETE FROM catalog.pending WHERE transaction_id = ?", [transaction_id])

    def _finish_transactions(self) -> None:
        """Finish transactions a killed process committed, and clear the staging of
        those it never committed (their parts are orphans for `_recover`)."""
        pending = self._con.execute(
            "SELECT transaction_id, operation, work FROM catalog.pending"
        ).fetchall()
        for transaction_id, operation, work in pending:
            self._finish(transaction_id, json.loads(work), recovering=True)
            self.audit.record("recover", finished_transaction=transaction_id, operation=operation)
        staging = self.dir / "outbox" / PENDING_OUTBOX
        if staging.is_dir():
            for leftover in staging.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)
                self.audit.record("recover", abandoned_transaction=leftover.name)


def unfinished_transactions(directory: Path | str) -> int:
    """Transactions a killed process left in a node's outbox staging: their packages
    reach the outbox (committed) or are dropped (not) when the node is next opened."""
    staging = Path(directory) / "outbox" / PENDING_OUTBOX
    return sum(1 for _ in staging.iterdir()) if staging.is_dir() else 0
