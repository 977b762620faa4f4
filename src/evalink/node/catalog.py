"""The catalog: the node's encrypted record of what it holds (one row per part, with
its rows, fields, dates and rule), the packages it imported, the keys it trusts, what
it destroyed and the certificates that prove it. Names, counts and hashes only.

And the parts themselves: each write or received package becomes one DuckDB file under
a data key of its own (see layout.py for why). A part exists once its catalog row is
committed; until then its file and key are orphans that the next open removes.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from evalink.node.store import attach

# In a part dated row by row, the column naming each row's retention rule (if any).
ROW_RULE = "retention_rule"

_CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog.parts (
    part_id VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, location VARCHAR NOT NULL,
    fields VARCHAR NOT NULL, rows BIGINT NOT NULL, sha256 VARCHAR, stored_at TIMESTAMPTZ,
    received DATE, destroy_by DATE, package_id VARCHAR, sender VARCHAR, source VARCHAR);
CREATE TABLE IF NOT EXISTS catalog.packages (
    package_id VARCHAR PRIMARY KEY, file_sha256 VARCHAR, sender VARCHAR, dataset VARCHAR,
    rows BIGINT, imported_at TIMESTAMPTZ, part_id VARCHAR);
CREATE TABLE IF NOT EXISTS catalog.trusted (
    party VARCHAR PRIMARY KEY, x25519 VARCHAR NOT NULL, ed25519 VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL, trusted_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS catalog.destroyed (
    part_id VARCHAR, dataset VARCHAR, location VARCHAR, rows BIGINT, destroyed_at TIMESTAMPTZ,
    reason VARCHAR);
CREATE TABLE IF NOT EXISTS catalog.audit_anchor (
    id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash VARCHAR NOT NULL);
ALTER TABLE catalog.parts ADD COLUMN IF NOT EXISTS notes VARCHAR;
CREATE TABLE IF NOT EXISTS catalog.audit_alarms (found_at TIMESTAMPTZ, problem VARCHAR);
ALTER TABLE catalog.packages ADD COLUMN IF NOT EXISTS content_sha256 VARCHAR;
CREATE TABLE IF NOT EXISTS catalog.pending (
    transaction_id VARCHAR PRIMARY KEY, operation VARCHAR NOT NULL, work VARCHAR NOT NULL);
ALTER TABLE catalog.parts ADD COLUMN IF NOT EXISTS row_destroy_by VARCHAR;
ALTER TABLE catalog.parts ADD COLUMN IF NOT EXISTS rule VARCHAR;
ALTER TABLE catalog.destroyed ADD COLUMN IF NOT EXISTS rule VARCHAR;
ALTER TABLE catalog.destroyed ADD COLUMN IF NOT EXISTS certificate_id VARCHAR;
CREATE TABLE IF NOT EXISTS catalog.certificates (
    certificate_id VARCHAR PRIMARY KEY, part_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL,
    done DATE NOT NULL, body VARCHAR NOT NULL, signature VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS catalog.package_copies (
    file VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, dataset VARCHAR, party VARCHAR,
    since DATE, destroy_by DATE);
"""
# `row_destroy_by`: the column holding each row's own destroy-by date, for a part whose
# rows fall due one family at a time (the council's); the part's destroy_by is the
# earliest of them. `package_copies`: packages this node still holds a file of (its own
# sent copies, ones it refused) and when that file must go, since a package stays
# openable with the recipient's long-term key.
# `pending` holds what a committed transaction still has to do after its commit: move its
# sealed packages from outbox/.pending/ into the outbox, shred the parts it replaced and
# write its audit entries. A process killed between the commit and those steps leaves
# the row, and the next open finishes them (`Node._finish_transactions`).


@dataclass(frozen=True)
class Part:
    part_id: str
    dataset: str
    location: str
    fields: list[str]
    rows: int
    sha256: str | None
    received: date | None
    destroy_by: date | None
    sender: str | None
    row_destroy_by: str | None = None
    rule: str | None = None  # the retention rule that sets destroy_by


