"""Datasets as a node's users see them: writing one (a new part, dated by the policy's
retention rules, in the store or the identifier vault), and reading one (the union of
its parts; a read from the vault is audited as an identifier read)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date

import duckdb
import pyarrow as pa

from evalink.errors import InputError, PolicyViolation
from evalink.node.catalog import Part
from evalink.node.layout import STORE, VAULT
from evalink.node.store import attach, connect
from evalink.node.transactions import Shred
from evalink.policy.spec import SafeguardKind


class Datasets:
    """Writing and reading datasets (mixed into `Node`)."""

    @property
    def has_vault(self) -> bool:
        return self.policy.party(self.party).holds_identifiers

    def _location(self, dataset: str, fields: list[str], vault: bool | None) -> str:
        """Vault for datasets the policy keeps in a vault, and for anything carrying a
        direct identifier; refused outright at a party with no vault."""
        if vault is None:
            try:
                vault = self.policy.dataset(dataset).vault
            except PolicyViolation:
                vault = False
            vault = vault or bool(set(fields) & self.policy.direct_identifier_fields())
        if vault and not self.has_vault:
            rule = next(
                (s.id for s in self.policy.safeguards(SafeguardKind.IDENTIFIERS_IN_VAULT)),
                "identifiers-in-vault",
            )
            raise PolicyViolation(
                f"dataset '{dataset}' holds identifiers and party '{self.party}' has no "
                "identifier vault",
                rule=rule, promises=[p.id for p in self.policy.promises_for(rule)],
            )
        return VAULT if vault else STORE

    def write_dataset(
        self,
        dataset: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        vault: bool | None = None,
        events: dict[str, date] | None = None,
        replace: bool = False,
        source: str = "local",
        row_destroy_by: str | None = None,
    ) -> Part:
        """Store a table as a new part of `dataset` (all rows or none), with the destroy-by
        date the policy's retention rules give for `events` (e.g. {'receipt': d}: data
        derived from a receipt is due when the receipt is). With `row_destroy_by`, the
        named date column gives each row its own date (the council's families, each due
        seven years after its own case closed) and retention removes rows as they fall
        due. With `replace`, earlier parts are destroyed once the new one is committed.
        Inside `transaction()`, it takes effect when the transaction commits."""
        reader = data if isinstance(data, pa.RecordBatchReader) else pa.RecordBatchReader.from_batches(
            data.schema, data.to_batches(max_chunksize=65_536)
        )
        fields = list(reader.schema.names)
        if row_destroy_by is not None and row_destroy_by not in fields:
            raise InputError(f"dataset '{dataset}' has no column '{row_destroy_by}'")
        location = self._location(dataset, fields, vault)
        destroy_by, rule = (
            (None, None) if row_destroy_by is not None
            else self.policy.destroy_by_rule(self.party, dataset, dict(events or {}))
        )
        with self.transaction(f"store {dataset}"):
            tx = self._active()
            part = self._write_part(
                dataset, reader, location, received=None, destroy_by=destroy_by,
                row_destroy_by=row_destroy_by, rule=rule,
            )
            if replace:
                reason = f"replaced by part {part.part_id}"
                already = {shred.part.part_id for shred in tx.replaced}
                tx.replaced += [
                    Shred(old, reason) for old in self.parts(dataset) if old.part_id not in already
                ]
                # A part this same transaction wrote earlier is replaced too.
                for earlier, _ in [x for x in tx.parts if x[0].dataset == dataset]:
                    self._discard_part(earlier.location, earlier.part_id)
                tx.parts = [x for x in tx.parts if x[0].dataset != dataset]
                tx.audit = [a for a in tx.audit
                            if not (a[0] == "store" and a[1]["dataset"] == dataset)]
            tx.parts.append((part, source))
            tx.audit.append((
                "store",
                {"dataset": dataset, "part": part.part_id, "location": location,
                 "rows": part.rows, "fields": fields,
                 "destroy_by": str(destroy_by) if destroy_by else None, "source": source},
            ))
        return part

    @contextlib.contextmanager
    def query(self, *datasets: str, purpose: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only DuckDB connection where each named dataset is a view (the union of
        its parts). Reading from the vault is logged as an identifier read."""
        held = {dataset: self.parts(dataset) for dataset in datasets}
        for dataset, parts in held.items():  # refused before paying for a connection
            if not parts:
                self._refuse_destroyed(dataset)
                raise InputError(f"dataset '{dataset}' is not held by node '{self.party}'")
        con = connect(self.dir / "tmp")
        try:
            for dataset, parts in held.items():
                selects = []
                for index, part in enumerate(parts):
                    alias = f"read_{index}_{part.part_id}"
                    attach(con, self._part_path(part.location, part.part_id),
                           self.keyring.data_key(part.part_id), alias, read_only=True)
                    selects.append(f"SELECT * FROM {alias}.rows")
                view = _identifier(dataset)
                con.execute(f"CREATE TEMP VIEW {view} AS " + " UNION ALL BY NAME ".join(selects))
                vault = any(p.location == VAULT for p in parts)
                self.audit.record(
                    "identifier-read" if vault else "read", dataset=dataset,
                    parts=[p.part_id for p in parts], rows=sum(p.rows for p in parts),
                    purpose=purpose,
                )
            yield con
        finally:
            con.close()

    def read_part(self, part: Part, *, purpose: str | None = None) -> pa.Table:
        """One part's rows (retention splits a part whose rows fall due one by one)."""
        con = connect(self.dir / "tmp")
        try:
            attach(con, self._part_path(part.location, part.part_id),
                   self.keyring.data_key(part.part_id), "one_part", read_only=True)
            table = con.execute("SELECT * FROM one_part.rows").fetch_arrow_table()
        finally:
            con.close()
        self.audit.record(
            "identifier-read" if part.location == VAULT else "read", dataset=part.dataset,
            parts=[part.part_id], rows=part.rows, purpose=purpose,
        )
        return table

    def read_dataset(self, dataset: str, *, purpose: str | None = None) -> pa.Table:
        with self.query(dataset, purpose=purpose) as con:
            return con.execute(f"SELECT * FROM {_identifier(dataset)}").fetch_arrow_table()


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