class Catalog:
    """The parts a node holds: listing them, writing one, committing and discarding it
    (mixed into `Node`)."""

    def parts(self, dataset: str | None = None) -> list[Part]:
        sql = ("SELECT part_id, dataset, location, fields, rows, sha256, received, destroy_by, "
               "sender, row_destroy_by, rule FROM catalog.parts")
        params: list[Any] = []
        if dataset is not None:
            sql += " WHERE dataset = ?"
            params.append(dataset)
        rows = self._con.execute(sql + " ORDER BY stored_at, part_id", params).fetchall()
        return [
            Part(r[0], r[1], r[2], json.loads(r[3]), int(r[4]), r[5], r[6], r[7], r[8], r[9],
                 r[10])
            for r in rows
        ]

    def datasets(self) -> dict[str, list[Part]]:
        held: dict[str, list[Part]] = {}
        for part in self.parts():
            held.setdefault(part.dataset, []).append(part)
        return held

    def _part_path(self, location: str, part_id: str) -> Path:
        return self.dir / location / "parts" / f"{part_id}.duckdb"

    def _write_part(
        self,
        dataset: str,
        batches: pa.RecordBatchReader,
        location: str,
        *,
        received: date | None,
        destroy_by: date | None,
        before_commit: Callable[[], None] | None = None,
        package: dict[str, Any] | None = None,
        row_destroy_by: str | None = None,
        rule: str | None = None,
    ) -> Part:
        """Write a part's file under a new data key. Not yet committed: until its catalog
        row is, the file and key are orphans that the next open removes. With
        `row_destroy_by`, the part is due when its earliest row is."""
        part_id = secrets.token_hex(8)
        key = self.keyring.new_data_key(part_id, location)
        path = self._part_path(location, part_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        alias = f"part_{part_id}"
        rows = 0
        attach(self._con, path, key, alias)
        try:
            self._con.register("incoming", pa.Table.from_batches([], schema=batches.schema))
            self._con.execute(f"CREATE TABLE {alias}.rows AS SELECT * FROM incoming")
            for batch in batches:
                self._con.register("incoming", pa.Table.from_batches([batch]))
                self._con.execute(f"INSERT INTO {alias}.rows SELECT * FROM incoming")
                rows += batch.num_rows
                if row_destroy_by is not None:
                    dates = batch.column(row_destroy_by)
                    earliest = pc.min(dates).as_py()
                    if earliest is not None and (destroy_by is None or earliest < destroy_by):
                        destroy_by = earliest
                        if ROW_RULE in batch.schema.names:
                            at = pc.index(dates, pa.scalar(earliest, dates.type)).as_py()
                            rule = batch.column(ROW_RULE)[at].as_py()
            self._con.unregister("incoming")
            self._con.execute(f"DETACH {alias}")
            if before_commit is not None:
                before_commit()
        except BaseException:
            # Nothing is committed yet: drop the part and its key, leave no trace of rows.
            with contextlib.suppress(duckdb.Error):
                self._con.execute(f"DETACH {alias}")
            self._discard_part(location, part_id)
            raise
        return Part(
            part_id, dataset, location, list(batches.schema.names), rows,
            package["sha256"] if package else None, received, destroy_by,
            package["sender"] if package else None, row_destroy_by, rule,
        )

    def _insert_part_row(self, part: Part, source: str, package: dict[str, Any] | None) -> None:
        self._con.execute(
            "INSERT INTO catalog.parts (part_id, dataset, location, fields, rows, sha256, "
            "stored_at, received, destroy_by, package_id, sender, source, notes, "
            "row_destroy_by, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [part.part_id, part.dataset, part.location, json.dumps(part.fields), part.rows,
             part.sha256, self._clock(), part.received, part.destroy_by,
             package["package_id"] if package else None, part.sender, source,
             json.dumps(package["notes"]) if package and package.get("notes") else None,
             part.row_destroy_by, part.rule],
        )

    def _commit_part(self, part: Part, source: str, package: dict[str, Any]) -> None:
        """The commit point of an import: the part and the package's receipt, in one
        catalog transaction."""
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            self._insert_part_row(part, source, package)
            con.execute(
                "INSERT INTO catalog.packages (package_id, file_sha256, sender, dataset, rows, "
                "imported_at, part_id, content_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [package["package_id"], package["file_sha256"], package["sender"],
                 part.dataset, part.rows, self._clock(), part.part_id, package["sha256"]],
            )
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            self._discard_part(part.location, part.part_id)
            raise

    def _discard_part(self, location: str, part_id: str) -> None:
        self.keyring.destroy_data_keys([part_id])
        self._remove_part_files(location, part_id)

    def _remove_part_files(self, location: str, part_id: str) -> None:
        path = self._part_path(location, part_id)
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)
